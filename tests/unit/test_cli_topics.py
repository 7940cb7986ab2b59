"""`steward topic ...` against a stubbed MSK API: the requests it sends (configs as MSK encodes
them) and what it prints."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
from botocore.stub import Stubber
from click.testing import CliRunner, Result

from steward.cli.main import cli
from steward.cli.topics import decode_configs, encode_configs
from steward.client import api as cli_client

CLUSTER_ARN = "arn:aws:kafka:us-east-1:000000000000:cluster/orders/5f1c-1"
TOPIC_ARN = "arn:aws:kafka:us-east-1:000000000000:topic/orders/5f1c-1/events"


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    client = cli_client.make_client("http://127.0.0.1:9", "us-east-1")
    monkeypatch.setattr(cli_client, "make_client", lambda *_: client)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def test_configs_travel_as_base64_json() -> None:
    encoded = encode_configs({"retention.ms": "1000", "cleanup.policy": "compact"})
    assert json.loads(base64.b64decode(encoded)) == {
        "cleanup.policy": "compact",
        "retention.ms": "1000",
    }
    assert decode_configs(encoded) == {"cleanup.policy": "compact", "retention.ms": "1000"}
    assert decode_configs(None) == {} and decode_configs("%%%") == {}


def test_create_defaults_the_replication_factor_to_the_brokers_up_to_3(stub: Stubber) -> None:
    stub.add_response(
        "describe_cluster_v2",
        {
            "ClusterInfo": {
                "ClusterArn": CLUSTER_ARN,
                "Provisioned": {
                    "NumberOfBrokerNodes": 2,
                    "BrokerNodeGroupInfo": {
                        "InstanceType": "kafka.m5.large",
                        "ClientSubnets": ["az-a", "az-b"],
                    },
                },
            }
        },
        {"ClusterArn": CLUSTER_ARN},
    )
    stub.add_response(
        "create_topic",
        {"TopicArn": TOPIC_ARN, "TopicName": "events", "Status": "ACTIVE"},
        {
            "ClusterArn": CLUSTER_ARN,
            "TopicName": "events",
            "PartitionCount": 6,
            "ReplicationFactor": 2,
            "Configs": encode_configs({"retention.ms": "1000"}),
        },
    )
    result = run(
        "topic", "create", CLUSTER_ARN, "events", "--partitions", "6",
        "--config", "retention.ms=1000",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"Topic events created (ACTIVE; 6 partitions, replication factor 2): {TOPIC_ARN}\n"
    )


def test_list_renders_a_table(stub: Stubber) -> None:
    stub.add_response(
        "list_topics",
        {
            "Topics": [
                {
                    "TopicArn": TOPIC_ARN,
                    "TopicName": "events",
                    "PartitionCount": 6,
                    "ReplicationFactor": 3,
                    "OutOfSyncReplicaCount": 1,
                    "ReplicaIds": [1, 2, 3],
                }
            ]
        },
        {"ClusterArn": CLUSTER_ARN, "TopicNameFilter": "ev"},
    )
    result = run("topic", "list", CLUSTER_ARN, "--prefix", "ev")
    assert result.exit_code == 0, result.output
    header, _rule, row = result.stdout.splitlines()
    assert header.split() == ["NAME", "PARTITIONS", "REPLICATION", "OUT", "OF", "SYNC", "BROKERS"]
    assert row.split() == ["events", "6", "3", "1", "1,2,3"]


def test_describe_shows_the_settings_decoded(stub: Stubber) -> None:
    stub.add_response(
        "describe_topic",
        {
            "TopicArn": TOPIC_ARN,
            "TopicName": "events",
            "PartitionCount": 6,
            "ReplicationFactor": 3,
            "Status": "ACTIVE",
            "ReplicaIds": [1, 2, 3],
            "Configs": encode_configs({"retention.ms": "1000", "cleanup.policy": "delete"}),
        },
        {"ClusterArn": CLUSTER_ARN, "TopicName": "events"},
    )
    result = run("topic", "describe", CLUSTER_ARN, "events")
    assert result.exit_code == 0, result.output
    assert "Replication factor  3" in result.stdout
    assert result.stdout.endswith("\ncleanup.policy=delete\nretention.ms=1000\n")


def test_update_sends_only_what_changes(stub: Stubber) -> None:
    stub.add_response(
        "update_topic",
        {"TopicArn": TOPIC_ARN, "TopicName": "events", "Status": "ACTIVE"},
        {"ClusterArn": CLUSTER_ARN, "TopicName": "events", "PartitionCount": 12},
    )
    stub.add_response(
        "update_topic",
        {"TopicArn": TOPIC_ARN, "TopicName": "events", "Status": "ACTIVE"},
        {"ClusterArn": CLUSTER_ARN, "TopicName": "events", "Configs": encode_configs({})},
    )
    assert run("topic", "update", CLUSTER_ARN, "events", "--partitions", "12").exit_code == 0
    result = run("topic", "update", CLUSTER_ARN, "events", "--reset-configs")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Topic events updated (ACTIVE).\n"


@pytest.mark.parametrize(
    "args",
    [
        ["topic", "update", CLUSTER_ARN, "events"],
        ["topic", "update", CLUSTER_ARN, "events", "--config", "a=1", "--reset-configs"],
        ["topic", "create", CLUSTER_ARN, "events", "--config", "novalue"],
        ["topic", "create", CLUSTER_ARN, "events", "--partitions", "0"],
    ],
)
def test_bad_options_are_usage_errors(stub: Stubber, args: list[str]) -> None:
    result = run(*args)
    assert result.exit_code == 2, result.output


def test_partitions_pages_and_shows_a_missing_leader_as_a_dash(stub: Stubber) -> None:
    params = {"ClusterArn": CLUSTER_ARN, "TopicName": "events"}
    stub.add_response(
        "describe_topic_partitions",
        {
            "Partitions": [{"Partition": 0, "Leader": 1, "Replicas": [1, 2], "Isr": [1, 2]}],
            "NextToken": "t1",
        },
        params,
    )
    stub.add_response(
        "describe_topic_partitions",
        {"Partitions": [{"Partition": 1, "Leader": -1, "Replicas": [2, 3], "Isr": []}]},
        {**params, "NextToken": "t1"},
    )
    result = run("topic", "partitions", CLUSTER_ARN, "events")
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.stdout.splitlines()[2:]]
    assert rows == [["0", "1", "1,2", "1,2"], ["1", "-", "2,3", "-"]]


def test_json_output_is_the_api_data(stub: Stubber) -> None:
    stub.add_response(
        "delete_topic",
        {"TopicArn": TOPIC_ARN, "TopicName": "events", "Status": "DELETING"},
        {"ClusterArn": CLUSTER_ARN, "TopicName": "events"},
    )
    result = run("topic", "delete", CLUSTER_ARN, "events", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "TopicArn": TOPIC_ARN,
        "TopicName": "events",
        "Status": "DELETING",
    }


def test_the_topic_group_is_listed() -> None:
    result = CliRunner().invoke(cli, ["topic", "--help"])
    for command in ("list", "describe", "create", "update", "delete", "partitions"):
        assert command in result.output
    assert "topic" in CliRunner().invoke(cli, ["--help"]).output

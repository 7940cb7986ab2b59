"""The steward command against a stubbed MSK API: requests it sends, names it resolves, how it
waits and how API errors read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.stub import Stubber
from click.testing import CliRunner, Result

from steward.cli import progress
from steward.cli.main import cli
from steward.client import api as cli_client

CLUSTER_ARN = "arn:aws:kafka:us-east-1:000000000000:cluster/orders/5f1c-1"
OTHER_ARN = "arn:aws:kafka:us-east-1:000000000000:cluster/orders-dev/77aa-1"
OPERATION_ARN = "arn:aws:kafka:us-east-1:000000000000:cluster-operation/orders/5f1c-1/op1"
CONFIG_ARN = "arn:aws:kafka:us-east-1:000000000000:configuration/dev/c0ff-1"
CREATED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    client = cli_client.make_client("http://127.0.0.1:9", "us-east-1")
    monkeypatch.setattr(cli_client, "make_client", lambda *_: client)
    monkeypatch.setattr(progress, "POLL_INTERVAL", 0)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def cluster_info(
    state: str, name: str = "orders", arn: str = CLUSTER_ARN, **extra: Any
) -> dict[str, Any]:
    return {
        "ClusterArn": arn,
        "ClusterName": name,
        "ClusterType": "PROVISIONED",
        "State": state,
        "CreationTime": CREATED,
        "CurrentVersion": "K1",
        "Provisioned": {
            "NumberOfBrokerNodes": 3,
            "CurrentBrokerSoftwareInfo": {"KafkaVersion": "4.3.1"},
            "BrokerNodeGroupInfo": {
                "InstanceType": "kafka.m5.large",
                "ClientSubnets": ["az-a", "az-b", "az-c"],
            },
        },
        **extra,
    }


def operation(*steps: tuple[str, str]) -> dict[str, Any]:
    return {
        "ClusterOperationInfo": {
            "OperationArn": OPERATION_ARN,
            "OperationType": "CREATE",
            "OperationState": "UPDATE_IN_PROGRESS",
            "Provisioned": {
                "OperationSteps": [
                    {"StepName": name, "StepInfo": {"StepStatus": status}} for name, status in steps
                ]
            },
        }
    }


def configuration(revision: int) -> dict[str, Any]:
    return {
        "Arn": CONFIG_ARN,
        "Name": "dev",
        "Description": "",
        "KafkaVersions": ["4.3.1"],
        "State": "ACTIVE",
        "CreationTime": CREATED,
        "LatestRevision": {"Revision": revision, "CreationTime": CREATED},
    }


def listing(stub: Stubber, prefix: str) -> None:
    stub.add_response(
        "list_clusters_v2",
        {
            "ClusterInfoList": [
                cluster_info("ACTIVE"),
                cluster_info("ACTIVE", "orders-dev", OTHER_ARN),
            ]
        },
        {"ClusterNameFilter": prefix},
    )


def test_a_name_resolves_to_the_cluster_with_exactly_that_name(stub: Stubber) -> None:
    listing(stub, "orders")
    stub.add_response(
        "describe_cluster_v2", {"ClusterInfo": cluster_info("ACTIVE")}, {"ClusterArn": CLUSTER_ARN}
    )
    result = run("--output", "json", "cluster", "describe", "orders")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert "ResponseMetadata" not in data
    assert data["ClusterInfo"]["ClusterArn"] == CLUSTER_ARN
    assert data["ClusterInfo"]["CreationTime"] == "2026-01-02T03:04:05+00:00"


def test_an_unknown_name_is_a_clean_not_found(stub: Stubber) -> None:
    listing(stub, "order")
    result = run("cluster", "describe", "order")
    assert result.exit_code == 1
    assert result.stderr == "Error (NotFoundException): There is no cluster named 'order'.\n"


def test_an_api_error_shows_code_message_and_parameter(stub: Stubber) -> None:
    stub.add_client_error(
        "create_cluster_v2",
        service_error_code="BadRequestException",
        service_message="3 brokers cannot be spread evenly over 2 zones.",
        modeled_fields={"InvalidParameter": "numberOfBrokerNodes"},
    )
    result = run("cluster", "create", "orders", "--zones", "az-a,az-b")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error (BadRequestException): 3 brokers cannot be spread evenly over 2 zones. "
        "(parameter: numberOfBrokerNodes)\n"
    )


def test_create_sends_the_provisioned_spec_and_waits_with_plain_progress(stub: Stubber) -> None:
    stub.add_response("describe_configuration", configuration(3), {"Arn": CONFIG_ARN})
    stub.add_response(
        "create_cluster_v2",
        {"ClusterArn": CLUSTER_ARN, "ClusterName": "orders", "State": "CREATING"},
        {
            "ClusterName": "orders",
            "Tags": {"team": "payments"},
            "Provisioned": {
                "KafkaVersion": "4.3.1",
                "NumberOfBrokerNodes": 1,
                "BrokerNodeGroupInfo": {
                    "InstanceType": "kafka.t3.small",
                    "ClientSubnets": ["az-a"],
                    "StorageInfo": {"EbsStorageInfo": {"VolumeSize": 10}},
                },
                "EncryptionInfo": {
                    "EncryptionInTransit": {"ClientBroker": "TLS", "InCluster": True}
                },
                "ConfigurationInfo": {"Arn": CONFIG_ARN, "Revision": 3},
            },
        },
    )
    active_op = {"ActiveOperationArn": OPERATION_ARN}
    for steps in (
        [("INSTALL_KAFKA", "IN_PROGRESS"), ("START_BROKERS", "PENDING")],
        [("INSTALL_KAFKA", "SUCCEEDED"), ("START_BROKERS", "IN_PROGRESS")],
        [("INSTALL_KAFKA", "SUCCEEDED"), ("START_BROKERS", "IN_PROGRESS")],
    ):
        stub.add_response(
            "describe_cluster_v2", {"ClusterInfo": cluster_info("CREATING", **active_op)}
        )
        stub.add_response("describe_cluster_operation_v2", operation(*steps))
    stub.add_response("describe_cluster_v2", {"ClusterInfo": cluster_info("ACTIVE")})
    stub.add_response(
        "describe_cluster_operation_v2",
        operation(("INSTALL_KAFKA", "SUCCEEDED"), ("START_BROKERS", "SUCCEEDED")),
        {"ClusterOperationArn": OPERATION_ARN},
    )
    result = run(
        "-o", "json", "cluster", "create", "orders", "--brokers", "1", "--zones", "az-a",
        "--instance-type", "kafka.t3.small", "--volume-size", "10",
        "--configuration", CONFIG_ARN, "--tag", "team=payments",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "CREATING: INSTALL_KAFKA",
        "CREATING: START_BROKERS",
        "ACTIVE",
    ]
    assert json.loads(result.stdout)["ClusterInfo"]["State"] == "ACTIVE"


def test_create_of_an_express_cluster_sends_no_storage(stub: Stubber) -> None:
    stub.add_response(
        "create_cluster_v2",
        {"ClusterArn": CLUSTER_ARN, "ClusterName": "orders", "State": "CREATING"},
        {
            "ClusterName": "orders",
            "Provisioned": {
                "KafkaVersion": "4.3.x.kraft",
                "NumberOfBrokerNodes": 3,
                "BrokerNodeGroupInfo": {
                    "InstanceType": "express.m7g.large",
                    "ClientSubnets": ["az-a", "az-b", "az-c"],
                },
                "EncryptionInfo": {
                    "EncryptionInTransit": {"ClientBroker": "TLS", "InCluster": True}
                },
            },
        },
    )
    result = run(
        "cluster", "create", "orders", "--instance-type", "express.m7g.large",
        "--kafka-version", "4.3.x.kraft", "--no-wait",
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def test_a_failed_create_exits_1_with_the_reason(stub: Stubber) -> None:
    stub.add_response(
        "create_cluster_v2",
        {"ClusterArn": CLUSTER_ARN, "ClusterName": "orders", "State": "CREATING"},
    )
    failed = cluster_info("FAILED", StateInfo={"Code": "NodeStartFailed", "Message": "no java"})
    stub.add_response("describe_cluster_v2", {"ClusterInfo": failed})
    result = run("cluster", "create", "orders")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "Error (NodeStartFailed): cluster orders FAILED: no java"
    )


def test_delete_waits_until_the_cluster_is_gone(stub: Stubber) -> None:
    stub.add_response(
        "delete_cluster", {"ClusterArn": CLUSTER_ARN, "State": "DELETING"},
        {"ClusterArn": CLUSTER_ARN},
    )  # fmt: skip
    stub.add_response("describe_cluster_v2", {"ClusterInfo": cluster_info("DELETING")})
    stub.add_client_error(
        "describe_cluster_v2", service_error_code="NotFoundException", http_status_code=404
    )
    result = run("cluster", "delete", CLUSTER_ARN)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == ["DELETING", "DELETED"]
    assert result.stdout == f"Cluster {CLUSTER_ARN} deleted.\n"


def test_list_renders_a_table(stub: Stubber) -> None:
    stub.add_response(
        "list_clusters_v2",
        {"ClusterInfoList": [cluster_info("ACTIVE")]},
        {"ClusterNameFilter": "o"},
    )
    result = run("cluster", "list", "--name-prefix", "o")
    assert result.exit_code == 0, result.output
    header, _rule, row = result.stdout.splitlines()
    assert header.split() == ["NAME", "STATE", "BROKERS", "KAFKA", "ZONES", "CREATED", "ARN"]
    assert row.split()[:5] == ["orders", "ACTIVE", "3", "4.3.1", "az-a,az-b,az-c"]
    assert row.split()[-1] == CLUSTER_ARN


def test_bootstrap_brokers_prints_the_string_alone(stub: Stubber) -> None:
    stub.add_response(
        "get_bootstrap_brokers",
        {"BootstrapBrokerString": "127.0.1.1:9092,127.0.2.1:9092"},
        {"ClusterArn": CLUSTER_ARN},
    )
    result = run("cluster", "bootstrap-brokers", CLUSTER_ARN)
    assert result.exit_code == 0, result.output
    assert result.stdout == "127.0.1.1:9092,127.0.2.1:9092\n"


def test_config_create_sends_the_file_as_bytes(stub: Stubber, tmp_path: Any) -> None:
    props = tmp_path / "server.properties"
    props.write_bytes(b"num.partitions=2\n")
    stub.add_response(
        "create_configuration",
        {key: configuration(1)[key] for key in ("Arn", "Name", "LatestRevision")},
        {
            "Name": "dev",
            "ServerProperties": b"num.partitions=2\n",
            "KafkaVersions": ["4.3.1", "4.2.1"],
            "Description": "for dev",
        },
    )
    result = run(
        "config", "create", "dev", "--server-properties", str(props),
        "--kafka-versions", "4.3.1,4.2.1", "--description", "for dev",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Configuration dev created (revision 1): {CONFIG_ARN}\n"


def test_config_describe_shows_the_latest_revisions_properties(stub: Stubber) -> None:
    stub.add_response("list_configurations", {"Configurations": [configuration(2)]})
    stub.add_response("describe_configuration", configuration(2))
    stub.add_response(
        "describe_configuration_revision",
        {"Arn": CONFIG_ARN, "Revision": 2, "ServerProperties": b"num.partitions=6\n"},
        {"Arn": CONFIG_ARN, "Revision": 2},
    )
    result = run("config", "describe", "dev")
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("\nnum.partitions=6\n")


def test_describe_shows_the_zones_of_subnet_ids_and_the_security_groups(stub: Stubber) -> None:
    info = cluster_info("ACTIVE")
    info["Provisioned"]["BrokerNodeGroupInfo"] = {
        "InstanceType": "kafka.m5.large",
        "ClientSubnets": ["subnet-0a1b", "subnet-0b1a", "subnet-0c1a"],
        "ZoneIds": ["az-a", "az-b", "az-c"],
        "SecurityGroups": ["sg-0123"],
    }
    listing(stub, "orders")
    stub.add_response("describe_cluster_v2", {"ClusterInfo": info}, {"ClusterArn": CLUSTER_ARN})
    result = run("cluster", "describe", "orders")
    assert result.exit_code == 0, result.output
    rows = {line.split("  ")[0]: line.split()[-1] for line in result.stdout.splitlines()}
    assert rows["Zones"] == "az-a,az-b,az-c"
    assert rows["Client subnets"] == "subnet-0a1b,subnet-0b1a,subnet-0c1a"
    assert rows["Security groups"] == "sg-0123"

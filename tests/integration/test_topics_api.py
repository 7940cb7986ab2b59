"""MSK's Topics API against real Kafka: a boto3 user creates, lists, describes, grows,
reconfigures and deletes the topics of a one-broker cluster, reads its partitions as Kafka's own
admin client reports them, and meets MSK's errors; the AWS CLI and `steward topic` see the same
topics.

One single-zone, one-broker cluster (two JVMs: the broker and its controller) serves the whole
module; each test uses topics of its own.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from confluent_kafka import TopicCollection
from confluent_kafka.admin import ConfigResource, ConfigSource

from steward.kafka.admin import admin_client
from tests.integration.harness import Steward, provisioned

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def decoded(configs: str) -> dict[str, str]:
    value: dict[str, str] = json.loads(base64.b64decode(configs))
    return value


@pytest.fixture(scope="module")
def cluster(steward: Steward) -> dict[str, Any]:
    spec = provisioned(brokers=1, zones=("az-a",))
    spec["BrokerNodeGroupInfo"]["InstanceType"] = "kafka.t3.small"
    arn = steward.client().create_cluster_v2(ClusterName="topics", Provisioned=spec)["ClusterArn"]
    info = steward.wait_for_state(arn, {"ACTIVE", "FAILED"}, timeout=400)
    assert info["State"] == "ACTIVE", info.get("StateInfo")
    return info


@pytest.fixture(scope="module")
def arn(cluster: dict[str, Any]) -> str:
    return str(cluster["ClusterArn"])


@pytest.fixture(scope="module")
def kafka(steward: Steward) -> Any:
    return steward.client()


@pytest.fixture(scope="module")
def bootstrap(kafka: Any, arn: str) -> str:
    return str(kafka.get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerString"])


@pytest.fixture(scope="module")
def broker_id(kafka: Any, arn: str) -> int:
    (node,) = [n for n in kafka.list_nodes(ClusterArn=arn)["NodeInfoList"] if "BrokerNodeInfo" in n]
    return int(node["BrokerNodeInfo"]["BrokerId"])


def kafka_configs(bootstrap: str, topic: str) -> dict[str, Any]:
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    client = admin_client(bootstrap)
    return dict(client.describe_configs([resource])[resource].result(10))


def kafka_partitions(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    """Leader, replicas and ISR of each partition, as confluent-kafka's AdminClient reports them."""
    client = admin_client(bootstrap)
    described = client.describe_topics(TopicCollection([topic]))[topic].result(10)
    return [
        {
            "Partition": p.id,
            "Leader": p.leader.id,
            "Replicas": [n.id for n in p.replicas],
            "Isr": [n.id for n in p.isr],
        }
        for p in sorted(described.partitions, key=lambda p: p.id)
    ]


def create(kafka: Any, arn: str, name: str, partitions: int = 1, **extra: Any) -> dict[str, Any]:
    response: dict[str, Any] = kafka.create_topic(
        ClusterArn=arn, TopicName=name, PartitionCount=partitions, ReplicationFactor=1, **extra
    )
    return response


def refusal(call: Any, **kwargs: Any) -> tuple[str, str | None, int]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    response = raised.value.response
    return (
        response["Error"]["Code"],
        response.get("InvalidParameter"),
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


# --- round trips --------------------------------------------------------------------------------
def test_a_topic_is_created_with_its_configs_and_described(
    kafka: Any, arn: str, bootstrap: str, broker_id: int
) -> None:
    created = create(
        kafka, arn, "orders", 3, Configs=b64("retention.ms=3600000\ncleanup.policy=delete\n")
    )
    cluster_id = arn.rsplit("/", 1)[1]
    assert created["TopicArn"] == (
        f"arn:aws:kafka:us-east-1:000000000000:topic/topics/{cluster_id}/orders"
    )
    assert (created["TopicName"], created["Status"]) == ("orders", "ACTIVE")

    described = kafka.describe_topic(ClusterArn=arn, TopicName="orders")
    assert described["TopicArn"] == created["TopicArn"]
    assert (described["PartitionCount"], described["ReplicationFactor"]) == (3, 1)
    assert described["ReplicaIds"] == [broker_id]
    assert described["Status"] == "ACTIVE"
    configs = decoded(described["Configs"])
    assert configs["retention.ms"] == "3600000"
    assert configs["cleanup.policy"] == "delete"
    assert "min.insync.replicas" in configs  # inherited settings are there too
    own = kafka_configs(bootstrap, "orders")["retention.ms"]
    assert (own.value, own.source) == ("3600000", ConfigSource.DYNAMIC_TOPIC_CONFIG.value)


def test_listing_filters_by_prefix_and_pages(kafka: Any, arn: str) -> None:
    create(kafka, arn, "ledger-eu")
    create(kafka, arn, "ledger-us", 2, Configs=b64(json.dumps({"retention.ms": "7200000"})))
    create(kafka, arn, "ledger-asia")
    create(kafka, arn, "audit")

    listed = kafka.list_topics(ClusterArn=arn, TopicNameFilter="ledger-")["Topics"]
    assert [t["TopicName"] for t in listed] == ["ledger-asia", "ledger-eu", "ledger-us"]
    us = listed[2]
    assert (us["PartitionCount"], us["ReplicationFactor"], us["OutOfSyncReplicaCount"]) == (2, 1, 0)
    assert us["TopicArn"].endswith("/ledger-us")

    first = kafka.list_topics(ClusterArn=arn, TopicNameFilter="ledger-", MaxResults=2)
    assert len(first["Topics"]) == 2 and first["NextToken"]
    rest = kafka.list_topics(
        ClusterArn=arn, TopicNameFilter="ledger-", MaxResults=2, NextToken=first["NextToken"]
    )
    assert [t["TopicName"] for t in rest["Topics"]] == ["ledger-us"] and "NextToken" not in rest
    pages = kafka.get_paginator("list_topics").paginate(
        ClusterArn=arn, PaginationConfig={"PageSize": 1}
    )
    everything = [t["TopicName"] for page in pages for t in page["Topics"]]
    assert {"audit", "ledger-asia", "ledger-eu", "ledger-us"} <= set(everything)
    assert everything == sorted(everything)


def test_partitions_are_what_kafkas_admin_client_reports(
    kafka: Any, arn: str, bootstrap: str, broker_id: int
) -> None:
    create(kafka, arn, "spread", 4)
    first = kafka.describe_topic_partitions(ClusterArn=arn, TopicName="spread", MaxResults=3)
    assert len(first["Partitions"]) == 3 and first["NextToken"]
    pages = kafka.get_paginator("describe_topic_partitions").paginate(
        ClusterArn=arn, TopicName="spread", PaginationConfig={"PageSize": 3}
    )
    partitions = [p for page in pages for p in page["Partitions"]]
    assert partitions == kafka_partitions(bootstrap, "spread")
    assert [p["Leader"] for p in partitions] == [broker_id] * 4


def test_configs_are_replaced_and_partitions_only_grow(
    kafka: Any, arn: str, bootstrap: str
) -> None:
    create(kafka, arn, "growing", 2, Configs=b64("retention.ms=1000\ncleanup.policy=compact\n"))

    updated = kafka.update_topic(
        ClusterArn=arn, TopicName="growing", Configs=b64(json.dumps({"retention.ms": "7200000"}))
    )
    assert (updated["TopicName"], updated["Status"]) == ("growing", "ACTIVE")
    configs = decoded(kafka.describe_topic(ClusterArn=arn, TopicName="growing")["Configs"])
    assert (configs["retention.ms"], configs["cleanup.policy"]) == ("7200000", "delete")
    in_kafka = kafka_configs(bootstrap, "growing")
    assert in_kafka["cleanup.policy"].source != ConfigSource.DYNAMIC_TOPIC_CONFIG.value

    kafka.update_topic(ClusterArn=arn, TopicName="growing", PartitionCount=5)
    assert kafka.describe_topic(ClusterArn=arn, TopicName="growing")["PartitionCount"] == 5
    assert len(kafka_partitions(bootstrap, "growing")) == 5

    code, member, status = refusal(
        kafka.update_topic, ClusterArn=arn, TopicName="growing", PartitionCount=3
    )
    assert (code, member, status) == ("BadRequestException", "partitionCount", 400)
    code, member, _ = refusal(
        kafka.update_topic,
        ClusterArn=arn,
        TopicName="growing",
        Configs=b64("retention.ms=soon"),
    )
    assert (code, member) == ("BadRequestException", "configs")
    assert kafka_configs(bootstrap, "growing")["retention.ms"].value == "7200000"


def test_a_deleted_topic_is_gone(kafka: Any, arn: str, bootstrap: str) -> None:
    create(kafka, arn, "short-lived")
    deleted = kafka.delete_topic(ClusterArn=arn, TopicName="short-lived")
    assert (deleted["TopicName"], deleted["Status"]) == ("short-lived", "DELETING")
    deadline = time.monotonic() + 30
    while True:
        try:
            kafka.describe_topic(ClusterArn=arn, TopicName="short-lived")
        except kafka.exceptions.NotFoundException:
            break
        assert time.monotonic() < deadline, "the topic is still described"
        time.sleep(0.2)
    names = [t["TopicName"] for t in kafka.list_topics(ClusterArn=arn)["Topics"]]
    assert "short-lived" not in names
    assert "short-lived" not in admin_client(bootstrap).list_topics(timeout=10).topics


# --- errors -------------------------------------------------------------------------------------
def test_msk_errors_for_what_kafka_cannot_do(kafka: Any, arn: str) -> None:
    assert refusal(kafka.describe_topic, ClusterArn=arn, TopicName="ghost") == (
        "NotFoundException",
        "topicName",
        404,
    )
    assert refusal(kafka.delete_topic, ClusterArn=arn, TopicName="ghost") == (
        "UnknownTopicOrPartitionException",
        "topicName",
        404,
    )
    assert refusal(kafka.update_topic, ClusterArn=arn, TopicName="ghost", PartitionCount=2)[:2] == (
        "UnknownTopicOrPartitionException",
        "topicName",
    )

    create(kafka, arn, "taken")
    with pytest.raises(kafka.exceptions.TopicExistsException):
        create(kafka, arn, "taken")

    too_wide = refusal(
        kafka.create_topic, ClusterArn=arn, TopicName="wide", PartitionCount=1, ReplicationFactor=2
    )
    assert too_wide == ("BadRequestException", "replicationFactor", 400)
    with pytest.raises(kafka.exceptions.BadRequestException) as unknown_key:
        kafka.create_topic(
            ClusterArn=arn,
            TopicName="odd",
            PartitionCount=1,
            ReplicationFactor=1,
            Configs=b64("no.such.setting=1"),
        )
    assert unknown_key.value.response["InvalidParameter"] == "configs"
    assert "no.such.setting" in unknown_key.value.response["Error"]["Message"]
    names = [t["TopicName"] for t in kafka.list_topics(ClusterArn=arn)["Topics"]]
    assert "wide" not in names and "odd" not in names

    missing = arn.replace("/topics/", "/ghost/")
    assert refusal(kafka.list_topics, ClusterArn=missing)[:2] == ("NotFoundException", "clusterArn")


# --- other clients ------------------------------------------------------------------------------
def test_the_aws_cli_lists_topics(steward: Steward, kafka: Any, arn: str) -> None:
    create(kafka, arn, "cli-visible")
    result = subprocess.run(
        [
            str(BIN / "aws"), "kafka", "list-topics", "--cluster-arn", arn,
            "--topic-name-filter", "cli-", "--endpoint-url", steward.endpoint,
            "--output", "json",
        ],
        capture_output=True, text=True, env=steward.env, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (topic,) = json.loads(result.stdout)["Topics"]
    assert (topic["TopicName"], topic["PartitionCount"], topic["ReplicationFactor"]) == (
        "cli-visible",
        1,
        1,
    )


def test_steward_topic_partitions_by_cluster_name(
    steward: Steward, kafka: Any, arn: str, broker_id: int
) -> None:
    create(kafka, arn, "shown", 2)
    result = subprocess.run(
        [str(BIN / "steward"), "topic", "partitions", "topics", "shown"],
        capture_output=True, text=True, env=steward.env, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    header, _rule, *rows = result.stdout.splitlines()
    assert header.split() == ["PARTITION", "LEADER", "REPLICAS", "ISR"]
    b = str(broker_id)
    assert [row.split() for row in rows] == [["0", b, b, b], ["1", b, b, b]]

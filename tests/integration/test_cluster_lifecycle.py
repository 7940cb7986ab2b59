"""A boto3 user creates a 3-broker, 3-zone cluster, uses it with real Kafka clients, and deletes it.

One cluster serves every test of this module (they only read it or write their own topics); the
last test deletes it.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic
from kafka import KafkaConsumer, KafkaProducer

from steward.kafka.topics import create_topic
from tests.integration.harness import Steward, provisioned
from tests.integration.reading import read_until_seen

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster(steward: Steward) -> dict[str, Any]:
    client = steward.client()
    started = time.time()
    created = client.create_cluster_v2(
        ClusterName="orders", Provisioned=provisioned(), Tags={"team": "payments"}
    )
    assert created["State"] == "CREATING"
    assert created["ClusterType"] == "PROVISIONED"
    info = steward.wait_for_state(created["ClusterArn"], {"ACTIVE", "FAILED"})
    assert info["State"] == "ACTIVE", info.get("StateInfo")
    info["_seconds_to_active"] = time.time() - started
    return info


@pytest.fixture(scope="module")
def bootstrap(steward: Steward, cluster: dict[str, Any]) -> str:
    response = steward.client().get_bootstrap_brokers(ClusterArn=cluster["ClusterArn"])
    return str(response["BootstrapBrokerString"])


def test_cluster_becomes_active_with_msk_fields(steward: Steward, cluster: dict[str, Any]) -> None:
    arn = cluster["ClusterArn"]
    assert arn.startswith("arn:aws:kafka:us-east-1:") and ":cluster/orders/" in arn
    provisioned_info = cluster["Provisioned"]
    assert provisioned_info["NumberOfBrokerNodes"] == 3
    assert provisioned_info["CurrentBrokerSoftwareInfo"]["KafkaVersion"] == "4.3.1"
    assert provisioned_info["BrokerNodeGroupInfo"]["ClientSubnets"] == ["az-a", "az-b", "az-c"]
    assert cluster["Tags"] == {"team": "payments"}
    assert cluster["CurrentVersion"]
    v1 = steward.client().describe_cluster(ClusterArn=arn)["ClusterInfo"]
    assert v1["State"] == "ACTIVE"
    assert v1["ClusterName"] == "orders"
    assert v1["NumberOfBrokerNodes"] == 3


def test_create_operation_is_complete(steward: Steward, cluster: dict[str, Any]) -> None:
    client = steward.client()
    (op,) = client.list_cluster_operations(ClusterArn=cluster["ClusterArn"])[
        "ClusterOperationInfoList"
    ]
    assert op["OperationType"] == "CREATE"
    assert op["OperationState"] == "UPDATE_COMPLETE"
    assert all(s["StepInfo"]["StepStatus"] == "SUCCEEDED" for s in op["OperationSteps"])
    v2 = client.describe_cluster_operation_v2(ClusterOperationArn=op["OperationArn"])
    assert v2["ClusterOperationInfo"]["OperationState"] == "UPDATE_COMPLETE"


def test_nodes_spread_over_zones(steward: Steward, cluster: dict[str, Any]) -> None:
    nodes = steward.client().list_nodes(ClusterArn=cluster["ClusterArn"])["NodeInfoList"]
    brokers = [n["BrokerNodeInfo"] for n in nodes if "BrokerNodeInfo" in n]
    assert sorted(int(b["BrokerId"]) for b in brokers) == [1, 2, 3]
    assert sorted(b["ClientSubnet"] for b in brokers) == ["az-a", "az-b", "az-c"]
    controllers = [n for n in nodes if "ControllerNodeInfo" in n]
    assert len(controllers) == 3


def test_listing_filters_and_paginates(steward: Steward, cluster: dict[str, Any]) -> None:
    client = steward.client()
    names = [c["ClusterName"] for c in client.list_clusters_v2()["ClusterInfoList"]]
    assert "orders" in names
    assert client.list_clusters(ClusterNameFilter="ord")["ClusterInfoList"][0]["ClusterName"] == (
        "orders"
    )
    assert client.list_clusters(ClusterNameFilter="nope")["ClusterInfoList"] == []
    pages = list(
        client.get_paginator("list_nodes").paginate(
            ClusterArn=cluster["ClusterArn"], PaginationConfig={"PageSize": 2}
        )
    )
    assert sum(len(p["NodeInfoList"]) for p in pages) == 6
    assert len(pages) == 3


def test_brokers_run_with_rack_and_durable_defaults(bootstrap: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    metadata = admin.list_topics(timeout=10)
    assert sorted(metadata.brokers) == [1, 2, 3]
    racks = {}
    for broker in (1, 2, 3):
        # librdkafka describes one broker's configuration per call.
        resource = ConfigResource(ConfigResource.Type.BROKER, str(broker))
        configs = admin.describe_configs([resource])[resource].result()
        racks[broker] = configs["broker.rack"].value
        assert configs["min.insync.replicas"].value == "2"
        assert configs["default.replication.factor"].value == "3"
        assert configs["unclean.leader.election.enable"].value == "false"
        assert configs["auto.create.topics.enable"].value == "false"
    assert sorted(racks.values()) == ["az-a", "az-b", "az-c"]


def test_topics_default_to_three_replicas_across_zones(bootstrap: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topic = f"defaults-{uuid.uuid4().hex[:6]}"
    admin.create_topics([NewTopic(topic, num_partitions=3)])[topic].result(60)
    partitions = admin.list_topics(topic, timeout=10).topics[topic].partitions
    for partition in partitions.values():
        assert sorted(partition.replicas) == [1, 2, 3]
    configs = _topic_configs(admin, topic)
    assert configs["min.insync.replicas"].value == "2"
    assert configs["unclean.leader.election.enable"].value == "false"


def _topic_configs(admin: AdminClient, topic: str, timeout: float = 15) -> dict[str, Any]:
    """A new topic's configuration, once the broker asked has its metadata."""
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    deadline = time.time() + timeout
    while True:
        try:
            return dict(admin.describe_configs([resource])[resource].result())
        except KafkaException as error:
            unknown = error.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART
            if not unknown or time.time() > deadline:
                raise
            time.sleep(0.2)


def test_no_topic_is_created_by_accident(bootstrap: str) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "message.timeout.ms": 3000})
    errors: list[Any] = []
    producer.produce("never-created", b"x", on_delivery=lambda err, _msg: errors.append(err))
    producer.flush(10)
    assert errors and errors[0] is not None
    admin = AdminClient({"bootstrap.servers": bootstrap})
    assert "never-created" not in admin.list_topics(timeout=10).topics


def _create_topic(bootstrap: str, topic: str, partitions: int = 3) -> None:
    create_topic(bootstrap, topic, partitions)


def test_confluent_kafka_produces_with_acks_all_and_consumes(bootstrap: str) -> None:
    topic = f"payments-{uuid.uuid4().hex[:6]}"
    _create_topic(bootstrap, topic)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    acked: list[bytes] = []

    def on_delivery(err: Any, msg: Any) -> None:
        if err is not None:
            raise KafkaException(err)
        acked.append(msg.value())

    for i in range(200):
        producer.produce(
            topic, f"payment-{i}".encode(), key=str(i % 7).encode(), on_delivery=on_delivery
        )
    assert producer.flush(30) == 0
    assert len(acked) == 200

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"g-{topic}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    seen: list[bytes] = []
    deadline = time.time() + 60
    while len(seen) < 200 and time.time() < deadline:
        msg = consumer.poll(1.0)
        if msg is not None and msg.error() is None:
            seen.append(msg.value())
    consumer.close()
    assert sorted(seen) == sorted(acked)


def test_kafka_python_produces_and_consumes(bootstrap: str) -> None:
    topic = f"kp-{uuid.uuid4().hex[:6]}"
    _create_topic(bootstrap, topic, partitions=1)
    producer = KafkaProducer(bootstrap_servers=bootstrap.split(","), acks="all")
    for i in range(20):
        producer.send(topic, f"m{i}".encode()).get(timeout=30)
    producer.close()
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap.split(","),
        auto_offset_reset="earliest",
    )
    sent = [f"m{i}".encode() for i in range(20)]
    assert read_until_seen(consumer, sent) == sent


def test_kafkas_own_tools_work_against_the_cluster(bootstrap: str, steward: Steward) -> None:
    """Kafka's Java command-line tools (from the installed distribution) see the brokers."""
    import subprocess

    from steward.kafka.distribution import require_distribution

    dist = require_distribution("4.3.1")
    topic = f"java-{uuid.uuid4().hex[:6]}"
    subprocess.run(
        [
            "java",
            "-cp",
            dist.classpath,
            "org.apache.kafka.tools.TopicCommand",
            "--bootstrap-server",
            bootstrap,
            "--create",
            "--topic",
            topic,
            "--partitions",
            "2",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    described = subprocess.run(
        [
            "java",
            "-cp",
            dist.classpath,
            "org.apache.kafka.tools.TopicCommand",
            "--bootstrap-server",
            bootstrap,
            "--describe",
            "--topic",
            topic,
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "ReplicationFactor: 3" in described
    assert "min.insync.replicas=2" in described or "PartitionCount: 2" in described


def test_aws_cli_reads_the_cluster(steward: Steward, cluster: dict[str, Any]) -> None:
    import json
    import subprocess
    import sys

    aws = str(Path(sys.executable).parent / "aws")
    base = [aws, "kafka", "--endpoint-url", steward.endpoint, "--output", "json"]
    listed = json.loads(
        subprocess.run(
            [*base, "list-clusters-v2"],
            check=True,
            capture_output=True,
            text=True,
            env=steward.env,
            timeout=60,
        ).stdout
    )
    assert [c["ClusterName"] for c in listed["ClusterInfoList"]] == ["orders"]
    brokers = json.loads(
        subprocess.run(
            [*base, "get-bootstrap-brokers", "--cluster-arn", cluster["ClusterArn"]],
            check=True,
            capture_output=True,
            text=True,
            env=steward.env,
            timeout=60,
        ).stdout
    )
    assert brokers["BootstrapBrokerString"].count(":9092") == 3


def test_delete_stops_every_process_and_removes_data(
    steward: Steward, cluster: dict[str, Any]
) -> None:
    client = steward.client()
    assert len(steward.kafka_pids()) == 6
    response = client.delete_cluster(ClusterArn=cluster["ClusterArn"])
    assert response["State"] == "DELETING"
    steward.wait_until_gone(cluster["ClusterArn"])
    deadline = time.time() + 30
    while steward.kafka_pids() and time.time() < deadline:
        time.sleep(0.2)
    assert steward.kafka_pids() == []
    leftovers = [p for p in (steward.home / "agents").rglob("meta.properties")]
    assert leftovers == []
    with pytest.raises(client.exceptions.NotFoundException):
        client.get_bootstrap_brokers(ClusterArn=cluster["ClusterArn"])

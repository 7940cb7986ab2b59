"""Broker log delivery against real Kafka: a boto3 user creates a cluster whose LoggingInfo turns
on all three of MSK's destinations, and finds the broker's log lines in the log group's files, in
the bucket's gzip objects (MSK's S3 key layout) and in the Kafka topic named as the delivery
stream, which the agent reaches over TLS (the cluster is TLS-only, MSK's default).

One single-zone, one-broker cluster (two JVMs) serves the whole module.
"""

from __future__ import annotations

import gzip
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from botocore.exceptions import ClientError
from confluent_kafka import Consumer

from steward.kafka.admin import TlsBootstrap, librdkafka_security
from steward.kafka.topics import create_topic
from tests.integration.harness import TLS_IN_TRANSIT, Steward, provisioned

pytestmark = pytest.mark.integration

LOGGING_INFO = {
    "BrokerLogs": {
        "CloudWatchLogs": {"Enabled": True, "LogGroup": "/steward/broker-logs"},
        "Firehose": {"Enabled": True, "DeliveryStream": "broker-logs"},
        "S3": {"Enabled": True, "Bucket": "kafka-logs", "Prefix": "brokers"},
    }
}
STARTED = "Kafka Server started"


@pytest.fixture(scope="module")
def steward(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Steward]:
    """A Steward whose agents write a bucket object every 2 seconds (not every minute)."""
    extra = {"STEWARD_BROKER_LOG_OBJECT_SECONDS": "2"}
    instance = Steward(tmp_path_factory.mktemp("steward"), extra_env=extra)
    instance.start()
    yield instance
    instance.cleanup()


@pytest.fixture(scope="module")
def cluster(steward: Steward) -> dict[str, Any]:
    spec = provisioned(
        brokers=1,
        zones=("az-a",),
        LoggingInfo=LOGGING_INFO,
        EncryptionInfo={"EncryptionInTransit": TLS_IN_TRANSIT},
    )
    spec["BrokerNodeGroupInfo"]["InstanceType"] = "kafka.t3.small"
    arn = steward.client().create_cluster_v2(ClusterName="logs", Provisioned=spec)["ClusterArn"]
    info = steward.wait_for_state(arn, {"ACTIVE", "FAILED"}, timeout=400)
    assert info["State"] == "ACTIVE", info.get("StateInfo")
    return info


@pytest.fixture(scope="module")
def arn(cluster: dict[str, Any]) -> str:
    return str(cluster["ClusterArn"])


@pytest.fixture(scope="module")
def broker_id(steward: Steward, arn: str) -> int:
    nodes = steward.client().list_nodes(ClusterArn=arn)["NodeInfoList"]
    (node,) = [n for n in nodes if "BrokerNodeInfo" in n]
    return int(node["BrokerNodeInfo"]["BrokerId"])


@pytest.fixture(scope="module")
def bootstrap(steward: Steward, arn: str) -> TlsBootstrap:
    servers = steward.client().get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerStringTls"]
    with steward.http() as http:
        answer = http.get(f"/steward/v1/clusters/{quote(arn, safe='')}/ca-certificate").json()
    return TlsBootstrap(servers, answer["certificatePem"])


def stream_name(arn: str) -> str:
    """`<clusterName>-<clusterUuid>`, as MSK names a cluster in its log destinations."""
    name, cluster_uuid = arn.split(":cluster/", 1)[1].split("/")
    return f"{name}-{cluster_uuid}"


def eventually(check: Callable[[], Any], timeout: float = 60.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.5)


def test_describe_reports_the_logging_info_as_given(steward: Steward, arn: str) -> None:
    info = steward.client().describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]
    assert info["Provisioned"]["LoggingInfo"] == LOGGING_INFO
    v1 = steward.client().describe_cluster(ClusterArn=arn)["ClusterInfo"]
    assert v1["LoggingInfo"] == LOGGING_INFO


def test_broker_log_lines_reach_the_log_group(
    steward: Steward, arn: str, broker_id: int, bootstrap: TlsBootstrap
) -> None:
    stream = (
        steward.home / "log-groups" / "steward" / "broker-logs" / stream_name(arn)
        / f"Broker-{broker_id}.log"
    )  # fmt: skip

    def read() -> str:
        return stream.read_text() if stream.exists() else ""

    eventually(lambda: STARTED in read(), what="the start line in the log group")
    topic = f"made-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic, 1)
    eventually(lambda: f"{topic}-0" in read(), what="the new topic's partition in the log")


def test_broker_log_objects_reach_the_bucket_in_msks_key_layout(
    steward: Steward, arn: str, broker_id: int
) -> None:
    _, _, _, region, account, _ = arn.split(":", 5)
    cluster_dir = (
        steward.home / "buckets" / "kafka-logs" / "brokers" / "AWSLogs" / account
        / "KafkaBrokerLogs" / region / stream_name(arn)
    )  # fmt: skip

    def objects() -> list[Path]:
        return sorted(cluster_dir.glob(f"*/Broker-{broker_id}_*.log.gz"))

    def text() -> str:
        return "".join(gzip.decompress(path.read_bytes()).decode() for path in objects())

    eventually(lambda: STARTED in text(), what="the start line in the bucket")
    hour = objects()[0].parent.name
    assert len(hour) == len("2026-11-29-01") and hour.count("-") == 3


def test_broker_log_records_are_consumable_from_the_delivery_stream_topic(
    bootstrap: TlsBootstrap, broker_id: int
) -> None:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"read-logs-{uuid.uuid4().hex[:6]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            **librdkafka_security(bootstrap),
        }
    )
    consumer.subscribe(["broker-logs"])
    records: list[dict[str, Any]] = []
    try:

        def started() -> bool:
            for message in consumer.consume(1000, timeout=1.0):
                if message.error() is None:
                    assert message.key() == str(broker_id).encode()
                    records.append(json.loads(message.value()))
            return any(STARTED in r["message"] for r in records)

        eventually(started, timeout=90, what="the start line in the topic")
    finally:
        consumer.close()
    line = next(r for r in records if STARTED in r["message"])
    assert line["broker"] == broker_id and line["level"] == "INFO"
    assert line["logger"] == "kafka.server.KafkaRaftServer" and line["timestamp"]


def test_an_enabled_destination_without_its_resource_is_refused(steward: Steward) -> None:
    spec = provisioned(
        brokers=1,
        zones=("az-a",),
        LoggingInfo={"BrokerLogs": {"CloudWatchLogs": {"Enabled": True}}},
    )
    with pytest.raises(ClientError) as caught:
        steward.client().create_cluster_v2(ClusterName="no-group", Provisioned=spec)
    error = caught.value.response
    assert error["Error"]["Code"] == "BadRequestException"
    assert error["InvalidParameter"] == "loggingInfo.brokerLogs.cloudWatchLogs.logGroup"


def test_update_monitoring_moves_the_logs_without_restarting_the_broker(
    steward: Steward, arn: str, broker_id: int, bootstrap: str
) -> None:
    client = steward.client()
    running = sorted(steward.kafka_pids())
    moved = {
        "BrokerLogs": {
            "CloudWatchLogs": {"Enabled": True, "LogGroup": "moved"},
            "Firehose": {"Enabled": False},
            "S3": {"Enabled": False},
        }
    }
    started = client.update_monitoring(
        ClusterArn=arn, CurrentVersion=steward.current_version(arn), LoggingInfo=moved
    )
    done = steward.wait_for_operation(started["ClusterOperationArn"], timeout=400)
    assert done["OperationState"] == "UPDATE_COMPLETE", done.get("ErrorInfo")
    assert sorted(steward.kafka_pids()) == running
    info = client.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]
    assert info["Provisioned"]["LoggingInfo"] == moved

    groups = steward.home / "log-groups"
    new = groups / "moved" / stream_name(arn) / f"Broker-{broker_id}.log"
    old = groups / "steward" / "broker-logs" / stream_name(arn) / f"Broker-{broker_id}.log"
    topic = f"after-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic, 1)
    eventually(
        lambda: new.exists() and f"{topic}-0" in new.read_text(),
        what="the new topic's partition in the new log group",
    )
    assert f"{topic}-0" not in old.read_text()

"""MSK Connect's worker log delivery (`logDelivery.workerLogDelivery`), without Kafka: what
CreateConnector takes, the delivery each worker's agent is sent, MSK's layout with
`KafkaConnectLogs` and `Worker-<id>`, the S3 secret kept out of the stored spec, and log lines
PUT to an S3 API (moto in process), each prefixed with its worker's id."""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from steward.agent.log_delivery import LogDelivery, bucket_object_key, log_group_file
from steward.agent.log_objects import S3ObjectDestination
from steward.agent.log_shipper import DeliveryError, LogShipper, QueuedLine, log_record
from steward.agent.log_tail import Position
from steward.agent.spec import NodeSpec
from steward.connect.store import ConnectorRecord, WorkerPlacement
from steward.connect.worker_logs import check_log_delivery, worker_id, worker_log_delivery
from steward.connect.workers import ClusterEndpoint
from steward.domain.errors import BadRequestException
from steward.settings import Settings

CONNECTOR_ARN = "arn:aws:kafkaconnect:us-east-1:123456789012:connector/orders/0123abcd-ef-2"
WORKER = WorkerPlacement("connect-0123abcd-0", "host-a", "az-a", "127.86.1.5", 8083)


def connector(log_delivery: dict[str, Any], authentication: str = "NONE") -> ConnectorRecord:
    return ConnectorRecord(
        arn=CONNECTOR_ARN,
        name="orders",
        description=None,
        state="CREATING",
        created_at=datetime.now(UTC),
        spec={
            "kafkaClusterEncryptionInTransit": {"encryptionType": "TLS"},
            "kafkaClusterClientAuthentication": {"authenticationType": authentication},
            "logDelivery": log_delivery,
        },
        current_version="V1",
    )


def all_three(enabled: bool = True) -> dict[str, Any]:
    return {
        "workerLogDelivery": {
            "cloudWatchLogs": {"enabled": enabled, "logGroup": "/connect/orders"},
            "firehose": {"enabled": enabled, "deliveryStream": "connect-logs"},
            "s3": {"enabled": enabled, "bucket": "worker-logs", "prefix": "connect"},
        }
    }


@pytest.mark.parametrize(
    ("value", "parameter"),
    [
        ({}, "logDelivery"),
        ({"workerLogDelivery": {"s3": {"bucket": "b"}}}, "s3"),
        ({"workerLogDelivery": {"s3": {"enabled": True}}}, "bucket"),
        ({"workerLogDelivery": {"s3": {"enabled": True, "bucket": "Not_A_Bucket"}}}, "bucket"),
        (
            {"workerLogDelivery": {"s3": {"enabled": True, "bucket": "okay", "prefix": "a/../b"}}},
            "prefix",
        ),
        (
            {"workerLogDelivery": {"cloudWatchLogs": {"enabled": True, "logGroup": "a b"}}},
            "logGroup",
        ),
        (
            {"workerLogDelivery": {"firehose": {"enabled": True, "deliveryStream": "__x"}}},
            "deliveryStream",
        ),
    ],
)
def test_bad_worker_log_delivery_names_the_parameter(value: Any, parameter: str) -> None:
    with pytest.raises(BadRequestException) as refused:
        check_log_delivery(value, iam=False)
    assert refused.value.invalid_parameter == parameter


def test_a_disabled_destination_needs_no_name_and_iam_connectors_have_no_firehose() -> None:
    kept = check_log_delivery({"workerLogDelivery": {"s3": {"enabled": False}}}, iam=False)
    assert kept == {"workerLogDelivery": {"s3": {"enabled": False}}}
    assert check_log_delivery(all_three(), iam=False) == all_three()
    with pytest.raises(BadRequestException, match="firehose"):
        check_log_delivery(all_three(), iam=True)


def test_each_worker_is_sent_its_delivery_to_the_configured_s3_api(tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path,
        connect_s3_endpoint="http://s3.local:9000",
        connect_s3_access_key_id="AKIA",
        connect_s3_secret_access_key="s3-secret",
    )
    endpoint = ClusterEndpoint("127.0.0.1:9094", "4.3.1", "-----BEGIN CERTIFICATE-----\nx\n")
    sent = worker_log_delivery(connector(all_three()), WORKER, endpoint, settings)
    assert sent is not None
    delivery = LogDelivery.from_dict(sent)
    assert (delivery.source, delivery.worker_id) == ("worker", worker_id(connector({}), WORKER))
    assert len(delivery.worker_id or "") == 17
    assert delivery.stream_name == "orders-0123abcd-ef-2"
    assert (delivery.bucket, delivery.prefix, delivery.s3_api) == ("worker-logs", "connect", True)
    assert (delivery.s3_endpoint, delivery.s3_access_key_id) == ("http://s3.local:9000", "AKIA")
    assert (delivery.topic, delivery.bootstrap) == ("connect-logs", "127.0.0.1:9094")
    assert delivery.security_protocol == "SSL" and delivery.ca_certificates
    assert worker_log_delivery(connector(all_three(False)), WORKER, endpoint, settings) is None
    assert worker_log_delivery(connector({}), WORKER, endpoint, settings) is None

    spec = NodeSpec(
        key=WORKER.key,
        kafka_version="4.3.1",
        role="connect",
        node_id=0,
        cluster_id="AAAAAAAAAAAAAAAAAAAAAA",
        directory_id="AAAAAAAAAAAAAAAAAAAAAA",
        properties={},
        log_delivery=sent,
    )
    assert "s3-secret" not in spec.to_json()
    assert "s3-secret" not in repr(delivery)
    assert NodeSpec.from_json(spec.to_json()).log_delivery is not None


def worker_delivery(**changes: Any) -> LogDelivery:
    values: dict[str, Any] = {
        "cluster_name": "orders",
        "cluster_uuid": "0123abcd-ef-2",
        "account_id": "123456789012",
        "region": "us-east-1",
        "bucket": "worker-logs",
        "prefix": "connect",
        "source": "worker",
        "worker_id": "0bb8afa0b01391c41",
        "s3_api": True,
    }
    values.update(changes)
    return LogDelivery(**values)


def test_worker_names_follow_msks_layout_with_kafka_connect_logs(tmp_path: Path) -> None:
    delivery = worker_delivery(log_group="/connect/orders")
    at = datetime(2026, 12, 7, 1, 5, tzinfo=UTC)
    assert bucket_object_key(delivery, 0, at, "5b17f696") == (
        "connect/AWSLogs/123456789012/KafkaConnectLogs/us-east-1/orders-0123abcd-ef-2/"
        "2026-12-07-01/Worker-0bb8afa0b01391c41_01-05_5b17f696.log.gz"
    )
    assert log_group_file(tmp_path, delivery, 0).name == "Worker-0bb8afa0b01391c41.log"
    assert delivery.line_prefix == "[Worker-0bb8afa0b01391c41] "
    record = log_record("0bb8afa0b01391c41", "[2026-12-07 01:05:00,000] INFO up (x.Y)", "worker")
    assert record["worker"] == "0bb8afa0b01391c41" and record["level"] == "INFO"
    with pytest.raises(ValueError):
        worker_delivery(worker_id="not-hex")


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="worker-logs")
        yield client


def line(n: int) -> QueuedLine:
    return QueuedLine(n, f"line {n}", Position(0, 0))


def test_worker_log_objects_are_put_whole_to_the_s3_api(s3: Any) -> None:
    at = datetime(2026, 12, 7, 1, 5, tzinfo=UTC)
    destination = S3ObjectDestination(worker_delivery(), 0, batch_seconds=0, clock=lambda: at)
    destination.deliver([line(1), line(2)])
    [found] = s3.list_objects_v2(Bucket="worker-logs")["Contents"]
    assert "/KafkaConnectLogs/" in found["Key"]
    body = s3.get_object(Bucket="worker-logs", Key=found["Key"])["Body"].read()
    assert gzip.decompress(body) == b"line 1\nline 2\n"

    missing = S3ObjectDestination(worker_delivery(bucket="no-such-bucket"), 0, batch_seconds=0)
    with pytest.raises(DeliveryError):
        missing.deliver([line(3)])


def test_a_workers_shipper_prefixes_its_lines_with_the_worker_id(s3: Any, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "server.log").write_text("")
    delivery = worker_delivery()
    shipper = LogShipper.for_broker(delivery, 0, logs, tmp_path, tmp_path)
    shipper._senders[0].destination.batch_seconds = 0  # type: ignore[misc]
    shipper.interval = 0.02
    shipper.start()
    try:
        with open(logs / "server.log", "a") as out:
            out.write("[2026-12-07 01:05:00,000] INFO Kafka Connect started (x.Y)\n")
        deadline = time.monotonic() + 30
        while not s3.list_objects_v2(Bucket="worker-logs").get("Contents"):
            assert time.monotonic() < deadline, shipper.report()
            time.sleep(0.05)
    finally:
        shipper.stop()
    [found] = s3.list_objects_v2(Bucket="worker-logs")["Contents"]
    text = gzip.decompress(s3.get_object(Bucket="worker-logs", Key=found["Key"])["Body"].read())
    assert text.decode() == (
        "[Worker-0bb8afa0b01391c41] [2026-12-07 01:05:00,000] INFO Kafka Connect started (x.Y)\n"
    )

"""Broker log delivery (MSK's LoggingInfo): the request's checks, the destinations' layout, what
the control plane sends each broker, and the agent's delivery (tailing, checkpoint, bounded
queues), without Kafka."""

from __future__ import annotations

import gzip
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from steward.agent import processes
from steward.agent.log_delivery import LogDelivery, bucket_object_key, log_group_file
from steward.agent.log_shipper import (
    CHECKPOINT_FILE,
    BucketDestination,
    DeliveryError,
    DeliveryQueue,
    LogGroupDestination,
    LogShipper,
    QueuedLine,
    log_record,
)
from steward.agent.log_tail import LogTailer, Position
from steward.agent.spec import InvalidSpec, NodeSpec
from steward.agent.supervisor import NodePaths, NodeSupervisor, SupervisionPolicy
from steward.api.msk.fields import Fields
from steward.api.msk.logging_info import logging_info
from steward.api.msk.requests import cluster_spec
from steward.control.broker_logs import broker_log_delivery
from steward.domain.errors import BadRequestException
from steward.domain.model import (
    BrokerNodeGroup,
    ClientBroker,
    Cluster,
    ClusterSpec,
    ClusterState,
    EncryptionInTransit,
    Node,
    NodeRole,
    utcnow,
)

ARN = "arn:aws:kafka:us-east-1:123456789012:cluster/demo/043b6d76-352c-494a-9eee-fbff5cc1687d-1"
DELIVERY = LogDelivery(
    cluster_name="demo",
    cluster_uuid="043b6d76-352c-494a-9eee-fbff5cc1687d-1",
    account_id="123456789012",
    region="us-east-1",
    log_group="/steward/broker-logs",
    bucket="broker-logs",
    prefix="kafka/",
)


def checked(info: dict[str, Any]) -> dict[str, Any] | None:
    return logging_info(Fields({"loggingInfo": info}).object("loggingInfo"))


def refused(info: dict[str, Any]) -> BadRequestException:
    with pytest.raises(BadRequestException) as caught:
        checked(info)
    return caught.value


# --- the request -------------------------------------------------------------------------------
def test_every_destination_is_kept_in_msks_shape() -> None:
    info = {
        "brokerLogs": {
            "cloudWatchLogs": {"enabled": True, "logGroup": "/steward/brokers", "extra": 1},
            "firehose": {"enabled": True, "deliveryStream": "broker-logs"},
            "s3": {"enabled": True, "bucket": "my-logs", "prefix": "kafka/"},
        }
    }
    assert checked(info) == {
        "brokerLogs": {
            "cloudWatchLogs": {"enabled": True, "logGroup": "/steward/brokers"},
            "firehose": {"enabled": True, "deliveryStream": "broker-logs"},
            "s3": {"enabled": True, "bucket": "my-logs", "prefix": "kafka/"},
        }
    }


def test_a_disabled_destination_needs_no_resource() -> None:
    info = {"brokerLogs": {"cloudWatchLogs": {"enabled": False}, "s3": {"enabled": False}}}
    assert checked(info) == info


@pytest.mark.parametrize(
    ("info", "parameter"),
    [
        ({}, "loggingInfo.brokerLogs"),
        ({"brokerLogs": {"cloudWatchLogs": {}}}, "loggingInfo.brokerLogs.cloudWatchLogs.enabled"),
        (
            {"brokerLogs": {"cloudWatchLogs": {"enabled": True}}},
            "loggingInfo.brokerLogs.cloudWatchLogs.logGroup",
        ),
        (
            {"brokerLogs": {"firehose": {"enabled": True}}},
            "loggingInfo.brokerLogs.firehose.deliveryStream",
        ),
        ({"brokerLogs": {"s3": {"enabled": True}}}, "loggingInfo.brokerLogs.s3.bucket"),
        (
            {"brokerLogs": {"s3": {"enabled": "yes", "bucket": "b-1"}}},
            "loggingInfo.brokerLogs.s3.enabled",
        ),
        (
            {"brokerLogs": {"cloudWatchLogs": {"enabled": True, "logGroup": "a/../../etc"}}},
            "loggingInfo.brokerLogs.cloudWatchLogs.logGroup",
        ),
        (
            {"brokerLogs": {"s3": {"enabled": True, "bucket": "Not_A_Bucket"}}},
            "loggingInfo.brokerLogs.s3.bucket",
        ),
        (
            {"brokerLogs": {"s3": {"enabled": True, "bucket": "logs", "prefix": "a/../../b"}}},
            "loggingInfo.brokerLogs.s3.prefix",
        ),
        (
            {"brokerLogs": {"firehose": {"enabled": True, "deliveryStream": "__consumer_offsets"}}},
            "loggingInfo.brokerLogs.firehose.deliveryStream",
        ),
        (
            {"brokerLogs": {"firehose": {"enabled": True, "deliveryStream": "has space"}}},
            "loggingInfo.brokerLogs.firehose.deliveryStream",
        ),
        (
            {
                "brokerLogs": {"s3": {"enabled": False}},
                "authorizerLogs": {"cloudWatchLogs": {"enabled": True, "logGroup": "authz"}},
            },
            "loggingInfo.authorizerLogs",
        ),
    ],
)
def test_bad_logging_info_names_the_parameter(info: dict[str, Any], parameter: str) -> None:
    assert refused(info).invalid_parameter == parameter


def test_create_cluster_checks_its_logging_info() -> None:
    body = {
        "kafkaVersion": "4.3.1",
        "numberOfBrokerNodes": 3,
        "brokerNodeGroupInfo": {"instanceType": "kafka.m5.large", "clientSubnets": ["az-a"]},
        "loggingInfo": {"brokerLogs": {"s3": {"enabled": True}}},
    }
    with pytest.raises(BadRequestException) as caught:
        cluster_spec(Fields(body))
    assert caught.value.invalid_parameter == "loggingInfo.brokerLogs.s3.bucket"
    body["loggingInfo"] = {"brokerLogs": {"s3": {"enabled": True, "bucket": "logs"}}}
    assert cluster_spec(Fields(body)).logging_info == body["loggingInfo"]


# --- the destinations' layout ------------------------------------------------------------------
def test_bucket_objects_follow_msks_s3_key_layout() -> None:
    at = datetime(2026, 11, 29, 1, 5, 7, tzinfo=UTC)
    assert bucket_object_key(DELIVERY, 2, at, "5b17f696") == (
        "kafka/AWSLogs/123456789012/KafkaBrokerLogs/us-east-1/"
        "demo-043b6d76-352c-494a-9eee-fbff5cc1687d-1/2026-11-29-01/Broker-2_01-05_5b17f696.log.gz"
    )
    no_prefix = LogDelivery(**{**DELIVERY.to_dict(), "prefix": ""})
    assert bucket_object_key(no_prefix, 1, at, "00").startswith("AWSLogs/123456789012/")


def test_a_log_group_is_a_directory_with_a_file_per_broker(tmp_path: Path) -> None:
    assert log_group_file(tmp_path, DELIVERY, 3) == (
        tmp_path
        / "log-groups/steward/broker-logs/demo-043b6d76-352c-494a-9eee-fbff5cc1687d-1"
        / "Broker-3.log"
    )


def test_the_agent_refuses_a_delivery_that_would_leave_its_directories() -> None:
    with pytest.raises(ValueError, match="log_group"):
        LogDelivery(**{**DELIVERY.to_dict(), "log_group": "../../etc"})
    with pytest.raises(ValueError, match="bootstrap"):
        LogDelivery(**{**DELIVERY.to_dict(), "topic": "logs"})


# --- what the control plane sends --------------------------------------------------------------
def cluster(logging: dict[str, Any] | None) -> Cluster:
    spec = ClusterSpec(
        kafka_version="4.3.1",
        number_of_broker_nodes=2,
        broker_node_group=BrokerNodeGroup("kafka.m5.large", ("az-a", "az-b")),
        logging_info=logging,
    )
    return Cluster(ARN, "demo", spec, ClusterState.ACTIVE, utcnow(), "K1", "MkU3OEVBNTcwNTJENDM2Qg")


def broker(node_id: int, host: str) -> Node:
    return Node(
        ARN, node_id, NodeRole.BROKER, "az-a", host, "az-a", {"CLIENT": 9092}, "x", utcnow(),
        "4.3.1", "kafka.m5.large",
    )  # fmt: skip


def test_enabled_destinations_become_each_brokers_delivery() -> None:
    logging = {
        "brokerLogs": {
            "cloudWatchLogs": {"enabled": True, "logGroup": "grp"},
            "firehose": {"enabled": True, "deliveryStream": "broker-logs"},
            "s3": {"enabled": False, "bucket": "unused"},
        }
    }
    nodes = [broker(1, "127.0.1.1"), broker(2, "127.0.2.1")]
    delivery = broker_log_delivery(cluster(logging), nodes)
    assert delivery == LogDelivery(
        cluster_name="demo",
        cluster_uuid="043b6d76-352c-494a-9eee-fbff5cc1687d-1",
        account_id="123456789012",
        region="us-east-1",
        log_group="grp",
        topic="broker-logs",
        bootstrap="127.0.1.1:9092,127.0.2.1:9092",
    )
    assert broker_log_delivery(cluster(None), nodes) is None
    tls_only = cluster(logging)
    tls_only.spec = tls_only.spec.replace(
        encryption_in_transit=EncryptionInTransit(ClientBroker.TLS, in_cluster=False)
    )
    over_tls = broker_log_delivery(tls_only, nodes)
    assert over_tls is not None and over_tls.security_protocol == "SSL"
    assert over_tls.bootstrap == "127.0.1.1:9094,127.0.2.1:9094" and not over_tls.node_identity
    # With TLS inside the cluster, the agent goes in where Steward does: REPLICATION, as the node.
    tls_only.spec = tls_only.spec.replace(
        encryption_in_transit=EncryptionInTransit(ClientBroker.TLS, in_cluster=True)
    )
    internal = broker_log_delivery(tls_only, nodes)
    assert internal is not None and internal.security_protocol == "SSL"
    assert internal.bootstrap == "127.0.1.1:9091,127.0.2.1:9091" and internal.node_identity
    disabled = {"brokerLogs": {"s3": {"enabled": False}}}
    assert broker_log_delivery(cluster(disabled), nodes) is None


def node_spec(delivery: LogDelivery | None, role: str = "broker") -> NodeSpec:
    return NodeSpec(
        key="b1",
        kafka_version="4.3.1",
        role=role,  # type: ignore[arg-type]
        node_id=1,
        cluster_id="MkU3OEVBNTcwNTJENDM2Qg",
        directory_id="rK8_u1GNRGeYM9hzj2zYMQ",
        properties={},
        log_delivery=delivery.to_dict() if delivery else None,
    )


def test_log_delivery_is_not_a_launch_setting() -> None:
    assert node_spec(DELIVERY).spec_hash == node_spec(None).spec_hash
    assert NodeSpec.from_json(node_spec(DELIVERY).to_json()) == node_spec(DELIVERY)
    with pytest.raises(InvalidSpec, match="only for brokers"):
        node_spec(DELIVERY, role="controller")
    bad = {**DELIVERY.to_dict(), "bucket": "UPPER"}
    with pytest.raises(InvalidSpec, match="log_delivery"):
        NodeSpec.from_dict({**node_spec(None).to_dict(), "log_delivery": bad})


# --- tailing -----------------------------------------------------------------------------------
def write(path: Path, text: str) -> None:
    with open(path, "a") as file:
        file.write(text)


def texts(tailer: LogTailer) -> list[str]:
    return [line.text for line in tailer.read()]


def roll(log: Path, backups: int = 5) -> None:
    """What Log4j's rollover does: server.log -> .1 -> .2 ..., then a new server.log."""
    for index in range(backups - 1, 0, -1):
        older = log.with_name(f"{log.name}.{index}")
        if older.exists():
            older.rename(log.with_name(f"{log.name}.{index + 1}"))
    log.rename(log.with_name(f"{log.name}.1"))
    log.touch()


def test_a_new_tailer_starts_at_the_end_of_an_existing_file(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    write(log, "old 1\nold 2\n")
    tailer = LogTailer(log)
    assert texts(tailer) == []
    write(log, "new 1\nnew 2\n")
    assert texts(tailer) == ["new 1", "new 2"]


def test_a_file_that_appears_later_is_read_from_its_beginning(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    tailer = LogTailer(log)
    assert texts(tailer) == []
    write(log, "first\n")
    assert texts(tailer) == ["first"]


def test_an_incomplete_line_waits_for_its_end(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    tailer = LogTailer(log)
    write(log, "whole\nhal")
    assert texts(tailer) == ["whole"]
    write(log, "f\n")
    assert texts(tailer) == ["half"]


def test_the_tailer_follows_rollovers_without_losing_a_line(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    tailer = LogTailer(log)
    write(log, "a\n")
    assert texts(tailer) == ["a"]
    write(log, "b\nc")  # written, then rolled before the reader saw it
    roll(log)
    write(log, "d\n")
    assert texts(tailer) == ["b", "c", "d"]
    roll(log)
    roll(log)
    write(log, "e\n")
    assert texts(tailer) == ["e"]


def test_a_position_is_found_again_in_a_rolled_file(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    write(log, "")
    first = LogTailer(log)
    write(log, "one\ntwo\n")
    lines = first.read()
    position = lines[1].start  # "two" not delivered yet
    first.close()
    roll(log)
    write(log, "three\n")
    roll(log)
    write(log, "four\n")
    again = LogTailer(log, position)
    assert texts(again) == ["two", "three", "four"]


def test_a_truncated_file_is_read_again_from_its_start(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    tailer = LogTailer(log)
    write(log, "a long first line\n")
    assert texts(tailer) == ["a long first line"]
    log.write_text("b\n")
    assert texts(tailer) == ["b"]


def test_a_position_survives_as_json() -> None:
    assert Position.from_dict(Position(7, 42).to_dict()) == Position(7, 42)
    assert Position.from_dict({"inode": "7"}) is None


# --- queues and shipping -----------------------------------------------------------------------
def line(seq: int) -> QueuedLine:
    return QueuedLine(seq, f"line {seq}", Position(1, seq * 10))


def test_a_full_queue_drops_its_oldest_lines_and_counts_them() -> None:
    queue = DeliveryQueue(capacity=3)
    for seq in range(1, 6):
        queue.put(line(seq))
    assert queue.dropped == 2
    assert [q.seq for q in queue.take(10, 0)] == [3, 4, 5]
    queue.retry()
    queue.put(line(6))
    assert queue.dropped == 3
    assert [q.seq for q in queue.take(2, 0)] == [4, 5]
    queue.done()
    assert queue.delivered == 2 and queue.waiting() == 1


class Broken:
    name = "firehose"
    batch_seconds = 0.0

    def __init__(self) -> None:
        self.down = True
        self.got: list[str] = []

    def deliver(self, lines: list[QueuedLine]) -> None:
        if self.down:
            raise DeliveryError("no broker answers")
        self.got += [q.text for q in lines]

    def close(self) -> None:
        pass


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def test_a_destination_that_is_down_delays_only_its_own_lines(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.touch()
    group = LogGroupDestination(tmp_path / "group" / "Broker-1.log")
    broken = Broken()
    checkpoint = tmp_path / CHECKPOINT_FILE
    shipper = LogShipper(
        DELIVERY, 1, log, checkpoint, [group, broken], queue_lines=5, interval=0.02
    )
    shipper.start()
    try:
        for start in (0, 4):
            write(log, "".join(f"[t] INFO line {i} (x)\n" for i in range(start, start + 4)))
            expected = start + 4
            wait_for(
                lambda: group.path.exists() and len(group.path.read_text().splitlines()) == expected  # noqa: B023
            )
        wait_for(lambda: shipper.report()["firehose"]["dropped"] == 3)
        report = shipper.report()["firehose"]
        assert report["waiting"] == 5 and report["error"] == "no broker answers"
        assert shipper.report()["cloudWatchLogs"]["delivered"] == 8
        broken.down = False
        wait_for(lambda: len(broken.got) == 5)
        assert broken.got == [f"[t] INFO line {i} (x)" for i in range(3, 8)]
        assert shipper.report()["firehose"]["error"] is None
    finally:
        shipper.stop()


def test_a_new_shipper_reads_on_from_the_oldest_undelivered_line(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.touch()
    checkpoint = tmp_path / CHECKPOINT_FILE
    broken = Broken()
    first = LogShipper(DELIVERY, 1, log, checkpoint, [broken], interval=0.02).start()
    write(log, "a\nb\n")
    wait_for(lambda: first.report()["firehose"]["waiting"] == 2)
    first.stop(timeout=1)
    saved = json.loads(checkpoint.read_text())
    assert saved == {"inode": log.stat().st_ino, "offset": 0}
    write(log, "c\n")
    broken.down = False
    second = LogShipper(DELIVERY, 1, log, checkpoint, [broken], interval=0.02).start()
    try:
        wait_for(lambda: broken.got == ["a", "b", "c"])
    finally:
        second.stop()
    assert json.loads(checkpoint.read_text())["offset"] == len("a\nb\nc\n")


def test_bucket_objects_are_whole_gzip_files_of_the_lines(tmp_path: Path) -> None:
    at = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
    bucket = BucketDestination(tmp_path, DELIVERY, 1, batch_seconds=0, clock=lambda: at)
    bucket.deliver([line(1), line(2)])
    [found] = list((tmp_path / "buckets" / "broker-logs").rglob("*.log.gz"))
    key = found.relative_to(tmp_path / "buckets" / "broker-logs").as_posix()
    assert key.startswith("kafka/AWSLogs/123456789012/KafkaBrokerLogs/us-east-1/demo-")
    assert "/2026-11-29-02/Broker-1_02-00_" in key
    assert gzip.decompress(found.read_bytes()) == b"line 1\nline 2\n"


def test_a_log_group_file_rolls_and_stays_bounded(tmp_path: Path) -> None:
    group = LogGroupDestination(tmp_path / "Broker-1.log", max_bytes=100, backups=2)
    for seq in range(40):
        group.deliver([line(seq)])
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["Broker-1.log", "Broker-1.log.1", "Broker-1.log.2"]
    assert all(p.stat().st_size <= 100 for p in tmp_path.iterdir())


def test_topic_records_are_json_with_the_log_lines_parts() -> None:
    text = "[2026-11-29 01:02:03,456] INFO [KafkaRaftServer nodeId=1] Kafka Server started (kafka.server.KafkaRaftServer)"  # noqa: E501
    assert log_record(1, text) == {
        "broker": 1,
        "timestamp": "2026-11-29 01:02:03,456",
        "level": "INFO",
        "logger": "kafka.server.KafkaRaftServer",
        "message": "[KafkaRaftServer nodeId=1] Kafka Server started",
    }
    assert log_record(2, "\tat java.lang.Thread.run") == {
        "broker": 2,
        "message": "\tat java.lang.Thread.run",
    }


# --- the agent ---------------------------------------------------------------------------------
LOGGING_STAND_IN = """
import pathlib, sys, time
log = pathlib.Path(sys.argv[1])
log.parent.mkdir(parents=True, exist_ok=True)
for i in range(100000):
    with open(log, "a") as f:
        f.write(f"[2026-11-29 01:00:00,000] INFO tick {i} (stand.in)\\n")
    time.sleep(0.05)
"""


def logging_command(spec: NodeSpec, paths: NodePaths) -> list[str]:
    return [sys.executable, "-c", LOGGING_STAND_IN, str(paths.server_log), str(paths.properties)]


def new_supervisor(tmp_path: Path) -> NodeSupervisor:
    return NodeSupervisor(
        tmp_path / "agent",
        policy=SupervisionPolicy(interval=0.05, stop_timeout=5.0),
        command=logging_command,
        cgroup_root=tmp_path / "no-cgroups",
        log_destinations=tmp_path / "home",
    )


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[NodeSupervisor]:
    sup = new_supervisor(tmp_path)
    yield sup
    sup.shutdown()
    for status in sup.statuses():
        if status.pid is not None and processes.is_same_process(status.pid, None):
            os.killpg(status.pid, signal.SIGKILL)


def test_the_agent_changes_log_delivery_without_restarting_kafka(
    supervisor: NodeSupervisor, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    only_group = LogDelivery(**{**DELIVERY.to_dict(), "bucket": None})
    first = supervisor.apply(node_spec(only_group))
    assert first.pid is not None
    stream = log_group_file(home, DELIVERY, 1)
    wait_for(lambda: stream.exists() and "tick" in stream.read_text())

    second = supervisor.apply(node_spec(DELIVERY))  # a bucket too, live
    assert second.pid == first.pid
    assert second.log_delivery is not None and set(second.log_delivery) == {"cloudWatchLogs", "s3"}

    def gathered() -> bool:
        status = supervisor.status("b1")
        return (
            status is not None
            and bool(status.log_delivery)
            and (status.log_delivery["s3"]["waiting"] > 0)
        )

    wait_for(gathered)  # lines for the next object (written once a minute)
    third = supervisor.apply(node_spec(None))  # off
    assert third.pid == first.pid and third.log_delivery is None
    objects = list((home / "buckets").rglob("*.log.gz"))
    assert objects, "stopping the delivery writes out what the bucket had gathered"
    assert not (supervisor.paths("b1").root / CHECKPOINT_FILE).exists()


def test_a_restarted_agent_delivers_on_without_gaps_or_repeats(
    supervisor: NodeSupervisor, tmp_path: Path
) -> None:
    only_group = LogDelivery(**{**DELIVERY.to_dict(), "bucket": None})
    first = supervisor.apply(node_spec(only_group))
    stream = log_group_file(tmp_path / "home", DELIVERY, 1)

    def ticks() -> list[int]:
        text = stream.read_text() if stream.exists() else ""
        return [int(line.split()[4]) for line in text.splitlines()]

    wait_for(lambda: len(ticks()) >= 5)
    supervisor.shutdown()  # the agent stops; its Kafka runs on and keeps logging
    time.sleep(0.5)
    again = new_supervisor(tmp_path)
    try:
        status = again.status("b1")
        assert status is not None and status.pid == first.pid  # re-adopted, not restarted
        seen = len(ticks())
        wait_for(lambda: len(ticks()) >= seen + 10)
        delivered = ticks()
        assert delivered == list(range(delivered[0], delivered[0] + len(delivered)))
    finally:
        again.shutdown()

"""Functions triggered by a topic, against a real cluster, as a Lambda user sets them up with
boto3: a function from a ZIP that appends every record it gets to a file, and an event-source
mapping on a topic a producer keeps writing to. Every record arrives, in order within its
partition; a kill -9 of the poller mid-batch loses nothing, and the only copies are those of the
batch in flight (at least once). A handler that raises sends its batch to the on-failure topic
after the retries, and the mapping goes on. A LATEST mapping starts where the topic ended
when its poller joined, and keeps that start through a kill -9 of the poller before its first
batch. A ZIP without its handler is refused. The mapping's
lag is in the metric store.

One single-zone, one-broker cluster serves the module."""

from __future__ import annotations

import base64
import json
import os
import signal
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from confluent_kafka import Consumer, Producer, TopicPartition

from steward.monitor.store import MetricStore
from tests.integration.harness import (
    REGION,
    Steward,
    alive,
    eventually,
    pids_mentioning,
    provisioned,
)
from tests.unit.zips import zip_of

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::123456789012:role/triggers"
BATCH_SIZE = 20

APPEND = """
import base64, json, os, time

def handler(event, context):
    assert event["eventSource"] == "aws:kafka"
    with open(os.environ["OUT"], "a") as out:
        for key, records in event["records"].items():
            for record in records:
                value = base64.b64decode(record["value"]).decode()
                out.write(json.dumps([key, record["offset"], value]) + "\\n")
                out.flush()
                time.sleep(0.01)  # a batch takes a while: a kill lands in one
    return {"ok": True}
"""

RAISE = """
def handler(event, context):
    raise RuntimeError("this function fails every batch")
"""


@pytest.fixture(scope="module")
def arn(steward: Steward) -> str:
    spec = provisioned(brokers=1, zones=("az-a",))
    spec["BrokerNodeGroupInfo"]["InstanceType"] = "kafka.t3.small"
    created = steward.client().create_cluster_v2(ClusterName="triggers", Provisioned=spec)
    info = steward.wait_for_state(created["ClusterArn"], {"ACTIVE", "FAILED"}, timeout=400)
    assert info["State"] == "ACTIVE", info.get("StateInfo")
    return str(created["ClusterArn"])


@pytest.fixture(scope="module")
def bootstrap(steward: Steward, arn: str) -> str:
    return str(steward.client().get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerString"])


@pytest.fixture(scope="module")
def functions(steward: Steward) -> Any:
    access_key_id, secret = steward.credentials()
    return boto3.client(
        "lambda",
        endpoint_url=steward.endpoint,
        region_name=REGION,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret,
    )


def topic(steward: Steward, arn: str, name: str, partitions: int) -> None:
    steward.client().create_topic(
        ClusterArn=arn, TopicName=name, PartitionCount=partitions, ReplicationFactor=1
    )


def enabled(functions: Any, mapping_uuid: str) -> dict[str, Any]:
    def state() -> dict[str, Any] | None:
        got = functions.get_event_source_mapping(UUID=mapping_uuid)
        return got if got["State"] == "Enabled" else None

    return dict(eventually(state, f"mapping {mapping_uuid} Enabled", timeout=120))


class BackgroundProducer:
    """Writes numbered records, keyed so that they spread over the partitions, and remembers
    each acknowledged one in its partition's order."""

    def __init__(self, bootstrap: str, name: str, rate: float = 100.0) -> None:
        self.producer = Producer(
            {"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True}
        )
        self.topic = name
        self.rate = rate
        self.acked: dict[str, list[str]] = defaultdict(list)
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> BackgroundProducer:
        self._thread.start()
        return self

    def _delivered(self, error: Any, message: Any) -> None:
        if error is not None:
            self.errors.append(str(error))
        else:
            key = f"{message.topic()}-{message.partition()}"
            self.acked[key].append(message.value().decode())

    def _run(self) -> None:
        number = 0
        while not self._stop.is_set():
            value = f"record-{number}"
            self.producer.produce(
                self.topic, value.encode(), key=str(number).encode(), on_delivery=self._delivered
            )
            self.producer.poll(0)
            number += 1
            time.sleep(1.0 / self.rate)
        self.producer.flush(30)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)

    @property
    def count(self) -> int:
        return sum(len(values) for values in self.acked.values())


def delivered(path: Path) -> list[tuple[str, int, str]]:
    if not path.exists():
        return []
    return [tuple(json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def poller_pids(steward: Steward, mapping_uuid: str) -> list[int]:
    return [p for p in pids_mentioning(f"triggers/{mapping_uuid}/config.json") if alive(p)]


def wait_for_the_start(bootstrap: str, group: str, name: str) -> int:
    """Where a LATEST mapping's group starts on the topic's first partition, once it has one,
    as `kafka-consumer-groups --describe` would show it."""
    reader = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:

        def start() -> list[int]:
            [got] = reader.committed([TopicPartition(name, 0)], timeout=10)
            return [got.offset] if got.offset >= 0 else []

        [offset] = eventually(start, f"group {group} starting on {name}", timeout=120)
        return offset
    finally:
        reader.close()


def test_every_record_arrives_in_order_and_a_killed_poller_loses_nothing(
    steward: Steward, arn: str, bootstrap: str, functions: Any, tmp_path: Path
) -> None:
    out = tmp_path / "delivered.jsonl"
    topic(steward, arn, "orders", 3)
    functions.create_function(
        FunctionName="append",
        Runtime="python3.11",
        Role=ROLE,
        Handler="app.handler",
        Timeout=30,
        Environment={"Variables": {"OUT": str(out)}},
        Code={"ZipFile": zip_of({"app.py": APPEND})},
    )
    producer = BackgroundProducer(bootstrap, "orders").start()
    try:
        mapping = functions.create_event_source_mapping(
            FunctionName="append",
            EventSourceArn=arn,
            Topics=["orders"],
            StartingPosition="TRIM_HORIZON",
            BatchSize=BATCH_SIZE,
            MaximumBatchingWindowInSeconds=1,
        )
        assert mapping["State"] == "Creating"
        assert (
            mapping["AmazonManagedKafkaEventSourceConfig"]["ConsumerGroupId"] == (mapping["UUID"])
        )
        enabled(functions, mapping["UUID"])
        eventually(lambda: len(delivered(out)) >= 100, "the first records delivered", timeout=120)

        # kill -9 the poller while its function writes a batch
        [pid] = eventually(lambda: poller_pids(steward, mapping["UUID"]), "the poller", timeout=30)
        size = out.stat().st_size
        eventually(lambda: out.stat().st_size > size, "a batch under way", timeout=30)
        os.kill(pid, signal.SIGKILL)
        eventually(
            lambda: [p for p in poller_pids(steward, mapping["UUID"]) if p != pid],
            "a poller in the killed one's place",
            timeout=60,
        )
        time.sleep(3)
    finally:
        producer.stop()
    assert not producer.errors
    total = producer.count

    def all_there() -> bool:
        return len({(k, v) for k, _, v in delivered(out)}) >= total

    eventually(all_there, f"all {total} records delivered", timeout=180)
    got: dict[str, list[str]] = defaultdict(list)
    for key, _offset, value in delivered(out):
        got[key].append(value)
    duplicates = 0
    for key, acked in producer.acked.items():
        first_seen = list(dict.fromkeys(got[key]))
        assert first_seen == acked, f"{key}: lost or out of order"
        duplicates += len(got[key]) - len(first_seen)
    assert duplicates <= BATCH_SIZE, "copies beyond the one batch in flight at the kill"

    eventually(
        lambda: (
            functions.get_event_source_mapping(UUID=mapping["UUID"])["LastProcessingResult"] == "OK"
        ),
        "LastProcessingResult OK",
        timeout=30,
    )

    def lag_series() -> bool:
        store = MetricStore(steward.home / "metrics.db")
        try:
            return bool(store.list_series("OffsetLag", {"EventSourceMappingUUID": mapping["UUID"]}))
        finally:
            store.close()

    eventually(lag_series, "OffsetLag in the metric store", timeout=60)

    functions.delete_event_source_mapping(UUID=mapping["UUID"])

    def gone() -> bool:
        try:
            functions.get_event_source_mapping(UUID=mapping["UUID"])
        except ClientError as error:
            return error.response["Error"]["Code"] == "ResourceNotFoundException"
        return False

    eventually(gone, "the mapping deleted", timeout=60)
    assert not poller_pids(steward, mapping["UUID"])


def test_a_failing_batch_goes_to_the_failure_topic_after_the_retries(
    steward: Steward, arn: str, bootstrap: str, functions: Any
) -> None:
    topic(steward, arn, "payments", 1)
    topic(steward, arn, "payments-failed", 1)
    functions.create_function(
        FunctionName="raiser",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": zip_of({"app.py": RAISE})},
    )
    mapping = functions.create_event_source_mapping(
        FunctionName="raiser",
        EventSourceArn=arn,
        Topics=["payments"],
        StartingPosition="LATEST",
        BatchSize=10,
        MaximumRetryAttempts=2,
        DestinationConfig={"OnFailure": {"Destination": "kafka://payments-failed"}},
        AmazonManagedKafkaEventSourceConfig={"ConsumerGroupId": "payments-function"},
    )
    enabled(functions, mapping["UUID"])
    wait_for_the_start(bootstrap, "payments-function", "payments")
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for i in range(5):
        producer.produce("payments", f"payment-{i}".encode())
    assert producer.flush(30) == 0

    reader = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "failure-reader",
            "auto.offset.reset": "earliest",
        }
    )
    reader.subscribe(["payments-failed"])
    try:
        failed: list[dict[str, Any]] = []
        deadline = time.time() + 120
        seen: set[str] = set()
        while len(seen) < 5 and time.time() < deadline:
            message = reader.poll(1.0)
            if message is None or message.error():
                continue
            record = json.loads(message.value())
            failed.append(record)
            for records in record["payload"]["records"].values():
                for r in records:
                    seen.add(base64.b64decode(r["value"]).decode())
    finally:
        reader.close()
    assert seen == {f"payment-{i}" for i in range(5)}
    first = failed[0]
    assert first["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert first["requestContext"]["approximateInvokeCount"] == 3
    assert first["responseContext"]["functionError"] == "Unhandled"
    assert first["KafkaBatchInfo"][0]["topic"] == "payments"
    eventually(
        lambda: (
            functions.get_event_source_mapping(UUID=mapping["UUID"])["LastProcessingResult"]
            == "PROBLEM: Function call failed"
        ),
        "LastProcessingResult PROBLEM",
        timeout=30,
    )
    functions.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
    eventually(
        lambda: functions.get_event_source_mapping(UUID=mapping["UUID"])["State"] == "Disabled",
        "the mapping disabled",
        timeout=60,
    )


def test_a_latest_poller_killed_before_its_first_batch_skips_nothing(
    steward: Steward, arn: str, bootstrap: str, functions: Any, tmp_path: Path
) -> None:
    out = tmp_path / "delivered.jsonl"
    topic(steward, arn, "refunds", 1)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    producer.produce("refunds", b"before-the-mapping")
    assert producer.flush(30) == 0
    functions.create_function(
        FunctionName="refunds",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Environment={"Variables": {"OUT": str(out)}},
        Code={"ZipFile": zip_of({"app.py": APPEND})},
    )
    mapping = functions.create_event_source_mapping(
        FunctionName="refunds",
        EventSourceArn=arn,
        Topics=["refunds"],
        StartingPosition="LATEST",
        AmazonManagedKafkaEventSourceConfig={"ConsumerGroupId": "refunds-function"},
    )
    enabled(functions, mapping["UUID"])
    assert wait_for_the_start(bootstrap, "refunds-function", "refunds") == 1

    [pid] = eventually(lambda: poller_pids(steward, mapping["UUID"]), "the poller", timeout=30)
    os.kill(pid, signal.SIGKILL)
    for i in range(5):
        producer.produce("refunds", f"refund-{i}".encode())
    assert producer.flush(30) == 0

    eventually(lambda: len(delivered(out)) >= 5, "the five refunds delivered", timeout=120)
    assert [value for _key, _offset, value in delivered(out)] == [f"refund-{i}" for i in range(5)]
    functions.delete_event_source_mapping(UUID=mapping["UUID"])


def test_a_zip_without_the_handler_is_refused(functions: Any) -> None:
    with pytest.raises(ClientError) as refused:
        functions.create_function(
            FunctionName="no-handler",
            Runtime="python3.11",
            Role=ROLE,
            Handler="main.handler",
            Code={"ZipFile": zip_of({"other.py": "def handler(event, context):\n    pass\n"})},
        )
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"

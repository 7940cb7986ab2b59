"""A skewed real cluster is balanced while a producer with acks=all writes to the topic that
moves: the plan route shows the moves without making them, the rebalance operation makes them
in batches, and every acknowledged message is still there afterwards."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

from steward.kafka.reassignment import current_assignment
from tests.integration.harness import Steward, provisioned

pytestmark = pytest.mark.integration

TOPIC = "skewed"
PARTITIONS = 12


@pytest.fixture(scope="module")
def cluster(steward: Steward) -> Iterator[dict[str, Any]]:
    client = steward.client()
    arn = client.create_cluster_v2(ClusterName="skewed", Provisioned=provisioned())["ClusterArn"]
    info = steward.wait_for_state(arn, {"ACTIVE", "FAILED"}, timeout=300)
    assert info["State"] == "ACTIVE", info.get("StateInfo")
    bootstrap = client.get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerString"]
    # Every partition on brokers 1 and 2 (zones a and b): spread as wide as RF 2 allows, but
    # broker 3 holds none of it.
    layout = {p: [1, 2] if p % 2 == 0 else [2, 1] for p in range(PARTITIONS)}
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=60_000)
    try:
        admin.create_topics([NewTopic(TOPIC, replica_assignments=layout)], timeout_ms=60_000)
    finally:
        admin.close()
    filler = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 20})
    for i in range(3000):
        filler.produce(TOPIC, f"{10**11 + i:012d}".encode() + b"x" * 2000)
        filler.poll(0)
    assert filler.flush(60) == 0
    yield {"arn": arn, "bootstrap": bootstrap}


class CountingProducer:
    """Produces numbered messages with acks=all until stopped; keeps the acknowledged ones."""

    def __init__(self, bootstrap: str) -> None:
        self.producer = Producer(
            {"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True}
        )
        self.acked: set[int] = set()
        self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _delivered(self, error: KafkaError | None, message: Any) -> None:
        if error is None:
            self.acked.add(int(message.value()[:12]))
        else:
            self.failed += 1

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            self.producer.produce(
                TOPIC, f"{n:012d}".encode() + b"x" * 2000, on_delivery=self._delivered
            )
            n += 1
            self.producer.poll(0.01)
        self.producer.flush(60)

    def start(self) -> CountingProducer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(90)


def consumed_numbers(bootstrap: str) -> set[int]:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "verify", "enable.auto.commit": False}
    )
    try:
        parts = [TopicPartition(TOPIC, p, 0) for p in range(PARTITIONS)]
        ends = {}
        for tp in parts:
            _, high = consumer.get_watermark_offsets(tp, timeout=30)
            ends[tp.partition] = high
        consumer.assign(parts)
        seen: set[int] = set()
        done: set[int] = {p for p, end in ends.items() if end == 0}
        idle = 0
        while len(done) < PARTITIONS and idle < 60:
            message = consumer.poll(1.0)
            if message is None:
                idle += 1
                continue
            if message.error():
                continue
            seen.add(int(message.value()[:12]))
            if message.offset() + 1 >= ends[message.partition()]:
                done.add(message.partition())
        return seen
    finally:
        consumer.close()


def test_a_skewed_cluster_is_balanced_with_no_acknowledged_message_lost(
    steward: Steward, cluster: dict[str, Any]
) -> None:
    arn, bootstrap = cluster["arn"], cluster["bootstrap"]
    path = f"/steward/v1/clusters/{quote(arn, safe='')}/rebalance"
    producer = CountingProducer(bootstrap).start()
    with steward.http() as http:
        before = current_assignment(bootstrap)
        plan = http.get(f"{path}/plan").json()
        assert plan["moves"] > 0, plan
        assert {g["goal"] for g in plan["goals"]} >= {"replicas", "disk", "leaders"}
        assert current_assignment(bootstrap) == before  # the dry run moved nothing

        started = http.post(path).json()
        operation = steward.wait_for_operation(started["clusterOperationArn"], timeout=900)
        producer.stop()
        assert operation["OperationType"] == "REBALANCE"
        assert operation["OperationState"] == "UPDATE_COMPLETE", operation.get("ErrorInfo")
        steps = [s["StepName"] for s in operation["OperationSteps"]]
        assert steps[:2] == ["PLAN_BALANCE", "MOVE_IN_BATCHES"]

        status = http.get(path).json()
        assert status["lastRebalance"]["plan"]["moves"] > 0

    after = current_assignment(bootstrap)
    held = Counter(b for (t, _), r in after.items() if t == TOPIC for b in r)
    assert held[3] > 0, held
    zones = {1: "az-a", 2: "az-b", 3: "az-c"}
    for (topic, _), replicas in after.items():
        if topic == TOPIC:
            assert len({zones[b] for b in replicas}) == 2
    assert producer.acked, "the producer got no acknowledgement at all"
    lost = producer.acked - consumed_numbers(bootstrap)
    assert not lost, f"{len(lost)} acknowledged messages are missing"


def test_update_rebalancing_turns_continuous_balancing_on(
    steward: Steward, cluster: dict[str, Any]
) -> None:
    client = steward.client()
    arn = cluster["arn"]
    client.update_rebalancing(
        ClusterArn=arn,
        CurrentVersion=steward.current_version(arn),
        Rebalancing={"Status": "ACTIVE"},
    )
    info = client.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]
    assert info["Provisioned"]["Rebalancing"] == {"Status": "ACTIVE"}
    client.update_rebalancing(
        ClusterArn=arn,
        CurrentVersion=steward.current_version(arn),
        Rebalancing={"Status": "PAUSED"},
    )

"""A client workload that runs through a cluster operation or a fault: an idempotent producer
with acks=all and a consumer, and the checks a user cares about afterwards. Used by the tests, the
benchmarks and `steward chaos run`.

The producer is confluent-kafka's, or Kafka's own Java client (`producer="java"`: Kafka's
VerifiableProducer, as a user of Kafka's tools runs it). It writes numbered messages and remembers
each acknowledged one; the consumer (confluent-kafka) reads them back. `verify()` asserts that
every acknowledged message was consumed exactly once and in order within its partition, and that
the producer saw no error it could not retry. The longest gap between two acknowledgements is
the stall the client felt.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient

from steward.kafka.admin import java_client_security, librdkafka_security
from steward.kafka.distribution import require_distribution
from steward.kafka.java import find_java
from steward.kafka.properties import render_properties
from steward.kafka.tools import TOOL_JVM_OPTIONS, newest_installed_version
from steward.kafka.topics import create_topic

VERIFIABLE_PRODUCER = "org.apache.kafka.tools.VerifiableProducer"
PRODUCERS = ("confluent", "java")


@dataclass
class WorkloadResult:
    acked: int
    consumed: int
    longest_stall: float
    """Seconds: the longest time between two acknowledgements of one partition."""
    errors: list[str] = field(default_factory=list)
    lost: int = 0
    """Acknowledged messages never consumed."""
    duplicates: int = 0
    """Extra copies consumed (a message consumed twice counts once)."""
    rewritten: int = 0
    """Of those, copies the log holds at an offset of their own: the producer wrote the message
    twice. librdkafka's idempotent producer does this now and then when a partition's leader
    changes (librdkafka issue #4953, open): it retries a batch under a new producer epoch, which
    the broker cannot tell from new data. Reported, and not counted as a problem of the cluster's;
    a copy read twice from the same offset is."""


class Workload:
    def __init__(
        self,
        bootstrap: str,
        partitions: int = 6,
        rate: float = 200.0,
        producer: str = "confluent",
    ) -> None:
        """`bootstrap`: a cluster's plaintext bootstrap string, or a `TlsBootstrap` (TLS, trusting
        the cluster's CA). `producer`: "confluent" or "java" (`PRODUCERS`)."""
        if producer not in PRODUCERS:
            raise ValueError(f"producer {producer!r}: give one of {', '.join(PRODUCERS)}")
        self.bootstrap = bootstrap
        self.producer = producer
        self.rate = rate
        self.topic = f"workload-{uuid.uuid4().hex[:8]}"
        self.partitions = partitions
        self.interval = 1.0 / rate
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.acked: dict[int, list[int]] = defaultdict(list)
        """partition -> acknowledged sequence numbers, in acknowledgement order"""
        self.consumed: dict[int, list[int]] = defaultdict(list)
        self.offsets: dict[int, list[int]] = defaultdict(list)
        """partition -> the log offset of each consumed message (parallel to `consumed`)"""
        self.errors: list[str] = []
        self._ack_times: dict[int, list[float]] = defaultdict(list)
        self._threads: list[threading.Thread] = []

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self) -> Workload:
        create_topic(self.bootstrap, self.topic, self.partitions)
        self._wait_for_topic(
            AdminClient(
                {"bootstrap.servers": str(self.bootstrap), **librdkafka_security(self.bootstrap)}
            )
        )
        produce = self._produce_java if self.producer == "java" else self._produce
        self._threads = [
            threading.Thread(target=produce, name="workload-producer", daemon=True),
            threading.Thread(target=self._consume, name="workload-consumer", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, drain_timeout: float = 90.0) -> WorkloadResult:
        """Stop producing, let the consumer read everything that was acknowledged, and report."""
        self._stop.set()
        self._threads[0].join(60)
        deadline = time.time() + drain_timeout
        while time.time() < deadline and self._consumed_count() < self._acked_count():
            time.sleep(0.2)
        self._drained = True
        self._threads[1].join(30)
        gaps = [b - a for times in self._ack_times.values() for a, b in itertools.pairwise(times)]
        with self._lock:
            lost = sum(
                len(set(acked) - set(self.consumed.get(p, []))) for p, acked in self.acked.items()
            )
            duplicates = sum(len(c) - len(set(c)) for c in self.consumed.values())
            rewritten = sum(
                len(set(zip(c, o, strict=True))) - len(set(c))
                for c, o in ((self.consumed[p], self.offsets[p]) for p in self.consumed)
            )
        return WorkloadResult(
            acked=self._acked_count(),
            consumed=self._consumed_count(),
            longest_stall=max(gaps, default=0.0),
            errors=list(self.errors),
            lost=lost,
            duplicates=duplicates,
            rewritten=rewritten,
        )

    def problems(self, result: WorkloadResult) -> list[str]:
        """What went wrong for the clients, in words; empty when every acknowledged message was
        consumed, in order, never read twice from the same offset, and the producer saw no error
        it could not retry. A message the producer wrote twice (see `WorkloadResult.rewritten`)
        is not a problem here; its later copy is left out of the order check."""
        found = [f"producer: {e}" for e in result.errors[:5]]
        if result.acked == 0:
            found.append("nothing was acknowledged")
        for partition, acked in sorted(self.acked.items()):
            consumed = self.consumed.get(partition, [])
            offsets = self.offsets.get(partition, [])
            reads = list(zip(consumed, offsets, strict=True))
            if len(reads) != len(set(reads)):
                found.append(self._describe_duplicates(partition))
                continue
            first = list(dict.fromkeys(consumed))
            if first != sorted(first):
                found.append(f"partition {partition} out of order")
            elif sorted(acked) != first:
                found.append(
                    f"partition {partition}: {len(acked)} acknowledged, {len(first)} consumed"
                )
        return found

    def rewrites(self) -> list[str]:
        """The messages the producer wrote twice, per partition, in words."""
        return [
            self._describe_duplicates(p)
            for p in sorted(self.consumed)
            if len(self.consumed[p]) != len(set(self.consumed[p]))
        ]

    def verify(self, result: WorkloadResult) -> None:
        """Raise AssertionError naming every problem (see `problems`)."""
        found = self.problems(result)
        if found:
            raise AssertionError("; ".join(found))

    def _describe_duplicates(self, partition: int) -> str:
        """Which messages of `partition` came twice, and whether the log holds them twice (two
        offsets: written twice) or the consumer was handed the same offset twice."""
        seen: dict[int, list[int]] = defaultdict(list)
        for value, offset in zip(self.consumed[partition], self.offsets[partition], strict=True):
            seen[value].append(offset)
        twice = {value: offsets for value, offsets in seen.items() if len(offsets) > 1}
        where = [
            f"message {value} at offsets {offsets} "
            + ("(the same offset read again)" if len(set(offsets)) == 1 else "(written twice)")
            for value, offsets in sorted(twice.items())[:5]
        ]
        return f"duplicates in partition {partition}: " + "; ".join(where)

    # --- the clients ----------------------------------------------------------------------------
    _drained = False

    def _wait_for_topic(self, admin: AdminClient) -> None:
        deadline = time.time() + 30
        while time.time() < deadline:
            topic = admin.list_topics(self.topic, timeout=5).topics.get(self.topic)
            if topic is not None and len(topic.partitions) == self.partitions:
                return
            time.sleep(0.2)

    def _produce(self) -> None:
        producer = Producer(
            {
                "bootstrap.servers": str(self.bootstrap),
                **librdkafka_security(self.bootstrap),
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 5,
                "delivery.timeout.ms": 120000,
            }
        )

        def delivered(err: KafkaError | None, msg: Any) -> None:
            if err is not None:
                with self._lock:
                    self.errors.append(f"{err.name()}: {err.str()}")
                return
            with self._lock:
                self.acked[msg.partition()].append(int(msg.value()))
                self._ack_times[msg.partition()].append(time.monotonic())

        sequence = 0
        while not self._stop.is_set():
            partition = sequence % self.partitions
            producer.produce(
                self.topic, str(sequence).encode(), partition=partition, on_delivery=delivered
            )
            producer.poll(0)
            sequence += 1
            time.sleep(self.interval)
        remaining = producer.flush(120)
        if remaining:
            with self._lock:
                self.errors.append(f"{remaining} messages never acknowledged")

    def _produce_java(self) -> None:
        """Kafka's VerifiableProducer at `rate` messages a second, acks=all, idempotent, retrying
        for up to two minutes like the confluent producer (the tool itself sets `retries=0`; its
        --producer.config file overrides that): one JSON line per acknowledgement or error on its
        stdout. Its values count up from 0, and its partitioner keeps each partition's values in
        order."""
        settings = {
            **java_client_security(self.bootstrap),
            "enable.idempotence": "true",
            "retries": "2147483647",
            "delivery.timeout.ms": "120000",
            "linger.ms": "5",
        }
        with tempfile.TemporaryDirectory(prefix="steward-workload-") as scratch:
            config = Path(scratch) / "producer.properties"
            config.write_text(render_properties(settings))
            config.chmod(0o600)
            version = newest_installed_version()
            command = [
                find_java(),
                *TOOL_JVM_OPTIONS,
                "-cp",
                require_distribution(version).classpath,
                VERIFIABLE_PRODUCER,
                "--bootstrap-server",
                str(self.bootstrap),
                "--topic",
                self.topic,
                "--throughput",
                str(max(1, round(self.rate))),
                "--acks",
                "-1",
                "--producer.config",
                str(config),
            ]
            process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
            )
            stopper = threading.Thread(
                target=self._stop_java_producer, args=(process,), daemon=True
            )
            stopper.start()
            assert process.stdout is not None
            for line in process.stdout:
                self._java_event(line)
            process.wait()
            stopper.join(5)

    def _stop_java_producer(self, process: subprocess.Popen[str]) -> None:
        """At the workload's stop, SIGTERM: the producer's shutdown hook flushes what it has
        sent and reports the last acknowledgements before it exits."""
        self._stop.wait()
        process.terminate()
        try:
            process.wait(120)
        except subprocess.TimeoutExpired:
            process.kill()
            with self._lock:
                self.errors.append("the Java producer did not stop within 120 s")

    def _java_event(self, line: str) -> None:
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            return
        name = event.get("name")
        with self._lock:
            if name == "producer_send_success":
                self.acked[int(event["partition"])].append(int(event["value"]))
                self._ack_times[int(event["partition"])].append(time.monotonic())
            elif name == "producer_send_error":
                self.errors.append(f"{event.get('exception')}: {event.get('message')}")

    def _consume(self) -> None:
        # Partitions are assigned, not subscribed: no group rebalance can re-deliver a message,
        # so a duplicate seen here is a duplicate in the log.
        consumer = Consumer(
            {
                "bootstrap.servers": str(self.bootstrap),
                **librdkafka_security(self.bootstrap),
                "group.id": f"{self.topic}-reader",
                "enable.auto.commit": False,
            }
        )
        consumer.assign(
            [TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in range(self.partitions)]
        )
        try:
            while not (self._stop.is_set() and self._drained):
                msg = consumer.poll(0.5)
                if msg is None:
                    continue
                if msg.error() is not None:
                    if not msg.error().retriable() and msg.error().fatal():
                        with self._lock:
                            self.errors.append(f"consumer: {msg.error().str()}")
                    continue
                with self._lock:
                    self.consumed[msg.partition()].append(int(msg.value()))
                    self.offsets[msg.partition()].append(msg.offset())
        finally:
            consumer.close()

    def _acked_count(self) -> int:
        with self._lock:
            return sum(len(v) for v in self.acked.values())

    def _consumed_count(self) -> int:
        with self._lock:
            return sum(len(v) for v in self.consumed.values())

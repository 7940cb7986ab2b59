"""A load generator that holds a cluster's bytes in at a chosen rate, and the read-back that
proves nothing it was told was written went missing.

`PacedProducer` writes numbered records with confluent-kafka (acks=all, idempotent) at about
`bytes_per_s`, in ticks of a tenth of a second, and keeps the numbers Kafka acknowledged: the
rate is what a broker autoscaling policy on network in sees, so a test (or the benchmark) sets
the load and knows what it set. `read_numbers` reads a topic from the start to the end offsets of
every partition and returns the record numbers found.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

NUMBER_DIGITS = 12


class PacedProducer:
    def __init__(
        self, bootstrap: str, topic: str, bytes_per_s: float, record_bytes: int = 2048
    ) -> None:
        self.topic = topic
        self.bytes_per_s = bytes_per_s
        self.record_bytes = max(record_bytes, NUMBER_DIGITS)
        self.producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 20,
                "delivery.timeout.ms": 120_000,
            }
        )
        self.acked: set[int] = set()
        self.failed = 0
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="paced-producer", daemon=True)

    def _delivered(self, error: KafkaError | None, message: Any) -> None:
        if error is None:
            self.acked.add(int(message.value()[:NUMBER_DIGITS]))
        else:
            self.failed += 1

    def _run(self) -> None:
        tick = 0.1
        per_tick = self.bytes_per_s * tick / self.record_bytes
        owed = 0.0
        padding = b"x" * (self.record_bytes - NUMBER_DIGITS)
        next_tick = time.monotonic()
        while not self._stop.is_set():
            owed += per_tick
            while owed >= 1.0:
                value = f"{self.sent:0{NUMBER_DIGITS}d}".encode() + padding
                try:
                    self.producer.produce(self.topic, value, on_delivery=self._delivered)
                except BufferError:
                    break  # the client's queue is full: the cluster is behind, skip a beat
                self.sent += 1
                owed -= 1.0
            self.producer.poll(0)
            next_tick += tick
            pause = next_tick - time.monotonic()
            if pause > 0:
                self._stop.wait(pause)
            else:
                next_tick = time.monotonic()  # fell behind: do not burst to catch up
        self.producer.flush(120)

    def start(self) -> PacedProducer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop producing and wait until every record sent is acknowledged or failed."""
        self._stop.set()
        self._thread.join(150)


def read_numbers(bootstrap: str, topic: str, partitions: int, idle_limit: float = 60.0) -> set[int]:
    """Every record number in `topic`, read from the start up to each partition's end offset."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"read-back-{topic}",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
        }
    )
    try:
        parts = [TopicPartition(topic, p, 0) for p in range(partitions)]
        ends = {}
        for tp in parts:
            _, high = consumer.get_watermark_offsets(tp, timeout=30)
            ends[tp.partition] = high
        consumer.assign(parts)
        seen: set[int] = set()
        done = {p for p, end in ends.items() if end == 0}
        idle_since = time.monotonic()
        while len(done) < partitions and time.monotonic() - idle_since < idle_limit:
            messages = consumer.consume(500, timeout=1.0)
            if messages:
                idle_since = time.monotonic()
            for message in messages:
                if message.error():
                    continue
                seen.add(int(message.value()[:NUMBER_DIGITS]))
                if message.offset() + 1 >= ends[message.partition()]:
                    done.add(message.partition())
        return seen
    finally:
        consumer.close()

"""Reading a topic back with kafka-python until what a test wrote is there, instead of until the
consumer has been idle for a while (which every passing test would wait out in full)."""

from __future__ import annotations

import time
from collections.abc import Collection

from kafka import KafkaConsumer


def read_until_seen(
    consumer: KafkaConsumer, expected: Collection[bytes], timeout: float = 30.0
) -> list[bytes]:
    """Every value the consumer reads, in order, until all of `expected` is among them or
    `timeout` seconds have passed; the consumer is closed after."""
    wanted = set(expected)
    values: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while not wanted <= set(values) and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                values.extend(record.value for record in records)
    finally:
        consumer.close()
    return values

"""Lambda's MSK event: what a function triggered by a topic gets. Records are grouped by
`<topic>-<partition>`, each with its offset, timestamp and timestampType, key and value in
base64, and headers as Lambda shows them (a list of one-member objects, each value a list of
byte values)."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

EVENT_SOURCE = "aws:kafka"
TIMESTAMP_TYPES = {0: "NO_TIMESTAMP_TYPE", 1: "CREATE_TIME", 2: "LOG_APPEND_TIME"}
"""confluent-kafka's timestamp types, by Kafka's names."""


@dataclass(frozen=True)
class KafkaRecord:
    topic: str
    partition: int
    offset: int
    timestamp: int
    timestamp_type: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes | None]] = ()


def record_json(record: KafkaRecord) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp": record.timestamp,
        "timestampType": TIMESTAMP_TYPES.get(record.timestamp_type, "NO_TIMESTAMP_TYPE"),
    }
    if record.key is not None:
        shown["key"] = base64.b64encode(record.key).decode()
    if record.value is not None:
        shown["value"] = base64.b64encode(record.value).decode()
    shown["headers"] = [{name: list(value or b"")} for name, value in record.headers]
    return shown


def partition_key(topic: str, partition: int) -> str:
    return f"{topic}-{partition}"


def msk_event(
    cluster_arn: str, bootstrap_servers: str, records: Iterable[KafkaRecord]
) -> dict[str, Any]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        grouped.setdefault(partition_key(record.topic, record.partition), []).append(
            record_json(record)
        )
    return {
        "eventSource": EVENT_SOURCE,
        "eventSourceArn": cluster_arn,
        "bootstrapServers": bootstrap_servers,
        "records": grouped,
    }

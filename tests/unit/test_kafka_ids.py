"""Kafka's random ids as Steward makes them."""

from steward.kafka.ids import random_kafka_uuid


def test_kafka_ids_never_start_with_a_dash() -> None:
    ids = [random_kafka_uuid() for _ in range(5000)]
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)
    assert len(set(ids)) == len(ids)

"""The rolling-restart safety rules, on partition states written by hand (no Kafka)."""

from __future__ import annotations

import pytest

from steward.kafka.health import HealthError, PartitionState, under_replicated, unsafe_to_stop


def state(
    topic: str, partition: int, replicas: tuple[int, ...], isr: tuple[int, ...]
) -> PartitionState:
    return PartitionState(topic, partition, isr[0] if isr else None, replicas, isr)


def test_a_partition_with_its_full_isr_is_not_under_replicated() -> None:
    healthy = state("orders", 0, (1, 2, 3), (1, 2, 3))
    lagging = state("orders", 1, (1, 2, 3), (2, 3))
    offline = state("orders", 2, (1, 2, 3), ())
    assert under_replicated([healthy, lagging, offline]) == [lagging, offline]


def test_isr_order_does_not_matter() -> None:
    assert under_replicated([state("t", 0, (1, 2, 3), (3, 1, 2))]) == []


def test_stopping_a_broker_is_safe_while_every_isr_stays_at_min_isr() -> None:
    states = [state("orders", p, (1, 2, 3), (1, 2, 3)) for p in range(3)]
    assert unsafe_to_stop(states, 1, {"orders": 2}) == []


def test_stopping_would_take_an_rf3_partition_with_isr_2_and_min_isr_2_under() -> None:
    shrunk = state("orders", 0, (1, 2, 3), (1, 2))
    full = state("orders", 1, (1, 2, 3), (1, 2, 3))
    assert unsafe_to_stop([shrunk, full], 1, {"orders": 2}) == [shrunk]
    assert unsafe_to_stop([shrunk, full], 2, {"orders": 2}) == [shrunk]


def test_a_broker_outside_the_isr_does_not_count() -> None:
    shrunk = state("orders", 0, (1, 2, 3), (1, 2))
    assert unsafe_to_stop([shrunk], 3, {"orders": 2}) == []


def test_min_isr_is_per_topic() -> None:
    relaxed = state("logs", 0, (1, 2, 3), (1, 2))
    strict = state("payments", 0, (1, 2, 3), (1, 2))
    assert unsafe_to_stop([relaxed, strict], 1, {"logs": 1, "payments": 2}) == [strict]


def test_a_partition_already_below_min_isr_is_unsafe_for_its_remaining_replicas() -> None:
    alone = state("orders", 0, (1, 2, 3), (1,))
    assert unsafe_to_stop([alone], 1, {"orders": 2}) == [alone]
    assert unsafe_to_stop([alone], 2, {"orders": 2}) == []


def test_a_single_replica_partition_never_survives_a_stop() -> None:
    single = state("scratch", 0, (2,), (2,))
    assert unsafe_to_stop([single], 2, {"scratch": 1}) == [single]
    assert unsafe_to_stop([single], 1, {"scratch": 1}) == []


def test_a_topic_without_min_isr_is_an_error_not_a_guess() -> None:
    with pytest.raises(HealthError, match="orders"):
        unsafe_to_stop([state("orders", 0, (1, 2, 3), (1, 2, 3))], 1, {})

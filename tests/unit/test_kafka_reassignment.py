"""Which replicas a reassignment throttles, and what a move in progress started from and goes to
(no Kafka)."""

from __future__ import annotations

from steward.kafka.membership import kafka_uuid
from steward.kafka.reassignment import Reassignment, throttled_replicas


def test_current_replicas_send_and_added_replicas_fetch() -> None:
    current = {("orders", 0): [1, 2, 3], ("orders", 1): [2, 3, 1]}
    target = {("orders", 0): [4, 2, 3], ("orders", 1): [2, 3, 1]}
    assert throttled_replicas(current, target) == {"orders": ("0:1,0:2,0:3", "0:4")}


def test_partitions_that_do_not_move_are_not_throttled() -> None:
    current = {("orders", 0): [1, 2, 3], ("logs", 0): [1, 2]}
    target = {("orders", 0): [1, 2, 3], ("logs", 0): [3, 2]}
    assert throttled_replicas(current, target) == {"logs": ("0:1,0:2", "0:3")}


def test_a_reordering_throttles_leaders_only() -> None:
    assert throttled_replicas({("t", 0): [1, 2]}, {("t", 0): [2, 1]}) == {"t": ("0:1,0:2", "")}


def test_a_move_in_progress_knows_where_it_started_and_where_it_goes() -> None:
    moving = Reassignment(replicas=(4, 2, 3, 1), adding=(4,), removing=(1,))
    assert moving.original == (2, 3, 1)
    assert moving.target == (4, 2, 3)


def test_directory_ids_are_printed_as_kafka_prints_them() -> None:
    assert kafka_uuid("5a2f93b5-c04a-467d-817e-d72f41d466b3") == "Wi-TtcBKRn2BftcvQdRmsw"
    assert kafka_uuid(None) == ""

"""Replicas move a few partitions per broker at a time: the next moves to start."""

from __future__ import annotations

from steward.control.steps.replicas import next_moves


def test_each_broker_takes_part_in_at_most_so_many_moves_at_once() -> None:
    current = {("t", p): [1, 2, 3] for p in range(10)}
    todo = {("t", p): [4, 2, 3] for p in range(10)}  # 1 loses, 4 gains: both take part
    first = next_moves(todo, current, {}, per_broker=3)
    assert sorted(first) == [("t", 0), ("t", 1), ("t", 2)]


def test_moves_under_way_count_against_the_limit() -> None:
    current = {("t", p): [1, 2, 3] for p in range(4)} | {("u", 0): [1, 2, 3]}
    in_flight = {("t", p): [4, 2, 3] for p in range(2)}
    todo = {("t", 2): [4, 2, 3], ("t", 3): [1, 5, 3], ("u", 0): [1, 2, 6]}
    # brokers 1 and 4 are in two moves already; 2 -> 5 and 3 -> 6 are free of them
    assert next_moves(todo, current, in_flight, per_broker=2) == {
        ("t", 3): [1, 5, 3],
        ("u", 0): [1, 2, 6],
    }


def test_a_move_that_only_reorders_replicas_always_goes() -> None:
    current = {("t", 0): [1, 2, 3], ("t", 1): [1, 2, 3]}
    in_flight = {("t", 0): [4, 2, 3]}
    assert next_moves({("t", 1): [2, 1, 3]}, current, in_flight, per_broker=1) == {
        ("t", 1): [2, 1, 3]
    }


def test_every_move_is_started_in_time() -> None:
    current = {("t", p): [1, 2] for p in range(7)}
    target = {("t", p): [3, 4] for p in range(7)}
    started: list[tuple[str, int]] = []
    while len(started) < len(target):
        todo = {tp: r for tp, r in target.items() if tp not in started}
        batch = next_moves(todo, current, {}, per_broker=2)
        assert 0 < len(batch) <= 2
        started.extend(batch)
    assert sorted(started) == sorted(target)

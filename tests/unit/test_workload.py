"""How the client workload judges what its consumer read back."""

from __future__ import annotations

from steward.chaos.workload import Workload, WorkloadResult


def judged(consumed: list[int], offsets: list[int], acked: list[int] | None = None) -> list[str]:
    workload = Workload("127.0.0.1:1")
    workload.acked[0] = acked if acked is not None else [0, 6, 12]
    workload.consumed[0] = consumed
    workload.offsets[0] = offsets
    return workload.problems(WorkloadResult(len(workload.acked[0]), len(consumed), 0.0))


def test_every_acknowledged_message_once_and_in_order_is_fine() -> None:
    assert judged([0, 6, 12], [0, 1, 2]) == []


def test_a_message_the_producer_wrote_twice_is_reported_but_not_a_problem() -> None:
    workload = Workload("127.0.0.1:1")
    workload.consumed[0] = [0, 6, 6, 12]
    workload.offsets[0] = [0, 1, 2, 3]
    assert judged([0, 6, 6, 12], [0, 1, 2, 3]) == []
    assert workload.rewrites() == ["duplicates in partition 0: message 6 at offsets [1, 2] "
                                   "(written twice)"]  # fmt: skip


def test_the_same_offset_read_twice_is_a_problem() -> None:
    [problem] = judged([0, 6, 6, 12], [0, 1, 1, 2])
    assert "the same offset read again" in problem


def test_lost_and_reordered_messages_are_problems() -> None:
    assert judged([0, 12], [0, 1]) == ["partition 0: 3 acknowledged, 2 consumed"]
    assert judged([0, 12, 6], [0, 1, 2]) == ["partition 0 out of order"]

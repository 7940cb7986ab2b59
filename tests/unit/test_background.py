"""The background-task manager: every loop of the control plane starts, wakes and stops through
it, and one failing or hung task never holds up another."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from steward.background import BackgroundTasks, Pace
from steward.server import build_control_plane
from steward.settings import Settings


@pytest.fixture
def tasks() -> Iterator[BackgroundTasks]:
    manager = BackgroundTasks()
    yield manager
    manager.stop(timeout=2.0)


def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_a_delay_task_runs_at_once_and_again_when_woken(tasks: BackgroundTasks) -> None:
    runs: list[float] = []
    tasks.add("sync", lambda: runs.append(time.monotonic()), 3600, pace=Pace.DELAY)
    tasks.start()
    assert eventually(lambda: len(runs) == 1)
    tasks.wake("sync")
    assert eventually(lambda: len(runs) == 2)
    wake = tasks.waker("sync")
    wake()
    assert eventually(lambda: len(runs) == 3)


def test_a_wake_during_a_pass_gives_one_more_pass_after_it(tasks: BackgroundTasks) -> None:
    inside, release = threading.Event(), threading.Event()
    runs: list[int] = []

    def slow_pass() -> None:
        runs.append(1)
        if len(runs) == 1:
            inside.set()
            release.wait(5)

    tasks.add("sync", slow_pass, 3600, pace=Pace.DELAY)
    tasks.start()
    assert inside.wait(5)
    tasks.wake("sync")  # the pass under way may have read the store before the change
    release.set()
    assert eventually(lambda: len(runs) == 2)


def test_a_rate_task_waits_one_interval_then_keeps_its_rate(tasks: BackgroundTasks) -> None:
    runs: list[float] = []
    started = time.monotonic()
    tasks.add("scrape", lambda: runs.append(time.monotonic()), 0.1)
    tasks.start()
    assert eventually(lambda: len(runs) >= 5)
    assert runs[0] - started >= 0.09
    assert tasks.passes("scrape") >= 5


def test_a_failing_pass_is_logged_and_the_next_one_runs(
    tasks: BackgroundTasks, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []

    def flaky() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the store is locked")

    tasks.add("alarms", flaky, 0.05)
    tasks.start()
    assert eventually(lambda: len(calls) >= 2)
    assert "alarms: a pass failed" in caplog.text and "the store is locked" in caplog.text


def test_at_start_runs_before_the_first_pass_even_when_it_fails(tasks: BackgroundTasks) -> None:
    order: list[str] = []

    def prepare() -> None:
        order.append("prepare")
        raise RuntimeError("an agent does not answer")

    tasks.add("reconciler", lambda: order.append("pass"), 3600, pace=Pace.DELAY, at_start=prepare)
    tasks.start()
    assert eventually(lambda: order == ["prepare", "pass"])


def test_a_hung_task_delays_neither_the_others_nor_stop_beyond_its_timeout() -> None:
    tasks = BackgroundTasks()
    hang = threading.Event()
    runs: list[int] = []
    tasks.add("hung", lambda: hang.wait(30), 3600, pace=Pace.DELAY)
    tasks.add("healthy", lambda: runs.append(1), 0.05)
    tasks.start()
    assert eventually(lambda: len(runs) >= 3)
    began = time.monotonic()
    tasks.stop(timeout=0.5)
    assert time.monotonic() - began < 3.0
    after = len(runs)
    time.sleep(0.2)
    assert len(runs) == after  # nothing runs after stop
    hang.set()


def test_a_stopped_manager_starts_no_pass_and_names_its_tasks() -> None:
    tasks = BackgroundTasks()
    runs: list[int] = []
    tasks.add("health-monitor", lambda: runs.append(1), 3600)
    tasks.add("scram-sync", lambda: runs.append(1), 3600, pace=Pace.DELAY)
    assert tasks.names == ["health-monitor", "scram-sync"]
    tasks.start()
    assert eventually(lambda: len(runs) == 1)  # the delay task, at once
    tasks.stop()
    assert runs == [1]


def test_names_are_unique_and_intervals_positive(tasks: BackgroundTasks) -> None:
    tasks.add("sync", lambda: None, 1)
    with pytest.raises(ValueError, match="exists already"):
        tasks.add("sync", lambda: None, 1)
    with pytest.raises(ValueError, match="positive"):
        tasks.add("other", lambda: None, 0)


def test_a_task_added_after_start_starts_at_once(tasks: BackgroundTasks) -> None:
    tasks.start()
    runs: list[int] = []
    tasks.add("late", lambda: runs.append(1), 3600, pace=Pace.DELAY)
    assert eventually(lambda: runs == [1])


def test_the_control_plane_runs_every_loop_as_one_of_its_tasks(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, metrics_interval=15.0)
    plane = build_control_plane(settings)
    try:
        assert set(plane.tasks.names) == {
            "reconciler",
            "health-monitor",
            "client-trust",
            "scram-sync",
            "policy-sync",
            "iam-sign-in-sync",
            "iam-refusals",
            "metrics-scraper",
            "admin-metrics",
            "alarm-monitor",
            "continuous-balancing",
            "storage-autoscaling",
            "broker-autoscaling",
            "function-builder",
            "trigger-pollers",
            "connect-reconciler",
            "agent-certificates",
        }
    finally:
        plane.close()

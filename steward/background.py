"""The control plane's background work: every loop (the reconciler's dispatch, the health
monitor, the alarm monitor, the metric scraper and admin-metric collector, the SCRAM, access
policy and client trust syncs, the functions' code builder and trigger pollers) is a task of
one `BackgroundTasks`, which starts, wakes and stops them all. A task is a name, a pass (a
callable that does one round of the work) and how often to run it; each task runs in a thread
of its own, so a slow or hung pass delays only its own task.

Two paces:
- `Pace.RATE`: passes start every `interval` seconds, the first `interval` after the start; a pass
  that takes long does not push the next ones back more than it has to (monitoring, scraping).
- `Pace.DELAY`: a pass at once, then one `interval` seconds after the last ended, or sooner when
  woken (syncs that drive Kafka toward what the store says: a change through the API should not
  wait for the next interval, and a missed tick needs no catching up).

A pass that raises is logged and the next one runs anyway. `at_start` runs once in the task's
thread before its first pass (a failure there is logged too and the passes run regardless).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

log = logging.getLogger(__name__)


class Pace(Enum):
    RATE = "rate"
    DELAY = "delay"


@dataclass
class _Task:
    name: str
    run_pass: Callable[[], object]
    interval: float
    pace: Pace
    at_start: Callable[[], object] | None
    stopping: threading.Event = field(default_factory=threading.Event)
    woken: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    passes: int = 0

    def loop(self) -> None:
        if self.at_start is not None:
            self._guarded(self.at_start, "starting")
        if self.pace is Pace.RATE:
            self._at_rate()
        else:
            self._after_delay()

    def _at_rate(self) -> None:
        next_pass = time.monotonic() + self.interval
        while not self._sleep(next_pass - time.monotonic()):
            next_pass = max(next_pass + self.interval, time.monotonic())
            self._one_pass()

    def _after_delay(self) -> None:
        while not self.stopping.is_set():
            # A wake during a pass gives one more pass right after it: the pass under way may
            # have read the store before the change that woke it.
            self.woken.clear()
            self._one_pass()
            self.woken.wait(self.interval)

    def _sleep(self, seconds: float) -> bool:
        """Wait `seconds` (a wake cuts it short); whether the task is stopping."""
        if seconds > 0:
            self.woken.wait(seconds)
            self.woken.clear()
        return self.stopping.is_set()

    def _one_pass(self) -> None:
        if self.stopping.is_set():
            return
        self._guarded(self.run_pass, "a pass failed")
        self.passes += 1

    def _guarded(self, work: Callable[[], object], failure: str) -> None:
        try:
            work()
        except Exception:
            log.exception("%s: %s", self.name, failure)


class BackgroundTasks:
    def __init__(self) -> None:
        self._tasks: dict[str, _Task] = {}
        self._started = False

    def add(
        self,
        name: str,
        run_pass: Callable[[], object],
        interval: float,
        *,
        pace: Pace = Pace.RATE,
        at_start: Callable[[], object] | None = None,
    ) -> None:
        """Register a task; tasks added after `start` start at once."""
        if name in self._tasks:
            raise ValueError(f"a background task {name!r} exists already")
        if interval <= 0:
            raise ValueError(f"{name}: the interval must be positive, not {interval}")
        task = _Task(name, run_pass, interval, pace, at_start)
        self._tasks[name] = task
        if self._started:
            self._start(task)

    @property
    def names(self) -> list[str]:
        return list(self._tasks)

    def passes(self, name: str) -> int:
        """How many passes the task has run (failed ones included)."""
        return self._tasks[name].passes

    def start(self) -> None:
        self._started = True
        for task in self._tasks.values():
            if task.thread is None:
                self._start(task)

    def wake(self, name: str) -> None:
        """A pass of the task soon (for a `Pace.RATE` task: its next pass now)."""
        self._tasks[name].woken.set()

    def waker(self, name: str) -> Callable[[], None]:
        """A callable that wakes the task, for code that should not know the manager."""
        task = self._tasks[name]
        return task.woken.set

    def stop(self, timeout: float = 5.0) -> None:
        """No pass starts after this; the passes under way get `timeout` seconds in all to end
        (a pass that hangs is left to its daemon thread). Tasks stop in the reverse order of
        their adding."""
        tasks = list(reversed(self._tasks.values()))
        for task in tasks:
            task.stopping.set()
            task.woken.set()
        deadline = time.monotonic() + timeout
        for task in tasks:
            if task.thread is not None:
                task.thread.join(max(0.0, deadline - time.monotonic()))
                if task.thread.is_alive():
                    log.warning(
                        "%s: a pass still runs after %.0f s; left behind", task.name, timeout
                    )
        self._started = False

    def _start(self, task: _Task) -> None:
        task.thread = threading.Thread(target=task.loop, name=task.name, daemon=True)
        task.thread.start()

"""Pieces of the control plane's background work, each in a thread of its own. `PeriodicTask` runs
at a fixed rate: a pass that takes long does not delay the next one more than it has to.
`WakeableTask` runs a pass `interval` seconds after the last, or sooner when woken. Either way a
pass that fails is logged and the next one runs anyway."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class PeriodicTask:
    def __init__(self, name: str, work: Callable[[], object], interval: float) -> None:
        self.name = name
        self.work = work
        self.interval = interval
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """No pass starts after this; one under way gets `timeout` seconds to end."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        next_pass = time.monotonic() + self.interval
        while not self._stopping.wait(max(0.0, next_pass - time.monotonic())):
            next_pass = max(next_pass + self.interval, time.monotonic())
            try:
                self.work()
            except Exception:
                log.exception("%s: a pass failed", self.name)


class WakeableTask:
    """A pass at once, then one `interval` seconds after the last ended, or sooner when woken:
    for syncs that drive Kafka toward what the store says (`ScramSync`, `PolicySync`), where a
    change through the API should not wait for the next interval, and a missed tick needs no
    catching up (each pass does everything that is due). A pass that fails is logged as `failed`
    on `logger`, the caller's, and the next one runs anyway."""

    def __init__(
        self,
        name: str,
        work: Callable[[], object],
        interval: float,
        failed: str,
        logger: logging.Logger,
    ) -> None:
        self.name = name
        self.work = work
        self.interval = interval
        self.failed = failed
        self.logger = logger
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> None:
        """No pass starts after this; one under way gets `timeout` seconds to end."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        """A pass soon; a wake during a pass gives one more pass right after it, since the pass
        under way may have read the store before the change."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                self.work()
            except Exception:
                self.logger.exception(self.failed)
            self._wake.wait(self.interval)

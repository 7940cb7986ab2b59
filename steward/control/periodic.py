"""A piece of the control plane's background work run at a fixed rate in a thread of its own: a
pass that takes long does not delay the next one more than it has to, and a pass that fails is
logged and the next one runs anyway."""

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

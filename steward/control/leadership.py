"""Which of the control planes sharing one store leads: the holder of the store's lease.

Every server tries to take the lease every third of its length. The one that holds it runs the
background tasks (the reconciler among them) and serves writes; the others serve reads and hand
writes to it (`steward.api.forwarding`). When the leader dies its lease runs out and the next
server to try takes it and starts the tasks, which resume every operation from the store.

A leader that cannot renew its lease while a third of it is left (the database unreachable)
steps down: it calls `on_lost`, and the server exits at once rather than keep running tasks that
another leader may soon run too. The time it counts is its own monotonic clock from before each
renewal was sent, so a slow answer only shortens what it believes it has."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from steward.store.leases import Lease, Leases

log = logging.getLogger(__name__)

CONTROL_PLANE_LEASE = "control-plane"
DEFAULT_LEASE_SECONDS = 10.0


def holder_id(port: int) -> str:
    """This server's name as a holder: host, port, process, and a nonce (a restarted process
    with the same pid is another holder)."""
    return f"{socket.gethostname()}:{port}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Role:
    leader: bool
    leader_address: str | None
    term: int | None


class Leadership:
    def __init__(
        self,
        leases: Leases,
        holder: str,
        address: str,
        *,
        seconds: float = DEFAULT_LEASE_SECONDS,
        on_elected: Callable[[], object] = lambda: None,
        on_lost: Callable[[], object] = lambda: None,
    ) -> None:
        self.leases = leases
        self.holder = holder
        self.address = address
        self.seconds = seconds
        self.on_elected = on_elected
        self.on_lost = on_lost
        self._valid_until = 0.0
        self._leading = False
        self._term: int | None = None
        self._known: Lease | None = None
        self._known_at = 0.0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def interval(self) -> float:
        return self.seconds / 3

    def is_leader(self) -> bool:
        """Whether this server holds the lease now (and has time left on it)."""
        return self._leading and time.monotonic() < self._valid_until

    def role(self) -> Role:
        if self.is_leader():
            return Role(True, self.address, self._term)
        lease = self.leader()
        return Role(False, lease.address if lease else None, lease.term if lease else None)

    def leader(self, max_age: float = 1.0) -> Lease | None:
        """The lease of the current leader, None while nobody holds one; read from the store at
        most every `max_age` seconds."""
        with self._lock:
            if self._known is None or time.monotonic() - self._known_at > max_age:
                try:
                    self._known = self.leases.current(CONTROL_PLANE_LEASE)
                except Exception:  # the store unreachable: no leader known
                    log.warning("the control plane lease could not be read", exc_info=True)
                    self._known = None
                self._known_at = time.monotonic()
            known = self._known
        if known is None or known.expired:
            return None
        return known

    def try_once(self) -> bool:
        """Take or renew the lease once; whether this server leads after it."""
        sent = time.monotonic()
        try:
            lease = self.leases.acquire(
                CONTROL_PLANE_LEASE, self.holder, self.address, self.seconds
            )
        except Exception:
            log.warning("the control plane lease could not be renewed", exc_info=True)
            lease = None
            if self._leading and time.monotonic() < self._valid_until - self.interval:
                return True  # one more try before it would run out
        if lease is not None:
            self._valid_until = sent + self.seconds
            self._term = lease.term
            if not self._leading:
                self._leading = True
                log.info("this server leads the control plane (term %d)", lease.term)
                self.on_elected()
            return True
        if self._leading:
            self._leading = False
            log.error("this server lost the control plane lease: stepping down")
            self.on_lost()
        return False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="leadership", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self.try_once()
            wait = self.interval
            if self._leading:
                # Never sleep past the moment the lease would run out.
                wait = min(wait, max(0.0, self._valid_until - time.monotonic() - self.interval))
            if self._stopping.wait(wait):
                return
            if self._leading and time.monotonic() >= self._valid_until:
                self._leading = False
                log.error("the control plane lease ran out before it was renewed: stepping down")
                self.on_lost()

    def stop(self) -> None:
        """Stop trying, and give the lease up if held, so that another server leads at once."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(self.seconds)
        if self._leading:
            self._leading = False
            try:
                self.leases.release(CONTROL_PLANE_LEASE, self.holder)
            except Exception:
                log.warning("the control plane lease could not be released", exc_info=True)

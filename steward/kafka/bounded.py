"""kafka-python's admin client with every call bounded in time.

kafka-python (3.x) waits on its own network thread without a deadline in places: connecting to a
broker whose process is stopped (SIGSTOP: the kernel accepts the TCP connection, nothing answers
the TLS handshake or the first request) can hold `KafkaAdminClient(...)` or a call such as
`describe_log_dirs` for as long as the broker stays stopped, whatever `request_timeout_ms` and
`bootstrap_timeout_ms` say. A health check or a metrics pass that waits on it stops for every
cluster. So each call here runs in a thread of its own and the caller waits at most `timeout`
seconds: then the client is closed (which ends the call when kafka-python notices) and the caller
gets a `KafkaTimeoutError`, like any other timeout of the client.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from kafka.errors import KafkaTimeoutError

log = logging.getLogger(__name__)

T = TypeVar("T")


def within(seconds: float, work: Callable[[], T], doing: str) -> T:
    """`work()`'s result, or KafkaTimeoutError when it has not returned within `seconds` (it
    goes on in its daemon thread until it ends by itself)."""
    outcome: dict[str, Any] = {}
    finished = threading.Event()

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as error:  # handed to the caller
            outcome["error"] = error
        finally:
            finished.set()

    threading.Thread(target=run, name=f"kafka-python: {doing}", daemon=True).start()
    if not finished.wait(seconds):
        raise KafkaTimeoutError(f"{doing} did not finish within {seconds:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]


class Client(Protocol):
    """What BoundedAdmin needs of the client it bounds (kafka-python's KafkaAdminClient)."""

    def close(self) -> None: ...


class BoundedAdmin:
    """A KafkaAdminClient whose construction and every method call take at most `timeout`
    seconds each. Use it as the client: `admin.describe_log_dirs(...)`."""

    def __init__(self, make: Callable[[], Client], timeout: float) -> None:
        self.timeout = timeout
        self._client: Client | None = None
        self._closed = threading.Event()

        def connect() -> Client:
            client = make()
            if self._closed.is_set():  # given up on while it connected
                client.close()
            return client

        try:
            self._client = within(timeout, connect, "connecting to the cluster")
        except KafkaTimeoutError:
            self._closed.set()  # the client, once made, closes itself
            raise

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def bounded(*args: Any, **kwargs: Any) -> Any:
            try:
                return within(self.timeout, lambda: attribute(*args, **kwargs), name)
            except KafkaTimeoutError:
                self.close()  # wakes the call: it ends with the client
                raise

        return bounded

    def close(self) -> None:
        self._closed.set()
        client, self._client = self._client, None
        if client is not None:
            try:
                within(self.timeout, client.close, "closing the client")
            except Exception as error:  # it is going away either way
                log.debug("closing kafka-python's client: %s", error)

"""kafka-python's admin client is bounded in time: a call that waits on a broker that never
answers (a stopped process) ends with a timeout for the caller, and the client is closed."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import pytest
from kafka.errors import KafkaTimeoutError

from steward.kafka.bounded import BoundedAdmin, within


class StuckClient:
    """Answers `describe_cluster` at once; `describe_log_dirs` waits until the client is closed,
    as kafka-python waits on a broker that accepted the connection and never answers."""

    def __init__(self) -> None:
        self.closed = threading.Event()

    def describe_cluster(self) -> dict[str, Any]:
        return {"cluster_id": "abc"}

    def describe_log_dirs(self, **_: Any) -> list[Any]:
        self.closed.wait(30)
        raise KafkaTimeoutError("the client was closed")

    def close(self) -> None:
        self.closed.set()


def test_calls_that_answer_pass_through() -> None:
    admin = BoundedAdmin(StuckClient, timeout=2.0)
    assert admin.describe_cluster() == {"cluster_id": "abc"}
    admin.close()


def test_a_call_that_never_answers_times_out_and_closes_the_client() -> None:
    stuck = StuckClient()
    admin = BoundedAdmin(lambda: stuck, timeout=0.3)
    began = time.monotonic()
    stuck_call = re.escape("describe_log_dirs did not finish within 0.3 s")
    with pytest.raises(KafkaTimeoutError, match=stuck_call):
        admin.describe_log_dirs(brokers=[1])
    assert time.monotonic() - began < 2.0
    assert stuck.closed.wait(2.0), "the stuck call is woken by closing its client"


def test_a_client_that_never_connects_times_out() -> None:
    release = threading.Event()
    made: list[StuckClient] = []

    def connect() -> StuckClient:
        release.wait(30)
        made.append(StuckClient())
        return made[-1]

    began = time.monotonic()
    with pytest.raises(KafkaTimeoutError, match="connecting to the cluster"):
        BoundedAdmin(connect, timeout=0.3)
    assert time.monotonic() - began < 2.0
    release.set()  # it connects after all: the client is closed, not left open
    deadline = time.monotonic() + 2
    while not made and time.monotonic() < deadline:
        time.sleep(0.01)
    assert made and made[0].closed.wait(2.0)


def test_within_hands_back_errors_and_results() -> None:
    assert within(1.0, lambda: 42, "answering") == 42
    with pytest.raises(ValueError, match="no"):
        within(1.0, lambda: (_ for _ in ()).throw(ValueError("no")), "refusing")

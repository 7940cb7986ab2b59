"""The pollers' supervisor, without a cluster: it moves a mapping through Lambda's states
(Creating to Enabled, Disabling to Disabled, Deleting to gone), starts one poller process per
enabled mapping, starts another when one is killed, restarts it when the function changes, and
says why a mapping whose cluster does not serve processes nothing."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from steward.functions.connection import ClusterUnavailable, KafkaConnection
from steward.functions.pollers import Pollers
from steward.functions.service import Functions
from steward.monitor.store import Sample
from steward.settings import Settings, Zone
from steward.store.store import Store
from tests.unit.zips import zip_of

ZONES = (Zone("az-a", "127.86.1"), Zone("az-b", "127.86.2"), Zone("az-c", "127.86.3"))
CLUSTER = "arn:aws:kafka:us-east-1:123456789012:cluster/orders/0b1c-2d3e"
CODE = {"app.py": "def handler(event, context):\n    return None\n"}


class Unreachable:
    """A cluster at an address where nothing listens: the poller runs and waits for it."""

    serving = True

    def cluster(self, arn: str) -> object:
        return object()

    def for_mapping(self, arn: str, access: list[dict[str, str]]) -> KafkaConnection:
        if not self.serving:
            raise ClusterUnavailable("Cluster orders is CREATING; its triggers wait.")
        return KafkaConnection("127.0.0.1:9", {}, "127.0.0.1:9")


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Functions, Pollers, Unreachable, list[Sample]]]:
    store = Store(Settings(home=tmp_path, zones=ZONES).db_url)
    functions = Functions(
        store.engine, tmp_path / "functions", region="us-east-1", account_id="123456789012"
    )
    connections = Unreachable()
    samples: list[Sample] = []
    pollers = Pollers(functions, connections, tmp_path / "triggers", samples.extend)  # type: ignore[arg-type]
    yield functions, pollers, connections, samples
    pollers.stop_all()
    functions.close()
    store.close()


def mapping(functions: Functions) -> str:
    functions.create_function(
        "noop",
        {"Runtime": "python3.11", "Handler": "app.handler", "Role": "r"},
        zip_of(CODE),
    )
    made = functions.create_mapping(
        {
            "FunctionName": "noop",
            "EventSourceArn": CLUSTER,
            "Topics": ["orders"],
            "StartingPosition": "LATEST",
        }
    )
    assert made.state == "Creating"
    return made.uuid


def wait_for(predicate: object, timeout: float = 20.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("not in time")


def test_a_mapping_gets_a_poller_that_is_restarted_when_it_dies(
    setup: tuple[Functions, Pollers, Unreachable, list[Sample]],
) -> None:
    functions, pollers, _, samples = setup
    uuid = mapping(functions)
    pollers.pass_once()
    assert functions.get_mapping(uuid).state == "Enabled"
    first = pollers.pid(uuid)
    assert first is not None

    os.kill(first, signal.SIGKILL)
    wait_for(lambda: pollers.running[uuid].process.poll() is not None)
    pollers.pass_once()  # notices the death
    time.sleep(1.1)
    pollers.pass_once()
    second = pollers.pid(uuid)
    assert second is not None and second != first
    assert pollers.restarts[uuid] == 1

    functions.update_configuration("noop", {"Timeout": 10})
    pollers.pass_once()
    third = pollers.pid(uuid)
    assert third is not None and third != second, "a new function revision restarts the poller"

    wait_for(lambda: pollers.pass_once() or samples)
    assert {s.metric for s in samples} >= {"Errors", "Invocations"}
    assert samples[0].dimensions == {"FunctionName": "noop", "EventSourceMappingUUID": uuid}


def test_disabling_and_deleting_stop_the_poller(
    setup: tuple[Functions, Pollers, Unreachable, list[Sample]],
) -> None:
    functions, pollers, _, _ = setup
    uuid = mapping(functions)
    pollers.pass_once()
    assert pollers.pid(uuid) is not None
    assert functions.update_mapping(uuid, {"Enabled": False}).state == "Disabling"
    pollers.pass_once()
    assert functions.get_mapping(uuid).state == "Disabled"
    assert pollers.pid(uuid) is None
    assert functions.update_mapping(uuid, {"Enabled": True}).state == "Enabling"
    pollers.pass_once()
    assert functions.get_mapping(uuid).state == "Enabled" and pollers.pid(uuid) is not None
    assert functions.delete_mapping(uuid).state == "Deleting"
    pollers.pass_once()
    assert pollers.pid(uuid) is None
    assert functions.mappings.get(uuid) is None


def test_a_mapping_says_why_it_processes_nothing(
    setup: tuple[Functions, Pollers, Unreachable, list[Sample]],
) -> None:
    functions, pollers, connections, _ = setup
    connections.serving = False
    uuid = mapping(functions)
    pollers.pass_once()
    shown = functions.get_mapping(uuid)
    assert shown.last_processing_result.startswith("PROBLEM: Connection error.")
    assert pollers.pid(uuid) is None
    functions.delete_function("noop")
    connections.serving = True
    pollers.pass_once()
    assert functions.get_mapping(uuid).last_processing_result == "PROBLEM: Function not found"

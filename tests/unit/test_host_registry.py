"""The host registry: hosts as rows of the store, registered idempotently, drained and removed."""

from pathlib import Path

import pytest

from steward.control.agents import AgentDirectory
from steward.control.host_registry import HostRegistry
from steward.control.placement import Placer
from steward.control.service import ClusterService
from steward.domain.errors import BadRequestException, ConflictException, NotFoundException
from steward.domain.hosts import Capacity, Disk, HostOrigin, HostState
from steward.domain.model import BrokerNodeGroup, ClusterSpec
from steward.settings import Settings, Zone
from steward.store.store import Store

ZONES = (Zone("az-a", "127.71.1"), Zone("az-b", "127.71.2"), Zone("az-c", "127.71.3"))
GIB = 1024**3
SMALL = Capacity(4.0, 16 * GIB, (Disk("/data", 500 * GIB),))


@pytest.fixture
def registry(tmp_path: Path) -> HostRegistry:
    settings = Settings(home=tmp_path, zones=ZONES)
    return HostRegistry(settings, Store(settings.db_url))


def test_the_embedded_hosts_register_with_this_machines_capacity(registry: HostRegistry) -> None:
    registry.register_embedded()
    hosts = registry.list()
    assert [(h.name, h.zone, h.origin, h.state) for h in hosts] == [
        ("az-a", "az-a", HostOrigin.EMBEDDED, HostState.ACTIVE),
        ("az-b", "az-b", HostOrigin.EMBEDDED, HostState.ACTIVE),
        ("az-c", "az-c", HostOrigin.EMBEDDED, HostState.ACTIVE),
    ]
    first = hosts[0]
    assert first.agent_url == "http://127.71.1.254:9781"
    assert first.capacity.cores >= 1 and first.capacity.memory_bytes > GIB
    assert first.capacity.disks[0].path == str(registry.settings.home)
    assert first.registered_at is not None


def test_a_joined_host_registers_once_and_a_new_registration_updates_it(
    registry: HostRegistry,
) -> None:
    first = registry.register("m1", "az-b", "10.9.0.5:9781", SMALL, ["10.9.0.6", "10.9.0.7"])
    again = registry.register(
        "m1", "az-b", "https://10.9.0.8:9781", Capacity(8.0, 32 * GIB), ["10.9.0.9"]
    )
    [listed] = registry.list()
    assert listed == again
    assert (again.agent_url, again.capacity.cores, again.node_addresses) == (
        "https://10.9.0.8:9781",
        8.0,
        ("10.9.0.9",),
    )
    assert again.registered_at == first.registered_at


def test_registration_checks_zone_capacity_and_addresses(registry: HostRegistry) -> None:
    with pytest.raises(BadRequestException, match="zone 'az-z'"):
        registry.register("m1", "az-z", "10.9.0.5:9781", SMALL, ["10.9.0.6"])
    with pytest.raises(BadRequestException, match="capacity"):
        registry.register("m1", "az-a", "10.9.0.5:9781", Capacity(0, 0), ["10.9.0.6"])
    with pytest.raises(BadRequestException, match="no address"):
        registry.register("m1", "az-a", "10.9.0.5:9781", SMALL)
    registry.register("m1", "az-a", "10.9.0.5:9781", SMALL, ["10.9.0.6"])
    with pytest.raises(BadRequestException, match="another host"):
        registry.register("m2", "az-a", "10.9.0.7:9781", SMALL, ["10.9.0.6"])


def test_drain_and_remove(registry: HostRegistry) -> None:
    registry.register("m1", "az-a", "10.9.0.5:9781", SMALL, ["10.9.0.6"])
    assert registry.drain("m1").state is HostState.DRAINING
    assert registry.remove("m1").state is HostState.REMOVED
    assert registry.list() == []
    with pytest.raises(NotFoundException):
        registry.get("m1")
    # joining again brings it back
    registry.register("m1", "az-a", "10.9.0.5:9781", SMALL, ["10.9.0.6"])
    assert registry.get("m1").state is HostState.ACTIVE


def test_a_removed_embedded_host_stays_removed_at_the_next_start(registry: HostRegistry) -> None:
    registry.register_embedded()
    registry.remove("az-c")
    registry.register_embedded()
    assert [h.name for h in registry.list()] == ["az-a", "az-b"]


def test_a_host_that_runs_nodes_is_not_removed(registry: HostRegistry) -> None:
    registry.register_embedded()
    service = ClusterService(registry.settings, registry.store)
    spec = ClusterSpec("4.3.1", 3, BrokerNodeGroup("kafka.m5.large", ("az-a", "az-b", "az-c"), 10))
    cluster = service.create_cluster("orders", spec, {})
    nodes = Placer(ZONES, set()).place(
        cluster.arn, ["az-a", "az-b", "az-c"], [1, 2, 3], [1001, 1002, 1003], "4.3.1",
        "kafka.m5.large",
    )  # fmt: skip
    registry.store.add_nodes(nodes)
    with pytest.raises(ConflictException, match="host az-b still runs 2 node"):
        registry.remove("az-b")
    assert registry.get("az-b").state is HostState.ACTIVE


def test_the_agent_directory_drives_registered_hosts(registry: HostRegistry) -> None:
    registry.register_embedded()
    registry.register("m1", "az-a", "10.9.0.5:9781", SMALL, ["10.9.0.6"])
    agents = AgentDirectory(registry.settings, registry)
    assert [h.name for h in agents.zone_hosts("az-a")] == ["az-a", "m1"]
    assert agents.url("m1") == "http://10.9.0.5:9781"
    assert agents.url("az-b") == "http://127.71.2.254:9781"
    assert not agents.agent_running("m1")
    registry.remove("m1")
    agents.refresh()
    assert [h.name for h in agents.hosts] == ["az-a", "az-b", "az-c"]

"""Placement: nodes spread over zones, each on its own address."""

import pytest

from steward.control.host_registry import HostEntry
from steward.control.placement import PlacementError, Placer, controller_count, reserved_by_host
from steward.domain.hosts import Capacity, Disk, HostRecord, HostState, Resources
from steward.domain.model import NodeRole
from steward.kafka.instance_types import CONTROLLER_RESERVATION, broker_reservation
from steward.settings import Zone, zone_hosts

ZONES = (Zone("az-a", "127.66.1"), Zone("az-b", "127.66.2"), Zone("az-c", "127.66.3"))


def test_brokers_and_controllers_spread_round_robin() -> None:
    nodes = Placer(ZONES, set()).place(
        "arn:aws:kafka:r:1:cluster/x/u-1",
        ["az-a", "az-b", "az-c"],
        broker_ids=range(1, 7),
        controller_ids=range(1001, 1004),
        kafka_version="4.3.1",
        instance_type="kafka.m5.large",
    )
    brokers = [n for n in nodes if n.role is NodeRole.BROKER]
    controllers = [n for n in nodes if n.role is NodeRole.CONTROLLER]
    assert [b.zone for b in brokers] == ["az-a", "az-b", "az-c"] * 2
    assert sorted(c.zone for c in controllers) == ["az-a", "az-b", "az-c"]
    hosts = [n.host for n in nodes]
    assert len(set(hosts)) == len(hosts)
    assert all(
        n.host.startswith({"az-a": "127.66.1.", "az-b": "127.66.2.", "az-c": "127.66.3."}[n.zone])
        for n in nodes
    )
    assert len({n.directory_id for n in nodes}) == len(nodes)


def test_used_addresses_are_skipped() -> None:
    nodes = Placer(ZONES, {"127.66.1.1", "127.66.1.2"}).place(
        "arn:aws:kafka:r:1:cluster/x/u-1", ["az-a"], [1], [], "4.3.1", "kafka.m5.large"
    )
    assert nodes[0].host == "127.66.1.3"


def test_quorum_size() -> None:
    assert controller_count(1) == 1
    assert controller_count(2) == 3
    assert controller_count(3) == 3


TWO_HOSTS = zone_hosts(ZONES[:2], 2)
ARN = "arn:aws:kafka:r:1:cluster/x/u-1"


def test_no_two_brokers_of_a_cluster_share_a_host_while_the_zone_has_another() -> None:
    # The second hosts run more nodes of other clusters: a choice by load alone would put both
    # brokers of each zone on its first host.
    load = {"az-a-h2": 3, "az-b-h2": 3}
    nodes = Placer(ZONES[:2], set(), TWO_HOSTS, load).place(
        ARN, ["az-a", "az-b"], range(1, 5), [], "4.3.1", "kafka.m5.large"
    )
    assert sorted(n.agent for n in nodes) == ["az-a", "az-a-h2", "az-b", "az-b-h2"]


def test_new_brokers_of_a_scale_out_keep_away_from_the_clusters_hosts() -> None:
    placer = Placer(ZONES[:2], set(), TWO_HOSTS, {"az-a-h2": 5, "az-b-h2": 5})
    first = placer.place(ARN, ["az-a", "az-b"], [1, 2], [], "4.3.1", "kafka.m5.large")
    assert [n.agent for n in first] == ["az-a", "az-b"]
    added = Placer(ZONES[:2], {n.host for n in first}, TWO_HOSTS, {"az-a-h2": 5}).place(
        ARN, ["az-a", "az-b"], [3, 4], [], "4.3.1", "kafka.m5.large", 2, existing=first
    )
    assert [n.agent for n in added] == ["az-a-h2", "az-b-h2"]


def test_a_zone_of_one_host_takes_several_brokers_of_a_cluster() -> None:
    nodes = Placer(ZONES, set()).place(ARN, ["az-a"], [1, 2], [], "4.3.1", "kafka.m5.large")
    assert [n.agent for n in nodes] == ["az-a", "az-a"]
    assert nodes[0].host != nodes[1].host


# --- placement over registered hosts, by free capacity ------------------------------------------
GIB = 1024**3


def joined(
    name: str,
    zone: Zone,
    cores: float,
    memory_gib: float,
    addresses: int = 8,
    state: str = "ACTIVE",
) -> HostEntry:
    prefix = f"10.77.{ZONES.index(zone) + 1}.{10 * (int(name[-1]) if name[-1].isdigit() else 0)}"
    record = HostRecord(
        name,
        zone.name,
        f"{name}.internal:9781",
        Capacity(cores, int(memory_gib * GIB), (Disk("/data", 100 * GIB),)),
        HostState(state),
        node_addresses=tuple(f"{prefix}{i}" for i in range(8)),
    )
    return HostEntry(record, zone)


def test_brokers_go_to_the_host_with_the_most_capacity_free() -> None:
    hosts = [joined("m1", ZONES[0], 2, 4), joined("m2", ZONES[0], 8, 32)]
    reserved = {"m2": Resources(6, 28 * GIB, GIB)}  # m2 is bigger but nearly full
    nodes = Placer(ZONES, set(), hosts, reserved=reserved).place(
        ARN, ["az-a"], [1], [], "4.3.1", "kafka.m5.large"
    )
    assert [n.agent for n in nodes] == ["m1"]
    assert nodes[0].host.startswith("10.77.1.1")


def test_two_brokers_of_a_cluster_share_a_host_only_when_no_other_host_has_room() -> None:
    small = joined("m1", ZONES[0], 0.3, 1)  # room for one kafka.m5.large (0.25 cores, 768 MiB)
    big = joined("m2", ZONES[0], 8, 32)
    nodes = Placer(ZONES, set(), [small, big]).place(
        ARN, ["az-a"], [1, 2, 3], [], "4.3.1", "kafka.m5.large"
    )
    assert sorted(n.agent for n in nodes) == ["m1", "m2", "m2"]


def test_a_zone_without_room_is_a_clear_error() -> None:
    hosts = [joined("m1", ZONES[0], 0.3, 1), joined("m2", ZONES[0], 0.3, 1)]
    with pytest.raises(PlacementError, match="no host of zone az-a has room for a node"):
        Placer(ZONES, set(), hosts).place(ARN, ["az-a"], [1, 2, 3], [], "4.3.1", "kafka.m5.large")


def test_draining_and_removed_hosts_get_no_new_nodes() -> None:
    hosts = [
        joined("m1", ZONES[0], 8, 32, state="DRAINING"),
        joined("m2", ZONES[0], 2, 8),
        joined("m3", ZONES[0], 8, 32, state="REMOVED"),
    ]
    nodes = Placer(ZONES, set(), hosts).place(
        ARN, ["az-a"], [1, 2], [1001], "4.3.1", "kafka.m5.large"
    )
    assert {n.agent for n in nodes} == {"m2"}
    with pytest.raises(PlacementError, match="no active host"):
        Placer(ZONES, set(), hosts[:1]).place(ARN, ["az-a"], [1], [], "4.3.1", "kafka.m5.large")


def test_a_larger_instance_type_reserves_more() -> None:
    assert broker_reservation("kafka.m5.2xlarge").cores > broker_reservation("kafka.m5.large").cores
    assert (
        broker_reservation("kafka.m5.2xlarge").memory_bytes
        > broker_reservation("kafka.m5.large").memory_bytes
    )
    host = joined("m1", ZONES[0], 1.2, 8)  # one 2xlarge (1 core), not two
    placer = Placer(ZONES, set(), [host])
    placer.place(ARN, ["az-a"], [1], [], "4.3.1", "kafka.m5.2xlarge")
    with pytest.raises(PlacementError):
        placer.place(ARN, ["az-a"], [2], [], "4.3.1", "kafka.m5.2xlarge")
    placer.place(ARN, ["az-a"], [3], [], "4.3.1", "kafka.t3.small")  # a smaller one still fits


def test_what_nodes_reserve_is_summed_by_host() -> None:
    nodes = Placer(ZONES, set()).place(
        ARN, ["az-a", "az-b"], [1, 2, 3, 4], [1001, 1002, 1003], "4.3.1", "kafka.m5.large"
    )
    reserved = reserved_by_host(nodes)
    broker = broker_reservation("kafka.m5.large")
    assert reserved["az-b"] == broker + broker + CONTROLLER_RESERVATION

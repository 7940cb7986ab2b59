"""Placement: nodes spread over zones, each on its own address."""

from steward.control.placement import Placer, controller_count
from steward.domain.model import NodeRole
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

"""Placement: nodes spread over zones, each on its own address."""

from steward.control.placement import Placer, controller_count
from steward.domain.model import NodeRole
from steward.settings import Zone

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

"""What brokers and controllers of a cluster run with."""

from steward.control.placement import Placer
from steward.domain.model import Node, NodeRole
from steward.kafka.instance_types import INSTANCE_TYPES
from steward.kafka.node_config import render_broker_properties, render_controller_properties
from steward.settings import Zone

ZONES = (Zone("az-a", "127.67.1"), Zone("az-b", "127.67.2"), Zone("az-c", "127.67.3"))


def nodes(brokers: int) -> tuple[list[Node], list[Node]]:
    placed = Placer(ZONES, set()).place(
        "arn:aws:kafka:r:1:cluster/x/u-1",
        ["az-a", "az-b", "az-c"],
        broker_ids=range(1, brokers + 1),
        controller_ids=range(1001, 1004),
        kafka_version="4.3.1",
        instance_type="kafka.m5.large",
    )
    return (
        [n for n in placed if n.role is NodeRole.BROKER],
        [n for n in placed if n.role is NodeRole.CONTROLLER],
    )


def test_controllers_apply_the_same_topic_defaults_as_brokers() -> None:
    """The active controller fills in defaults of CreateTopics and sets the cluster-wide
    min.insync.replicas, so it must agree with the brokers, user configuration included."""
    brokers, controllers = nodes(3)
    user = {"num.partitions": "6", "num.io.threads": "4"}
    broker = render_broker_properties(
        brokers[0], controllers, 3, INSTANCE_TYPES["kafka.m5.large"], user
    )
    controller = render_controller_properties(controllers[0], controllers, 3, user)
    for key in (
        "default.replication.factor",
        "num.partitions",
        "min.insync.replicas",
        "unclean.leader.election.enable",
    ):
        assert controller[key] == broker[key], key
    assert controller["num.partitions"] == "6"
    assert controller["min.insync.replicas"] == "2"
    assert "num.io.threads" not in controller


def test_a_single_broker_cluster_asks_for_one_replica() -> None:
    _, controllers = nodes(1)
    controller = render_controller_properties(controllers[0], controllers, 1, {})
    assert controller["default.replication.factor"] == "1"
    assert controller["min.insync.replicas"] == "1"

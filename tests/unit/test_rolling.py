"""The rolling rule with stand-ins for the agents and for Kafka: one node at a time, never while
it would hurt (a blocked broker is passed over and come back to), each back in sync before the
next, every restart recorded with its reason, and resumable after a crash."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from steward.agent.spec import NodeSpec, NodeStatus
from steward.control.context import ReconcileContext
from steward.control.node_specs import build_node_spec, node_key
from steward.control.pipeline import start_operation
from steward.control.placement import Placer
from steward.control.rolling import RollProgress, roll
from steward.control.step import StepRun, dump_progress
from steward.domain.errors import PermanentError, TemporaryError
from steward.domain.model import (
    BrokerNodeGroup,
    Cluster,
    ClusterSpec,
    ClusterState,
    Node,
    NodeRole,
    Operation,
    OperationType,
    utcnow,
)
from steward.settings import Settings, Zone
from steward.store.store import Store

ZONES = (Zone("az-a", "127.68.1"), Zone("az-b", "127.68.2"), Zone("az-c", "127.68.3"))
_clock = itertools.count(1000)


@dataclass
class FakeAgents:
    """Every agent of the cluster in one: restarts give a node a new start time."""

    statuses: dict[str, NodeStatus] = field(default_factory=dict)
    restarts: list[str] = field(default_factory=list)
    fail: set[str] = field(default_factory=set)

    def client(self, agent: str) -> FakeAgents:
        return self

    def node(self, key: str) -> NodeStatus | None:
        return self.statuses.get(key)

    def restart(self, key: str) -> NodeStatus:
        self.restarts.append(key)
        state = "failed" if key in self.fail else "running"
        status = self.statuses[key]
        self.statuses[key] = NodeStatus(
            key, state, pid=1, started_at=next(_clock), spec_hash=status.spec_hash
        )
        return self.statuses[key]

    def apply(self, spec: NodeSpec) -> NodeStatus:
        if self.statuses[spec.key].spec_hash != spec.spec_hash:
            self.restart(spec.key)
            self.statuses[spec.key].spec_hash = spec.spec_hash
        return self.statuses[spec.key]


@dataclass
class FakeView:
    blocked: dict[int, list[str]] = field(default_factory=dict)
    lagging: set[int] = field(default_factory=set)
    leader: int | None = 1002
    elections: list[int] = field(default_factory=list)

    def blockers(self, broker_id: int) -> list[str]:
        return self.blocked.get(broker_id, [])

    def broker_back(self, broker_id: int) -> bool:
        return broker_id not in self.lagging

    def quorum_leader(self) -> int | None:
        return self.leader

    def quorum_caught_up(self) -> bool:
        return True

    def after_broker_back(self, broker_id: int) -> None:
        self.elections.append(broker_id)


@dataclass
class World:
    ctx: ReconcileContext
    cluster: Cluster
    nodes: list[Node]
    agents: FakeAgents

    def key(self, node_id: int) -> str:
        node = next(n for n in self.nodes if n.node_id == node_id)
        return node_key(self.cluster, node)


@pytest.fixture
def world(tmp_path: Path) -> World:
    settings = Settings(home=tmp_path, zones=ZONES)
    store = Store(settings.db_url)
    spec = ClusterSpec("4.3.1", 3, BrokerNodeGroup("kafka.m5.large", ("az-a", "az-b", "az-c")))
    arn = "arn:aws:kafka:us-east-1:000000000000:cluster/roll/0b0d1b4e-1c2a-4f7e-9a55-1e3f7a2c9d11-1"
    cluster = Cluster(
        arn, "roll", spec, ClusterState.UPDATING, utcnow(), "K1", "AAAAAAAAAAAAAAAAAAAAAA"
    )
    nodes = Placer(ZONES, set()).place(
        arn, ["az-a", "az-b", "az-c"], [1, 2, 3], [1001, 1002, 1003], "4.3.1", "kafka.m5.large"
    )
    agents = FakeAgents()
    for node in nodes:
        key = node_key(cluster, node)
        spec_hash = build_node_spec(cluster, node, nodes, {}).spec_hash
        agents.statuses[key] = NodeStatus(
            key, "running", pid=1, started_at=1.0, spec_hash=spec_hash
        )
    ctx = ReconcileContext(settings, store, agents)  # type: ignore[arg-type]
    return World(ctx, cluster, nodes, agents)


def new_op(world: World) -> Operation:
    return start_operation("arn:op", world.cluster.arn, OperationType.REBOOT_NODE)


STEP = "REBOOT_BROKER"


def roll_once(world: World, op: Operation, view: FakeView, nodes: list[Node], **kw: Any) -> None:
    """One run of a roll step, its progress kept in `op` as the reconciler keeps it."""
    run = StepRun(world.ctx, world.cluster, op, op.step(STEP), RollProgress)
    try:
        roll(run, nodes=nodes, view=view, reason=kw.pop("reason", "test"), **kw)
    finally:
        op.progress[STEP] = dump_progress(run.progress)


def drive(world: World, op: Operation, view: FakeView, nodes: list[Node], **kw: Any) -> int:
    """Call `roll` until it returns, like the reconciler does; returns how many waits it took."""
    for waits in range(200):
        try:
            roll_once(world, op, view, nodes, **dict(kw))
            return waits
        except TemporaryError:
            continue
    raise AssertionError("the roll never finished")


def test_brokers_restart_one_at_a_time_in_order(world: World) -> None:
    op = new_op(world)
    view = FakeView()
    brokers = [n for n in world.nodes if n.role is NodeRole.BROKER]
    drive(world, op, view, brokers)
    assert world.agents.restarts == [world.key(1), world.key(2), world.key(3)]
    assert view.elections == [1, 2, 3]
    assert op.progress[STEP]["done"] == [1, 2, 3]


def test_a_broker_that_would_hurt_is_passed_over_and_restarted_once_it_would_not(
    world: World,
) -> None:
    op = new_op(world)
    view = FakeView(blocked={2: ["orders-0 would drop below min.insync.replicas"]})
    brokers = [n for n in world.nodes if n.role is NodeRole.BROKER]
    waits = []
    for _ in range(10):
        try:
            roll_once(world, op, view, brokers)
        except TemporaryError as error:
            waits.append(str(error))
    assert "broker 2 cannot stop yet: orders-0 would drop below min.insync.replicas" in waits
    assert world.agents.restarts == [world.key(1), world.key(3)], "2 never stopped while blocked"
    view.blocked.clear()
    drive(world, op, view, brokers)
    assert world.agents.restarts == [world.key(1), world.key(3), world.key(2)]


def test_every_restart_is_recorded_with_its_reason(world: World) -> None:
    op = new_op(world)
    brokers = [n for n in world.nodes if n.role is NodeRole.BROKER]
    drive(world, op, FakeView(), brokers, reason="Kafka 4.2.1 -> 4.3.1")
    restarts = world.cluster.status.restarts
    assert [(r.node_id, r.reason) for r in restarts] == [
        (1, "Kafka 4.2.1 -> 4.3.1"),
        (2, "Kafka 4.2.1 -> 4.3.1"),
        (3, "Kafka 4.2.1 -> 4.3.1"),
    ]


def test_the_next_broker_waits_until_the_last_is_back_in_sync(world: World) -> None:
    op = new_op(world)
    view = FakeView(lagging={1})
    brokers = [n for n in world.nodes if n.role is NodeRole.BROKER]
    for _ in range(5):
        with pytest.raises(TemporaryError, match="back in sync"):
            roll_once(world, op, view, brokers)
    assert world.agents.restarts == [world.key(1)]
    view.lagging.clear()
    drive(world, op, view, brokers)
    assert world.agents.restarts == [world.key(1), world.key(2), world.key(3)]


def test_a_resumed_roll_restarts_nothing_twice(world: World) -> None:
    """The control plane dies right after broker 1 was restarted: the next process carries on
    with broker 2, reading the progress the operation kept."""
    op = new_op(world)
    view = FakeView(lagging={1})
    brokers = [n for n in world.nodes if n.role is NodeRole.BROKER]
    with pytest.raises(TemporaryError):
        roll_once(world, op, view, brokers)
    saved = dict(op.progress)
    resumed = new_op(world)
    resumed.progress = saved
    view.lagging.clear()
    drive(world, resumed, view, brokers)
    assert world.agents.restarts == [world.key(1), world.key(2), world.key(3)]


def test_a_restart_lost_in_a_crash_is_sent_again(world: World) -> None:
    """Progress says broker 1 is being restarted, but its process is the old one: the restart
    never reached the agent."""
    op = new_op(world)
    op.progress[STEP] = {
        "done": [],
        "current": 1,
        "previous_start": 1.0,
        "restart_sent_at": None,
    }
    brokers = [n for n in world.nodes if n.role is NodeRole.BROKER]
    drive(world, op, FakeView(), brokers)
    assert world.agents.restarts == [world.key(1), world.key(2), world.key(3)]


def test_controllers_roll_first_and_the_active_one_last(world: World) -> None:
    op = new_op(world)
    drive(world, op, FakeView(leader=1001), world.nodes)
    assert world.agents.restarts == [world.key(i) for i in (1002, 1003, 1001, 1, 2, 3)]


def test_a_node_that_does_not_start_again_fails_the_roll(world: World) -> None:
    op = new_op(world)
    world.agents.fail.add(world.key(2))
    brokers = [n for n in world.nodes if n.role is NodeRole.BROKER]
    with pytest.raises(PermanentError, match="broker 2 did not start again"):
        drive(world, op, FakeView(), brokers)
    assert world.key(3) not in world.agents.restarts


def test_a_node_that_never_catches_up_times_out(world: World) -> None:
    op = new_op(world)
    brokers = [n for n in world.nodes if n.role is NodeRole.BROKER]
    with pytest.raises(PermanentError, match="broker 1 was not back in sync within -1 s"):
        drive(world, op, FakeView(lagging={1}), brokers, timeout=-1.0)


def test_a_rendered_spec_restarts_only_nodes_whose_settings_change(world: World) -> None:
    op = new_op(world)
    brokers = [n for n in world.nodes if n.role is NodeRole.BROKER]

    def render(node: Node) -> NodeSpec:
        return build_node_spec(world.cluster, node, world.nodes, {"log.retention.ms": "1000"})

    drive(world, op, FakeView(), brokers, render=render)
    assert world.agents.restarts == [world.key(1), world.key(2), world.key(3)]
    assert all(
        world.agents.statuses[world.key(b.node_id)].spec_hash == render(b).spec_hash
        for b in brokers
    )

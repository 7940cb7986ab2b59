"""A new cluster's nodes start in one wave: the brokers with the controllers, not after them
(a broker waits for the quorum by itself), so that their JVMs start while the controllers are
formatted."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from steward.agent.spec import NodeSpec, NodeStatus
from steward.control.context import ReconcileContext
from steward.control.node_specs import node_key
from steward.control.pipeline import run_step, start_operation
from steward.control.placement import Placer
from steward.control.service import ClusterService
from steward.domain.errors import PermanentError
from steward.domain.model import BrokerNodeGroup, Cluster, ClusterSpec, ClusterState, OperationType
from steward.settings import Settings, Zone
from steward.store.store import Store

ZONES = (Zone("az-a", "127.69.1"), Zone("az-b", "127.69.2"), Zone("az-c", "127.69.3"))


@dataclass
class SlowFormattingAgent:
    """Answers a controller's spec only once every node's spec has come in (as a controller's
    StorageTool keeps its apply busy); fails the test by timing out otherwise."""

    expected: int
    applied: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    everyone: threading.Event = field(default_factory=threading.Event)

    def apply(self, spec: NodeSpec) -> NodeStatus:
        with self.lock:
            self.applied.append(spec.role)
            if len(self.applied) == self.expected:
                self.everyone.set()
        if spec.role == "controller":
            self.everyone.wait(10)
        return NodeStatus(spec.key, "starting")


@dataclass
class Agents:
    agent: SlowFormattingAgent

    def client(self, _agent: str, timeout: float = 60.0) -> SlowFormattingAgent:
        return self.agent


def creating(tmp_path: Path, agent: SlowFormattingAgent) -> tuple[ReconcileContext, Cluster]:
    settings = Settings(home=tmp_path, zones=ZONES)
    store = Store(settings.db_url)
    spec = ClusterSpec("4.3.1", 3, BrokerNodeGroup("kafka.m5.large", ("az-a", "az-b", "az-c"), 10))
    cluster = ClusterService(settings, store).create_cluster("orders", spec, {})
    store.add_nodes(
        Placer(ZONES, set()).place(
            cluster.arn, ["az-a", "az-b", "az-c"], [1, 2, 3], [1001, 1002, 1003], "4.3.1",
            "kafka.m5.large",
        )
    )  # fmt: skip
    return ReconcileContext(settings, store, Agents(agent)), cluster  # type: ignore[arg-type]


def test_a_new_clusters_brokers_start_while_its_controllers_are_formatted(tmp_path: Path) -> None:
    agent = SlowFormattingAgent(expected=6)
    ctx, cluster = creating(tmp_path, agent)
    assert cluster.state is ClusterState.CREATING
    op = start_operation(f"{cluster.arn}-op", cluster.arn, OperationType.CREATE)
    run_step(ctx, cluster, op, "START_CONTROLLERS")
    assert agent.everyone.is_set(), "the controllers' applies waited for brokers that never came"
    assert sorted(agent.applied) == ["broker"] * 3 + ["controller"] * 3
    agent.applied.clear()
    run_step(ctx, cluster, op, "START_BROKERS")  # the brokers have their spec: applied again
    assert agent.applied == ["broker"] * 3


def test_the_controllers_of_a_running_cluster_start_alone(tmp_path: Path) -> None:
    agent = SlowFormattingAgent(expected=3)
    ctx, cluster = creating(tmp_path, agent)
    cluster.state = ClusterState.ACTIVE
    op = start_operation(f"{cluster.arn}-op", cluster.arn, OperationType.CREATE)
    run_step(ctx, cluster, op, "START_CONTROLLERS")
    assert agent.applied == ["controller"] * 3


@dataclass
class FailingAgent:
    """Knows one node, which it gave up on."""

    failed_key: str
    asked: list[str] = field(default_factory=list)

    def node(self, key: str) -> NodeStatus | None:
        self.asked.append(key)
        if key == self.failed_key:
            return NodeStatus(key, "failed", message="no java")
        return NodeStatus(key, "starting")


def test_a_node_its_agent_gave_up_on_fails_the_create_with_its_message(tmp_path: Path) -> None:
    ctx, cluster = creating(tmp_path, SlowFormattingAgent(expected=6))
    [controller] = [n for n in ctx.store.nodes(cluster.arn) if n.node_id == 1002]
    agent = FailingAgent(node_key(cluster, controller))
    ctx.agents = Agents(agent)  # type: ignore[assignment,arg-type]
    op = start_operation(f"{cluster.arn}-op", cluster.arn, OperationType.CREATE)
    with pytest.raises(PermanentError) as raised:
        run_step(ctx, cluster, op, "WAIT_FOR_BROKERS")
    assert raised.value.code == "NodeStartFailed"
    assert "node 1002 (controller): no java" in str(raised.value)
    assert len(agent.asked) == 6, "every node's agent is asked"

"""The REPAIR_NODES step of a HEAL operation, against agents that only record what they are asked:
each fault gets its one action, and a repair resumed after a crash never touches a process that
was started since."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from steward.agent.spec import NodeSpec, NodeStatus
from steward.control.context import ReconcileContext
from steward.control.node_specs import node_key
from steward.control.pipeline import run_step, start_operation
from steward.control.placement import Placer
from steward.control.service import ClusterService
from steward.domain.errors import TemporaryError
from steward.domain.health import Finding
from steward.domain.model import (
    BrokerNodeGroup,
    Cluster,
    ClusterSpec,
    NodeRole,
    Operation,
    OperationType,
)
from steward.settings import Settings, Zone
from steward.store.store import Store

ZONES = (Zone("az-a", "127.68.1"), Zone("az-b", "127.68.2"), Zone("az-c", "127.68.3"))


@dataclass
class FakeAgent:
    statuses: dict[str, NodeStatus] = field(default_factory=dict)
    calls: list[tuple[str, Any]] = field(default_factory=list)

    def node(self, key: str) -> NodeStatus | None:
        return self.statuses.get(key)

    def restart(self, key: str, timeout: float | None = None) -> NodeStatus:
        self.calls.append(("restart", (key, timeout)))
        return self.statuses[key]

    def apply(self, spec: NodeSpec) -> NodeStatus:
        self.calls.append(("apply", spec.key))
        return NodeStatus(spec.key, "starting")


@dataclass
class FakeAgents:
    agent: FakeAgent

    def client(self, _agent: str, timeout: float = 60.0) -> FakeAgent:
        return self.agent


@pytest.fixture
def setup(tmp_path: Path) -> tuple[ReconcileContext, Cluster, FakeAgent]:
    settings = Settings(home=tmp_path, zones=ZONES)
    store = Store(settings.db_url)
    service = ClusterService(settings, store)
    spec = ClusterSpec("4.3.1", 3, BrokerNodeGroup("kafka.m5.large", ("az-a", "az-b", "az-c"), 10))
    cluster = service.create_cluster("orders", spec, {})
    nodes = Placer(ZONES, set()).place(
        cluster.arn, ["az-a", "az-b", "az-c"], [1, 2, 3], [1001, 1002, 1003], "4.3.1",
        "kafka.m5.large",
    )  # fmt: skip
    store.add_nodes(nodes)
    agent = FakeAgent()
    ctx = ReconcileContext(settings, store, FakeAgents(agent))  # type: ignore[arg-type]
    return ctx, cluster, agent


def repair(ctx: ReconcileContext, cluster: Cluster, kind: str) -> Operation:
    op = start_operation(f"{cluster.arn}-op", cluster.arn, OperationType.HEAL)
    cluster.status.findings = [Finding(kind, "az-b", "why", 2, NodeRole.BROKER)]  # type: ignore[arg-type]
    ctx.store.start_operation(cluster, op)
    return op


def key_of(ctx: ReconcileContext, cluster: Cluster, node_id: int) -> str:
    [node] = [n for n in ctx.store.nodes(cluster.arn) if n.node_id == node_id]
    return node_key(cluster, node)


def test_a_hung_broker_is_killed_once_then_waited_for(setup: Any) -> None:
    ctx, cluster, agent = setup
    key = key_of(ctx, cluster, 2)
    agent.statuses[key] = NodeStatus(key, "running", pid=100, started_at=1.0)
    op = repair(ctx, cluster, "hung")
    with pytest.raises(TemporaryError):
        run_step(ctx, cluster, op, "REPAIR_NODES")
    assert agent.calls == [("restart", (key, 0.0))]
    agent.statuses[key] = NodeStatus(key, "running", pid=200, started_at=2.0)
    run_step(ctx, cluster, op, "REPAIR_NODES")
    assert agent.calls == [("restart", (key, 0.0))], "killed once"


def test_a_repair_resumed_after_a_crash_leaves_a_new_process_alone(setup: Any) -> None:
    ctx, cluster, agent = setup
    key = key_of(ctx, cluster, 2)
    op = repair(ctx, cluster, "hung")
    # the control plane died after remembering pid 100 and killing it, before it saved "done"
    op.progress["REPAIR_NODES"] = {"faulty_pids": {"2": 100}}
    agent.statuses[key] = NodeStatus(key, "starting", pid=300, started_at=3.0)
    with pytest.raises(TemporaryError):
        run_step(ctx, cluster, op, "REPAIR_NODES")
    assert agent.calls == []
    run_step(ctx, cluster, op, "REPAIR_NODES")


def test_a_crashed_broker_is_left_to_its_agent_until_it_runs(setup: Any) -> None:
    ctx, cluster, agent = setup
    key = key_of(ctx, cluster, 2)
    agent.statuses[key] = NodeStatus(key, "crashed", started_at=1.0, last_exit_code=-9)
    op = repair(ctx, cluster, "crashed")
    with pytest.raises(TemporaryError, match="broker 2 to run"):
        run_step(ctx, cluster, op, "REPAIR_NODES")
    agent.statuses[key] = NodeStatus(key, "starting", pid=7, started_at=2.0)
    run_step(ctx, cluster, op, "REPAIR_NODES")
    assert agent.calls == []


def test_a_node_its_agent_lost_is_given_back(setup: Any) -> None:
    ctx, cluster, agent = setup
    op = repair(ctx, cluster, "lost")
    with pytest.raises(TemporaryError):
        run_step(ctx, cluster, op, "REPAIR_NODES")
    assert agent.calls == [("apply", key_of(ctx, cluster, 2))]


def test_a_broker_without_its_data_restarts_with_time_for_a_controlled_shutdown(
    setup: Any,
) -> None:
    ctx, cluster, agent = setup
    key = key_of(ctx, cluster, 2)
    agent.statuses[key] = NodeStatus(key, "running", pid=100, started_at=1.0, data_missing=True)
    op = repair(ctx, cluster, "data_lost")
    with pytest.raises(TemporaryError):
        run_step(ctx, cluster, op, "REPAIR_NODES")
    assert agent.calls == [("restart", (key, 5.0))]


def test_storage_grows_so_that_the_fullest_broker_uses_at_most_60_percent() -> None:
    from steward.control.steps.repair import grown_volume_gb

    gib = 1024**3
    assert grown_volume_gb(1, gib) == 2  # a full 1 GiB volume
    assert grown_volume_gb(100, 95 * gib) == 159
    assert grown_volume_gb(100, 50 * gib) == 110  # never less than 10% more
    assert grown_volume_gb(16384, 16000 * gib) == 16384  # MSK's largest volume

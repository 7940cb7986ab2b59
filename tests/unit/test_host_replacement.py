"""Several hosts per zone: where nodes go, and what a repair does when a host dies for good (its
brokers move to another host of the zone; its controllers are waited for) and when it comes back
(what it still runs of the brokers that moved is removed)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from steward.agent.client import AgentUnavailable
from steward.agent.launcher import AgentStartError, ensure_agent, set_powered_off
from steward.agent.spec import NodeSpec, NodeStatus
from steward.control.agents import AgentDirectory
from steward.control.cluster_health import KafkaHealth
from steward.control.context import ReconcileContext
from steward.control.health_monitor import HealthMonitor
from steward.control.host_registry import HostEntry, settings_entries
from steward.control.host_replacement import drain_finding, judge_silent_host
from steward.control.node_specs import node_key
from steward.control.pipeline import run_step, start_operation
from steward.control.placement import Placer
from steward.control.service import ClusterService
from steward.control.stale_nodes import remove_stale_nodes
from steward.control.step import load_progress
from steward.control.steps.repair import RepairProgress, operation_nodes
from steward.domain.errors import TemporaryError
from steward.domain.health import Finding
from steward.domain.hosts import HostState
from steward.domain.model import (
    BrokerNodeGroup,
    Cluster,
    ClusterSpec,
    Node,
    NodeRole,
    Operation,
    OperationType,
    utcnow,
)
from steward.settings import Settings, Zone, zone_hosts
from steward.store.store import Store

ZONES = (Zone("az-a", "127.69.1"), Zone("az-b", "127.69.2"), Zone("az-c", "127.69.3"))
ARN = "arn:aws:kafka:r:1:cluster/x/u-1"


# --- hosts and placement ------------------------------------------------------------------------
def test_one_host_per_zone_is_the_zone_itself(tmp_path: Path) -> None:
    agents = AgentDirectory(Settings(home=tmp_path, zones=ZONES))
    assert [(h.name, h.agent_address) for h in agents.hosts] == [
        ("az-a", "127.69.1.254"),
        ("az-b", "127.69.2.254"),
        ("az-c", "127.69.3.254"),
    ]
    assert agents.url("az-b") == "http://127.69.2.254:9781"
    assert agents.state_dir("az-b") == tmp_path / "agents" / "az-b"


def test_more_hosts_per_zone_come_from_the_setting(tmp_path: Path) -> None:
    with mock.patch.dict("os.environ", {"STEWARD_HOSTS_PER_ZONE": "2"}):
        settings = Settings(home=tmp_path, zones=ZONES)
    agents = AgentDirectory(settings)
    assert [(h.name, h.agent_address) for h in agents.zone_hosts("az-a")] == [
        ("az-a", "127.69.1.254"),
        ("az-a-h2", "127.69.1.253"),
    ]
    assert agents.state_dir("az-a-h2") == tmp_path / "agents" / "az-a-h2"
    first, second = agents.zone_hosts("az-a")
    ones, twos = set(first.node_addresses()), set(second.node_addresses())
    assert not ones & twos
    assert not (ones | twos) & {"127.69.1.254", "127.69.1.253"}
    assert all(first.owns(a) and not second.owns(a) for a in ones)


def test_a_host_count_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="STEWARD_HOSTS_PER_ZONE"):
        zone_hosts(ZONES, 0)


def test_a_new_node_goes_to_the_least_loaded_host_of_its_zone() -> None:
    hosts = zone_hosts(ZONES, 2)
    nodes = Placer(ZONES, set(), hosts).place(
        ARN, ["az-a", "az-b", "az-c"], [1, 2, 3], [1001, 1002, 1003], "4.3.1", "kafka.m5.large"
    )
    agent_of = {n.node_id: n.agent for n in nodes}
    assert [agent_of[c] for c in (1001, 1002, 1003)] == ["az-a", "az-b", "az-c"]
    assert [agent_of[b] for b in (1, 2, 3)] == ["az-a-h2", "az-b-h2", "az-c-h2"]
    by_name = {h.name: h for h in hosts}
    assert all(by_name[n.agent].owns(n.host) for n in nodes)

    busy = Placer(ZONES, set(), hosts, {"az-a": 1, "az-a-h2": 5}).place(
        ARN, ["az-a"], [4], [], "4.3.1", "kafka.m5.large"
    )
    assert busy[0].agent == "az-a"


def test_a_powered_off_host_is_not_started(tmp_path: Path) -> None:
    set_powered_off(tmp_path, True)
    with pytest.raises(AgentStartError, match="host az-a-h2 is powered off"):
        ensure_agent("az-a-h2", "127.69.1.253", 1, tmp_path, tmp_path / "token", timeout=1.0)


# --- what a repair decides ----------------------------------------------------------------------
def node(node_id: int, role: NodeRole, agent: str) -> Node:
    address = f"127.69.2.{node_id % 250}"
    return Node(
        ARN, node_id, role, "az-b", address, agent, {}, "d", utcnow(), "4.3.1", "kafka.m5.large"
    )


ON_DEAD_HOST = [node(2, NodeRole.BROKER, "az-b-h2"), node(1002, NodeRole.CONTROLLER, "az-b-h2")]


def test_a_dead_host_with_a_live_peer_has_its_brokers_moved_and_its_controllers_waited_for() -> (
    None
):
    verdict = judge_silent_host("az-b-h2", 61.0, 60.0, ["az-b"], ON_DEAD_HOST)
    assert [n.node_id for n in verdict.move] == [2]
    assert verdict.waiting_for == [
        "agent az-b-h2 to answer for controller 1002 (controllers are not moved)"
    ]


def test_a_host_silent_for_a_short_while_is_waited_for() -> None:
    verdict = judge_silent_host("az-b-h2", 10.0, 60.0, ["az-b"], ON_DEAD_HOST)
    assert (verdict.move, verdict.waiting_for) == ([], ["agent az-b-h2 to answer"])


def test_a_host_without_a_live_peer_in_its_zone_is_waited_for() -> None:
    verdict = judge_silent_host("az-b-h2", 600.0, 60.0, [], ON_DEAD_HOST)
    assert verdict.move == []
    assert verdict.waiting_for == ["agent az-b-h2 to answer (no other host of its zone answers)"]


# --- the move, against agents that only record what they are asked ------------------------------
@dataclass
class FakeAgent:
    alive: bool = True
    statuses: dict[str, NodeStatus] = field(default_factory=dict)
    applied: list[NodeSpec] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def _check(self) -> None:
        if not self.alive:
            raise AgentUnavailable("dead")

    def health(self) -> dict[str, Any]:
        self._check()
        return {}

    def nodes(self) -> list[NodeStatus]:
        self._check()
        return list(self.statuses.values())

    def node(self, key: str) -> NodeStatus | None:
        self._check()
        return self.statuses.get(key)

    def apply(self, spec: NodeSpec) -> NodeStatus:
        self._check()
        self.applied.append(spec)
        self.statuses[spec.key] = NodeStatus(spec.key, "starting", pid=1, started_at=1.0)
        return self.statuses[spec.key]

    def remove(self, key: str, timeout: float | None = None) -> bool:
        self._check()
        self.removed.append(key)
        return self.statuses.pop(key, None) is not None


@dataclass
class FakeAgents:
    agents: dict[str, FakeAgent]
    powered_off: set[str] = field(default_factory=set)
    starting: set[str] = field(default_factory=set)
    """Hosts whose agent process runs but does not answer yet."""
    hosts: tuple[HostEntry, ...] = ()

    def client(self, agent: str, timeout: float = 60.0) -> FakeAgent:
        return self.agents[agent]

    def seen(self, agent: str) -> None:
        pass

    def agent_running(self, agent: str) -> bool:
        return self.agents[agent].alive or agent in self.starting

    def ensure_local_agent(self, agent: str, timeout: float = 15.0) -> int:
        if agent in self.powered_off or agent in self.starting:
            raise AgentStartError(f"host {agent} is powered off")
        self.agents[agent].alive = True
        return 1


@pytest.fixture
def setup(tmp_path: Path) -> tuple[ReconcileContext, Cluster, FakeAgents]:
    settings = Settings(home=tmp_path, zones=ZONES, hosts_per_zone=2, host_replace_after=0.0)
    store = Store(settings.db_url)
    spec = ClusterSpec("4.3.1", 3, BrokerNodeGroup("kafka.m5.large", ("az-a", "az-b", "az-c"), 10))
    cluster = ClusterService(settings, store).create_cluster("orders", spec, {})
    nodes = Placer(ZONES, set(), settings.hosts).place(
        cluster.arn, ["az-a", "az-b", "az-c"], [1, 2, 3], [1001, 1002, 1003], "4.3.1",
        "kafka.m5.large",
    )  # fmt: skip
    store.add_nodes(nodes)
    agents = FakeAgents(
        {h.name: FakeAgent() for h in settings.hosts}, hosts=tuple(settings_entries(settings))
    )
    for n in nodes:
        key = node_key(cluster, n)
        agents.agents[n.agent].statuses[key] = NodeStatus(key, "running", pid=9, started_at=1.0)
    return ReconcileContext(settings, store, agents), cluster, agents  # type: ignore[arg-type]


def power_off(agents: FakeAgents, host: str) -> None:
    agents.agents[host].alive = False
    agents.powered_off.add(host)


def heal_host(ctx: ReconcileContext, cluster: Cluster, host: str) -> Operation:
    op = start_operation(f"{cluster.arn}-op", cluster.arn, OperationType.HEAL)
    cluster.status.findings = [Finding("agent_unreachable", host, "silent")]
    ctx.store.start_operation(cluster, op)
    return op


def placed(ctx: ReconcileContext, cluster: Cluster, node_id: int) -> Node:
    [found] = [n for n in ctx.store.nodes(cluster.arn) if n.node_id == node_id]
    return found


def test_a_dead_hosts_broker_moves_to_the_other_host_with_its_ids(setup: Any) -> None:
    ctx, cluster, agents = setup
    before = placed(ctx, cluster, 2)
    assert before.agent == "az-b-h2"
    power_off(agents, "az-b-h2")
    op = heal_host(ctx, cluster, "az-b-h2")
    run_step(ctx, cluster, op, "REPAIR_NODES")
    after = placed(ctx, cluster, 2)
    assert (after.agent, after.zone) == ("az-b", "az-b")
    assert after.host != before.host and after.host.startswith("127.69.2.")
    assert after.directory_id == before.directory_id
    [spec] = agents.agents["az-b"].applied
    assert (spec.node_id, spec.directory_id, spec.role) == (2, before.directory_id, "broker")
    assert f"//{after.host}:" in spec.properties["advertised.listeners"]
    progress = load_progress(RepairProgress, op.progress["REPAIR_NODES"])
    assert [
        n.node_id for n in operation_nodes(ctx.store.nodes(cluster.arn), cluster, progress)
    ] == [2]


def test_a_move_resumed_after_a_crash_finishes_the_same_move_once(setup: Any) -> None:
    ctx, cluster, agents = setup
    power_off(agents, "az-b-h2")
    op = heal_host(ctx, cluster, "az-b-h2")
    # the control plane died after choosing where broker 2 goes, before it changed anything
    op.progress["REPAIR_NODES"] = {
        "moved": {"2": {"from": "az-b-h2", "agent": "az-b", "host": "127.69.2.7"}}
    }
    ctx.store.save_operation(op)
    run_step(ctx, cluster, op, "REPAIR_NODES")
    run_step(ctx, cluster, op, "REPAIR_NODES")
    assert placed(ctx, cluster, 2).host == "127.69.2.7"
    assert len(agents.agents["az-b"].applied) == 1


def test_a_move_resumed_after_the_old_host_came_back_still_gives_the_new_host_its_broker(
    setup: Any,
) -> None:
    ctx, cluster, agents = setup
    op = heal_host(ctx, cluster, "az-b-h2")
    # the control plane died after placing broker 2 on az-b, before az-b had it; az-b-h2 is back
    op.progress["REPAIR_NODES"] = {
        "moved": {"2": {"from": "az-b-h2", "agent": "az-b", "host": "127.69.2.7"}}
    }
    ctx.store.save_operation(op)
    ctx.store.update_nodes(cluster.arn, [2], agent="az-b", host="127.69.2.7")
    run_step(ctx, cluster, op, "REPAIR_NODES")
    [spec] = agents.agents["az-b"].applied
    assert spec.node_id == 2


def test_an_agent_that_is_slow_to_start_is_not_taken_for_a_dead_host(setup: Any) -> None:
    ctx, cluster, agents = setup
    agents.agents["az-b-h2"].alive = False
    agents.starting.add("az-b-h2")
    op = heal_host(ctx, cluster, "az-b-h2")
    with pytest.raises(TemporaryError, match=r"agent az-b-h2 to answer \(its process runs\)"):
        run_step(ctx, cluster, op, "REPAIR_NODES")
    assert placed(ctx, cluster, 2).agent == "az-b-h2"


def test_a_dead_host_whose_zone_has_no_live_host_is_waited_for(setup: Any) -> None:
    ctx, cluster, agents = setup
    power_off(agents, "az-b-h2")
    power_off(agents, "az-b")
    op = heal_host(ctx, cluster, "az-b-h2")
    with pytest.raises(TemporaryError, match="no other host of its zone answers"):
        run_step(ctx, cluster, op, "REPAIR_NODES")
    assert placed(ctx, cluster, 2).agent == "az-b-h2"


def test_a_dead_hosts_controller_is_waited_for(setup: Any) -> None:
    ctx, cluster, agents = setup
    power_off(agents, "az-b")  # host 1 of az-b runs controller 1002
    op = heal_host(ctx, cluster, "az-b")
    with pytest.raises(TemporaryError, match=r"controller 1002 \(controllers are not moved"):
        run_step(ctx, cluster, op, "REPAIR_NODES")
    assert placed(ctx, cluster, 1002).agent == "az-b"


def test_a_host_that_comes_back_loses_the_brokers_that_moved_away(setup: Any) -> None:
    ctx, cluster, agents = setup
    power_off(agents, "az-b-h2")
    run_step(ctx, cluster, heal_host(ctx, cluster, "az-b-h2"), "REPAIR_NODES")
    assert remove_stale_nodes(ctx) == []  # still off
    # powered on again: the sweep starts its agent, which still has broker 2 and a stranger
    agents.powered_off.clear()
    stale = node_key(cluster, placed(ctx, cluster, 2))
    agents.agents["az-b-h2"].statuses["someone-else"] = NodeStatus("someone-else", "running")
    assert remove_stale_nodes(ctx) == [stale]
    assert agents.agents["az-b-h2"].removed == [stale]
    assert stale in agents.agents["az-b"].statuses


# --- draining a host ----------------------------------------------------------------------------
def drain(agents: FakeAgents, host: str) -> None:
    agents.hosts = tuple(
        replace(h, record=replace(h.record, state=HostState.DRAINING)) if h.name == host else h
        for h in agents.hosts
    )


def test_the_next_broker_of_a_draining_host_is_one_finding_at_a_time(setup: Any) -> None:
    ctx, cluster, _ = setup
    nodes = ctx.store.nodes(cluster.arn)
    on_b2 = [n.node_id for n in nodes if n.agent == "az-b-h2" and n.role is NodeRole.BROKER]
    found = drain_finding(nodes, ["az-b-h2"])
    assert found is not None and found.kind == "host_draining"
    assert (found.agent, found.node_id) == ("az-b-h2", min(on_b2))
    assert drain_finding(nodes, ["nowhere"]) is None


def test_a_draining_hosts_broker_stops_there_and_moves_to_an_active_host(setup: Any) -> None:
    ctx, cluster, agents = setup
    before = placed(ctx, cluster, 2)
    assert before.agent == "az-b-h2"
    drain(agents, "az-b-h2")
    op = start_operation(f"{cluster.arn}-op", cluster.arn, OperationType.HEAL)
    cluster.status.findings = [drain_finding(ctx.store.nodes(cluster.arn), ["az-b-h2"])]
    ctx.store.start_operation(cluster, op)
    run_step(ctx, cluster, op, "REPAIR_NODES")
    after = placed(ctx, cluster, 2)
    assert (after.agent, after.directory_id) == ("az-b", before.directory_id)
    assert agents.agents["az-b-h2"].removed == [node_key(cluster, before)]
    [spec] = agents.agents["az-b"].applied
    assert spec.node_id == 2
    run_step(ctx, cluster, op, "REPAIR_NODES")  # again: nothing more happens
    assert len(agents.agents["az-b"].applied) == 1
    assert agents.agents["az-b-h2"].removed == [node_key(cluster, before)]


def test_a_dead_hosts_brokers_never_move_to_a_draining_host(setup: Any) -> None:
    ctx, cluster, agents = setup
    drain(agents, "az-b")
    power_off(agents, "az-b-h2")
    op = heal_host(ctx, cluster, "az-b-h2")
    with pytest.raises(TemporaryError, match="no other host of its zone answers"):
        run_step(ctx, cluster, op, "REPAIR_NODES")
    assert placed(ctx, cluster, 2).agent == "az-b-h2"


def test_the_monitor_moves_a_draining_hosts_broker_only_while_the_cluster_is_in_sync(
    setup: Any,
) -> None:
    ctx, cluster, agents = setup
    monitor = HealthMonitor(ctx, lambda: None)
    nodes = ctx.store.nodes(cluster.arn)
    in_sync, behind = KafkaHealth(under_replicated=0), KafkaHealth(under_replicated=2)
    assert monitor._next_drain(cluster, nodes, in_sync) is None  # nothing drains
    drain(agents, "az-b-h2")
    found = monitor._next_drain(cluster, nodes, in_sync)
    assert found is not None and (found.kind, found.node_id) == ("host_draining", 2)
    assert monitor._next_drain(cluster, nodes, behind) is None
    assert monitor._next_drain(cluster, nodes, KafkaHealth()) is None  # Kafka not heard yet
    drain(agents, "az-b")  # the zone's other host takes no node either
    assert monitor._next_drain(cluster, nodes, in_sync) is None
    monitor.close()

"""Repairing what the health monitor found (a HEAL, while the cluster is HEALING).

The faults (`steward.domain.health.Finding`) are the cluster's status (`ClusterStatus.findings`),
written by the monitor when it opened the repair; the cluster's `StateInfo` names them while the
repair runs. Steps:
- REPAIR_NODES: make every faulty node run again. A crashed node is restarted by its agent on its
  own (this step waits for that; a node the agent gave up on is restarted); a hung node is killed
  (SIGKILL) and started again; a stopped node is started; a node its agent lost is given back to
  it; an agent that stopped answering is started again (embedded default) or waited for; a host
  whose agent stays silent while another host of its zone answers has its brokers moved there
  (`steward.control.host_replacement`), its controllers waited for; a broker of a host being
  drained (`steward host drain`) is stopped there and moved the same way. A broker
  whose data directory is gone is formatted anew by its agent with the same node and directory id,
  and Kafka copies its replicas back from the other zones. A broker whose volume is (nearly)
  full: the monitor opened the repair with the cluster's storage grown in its spec
  (`grown_volume_gb`), as a user would with UpdateBrokerStorage; this step grows every broker's
  volume under its running Kafka, then restarts the broker if it stopped.
- WAIT_FOR_NODES: each repaired broker is registered and unfenced, each controller answers.
- WAIT_FOR_IN_SYNC: each repaired broker is back in the in-sync set of every partition it holds;
  the controller quorum is caught up.
- REBALANCE_LEADERS: preferred leader election, so that leadership is spread as before.
Every step can run again after a control-plane crash: a hung node is killed only while it still
runs the process that hung.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

from steward.agent.client import AgentUnavailable
from steward.agent.launcher import AgentStartError
from steward.control import host_replacement
from steward.control.context import ReconcileContext
from steward.control.host_replacement import HostMoves
from steward.control.node_specs import node_key
from steward.control.placement import PlacementError
from steward.control.step import NoProgress, StepRun
from steward.control.steps.storage import grow_volumes
from steward.domain.errors import PermanentError, TemporaryError
from steward.domain.health import Finding
from steward.domain.limits import MAX_VOLUME_SIZE_GB
from steward.domain.model import Cluster, Node, NodeRole
from steward.kafka import health, probe, reassignment
from steward.kafka.node_config import CONTROLLER
from steward.security.certificates import probe_listener, probe_tls

log = logging.getLogger(__name__)

WAIT = 0.5


@dataclass
class RepairProgress(HostMoves):
    repaired: list[int] = field(default_factory=list)
    """Nodes whose one restart (`RESTART_ONCE`) was made."""
    faulty_pids: dict[str, int | None] = field(default_factory=dict)
    """Node id -> the process the repair is about, remembered before anything is done to it."""


def repaired_nodes(
    nodes: list[Node], found: list[Finding], moved: set[int] | None = None
) -> list[Node]:
    """The nodes a repair of `found` is about: the faulty ones, every node of an unreachable
    agent, and the brokers it `moved` to another host."""
    ids = {f.node_id for f in found if f.node_id is not None} | (moved or set())
    agents = {f.agent for f in found if f.node_id is None}
    return [n for n in nodes if n.node_id in ids or n.agent in agents]


def operation_nodes(nodes: list[Node], cluster: Cluster, progress: HostMoves) -> list[Node]:
    """The nodes the repair of `cluster`'s findings is about (`progress`: what it moved)."""
    found = cluster.status.findings
    return repaired_nodes(nodes, found, host_replacement.moved_node_ids(progress))


def _repaired(run: StepRun[Any]) -> list[Node]:
    moves = run.progress_of("REPAIR_NODES", RepairProgress)
    return operation_nodes(run.ctx.store.nodes(run.cluster.arn), run.cluster, moves)


def rebalance_leaders(run: StepRun[NoProgress]) -> None:
    if any(n.role is NodeRole.BROKER for n in _repaired(run)):
        try:
            reassignment.elect_preferred_leaders(run.ctx.bootstrap(run.cluster))
        except reassignment.ReassignmentError as error:  # auto leader rebalance also does it
            log.warning("preferred leader election after a repair failed: %s", error)


# --- REPAIR_NODES ----------------------------------------------------------------------------
def repair_nodes(run: StepRun[RepairProgress]) -> None:
    ctx, cluster = run.ctx, run.cluster
    progress = run.progress
    waiting: list[str] = []
    found = cluster.status.findings
    if any(f.kind == "disk_full" for f in found):
        _grow_storage(ctx, cluster)
    for agent in sorted({f.agent for f in found if f.node_id is None}):
        if _agent_answers(ctx, agent):
            host_replacement.answered(progress, agent, run.save)
        else:
            waiting.extend(_replace_dead_host(run, agent))
    waiting.extend(_drain(run))
    waiting.extend(_finish_moves(run))
    nodes = ctx.store.nodes(cluster.arn)
    by_id = {n.node_id: n for n in nodes}
    faulty = {f.node_id for f in found if f.node_id is not None and f.kind != "host_draining"}
    for finding in found:
        node = by_id.get(finding.node_id) if finding.node_id is not None else None
        if node is None or finding.kind == "host_draining":
            continue
        try:
            if not _repair_node(run, node, finding):
                waiting.append(f"{finding.subject} to run")
        except AgentUnavailable as error:
            waiting.append(f"agent {node.agent} ({error})")
    for node in operation_nodes(nodes, cluster, progress):
        if node.node_id in faulty:
            continue
        try:
            if not _running(ctx, cluster, node):
                waiting.append(f"{node.role.value.lower()} {node.node_id} to run")
        except AgentUnavailable as error:
            waiting.append(f"agent {node.agent} ({error})")
    if waiting:
        raise TemporaryError("waiting for " + ", ".join(sorted(set(waiting))), WAIT)


GROWN_USE = 0.6
"""The share of the grown volumes that the fullest broker's data then takes, at most."""
GIB = 1024**3


def grown_volume_gb(current_gb: int, used_bytes: int) -> int:
    """The volume size that a broker using `used_bytes` of `current_gb` needs: its data at most
    GROWN_USE of it, and at least 10% (1 GiB) more than now, within MSK's largest volume."""
    needed = math.ceil(used_bytes / GROWN_USE / GIB)
    return min(MAX_VOLUME_SIZE_GB, max(needed, current_gb + max(1, math.ceil(current_gb / 10))))


def _grow_storage(ctx: ReconcileContext, cluster: Cluster) -> None:
    """Grow every broker's volume to the size the repair's spec has, or fail when the storage
    could not grow (it was at the largest volume already)."""
    size = cluster.spec.broker_node_group.volume_size_gb
    if size <= cluster.observed_spec.broker_node_group.volume_size_gb:
        raise PermanentError(
            f"the brokers' storage is full at {size} GiB, the largest volume", "StorageFull"
        )
    grow_volumes(ctx, cluster)


def grown_spec_size(current_gb: int, used_bytes: list[int]) -> int | None:
    """The volume size a repair of full brokers grows the storage to (`grown_volume_gb` for the
    fullest one), or None when it cannot grow."""
    size = grown_volume_gb(current_gb, max(used_bytes, default=0))
    return size if size > current_gb else None


def _agent_answers(ctx: ReconcileContext, agent: str) -> bool:
    """Start the zone's agent again when it is one of ours and not running; True once it
    answers. An agent that runs but cannot be reached (its zone is cut off) is waited for."""
    try:
        ctx.agents.client(agent, timeout=2.0).health()
        return True
    except AgentUnavailable:
        pass
    try:
        ctx.agents.ensure_local_agent(agent, timeout=5.0)
    except AgentStartError as error:
        log.info("agent %s is not back yet: %s", agent, error)
        return False
    return True


def _replace_dead_host(run: StepRun[RepairProgress], agent: str) -> list[str]:
    """Move the brokers of `agent`'s host once it counts as dead; what is still waited for. An
    agent whose process runs (it is still starting, or its zone is cut off) is not dead."""
    ctx, cluster, progress = run.ctx, run.cluster, run.progress
    if ctx.agents.agent_running(agent):
        host_replacement.answered(progress, agent, run.save)
        return [f"agent {agent} to answer (its process runs)"]
    nodes = ctx.store.nodes(cluster.arn)
    peers = host_replacement.live_peers(ctx, agent)
    began = run.op.creation_time.timestamp()
    silent = host_replacement.silent_for(progress, agent, began, run.save)
    verdict = host_replacement.judge_silent_host(
        agent, silent, ctx.settings.host_replace_after, peers, nodes
    )
    waiting = list(verdict.waiting_for)
    for node in verdict.move:
        try:
            host_replacement.move_broker(ctx, cluster, progress, run.save, node, peers)
        except AgentUnavailable as error:
            waiting.append(f"broker {node.node_id} to move ({error})")
    return waiting


def _drain(run: StepRun[RepairProgress]) -> list[str]:
    """Move each broker found on a draining host to another host of its zone; what is still
    waited for."""
    ctx, cluster, progress = run.ctx, run.cluster, run.progress
    draining = {f.node_id for f in cluster.status.findings if f.kind == "host_draining"}
    waiting = []
    for node in ctx.store.nodes(cluster.arn):
        if node.node_id not in draining:
            continue
        try:
            host_replacement.drain_broker(ctx, cluster, progress, run.save, node)
        except AgentUnavailable as error:
            waiting.append(f"broker {node.node_id} to move off its draining host ({error})")
        except PlacementError as error:
            raise PermanentError(str(error), "InsufficientCapacity") from error
    return waiting


def _finish_moves(run: StepRun[RepairProgress]) -> list[str]:
    """Finish the moves this operation began (a crash of the control plane may have come between
    choosing the new host and giving it the broker), even when the old host answers again."""
    ctx, cluster, progress = run.ctx, run.cluster, run.progress
    moved = host_replacement.moved_node_ids(progress)
    waiting = []
    for node in ctx.store.nodes(cluster.arn):
        if node.node_id not in moved:
            continue
        try:
            host_replacement.move_broker(ctx, cluster, progress, run.save, node, [])
        except AgentUnavailable as error:
            waiting.append(f"broker {node.node_id} to move ({error})")
    return waiting


RESTART_ONCE: dict[str, tuple[float | None, str]] = {
    "hung": (0.0, "killing hung %s to start it again"),  # SIGKILL: a stopped process waits
    "data_lost": (5.0, "restarting %s on a fresh data directory"),
    "fenced": (10.0, "restarting %s, which the cluster does not count as live"),
    "failed": (None, "restarting %s, which its agent gave up on"),
    "stopped": (None, "starting %s again"),
}
"""Faults repaired by one restart of the node: (how long its controlled shutdown may take, what
the log says). A node that lost its data is formatted anew by its agent before it starts, with the
node's own ids (Kafka sees the same log directory, empty, and copies the replicas back)."""


def _repair_node(run: StepRun[RepairProgress], node: Node, finding: Finding) -> bool:
    """Do what `finding` needs for `node` (once), and tell whether the node runs again."""
    ctx, cluster, progress = run.ctx, run.cluster, run.progress
    client = ctx.agents.client(node.agent, timeout=30.0)
    key = node_key(cluster, node)
    status = client.node(key)
    if status is None:
        client.apply(ctx.render(cluster, node))
        return False
    restart = RESTART_ONCE.get(finding.kind)
    if restart is not None and node.node_id not in progress.repaired:
        # The process this repair is about, remembered before anything is done to it: after a
        # crash of the control plane mid-repair, a process started since is left alone.
        faulty_pid = progress.faulty_pids.setdefault(str(node.node_id), status.pid)
        run.save()
        if status.pid == faulty_pid:
            timeout, message = restart
            log.warning(message, finding.subject)
            client.restart(key, timeout=timeout)
            cluster.status.record_restart(node.node_id, f"repair: {finding.kind}: {finding.reason}")
        progress.repaired.append(node.node_id)
        run.save(with_cluster=True)
        return False
    if status.state in ("failed", "stopped"):
        client.restart(key)
        return False
    return status.state in ("starting", "running") and status.pid is not None


def _running(ctx: ReconcileContext, cluster: Cluster, node: Node) -> bool:
    status = ctx.agents.client(node.agent, timeout=5.0).node(node_key(cluster, node))
    return status is not None and status.state in ("starting", "running")


# --- WAIT_FOR_NODES / WAIT_FOR_IN_SYNC -------------------------------------------------------
def wait_for_nodes(run: StepRun[NoProgress]) -> None:
    ctx, cluster = run.ctx, run.cluster
    bootstrap = ctx.bootstrap(cluster)
    waiting = []
    for node in _repaired(run):
        if node.role is NodeRole.CONTROLLER:
            host, port = node.endpoint(CONTROLLER).rsplit(":", 1)
            tls = probe_tls(ctx.store, cluster, node)
            if not probe.answers(host, int(port), timeout=2.0, tls=tls):
                waiting.append(f"controller {node.node_id} to answer")
            continue
        host, port = node.endpoint(probe_listener(cluster, node)).rsplit(":", 1)
        try:
            tls = probe_tls(ctx.store, cluster, node)
            serving = probe.answers(host, int(port), 2.0, tls) and health.broker_serving(
                bootstrap, node.node_id
            )
        except health.HealthError as error:
            raise TemporaryError(f"waiting for the cluster to answer: {error}", WAIT) from error
        if not serving:
            waiting.append(f"broker {node.node_id} to serve")
    if waiting:
        raise TemporaryError("waiting for " + ", ".join(waiting), WAIT)


def wait_for_in_sync(run: StepRun[NoProgress]) -> None:
    ctx, cluster = run.ctx, run.cluster
    nodes = _repaired(run)
    brokers = {n.node_id for n in nodes if n.role is NodeRole.BROKER}
    view = ctx.cluster_view(cluster)
    if any(n.role is NodeRole.CONTROLLER for n in nodes) and not view.quorum_caught_up():
        raise TemporaryError("waiting for the controller quorum to catch up", WAIT)
    if not brokers:
        return
    try:
        states = health.partition_states(ctx.bootstrap(cluster))
    except health.HealthError as error:
        raise TemporaryError(f"waiting for the cluster to answer: {error}", WAIT) from error
    behind = [
        f"{p.topic}-{p.partition}"
        for p in states
        if any(b in p.replicas and b not in p.isr for b in brokers)
    ]
    if behind:
        shown = ", ".join(behind[:5]) + (f" and {len(behind) - 5} more" if len(behind) > 5 else "")
        raise TemporaryError(f"waiting for the replicas of {shown} to catch up", WAIT)

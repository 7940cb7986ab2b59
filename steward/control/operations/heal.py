"""HEAL: repair what the health monitor found, while the cluster is HEALING.

The faults (`steward.control.diagnosis.Finding`) are in `op.progress["findings"]`; the cluster's
`StateInfo` names them while the repair runs. Steps:
- REPAIR_NODES: make every faulty node run again. A crashed node is restarted by its agent on its
  own (this step waits for that; a node the agent gave up on is restarted); a hung node is killed
  (SIGKILL) and started again; a stopped node is started; a node its agent lost is given back to
  it; an agent that stopped answering is started again (embedded default) or waited for; a host
  whose agent stays silent while another host of its zone answers has its brokers moved there
  (`steward.control.host_replacement`), its controllers waited for. A broker
  whose data directory is gone is formatted anew by its agent with the same node and directory id,
  and Kafka copies its replicas back from the other zones. A broker whose volume is (nearly)
  full has the cluster's storage grown first, every broker's volume under its running Kafka
  (`grown_volume_gb`), as a user would with UpdateBrokerStorage; then it is restarted if it
  stopped.
- WAIT_FOR_NODES: each repaired broker is registered and unfenced, each controller answers.
- WAIT_FOR_IN_SYNC: each repaired broker is back in the in-sync set of every partition it holds;
  the controller quorum is caught up.
- REBALANCE_LEADERS: preferred leader election, so that leadership is spread as before.
- FINALIZE: the cluster is ACTIVE again.
Every step can run again after a control-plane crash: a hung node is killed only while it still
runs the process that hung.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace

from steward.agent.client import AgentUnavailable
from steward.agent.launcher import AgentStartError
from steward.control import host_replacement
from steward.control.arns import new_current_version
from steward.control.certificates import probe_listener, probe_tls
from steward.control.context import ReconcileContext
from steward.control.diagnosis import Finding
from steward.control.node_specs import build_node_spec, node_key, user_properties
from steward.control.operations.common import mutable_info
from steward.control.operations.storage import grow_volumes
from steward.domain.errors import PermanentError, TemporaryError
from steward.domain.limits import MAX_VOLUME_SIZE_GB
from steward.domain.model import Cluster, ClusterState, Node, NodeRole, Operation
from steward.kafka import health, probe, reassignment
from steward.kafka.node_config import CONTROLLER

log = logging.getLogger(__name__)

STEPS = ("REPAIR_NODES", "WAIT_FOR_NODES", "WAIT_FOR_IN_SYNC", "REBALANCE_LEADERS", "FINALIZE")
WAIT = 0.5


def findings(op: Operation) -> list[Finding]:
    raw = op.progress.get("findings", [])
    return [Finding.from_json(item) for item in raw if isinstance(item, dict)]  # type: ignore[union-attr]


def repaired_nodes(
    nodes: list[Node], found: list[Finding], moved: set[int] | None = None
) -> list[Node]:
    """The nodes a repair of `found` is about: the faulty ones, every node of an unreachable
    agent, and the brokers it `moved` to another host."""
    ids = {f.node_id for f in found if f.node_id is not None} | (moved or set())
    agents = {f.agent for f in found if f.node_id is None}
    return [n for n in nodes if n.node_id in ids or n.agent in agents]


def operation_nodes(nodes: list[Node], op: Operation) -> list[Node]:
    """The nodes the HEAL operation `op` repairs."""
    return repaired_nodes(nodes, findings(op), host_replacement.moved_node_ids(op))


def _repaired(ctx: ReconcileContext, cluster: Cluster, op: Operation) -> list[Node]:
    return operation_nodes(ctx.store.nodes(cluster.arn), op)


def run_step(ctx: ReconcileContext, cluster: Cluster, op: Operation, step: str) -> None:
    if step == "REPAIR_NODES":
        _repair(ctx, cluster, op)
    elif step == "WAIT_FOR_NODES":
        _wait_for_nodes(ctx, cluster, op)
    elif step == "WAIT_FOR_IN_SYNC":
        _wait_for_in_sync(ctx, cluster, op)
    elif step == "REBALANCE_LEADERS":
        if any(n.role is NodeRole.BROKER for n in _repaired(ctx, cluster, op)):
            try:
                reassignment.elect_preferred_leaders(ctx.bootstrap(cluster))
            except reassignment.ReassignmentError as error:  # auto leader rebalance also does it
                log.warning("preferred leader election after a repair failed: %s", error)
    elif step == "FINALIZE":
        cluster.state = ClusterState.ACTIVE
        cluster.state_info = None
    else:
        raise PermanentError(f"unknown step {step}")


def on_failure(ctx: ReconcileContext, cluster: Cluster, op: Operation) -> None:
    cluster.state = ClusterState.ACTIVE
    cluster.state_info = None


# --- REPAIR_NODES ----------------------------------------------------------------------------
def _repair(ctx: ReconcileContext, cluster: Cluster, op: Operation) -> None:
    waiting: list[str] = []
    found = findings(op)
    if any(f.kind == "disk_full" for f in found):
        _grow_storage(ctx, cluster, op)
    for agent in sorted({f.agent for f in found if f.node_id is None}):
        if _agent_answers(ctx, agent):
            host_replacement.answered(ctx, op, agent)
        else:
            waiting.extend(_replace_dead_host(ctx, cluster, op, agent))
    waiting.extend(_finish_moves(ctx, cluster, op))
    nodes = ctx.store.nodes(cluster.arn)
    by_id = {n.node_id: n for n in nodes}
    faulty = {f.node_id for f in found if f.node_id is not None}
    for finding in found:
        node = by_id.get(finding.node_id) if finding.node_id is not None else None
        if node is None:
            continue
        try:
            if not _repair_node(ctx, cluster, op, node, finding):
                waiting.append(f"{finding.subject} to run")
        except AgentUnavailable as error:
            waiting.append(f"agent {node.agent} ({error})")
    for node in operation_nodes(nodes, op):
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


def _grow_storage(ctx: ReconcileContext, cluster: Cluster, op: Operation) -> None:
    """Grow the cluster's storage once (the new size is kept in the operation), then wait until
    every broker's volume has grown."""
    group = cluster.spec.broker_node_group
    if "volume_grown_to" not in op.progress:
        used = 0
        for node in ctx.store.nodes(cluster.arn):
            if node.role is NodeRole.BROKER:
                try:
                    status = ctx.agents.client(node.agent, timeout=5.0).node(
                        node_key(cluster, node)
                    )
                except AgentUnavailable:
                    continue
                if status is not None and status.volume_used_bytes is not None:
                    used = max(used, status.volume_used_bytes)
        size = grown_volume_gb(group.volume_size_gb, used)
        if size <= group.volume_size_gb:
            raise PermanentError(
                f"the brokers' storage is full at {group.volume_size_gb} GiB, the largest volume",
                "StorageFull",
            )
        log.warning(
            "growing the storage of %s from %d to %d GiB per broker",
            cluster.name,
            group.volume_size_gb,
            size,
        )
        cluster.spec = cluster.spec.replace(broker_node_group=replace(group, volume_size_gb=size))
        cluster.current_version = new_current_version()
        op.target = mutable_info(cluster.spec)  # DescribeClusterOperation shows the new size
        op.progress["volume_grown_to"] = size
        ctx.store.save_operation(op, cluster)
    grow_volumes(ctx, cluster)


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


def _replace_dead_host(
    ctx: ReconcileContext, cluster: Cluster, op: Operation, agent: str
) -> list[str]:
    """Move the brokers of `agent`'s host once it counts as dead; what is still waited for. An
    agent whose process runs (it is still starting, or its zone is cut off) is not dead."""
    if ctx.agents.agent_running(agent):
        host_replacement.answered(ctx, op, agent)
        return [f"agent {agent} to answer (its process runs)"]
    nodes = ctx.store.nodes(cluster.arn)
    peers = host_replacement.live_peers(ctx, agent)
    silent = host_replacement.silent_for(ctx, op, agent)
    verdict = host_replacement.judge_silent_host(
        agent, silent, ctx.settings.host_replace_after, peers, nodes
    )
    waiting = list(verdict.waiting_for)
    for node in verdict.move:
        try:
            host_replacement.move_broker(ctx, cluster, op, node, peers)
        except AgentUnavailable as error:
            waiting.append(f"broker {node.node_id} to move ({error})")
    return waiting


def _finish_moves(ctx: ReconcileContext, cluster: Cluster, op: Operation) -> list[str]:
    """Finish the moves this operation began (a crash of the control plane may have come between
    choosing the new host and giving it the broker), even when the old host answers again."""
    moved = host_replacement.moved_node_ids(op)
    waiting = []
    for node in ctx.store.nodes(cluster.arn):
        if node.node_id not in moved:
            continue
        try:
            host_replacement.move_broker(ctx, cluster, op, node, [])
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


def _repair_node(
    ctx: ReconcileContext, cluster: Cluster, op: Operation, node: Node, finding: Finding
) -> bool:
    """Do what `finding` needs for `node` (once), and tell whether the node runs again."""
    client = ctx.agents.client(node.agent, timeout=30.0)
    key = node_key(cluster, node)
    status = client.node(key)
    if status is None:
        nodes = ctx.store.nodes(cluster.arn)
        client.apply(build_node_spec(cluster, node, nodes, user_properties(ctx.store, cluster)))
        return False
    done_key = f"repaired.{node.node_id}"
    restart = RESTART_ONCE.get(finding.kind)
    if restart is not None and not op.progress.get(done_key):
        # The process this repair is about, remembered before anything is done to it: after a
        # crash of the control plane mid-repair, a process started since is left alone.
        faulty_pid = op.progress.setdefault(f"faulty_pid.{node.node_id}", status.pid)
        ctx.store.save_operation(op)
        if status.pid == faulty_pid:
            timeout, message = restart
            log.warning(message, finding.subject)
            client.restart(key, timeout=timeout)
        op.progress[done_key] = True
        ctx.store.save_operation(op)
        return False
    if status.state in ("failed", "stopped"):
        client.restart(key)
        return False
    return status.state in ("starting", "running") and status.pid is not None


def _running(ctx: ReconcileContext, cluster: Cluster, node: Node) -> bool:
    status = ctx.agents.client(node.agent, timeout=5.0).node(node_key(cluster, node))
    return status is not None and status.state in ("starting", "running")


# --- WAIT_FOR_NODES / WAIT_FOR_IN_SYNC -------------------------------------------------------
def _wait_for_nodes(ctx: ReconcileContext, cluster: Cluster, op: Operation) -> None:
    bootstrap = ctx.bootstrap(cluster)
    waiting = []
    for node in _repaired(ctx, cluster, op):
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


def _wait_for_in_sync(ctx: ReconcileContext, cluster: Cluster, op: Operation) -> None:
    nodes = _repaired(ctx, cluster, op)
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

"""A host that stopped answering for good: its brokers move to another host of its zone.

A host is taken for dead when its agent has not answered for `Settings.host_replace_after`
seconds, could not be started again and has no process running (a slow start is waited for),
while another host of the same zone answers (a zone cut off the network as a whole is waited for:
moving within it would not help). The HEAL operation
then moves each broker of the dead host to the live host of its zone that runs the fewest nodes:
a new address on that host, the same node id and KRaft directory id, and fresh empty storage that
the new agent formats with those ids. Kafka copies the broker's replicas back from the other
zones, as it does for a broker whose data directory was lost.

Controllers are not moved: the quorum is static (`controller.quorum.voters` names their
addresses), so moving one means rolling every node of the cluster. A dead host's controllers are
waited for.

A move is recorded in the repair's progress (`HostMoves.moved`: the host and address chosen)
before anything changes, so that a control plane that dies in the middle of it finishes the same
move. A host that answers again later still has the nodes that moved away: `stale_node_keys` names
them, and the health monitor removes them (stop and delete), so that a stale broker with the same
node id never serves.

A host that is drained (`steward host drain`) answers, and its brokers move the same way, one at a
time (`drain_finding`: the health monitor starts a HEAL for the next one once the cluster is in
sync): the broker is stopped and deleted on the drained host first (`drain_broker`), so that two
brokers of one id never run at once, then started on the new host. Dead and drained hosts' brokers
only ever go to ACTIVE hosts (`live_peers`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from steward.agent.client import AgentUnavailable
from steward.control.context import ReconcileContext
from steward.control.node_specs import node_key
from steward.control.placement import placer_for, reservation
from steward.domain.health import Finding
from steward.domain.model import Cluster, Node, NodeRole

log = logging.getLogger(__name__)


@dataclass
class HostMoves:
    """What a repair keeps about dead hosts (part of its progress)."""

    moved: dict[str, dict[str, str]] = field(default_factory=dict)
    """Broker id -> its move: {"from", "agent", "host"}."""
    silent_since: dict[str, float | None] = field(default_factory=dict)
    """Agent -> since when (epoch seconds) it has been silent; None once it answered."""


@dataclass(frozen=True)
class HostVerdict:
    """What a repair does about a host whose agent does not answer and cannot be started."""

    move: list[Node]
    """Brokers to move to another host of the zone (none until the host counts as dead)."""
    waiting_for: list[str]
    """What the repair waits for meanwhile, in words."""


def judge_silent_host(
    agent: str,
    silent_for: float,
    replace_after: float,
    live_peers: Sequence[str],
    nodes: Sequence[Node],
) -> HostVerdict:
    """The decision for the silent agent `agent` (silent for `silent_for` seconds, not startable)
    about the cluster's `nodes` it runs. `live_peers`: the other hosts of its zone that answer."""
    on_host = [n for n in nodes if n.agent == agent]
    brokers = [n for n in on_host if n.role is NodeRole.BROKER]
    controllers = [
        f"agent {agent} to answer for controller {n.node_id} (controllers are not moved)"
        for n in on_host
        if n.role is NodeRole.CONTROLLER
    ]
    if not live_peers:
        return HostVerdict([], [f"agent {agent} to answer (no other host of its zone answers)"])
    if silent_for < replace_after:
        return HostVerdict([], [f"agent {agent} to answer"])
    return HostVerdict(brokers, controllers)


def moved_node_ids(moves: HostMoves) -> set[int]:
    """The brokers this repair moved (or began to move) to another host."""
    return {int(node_id) for node_id in moves.moved}


def silent_for(moves: HostMoves, agent: str, began: float, save: Callable[[], None]) -> float:
    """Seconds since `agent` has been silent as far as this repair knows: since the repair
    `began`, which its silence started, or since it was last seen answering."""
    since = moves.silent_since.get(agent)
    if since is None:
        since = began if agent not in moves.silent_since else time.time()
        moves.silent_since[agent] = since
        save()
    return time.time() - since


def answered(moves: HostMoves, agent: str, save: Callable[[], None]) -> None:
    """`agent` answers again: a later silence is timed afresh."""
    if moves.silent_since.get(agent, 0) is not None:
        moves.silent_since[agent] = None
        save()


def live_peers(ctx: ReconcileContext, agent: str) -> list[str]:
    """The other hosts of `agent`'s zone whose agents answer."""
    hosts = {h.name: h for h in ctx.agents.hosts}
    host = hosts.get(agent)
    if host is None:
        return []
    peers = []
    for peer in hosts.values():
        if peer.zone.name != host.zone.name or peer.name == agent or not peer.accepts_nodes:
            continue
        try:
            ctx.agents.client(peer.name, timeout=2.0).health()
        except AgentUnavailable:
            continue
        peers.append(peer.name)
    return peers


def move_broker(
    ctx: ReconcileContext,
    cluster: Cluster,
    moves: HostMoves,
    save: Callable[[], None],
    node: Node,
    peers: Sequence[str],
) -> Node:
    """Move `node` (a broker of a dead host) to the least loaded of `peers`, or finish the move
    this repair began; the node as placed now. Safe to repeat: the target is chosen once (and
    saved before anything changes), and the new agent is given the node only when it does not
    have it yet."""
    plan = moves.moved.get(str(node.node_id))
    if plan is None:
        placer = placer_for(ctx, [h for h in ctx.agents.hosts if h.name in peers])
        need = reservation(node)
        target = placer.host_for(node.zone, need=need)
        address = placer.address_on(target, list(node.ports.values()), need)
        plan = {"from": node.agent, "agent": target.name, "host": address}
        moves.moved[str(node.node_id)] = plan
        save()
        log.warning(
            "moving broker %d of %s from dead host %s to host %s (%s)",
            node.node_id,
            cluster.name,
            node.agent,
            target.name,
            address,
        )
    agent, host = plan["agent"], plan["host"]
    if plan.get("drain") and node.agent == plan["from"]:
        # still placed on the host it leaves: the store moves it only once it stopped there
        _stop_on_drained_host(ctx, cluster, node, plan["from"])
    if (node.agent, node.host) != (agent, host):
        ctx.store.update_nodes(cluster.arn, [node.node_id], agent=agent, host=host)
    moved = replace(node, agent=agent, host=host)
    client = ctx.agents.client(agent, timeout=30.0)
    if client.node(node_key(cluster, moved)) is None:
        client.apply(ctx.render(cluster, moved))
    return moved


def stale_node_keys(agent: str, reported: Sequence[str], placed: Mapping[str, str]) -> list[str]:
    """Of the nodes agent `agent` reports (by key), those placed on another agent now. `placed`:
    every node of every cluster, key -> agent. A node unknown to the store is left alone."""
    return [key for key in reported if key in placed and placed[key] != agent]


# --- draining -------------------------------------------------------------------------------------
DRAIN_STOP_TIMEOUT = 120.0
"""How long the drained host's agent may take to stop a broker (a controlled shutdown moves its
leaderships away first) and delete its data."""


def drain_finding(nodes: Sequence[Node], draining: Sequence[str]) -> Finding | None:
    """The next broker of the cluster's `nodes` to move off a draining host (the one with the
    lowest id), as a finding the HEAL operation repairs; None when none is left. One broker at a
    time: each move waits until the broker is back in sync before the next begins, so that no
    partition has two replicas copying at once."""
    on_drained = sorted(
        (n for n in nodes if n.role is NodeRole.BROKER and n.agent in draining),
        key=lambda n: n.node_id,
    )
    if not on_drained:
        return None
    node = on_drained[0]
    return Finding(
        "host_draining",
        node.agent,
        f"host {node.agent} is draining: broker {node.node_id} moves to another host of "
        f"{node.zone}",
        node.node_id,
        NodeRole.BROKER,
    )


def drain_broker(
    ctx: ReconcileContext,
    cluster: Cluster,
    moves: HostMoves,
    save: Callable[[], None],
    node: Node,
) -> Node:
    """Move `node`, a broker of a draining host, to the ACTIVE host of its zone that answers
    and has the most room (or finish the move this repair began). Its old host still answers,
    so the broker is stopped and deleted there before it starts on the new host with the same
    ids and empty storage, which Kafka fills from the other replicas. PlacementError when no
    host of the zone has room."""
    if str(node.node_id) not in moves.moved:
        peers = live_peers(ctx, node.agent)
        if not peers:
            raise AgentUnavailable(f"no other active host of {node.zone} answers")
        placer = placer_for(ctx, [h for h in ctx.agents.hosts if h.name in peers])
        need = reservation(node)
        target = placer.host_for(node.zone, need=need)
        address = placer.address_on(target, list(node.ports.values()), need)
        moves.moved[str(node.node_id)] = {
            "from": node.agent,
            "agent": target.name,
            "host": address,
            "drain": "yes",
        }
        save()
        log.warning(
            "moving broker %d of %s off draining host %s to host %s (%s)",
            node.node_id,
            cluster.name,
            node.agent,
            target.name,
            address,
        )
    return move_broker(ctx, cluster, moves, save, node, [])


def _stop_on_drained_host(ctx: ReconcileContext, cluster: Cluster, node: Node, host: str) -> None:
    """Stop and delete the broker on the host it leaves, unless it is gone from there already:
    two brokers of one id must never run at once."""
    key = node_key(cluster, node)
    old = ctx.agents.client(host, timeout=DRAIN_STOP_TIMEOUT)
    if old.node(key) is not None:
        old.remove(key)

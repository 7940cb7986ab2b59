"""Rolling restarts: the one rule every operation that restarts Kafka nodes follows.

Restart one node at a time. Before a broker goes down, no partition may be under-replicated and
none may lose a replica its in-sync set needs to stay at `min.insync.replicas`; after it comes
back, wait until it serves again and is back in every in-sync replica set before the next one.
Controllers roll the same way, followers before the active one, each only while every voter of
the quorum is caught up.

A broker that may not stop yet (it would take a partition below its minimum in-sync replicas) is
passed over: the roll restarts the next broker that may, and comes back to it. Each restart is
recorded in the cluster's status with why it was made.

A roll is resumable: which nodes are done and which one is being restarted live in the step's
progress, so a control plane that crashes mid-roll neither skips a node nor restarts one twice on
purpose. Each call makes as much progress as it can and raises `TemporaryError` to be called again
while it waits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from steward.agent.client import AgentUnavailable
from steward.agent.spec import NodeSpec, NodeStatus
from steward.control.cluster_view import ClusterView
from steward.control.context import ReconcileContext
from steward.control.node_specs import node_key
from steward.control.step import StepRun
from steward.domain.errors import PermanentError, TemporaryError
from steward.domain.model import Cluster, Node, NodeRole

WAIT = 0.5
"""Seconds between two looks at a node that is coming back."""


Render = Callable[[Node], NodeSpec]


@dataclass
class RollProgress:
    done: list[int] = field(default_factory=list)
    current: int | None = None
    previous_start: float | None = None
    """`started_at` of the node's process before it was restarted, to recognise the new one."""
    restart_sent_at: float | None = None

    @classmethod
    def from_json(cls, data: object) -> RollProgress:
        if not isinstance(data, dict):
            return cls()
        return cls(
            done=[int(n) for n in data.get("done", [])],
            current=data.get("current"),
            previous_start=data.get("previous_start"),
            restart_sent_at=data.get("restart_sent_at"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "done": self.done,
            "current": self.current,
            "previous_start": self.previous_start,
            "restart_sent_at": self.restart_sent_at,
        }


def roll_order(nodes: Sequence[Node], quorum_leader: int | None) -> list[Node]:
    """Controllers first (the active one last), then brokers, each by id."""
    controllers = sorted(
        (n for n in nodes if n.role is NodeRole.CONTROLLER),
        key=lambda n: (n.node_id == quorum_leader, n.node_id),
    )
    brokers = sorted((n for n in nodes if n.role is NodeRole.BROKER), key=lambda n: n.node_id)
    return [*controllers, *brokers]


def roll(
    run: StepRun[RollProgress],
    *,
    nodes: Sequence[Node],
    view: ClusterView,
    reason: str,
    render: Render | None = None,
    after_node: Callable[[Node], None] | None = None,
    timeout: float = 300.0,
) -> None:
    """Restart `nodes` one at a time under the rolling rule, keeping the roll's progress in
    `run`. With `render`, each node is given the spec it returns (the agent restarts it when its
    launch settings change, and only then); without, each node is restarted as it is (a
    reboot). A broker that may not stop yet is passed over for the next one and come back to;
    controllers go strictly in their order. `reason` is recorded in the cluster's status for
    each restart; `after_node` records what a node now runs, once it is back."""
    ctx, cluster, progress = run.ctx, run.cluster, run.progress
    pending = [n for n in roll_order(nodes, view.quorum_leader()) if n.node_id not in progress.done]
    current = next((n for n in pending if n.node_id == progress.current), None)
    if current is None and progress.current is not None:
        progress.current = None  # no longer part of the roll (e.g. removed meanwhile)
    while pending:
        node = current if current is not None else _next_to_restart(view, pending)
        if current is None:
            status = _status(ctx, cluster, node)
            progress.current = node.node_id
            progress.previous_start = status.started_at if status else None
            progress.restart_sent_at = time.time()
            cluster.status.record_restart(node.node_id, reason)
            run.save(with_cluster=True)
            _restart(ctx, cluster, node, render)
        elif not _restarted(_status(ctx, cluster, node), progress.previous_start):
            _restart(ctx, cluster, node, render)  # the control plane died before it was sent
        _wait_until_back(ctx, cluster, node, view, progress, timeout)
        if node.role is NodeRole.BROKER:
            view.after_broker_back(node.node_id)
        if after_node is not None:
            after_node(node)
        progress.done.append(node.node_id)
        progress.current = None
        progress.previous_start = None
        progress.restart_sent_at = None
        run.save()
        pending.remove(node)
        current = None


def _next_to_restart(view: ClusterView, pending: Sequence[Node]) -> Node:
    """The first of `pending` that may go down now: the next controller once the quorum is
    caught up, else the first broker that would take no partition below its minimum in-sync
    replicas. Raises `TemporaryError` naming why when none may."""
    first_blocked: tuple[Node, list[str]] | None = None
    for node in pending:
        if node.role is NodeRole.CONTROLLER:
            if not view.quorum_caught_up():
                raise TemporaryError(
                    f"waiting for the quorum to catch up before {node.node_id}", WAIT
                )
            return node
        blockers = view.blockers(node.node_id)
        if not blockers:
            return node
        if first_blocked is None:
            first_blocked = (node, blockers)
    assert first_blocked is not None
    node, blockers = first_blocked
    shown = ", ".join(blockers[:5]) + (" ..." if len(blockers) > 5 else "")
    raise TemporaryError(f"broker {node.node_id} cannot stop yet: {shown}", WAIT)


def _status(ctx: ReconcileContext, cluster: Cluster, node: Node) -> NodeStatus | None:
    try:
        return ctx.agents.client(node.agent).node(node_key(cluster, node))
    except AgentUnavailable as error:
        raise TemporaryError(f"agent {node.agent} is unavailable: {error}", 2.0) from error


def _restart(ctx: ReconcileContext, cluster: Cluster, node: Node, render: Render | None) -> None:
    client = ctx.agents.client(node.agent)
    try:
        if render is None:
            client.restart(node_key(cluster, node))
            return
        spec = render(node)
        status = client.node(spec.key)
        if status is not None and status.spec_hash == spec.spec_hash and status.pid is not None:
            client.restart(spec.key)  # nothing to change: still restart, as asked
        else:
            client.apply(spec)
    except AgentUnavailable as error:
        raise TemporaryError(f"agent {node.agent} is unavailable: {error}", 2.0) from error


def _restarted(status: NodeStatus | None, previous_start: float | None) -> bool:
    if status is None or status.started_at is None:
        return False
    return previous_start is None or status.started_at > previous_start


def _wait_until_back(
    ctx: ReconcileContext,
    cluster: Cluster,
    node: Node,
    view: ClusterView,
    progress: RollProgress,
    timeout: float,
) -> None:
    status = _status(ctx, cluster, node)
    what = f"{node.role.value.lower()} {node.node_id}"
    if status is not None and status.state == "failed":
        raise PermanentError(f"{what} did not start again: {status.message}", "NodeRestartFailed")
    running = status is not None and status.state == "running"
    if node.role is NodeRole.CONTROLLER:
        back = running and _restarted(status, progress.previous_start) and view.quorum_caught_up()
    else:
        back = running and _restarted(status, progress.previous_start)
        back = back and view.broker_back(node.node_id)
    if back:
        return
    waited = time.time() - (progress.restart_sent_at or time.time())
    if waited > timeout:
        raise PermanentError(
            f"{what} was not back in sync within {timeout:.0f} s", "NodeRestartTimeout"
        )
    raise TemporaryError(f"waiting for {what} to be back in sync", WAIT)

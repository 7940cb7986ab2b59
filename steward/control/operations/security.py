"""UPDATE_SECURITY: a cluster's new client authentication and client-broker encryption (MSK's
UpdateSecurity), rolled in without downtime for clients on a path that stays allowed.

The controllers roll first (followers before the active one), each only where its settings
change: with unauthenticated access going off they get Kafka's authorizer. Then the brokers, one
at a time under the rolling rule; as soon as a broker with the authorizer is back, and before the
next one goes down, the cluster's access policies are written as ACLs (`ctx.apply_policies`), so
a client a policy allows is never refused by a broker that has just turned deny-by-default on.
Steward reaches the cluster the whole time over the brokers' REPLICATION listeners, which speak
mutual TLS before and after the change (UpdateSecurity refuses a change that would alter that).
"""

from __future__ import annotations

import dataclasses

from steward.agent.client import AgentUnavailable
from steward.agent.spec import NodeSpec
from steward.control.context import ReconcileContext
from steward.control.node_specs import build_node_spec, node_key, user_properties
from steward.control.operations.common import finish_update, keep_serving, target_spec
from steward.control.rolling import Render, RollProgress, roll
from steward.domain.errors import PermanentError, TemporaryError
from steward.domain.model import Cluster, Node, NodeRole, Operation
from steward.kafka.node_config import has_authorizer

STEPS = ("ROLL_CONTROLLERS", "ROLL_BROKERS", "APPLY_ACCESS_POLICIES", "FINALIZE")


def run_step(ctx: ReconcileContext, cluster: Cluster, op: Operation, step: str) -> None:
    target = dataclasses.replace(cluster, spec=target_spec(op))
    if step == "ROLL_CONTROLLERS":
        _roll(ctx, cluster, target, op, NodeRole.CONTROLLER)
    elif step == "ROLL_BROKERS":
        _roll(ctx, cluster, target, op, NodeRole.BROKER)
    elif step == "APPLY_ACCESS_POLICIES":
        _apply_policies(ctx, target)
    elif step == "FINALIZE":
        finish_update(cluster, op)
    else:
        raise PermanentError(f"unknown step {step}")


def _roll(
    ctx: ReconcileContext, cluster: Cluster, target: Cluster, op: Operation, role: NodeRole
) -> None:
    nodes = ctx.store.nodes(cluster.arn)
    configured = user_properties(ctx.store, cluster)

    def render(node: Node) -> NodeSpec:
        return build_node_spec(target, node, nodes, configured)

    def back(node: Node) -> None:
        if node.role is NodeRole.BROKER:
            _apply_policies(ctx, target)

    name = f"{role.value.lower()}s"
    progress = RollProgress.load(op.progress.get(f"roll.{name}"))
    started = {*progress.done, progress.current}
    # A node rolled (or being rolled) before a crash stays in the roll: it is not skipped.
    changing = [
        n
        for n in nodes
        if n.role is role and (n.node_id in started or _changes(ctx, cluster, n, render))
    ]
    roll(
        ctx,
        cluster,
        op,
        name=name,
        nodes=changing,
        view=ctx.cluster_view(cluster),
        render=render,
        after_node=back,
    )


def _changes(ctx: ReconcileContext, cluster: Cluster, node: Node, render: Render) -> bool:
    """Whether the node runs with other launch settings than the target's."""
    try:
        status = ctx.agents.client(node.agent).node(node_key(cluster, node))
    except AgentUnavailable as error:
        raise TemporaryError(f"agent {node.agent} is unavailable: {error}", 2.0) from error
    return status is None or status.spec_hash != render(node).spec_hash


def _apply_policies(ctx: ReconcileContext, target: Cluster) -> None:
    if ctx.apply_policies is None or not has_authorizer(target.spec.client_authentication):
        return
    try:
        ctx.apply_policies(target)
    except Exception as error:
        raise TemporaryError(f"writing the access policies as ACLs: {error}", 2.0) from error


def on_failure(ctx: ReconcileContext, cluster: Cluster, op: Operation) -> None:
    keep_serving(cluster)

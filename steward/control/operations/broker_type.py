"""UPDATE_BROKER_TYPE: a rolling restart of the brokers with the new type's heap and threads."""

from __future__ import annotations

from dataclasses import replace

from steward.agent.spec import NodeSpec
from steward.control.context import ReconcileContext
from steward.control.node_specs import build_node_spec, user_properties
from steward.control.operations.common import finish_update, keep_serving, target_spec
from steward.control.rolling import roll
from steward.domain.errors import PermanentError
from steward.domain.model import Cluster, Node, NodeRole, Operation

STEPS = ("ROLL_BROKERS", "FINALIZE")


def run_step(ctx: ReconcileContext, cluster: Cluster, op: Operation, step: str) -> None:
    instance_type = target_spec(op).broker_node_group.instance_type
    if step == "ROLL_BROKERS":
        nodes = ctx.store.nodes(cluster.arn)
        configured = user_properties(ctx.store, cluster)
        resized = [
            replace(n, instance_type=instance_type) if n.role is NodeRole.BROKER else n
            for n in nodes
        ]

        def render(node: Node) -> NodeSpec:
            return build_node_spec(
                cluster, replace(node, instance_type=instance_type), resized, configured
            )

        def resized_now(node: Node) -> None:
            ctx.store.update_nodes(cluster.arn, [node.node_id], instance_type=instance_type)

        brokers = [n for n in nodes if n.role is NodeRole.BROKER]
        roll(
            ctx,
            cluster,
            op,
            name="brokers",
            nodes=brokers,
            view=ctx.cluster_view(cluster),
            render=render,
            after_node=resized_now,
        )
    elif step == "FINALIZE":
        finish_update(cluster, op)
    else:
        raise PermanentError(f"unknown step {step}")


def on_failure(ctx: ReconcileContext, cluster: Cluster, op: Operation) -> None:
    keep_serving(cluster)

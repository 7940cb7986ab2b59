"""UPDATE_CLUSTER_KAFKA_VERSION: a rolling upgrade, as Kafka's upgrade notes describe it.

Install the target release, roll the controllers (followers first) and then the brokers onto it,
each back in sync before the next, and only then raise the cluster's `metadata.version` to the
new release's, which is the step that cannot be undone.
"""

from __future__ import annotations

from dataclasses import replace

from steward.agent.spec import NodeSpec
from steward.control.context import ReconcileContext
from steward.control.node_specs import build_node_spec, user_properties
from steward.control.operations.common import finish_update, keep_serving, target_spec
from steward.control.operations.create import install_kafka_version
from steward.control.rolling import roll
from steward.domain.errors import PermanentError, TemporaryError
from steward.domain.model import Cluster, Node, NodeRole, Operation
from steward.kafka import features

STEPS = (
    "INSTALL_KAFKA",
    "ROLL_CONTROLLERS",
    "ROLL_BROKERS",
    "UPGRADE_METADATA_VERSION",
    "FINALIZE",
)


def run_step(ctx: ReconcileContext, cluster: Cluster, op: Operation, step: str) -> None:
    version = target_spec(op).kafka_version
    if step == "INSTALL_KAFKA":
        install_kafka_version(version)
    elif step == "ROLL_CONTROLLERS":
        roll_onto(ctx, cluster, op, version, NodeRole.CONTROLLER)
    elif step == "ROLL_BROKERS":
        roll_onto(ctx, cluster, op, version, NodeRole.BROKER)
    elif step == "UPGRADE_METADATA_VERSION":
        try:
            features.upgrade_metadata_version(ctx.bootstrap(cluster), version)
        except features.FeatureError as error:
            raise TemporaryError(f"metadata.version upgrade: {error}", 2.0) from error
    elif step == "FINALIZE":
        finish_update(cluster, op)
    else:
        raise PermanentError(f"unknown step {step}")


def roll_onto(
    ctx: ReconcileContext, cluster: Cluster, op: Operation, version: str, role: NodeRole
) -> None:
    nodes = ctx.store.nodes(cluster.arn)
    configured = user_properties(ctx.store, cluster)

    def render(node: Node) -> NodeSpec:
        return build_node_spec(cluster, replace(node, kafka_version=version), nodes, configured)

    def upgraded(node: Node) -> None:
        ctx.store.update_nodes(cluster.arn, [node.node_id], kafka_version=version)

    roll(
        ctx,
        cluster,
        op,
        name=role.value.lower(),
        nodes=[n for n in nodes if n.role is role],
        view=ctx.cluster_view(cluster),
        render=render,
        after_node=upgraded,
    )


def on_failure(ctx: ReconcileContext, cluster: Cluster, op: Operation) -> None:
    keep_serving(cluster)

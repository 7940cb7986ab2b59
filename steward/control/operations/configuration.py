"""UPDATE_CLUSTER_CONFIGURATION: move the cluster to another configuration revision.

Settings Kafka can change at run time are applied as cluster-wide dynamic defaults, with no
restart; when any other setting changes (or one is removed), the brokers roll with the new
properties, and the controllers too when a topic default they apply changed.
"""

from __future__ import annotations

from steward.agent.spec import NodeSpec
from steward.control.context import ReconcileContext
from steward.control.node_specs import build_node_spec, revision_properties, user_properties
from steward.control.operations.common import finish_update, keep_serving, target_spec
from steward.control.rolling import roll
from steward.domain.errors import PermanentError, TemporaryError
from steward.domain.model import Cluster, Node, NodeRole, Operation
from steward.kafka.dynamic_config import (
    DynamicConfigError,
    apply_cluster_defaults,
    dynamic_cluster_keys,
)
from steward.kafka.node_config import CONTROLLER_SHARED_SETTINGS, replication_defaults

STEPS = ("APPLY_DYNAMIC_SETTINGS", "ROLL_BROKERS", "FINALIZE")


def changes(old: dict[str, str], new: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """(settings added or changed with their new values, settings removed)."""
    changed = {k: v for k, v in new.items() if old.get(k) != v}
    removed = sorted(k for k in old if k not in new)
    return changed, removed


def run_step(ctx: ReconcileContext, cluster: Cluster, op: Operation, step: str) -> None:
    new = revision_properties(ctx.store, target_spec(op).configuration)
    if step == "APPLY_DYNAMIC_SETTINGS":
        apply_dynamic_settings(ctx, cluster, op, new)
    elif step == "ROLL_BROKERS":
        roll_for_static_settings(ctx, cluster, op, new)
    elif step == "FINALIZE":
        finish_update(cluster, op)
    else:
        raise PermanentError(f"unknown step {step}")


def apply_dynamic_settings(
    ctx: ReconcileContext, cluster: Cluster, op: Operation, new: dict[str, str]
) -> None:
    changed, removed = changes(user_properties(ctx.store, cluster), new)
    # A removed setting goes back to Steward's default where it has one (Kafka refuses to drop
    # some cluster defaults, e.g. min.insync.replicas while eligible leader replicas are on).
    brokers = [n for n in ctx.store.nodes(cluster.arn) if n.role is NodeRole.BROKER]
    defaults = replication_defaults(len(brokers))
    restored = {k: defaults[k] for k in removed if k in defaults}
    bootstrap = ctx.bootstrap(cluster)
    try:
        dynamic = dynamic_cluster_keys(bootstrap, changed)
        apply_cluster_defaults(
            bootstrap,
            {**{k: changed[k] for k in dynamic}, **restored},
            delete=[k for k in removed if k not in restored],
        )
    except DynamicConfigError as error:
        if error.rejected:
            raise PermanentError(str(error), "InvalidConfiguration") from error
        raise TemporaryError(str(error), 2.0) from error
    op.progress["dynamic_settings"] = sorted(dynamic)
    op.progress["restart_for"] = sorted(set(changed) - dynamic) + removed


def roll_for_static_settings(
    ctx: ReconcileContext, cluster: Cluster, op: Operation, new: dict[str, str]
) -> None:
    restart_for = [str(k) for k in op.progress.get("restart_for", [])]  # type: ignore[union-attr]
    if not restart_for:
        return
    nodes = ctx.store.nodes(cluster.arn)

    def render(node: Node) -> NodeSpec:
        return build_node_spec(cluster, node, nodes, new)

    rolling = [n for n in nodes if n.role is NodeRole.BROKER]
    if set(restart_for) & set(CONTROLLER_SHARED_SETTINGS):
        rolling += [n for n in nodes if n.role is NodeRole.CONTROLLER]
    roll(
        ctx, cluster, op, name="nodes", nodes=rolling, view=ctx.cluster_view(cluster), render=render
    )


def on_failure(ctx: ReconcileContext, cluster: Cluster, op: Operation) -> None:
    keep_serving(cluster)

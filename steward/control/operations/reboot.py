"""REBOOT_NODE: restart one broker the way a rolling restart would, and let it rejoin."""

from __future__ import annotations

from steward.control.context import ReconcileContext
from steward.control.operations.common import finish_update, keep_serving
from steward.control.rolling import roll
from steward.domain.errors import PermanentError
from steward.domain.model import Cluster, Operation

STEPS = ("REBOOT_BROKER", "FINALIZE")


def run_step(ctx: ReconcileContext, cluster: Cluster, op: Operation, step: str) -> None:
    if step == "REBOOT_BROKER":
        wanted = {int(i) for i in op.progress.get("broker_ids", [])}  # type: ignore[union-attr]
        nodes = [n for n in ctx.store.nodes(cluster.arn) if n.node_id in wanted]
        roll(ctx, cluster, op, name="reboot", nodes=nodes, view=ctx.cluster_view(cluster))
    elif step == "FINALIZE":
        finish_update(cluster, op)
    else:
        raise PermanentError(f"unknown step {step}")


def on_failure(ctx: ReconcileContext, cluster: Cluster, op: Operation) -> None:
    keep_serving(cluster)

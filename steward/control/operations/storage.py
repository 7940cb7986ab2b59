"""UPDATE_BROKER_STORAGE: grow every broker's storage.

On Steward's hosts a broker's volume is a quota on a disk the host's brokers share: growing it
restarts nothing and moves no data. What the quota is for is the usage Steward reports against it
(`KafkaDataLogsDiskUsed`, the share of the volume a broker's log directories take). Storage never
shrinks, as on MSK; the request layer refuses that.
"""

from __future__ import annotations

from steward.control.context import ReconcileContext
from steward.control.model import Cluster, Operation
from steward.control.operations.common import finish_update, keep_serving
from steward.errors import PermanentError

STEPS = ("GROW_VOLUMES", "FINALIZE")


def run_step(ctx: ReconcileContext, cluster: Cluster, op: Operation, step: str) -> None:
    if step == "GROW_VOLUMES":
        return  # the new size is the target spec's; nothing on the hosts changes
    if step == "FINALIZE":
        finish_update(cluster, op)
        return
    raise PermanentError(f"unknown step {step}")


def on_failure(ctx: ReconcileContext, cluster: Cluster, op: Operation) -> None:
    keep_serving(cluster)

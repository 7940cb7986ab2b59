"""Cluster operations: long changes made of named, idempotent, resumable steps.

Each operation type has a module with `STEPS` (the step names, in order, as users see them in
`DescribeClusterOperation`), `run_step(context, cluster, operation, step)` and
`on_failure(context, cluster, operation)`. A step either returns (done), raises `TemporaryError`
(run it again later) or `PermanentError` (the operation fails). Steps must be safe to run again
after a crash at any point.
"""

from __future__ import annotations

from typing import Protocol

from steward.control.context import ReconcileContext
from steward.control.operations import (
    broker_type,
    configuration,
    create,
    delete,
    heal,
    kafka_version,
    monitoring,
    reboot,
    security,
    storage,
)
from steward.control.operations.broker_count import ScaleIn, ScaleOut
from steward.control.operations.common import fail, mutable_info, new_operation
from steward.domain.model import Cluster, Operation, OperationType


class OperationHandler(Protocol):
    """What an operation module provides (see above)."""

    STEPS: tuple[str, ...]

    def run_step(
        self, ctx: ReconcileContext, cluster: Cluster, op: Operation, step: str
    ) -> None: ...

    def on_failure(self, ctx: ReconcileContext, cluster: Cluster, op: Operation) -> None: ...


HANDLERS: dict[OperationType, OperationHandler] = {
    OperationType.CREATE: create,
    OperationType.DELETE: delete,
    OperationType.REBOOT_NODE: reboot,
    OperationType.HEAL: heal,
    OperationType.UPDATE_BROKER_TYPE: broker_type,
    OperationType.UPDATE_CLUSTER_CONFIGURATION: configuration,
    OperationType.UPDATE_CLUSTER_KAFKA_VERSION: kafka_version,
    OperationType.UPDATE_BROKER_STORAGE: storage,
    OperationType.UPDATE_MONITORING: monitoring,
    OperationType.UPDATE_SECURITY: security,
    OperationType.INCREASE_BROKER_COUNT: ScaleOut(),
    OperationType.DECREASE_BROKER_COUNT: ScaleIn(),
}

__all__ = ["HANDLERS", "fail", "mutable_info", "start_operation"]


def start_operation(
    arn: str,
    cluster_arn: str,
    kind: OperationType,
    source: dict[str, object] | None = None,
    target: dict[str, object] | None = None,
) -> Operation:
    """A new PENDING operation of `kind` with its module's steps."""
    return new_operation(arn, cluster_arn, kind, HANDLERS[kind].STEPS, source, target)

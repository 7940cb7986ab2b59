"""Cluster operations: long changes made of named, idempotent, resumable steps.

Each operation type has a module with `STEPS` (the step names, in order, as users see them in
`DescribeClusterOperation`), `run_step(context, cluster, operation, step)` and
`on_failure(context, cluster, operation)`. A step either returns (done), raises `TemporaryError`
(run it again later) or `PermanentError` (the operation fails). Steps must be safe to run again
after a crash at any point.
"""

from __future__ import annotations

from types import ModuleType

from steward.control.model import Operation, OperationType
from steward.control.operations import create, delete
from steward.control.operations.common import fail, mutable_info, new_operation

HANDLERS: dict[OperationType, ModuleType] = {
    OperationType.CREATE: create,
    OperationType.DELETE: delete,
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

"""A reconcile step: a name users see, a typed progress that survives restarts, a timeout and a
backoff, all declared once where the pipeline lists the step (`steward.control.pipeline`).

A step's `run` is called again and again until it returns (done). It raises `TemporaryError` to be
called again after the error's delay (waiting for something), `PermanentError` when it can never
succeed (the operation fails with the error's MSK code). Anything else is a fault: the reconciler
retries it with the step's exponential `Backoff` and fails the operation once that gives up. A step
that has not finished within its `timeout` fails the operation with `timeout_code`. Every `run`
must be safe to repeat after a crash at any point: what it must not do twice goes into its
progress, saved (`StepRun.save`) before the thing is done.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast

from steward.domain.model import Cluster, Operation, OperationStep, utcnow

if TYPE_CHECKING:
    from steward.control.context import ReconcileContext


class Progress(Protocol):
    """What a step keeps between two runs: a dataclass of JSON values (lists, numbers, strings,
    string-keyed dicts), or one with its own `from_json`/`to_json`."""

    __dataclass_fields__: dict[str, Any]


P = TypeVar("P", bound=Progress)
Q = TypeVar("Q", bound=Progress)


@dataclass
class NoProgress:
    """The progress of a step that keeps none."""


def load_progress(kind: type[P], data: object) -> P:
    if hasattr(kind, "from_json"):
        return cast(P, kind.from_json(data))
    if not isinstance(data, dict):
        return kind()
    names = {f.name for f in dataclasses.fields(kind)}
    return kind(**{k: v for k, v in data.items() if k in names})


def dump_progress(progress: Progress) -> object:
    if hasattr(progress, "to_json"):
        return progress.to_json()
    return dataclasses.asdict(progress)  # type: ignore[call-overload]


@dataclass(frozen=True)
class Backoff:
    """Delays between retries of a step that raised an unexpected error: `first`, then `factor`
    times longer each time up to `cap`; after `attempts` errors in a row the operation fails."""

    first: float = 1.0
    factor: float = 2.0
    cap: float = 30.0
    attempts: int = 8

    def delay(self, attempt: int) -> float:
        """The wait after the `attempt`-th error in a row (1-based)."""
        return min(self.cap, self.first * self.factor ** max(0, attempt - 1))


class StepRun(Generic[P]):
    """One run of a step for a cluster's operation, with the step's progress loaded."""

    def __init__(
        self,
        ctx: ReconcileContext,
        cluster: Cluster,
        op: Operation,
        step: OperationStep,
        kind: type[P],
    ) -> None:
        self.ctx = ctx
        self.cluster = cluster
        self.op = op
        self.step = step
        self.progress: P = load_progress(kind, op.progress.get(step.name))

    def save(self, with_cluster: bool = False) -> None:
        """Keep the step's progress (and the operation; the cluster too, `with_cluster`, e.g.
        its status) in the store now."""
        self.op.progress[self.step.name] = dump_progress(self.progress)
        self.ctx.store.save_operation(self.op, self.cluster if with_cluster else None)

    @property
    def elapsed(self) -> float:
        """Seconds since the step began (again, after a restart of the control plane)."""
        if self.step.started_at is None:
            return 0.0
        return (utcnow() - self.step.started_at).total_seconds()

    def progress_of(self, step: str, kind: type[Q]) -> Q:
        """What an earlier step of the same operation kept (e.g. which brokers it placed)."""
        return load_progress(kind, self.op.progress.get(step))


@dataclass(frozen=True)
class Step(Generic[P]):
    name: str
    run: Callable[[StepRun[P]], None]
    progress: type[P]
    timeout: float | None = 900.0
    """Seconds the step may take, counted from when it began (again after a restart of the
    control plane); None for a step that bounds itself (a roll has a limit per node)."""
    timeout_code: str = "StepTimeout"
    backoff: Backoff = Backoff()


def step(
    name: str,
    run: Callable[[StepRun[P]], None],
    progress: type[P],
    *,
    timeout: float | None = 900.0,
    timeout_code: str = "StepTimeout",
    backoff: Backoff = Backoff(),
) -> Step[Any]:
    """A pipeline entry (typed on `run` and `progress` agreeing)."""
    return Step(name, run, progress, timeout, timeout_code, backoff)

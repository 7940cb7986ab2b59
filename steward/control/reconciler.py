"""Drives every cluster with an unfinished operation through its part of the pipeline, one step at
a time (`steward.control.pipeline`).

Level-triggered: each pass reads the store, so nothing depends on an in-memory event. A worker
thread per cluster runs that cluster's operations in order. For each step the reconciler enforces
what the pipeline declares: a step that is waiting (`TemporaryError`) runs again after its delay
until its timeout, then the operation fails with the step's timeout code; a step that can never
succeed (`PermanentError`) fails the operation with its MSK error code; any other error is retried
with the step's exponential backoff, capped, until the backoff gives up. A failed operation
leaves the cluster converging on the spec it last converged on (`pipeline.on_failure`). After a
crash the next start finds the same unfinished operations in the store and carries on with the
step that was running, its timeout counted afresh.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from steward.control.context import ReconcileContext
from steward.control.node_specs import node_key
from steward.control.operation_records import fail
from steward.control.pipeline import ClusterPipeline, Pipeline
from steward.control.step import Step, StepRun, dump_progress
from steward.domain.errors import PermanentError, TemporaryError
from steward.domain.model import (
    Cluster,
    ClusterState,
    Operation,
    OperationState,
    OperationStep,
    OperationType,
    StepStatus,
    utcnow,
)

log = logging.getLogger(__name__)

Wait = Callable[[float], object]
"""Wait up to that many seconds (returns early when the reconciler stops)."""
Clock = Callable[[], datetime]


class Reconciler:
    def __init__(
        self,
        context: ReconcileContext,
        interval: float = 1.0,
        pipeline: Pipeline | None = None,
        wait: Wait | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.ctx = context
        self.interval = interval
        self.pipeline: Pipeline = pipeline or ClusterPipeline()
        self._stopping = threading.Event()
        self._wait: Wait = wait or self._stopping.wait
        self._clock = clock
        self._workers: dict[str, threading.Thread] = {}

    # --- lifecycle ------------------------------------------------------------------------------
    # The dispatch loop is a background task (`steward.background`): `prepare` once, then
    # `pass_once` every `interval` seconds or when woken. Each cluster with unfinished operations
    # gets a worker thread of its own, so one hung cluster never delays another.
    def prepare(self) -> None:
        """What a (re)started control plane does before its first pass: restart the step clocks
        (time down does not count against a step's timeout), start the local agents, re-adopt
        the nodes they run."""
        self.restart_clocks()
        try:
            self.ctx.agents.ensure_local_agents()
            self.readopt()
        except Exception:
            log.exception("starting agents or re-adopting nodes failed; will retry per operation")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the cluster workers: each ends at its next step boundary (or wait)."""
        self._stopping.set()
        deadline = time.monotonic() + timeout
        for worker in list(self._workers.values()):
            worker.join(max(0.0, deadline - time.monotonic()))

    def pass_once(self) -> None:
        for op in self.ctx.store.unfinished_operations():
            worker = self._workers.get(op.cluster_arn)
            if worker is not None and worker.is_alive():
                continue
            worker = threading.Thread(
                target=self._drive_cluster,
                args=(op.cluster_arn,),
                name=f"reconcile-{op.cluster_arn.rsplit('/', 2)[-2]}",
                daemon=True,
            )
            self._workers[op.cluster_arn] = worker
            worker.start()

    def _drive_cluster(self, cluster_arn: str) -> None:
        while not self._stopping.is_set():
            pending = [
                o for o in self.ctx.store.unfinished_operations() if o.cluster_arn == cluster_arn
            ]
            if not pending:
                return
            self.drive(pending[0])

    def drive(self, op: Operation) -> None:
        """Run `op`'s steps until it finishes, is superseded, or the reconciler stops."""
        while not self._stopping.is_set():
            cluster = self.ctx.store.get_cluster(op.cluster_arn)
            current = self.ctx.store.get_operation(op.arn)
            if cluster is None or current is None or current.state.finished:
                return
            op = current
            if self._superseded(cluster, op):
                return
            step = op.next_step
            if step is None:
                self._complete(cluster, op)
                return
            if not self._run(cluster, op, step):
                return

    def _superseded(self, cluster: Cluster, op: Operation) -> bool:
        """An operation for an older generation of the spec than the cluster's has nothing left
        to do: the newer spec's operation converges the cluster. It ends as superseded."""
        if not op.generation or cluster.generation <= op.generation:
            return False
        if op.type is OperationType.DELETE:
            return False
        log.info("operation %s was superseded by generation %d", op.arn, cluster.generation)
        fail(
            op, "Superseded", f"The cluster's spec changed since (generation {cluster.generation})."
        )
        if cluster.active_operation_arn == op.arn:
            cluster.active_operation_arn = None
        self.ctx.store.save_operation(op, cluster)
        return True

    def _run(self, cluster: Cluster, op: Operation, step: OperationStep) -> bool:
        """One run of `step`; False when the operation is over (or no longer this one's)."""
        entry = self.pipeline.step(step.name)
        if op.state is OperationState.PENDING:
            op.state = OperationState.UPDATE_IN_PROGRESS
            steps = ", ".join(s.name for s in op.steps)
            log.info("%s: %s %s began: %s", cluster.name, op.type.value, op.arn, steps)
        if step.status is not StepStatus.IN_PROGRESS or step.started_at is None:
            step.status = StepStatus.IN_PROGRESS
            step.started_at = self._clock()
        self.ctx.store.save_operation(op)
        elapsed = (self._clock() - step.started_at).total_seconds()
        if entry.timeout is not None and elapsed > entry.timeout:
            waited = f": {step.detail}" if step.detail else ""
            message = f"{step.name} did not finish within {entry.timeout:.0f} s{waited}"
            self._fail(cluster, op, PermanentError(message, entry.timeout_code))
            return False
        run = StepRun(self.ctx, cluster, op, step, entry.progress)
        try:
            entry.run(run)
        except TemporaryError as error:
            self._keep(run, step, str(error))
            self._wait(error.delay)
            return True
        except PermanentError as error:
            log.warning("operation %s failed at %s: %s", op.arn, step.name, error)
            op.progress[step.name] = dump_progress(run.progress)
            self._fail(cluster, op, error)
            return False
        except Exception as error:  # a bug or an unexpected outage: back off, then give up
            return self._back_off(cluster, op, step, entry, run, error)
        op.progress[step.name] = dump_progress(run.progress)
        log.info(
            "%s: %s %s done after %.1f s",
            cluster.name,
            op.type.value,
            step.name,
            (self._clock() - step.started_at).total_seconds(),
        )
        step.status = StepStatus.SUCCEEDED
        step.detail = ""
        step.attempts = 0
        if self.ctx.store.get_cluster(cluster.arn) is None:
            return False  # the step removed the cluster (end of a delete)
        return self.ctx.store.save_operation(op, cluster)  # False: superseded while it ran

    def _back_off(
        self,
        cluster: Cluster,
        op: Operation,
        step: OperationStep,
        entry: Step[object],
        run: StepRun[object],
        error: Exception,
    ) -> bool:
        step.attempts += 1
        if step.attempts >= entry.backoff.attempts:
            log.error("step %s of %s gave up after %d errors", step.name, op.arn, step.attempts)
            message = f"{step.name} failed {step.attempts} times; last error: {error}"
            op.progress[step.name] = dump_progress(run.progress)
            self._fail(cluster, op, PermanentError(message, "InternalFailure"))
            return False
        delay = entry.backoff.delay(step.attempts)
        log.exception("step %s of %s raised; retrying in %.0f s", step.name, op.arn, delay)
        self._keep(run, step, f"retrying in {delay:.0f} s after error: {error}")
        self._wait(delay)
        return True

    def _keep(self, run: StepRun[object], step: OperationStep, detail: str) -> None:
        step.detail = detail
        run.save()

    def _fail(self, cluster: Cluster, op: Operation, error: PermanentError) -> None:
        fail(op, error.code, str(error))
        rollback = self.pipeline.on_failure(self.ctx, cluster, op)
        if cluster.active_operation_arn == op.arn:
            cluster.active_operation_arn = None
        if rollback is not None:
            cluster.active_operation_arn = rollback.arn
            if self.ctx.store.replace_operation(op, cluster, rollback):
                log.warning("rolling %s back (%s)", cluster.name, rollback.arn)
            return
        if not self.ctx.store.save_operation(op, cluster):
            log.info("operation %s was superseded before it finished", op.arn)

    def _complete(self, cluster: Cluster, op: Operation) -> None:
        op.state = OperationState.UPDATE_COMPLETE
        op.end_time = utcnow()
        if cluster.active_operation_arn == op.arn:
            cluster.active_operation_arn = None
        if self.ctx.store.save_operation(op, cluster):
            log.info("%s: %s %s completed", cluster.name, op.type.value, op.arn)
        else:
            log.info("operation %s was superseded before it finished", op.arn)

    # --- after a restart ------------------------------------------------------------------------
    def restart_clocks(self) -> None:
        """A step's timeout counts from when this control plane took it up: the time it was
        down does not count against it."""
        for op in self.ctx.store.unfinished_operations():
            running = [s for s in op.steps if s.status is StepStatus.IN_PROGRESS]
            for step in running:
                step.started_at = self._clock()
            if running:
                self.ctx.store.save_operation(op)

    def readopt(self) -> None:
        """Make sure every node of a settled cluster is known to its agent. Agents re-adopt running
        Kafka processes themselves; a node an agent has lost (its host was wiped) is given back."""
        for cluster in self.ctx.store.list_clusters():
            if cluster.state in (ClusterState.CREATING, ClusterState.DELETING, ClusterState.FAILED):
                continue
            nodes = self.ctx.store.nodes(cluster.arn)
            for node in nodes:
                client = self.ctx.agents.client(node.agent)
                if client.node(node_key(cluster, node)) is None:
                    log.warning("agent %s lost node %s; giving it back", node.agent, node.node_id)
                    client.apply(self.ctx.render(cluster, node, nodes))

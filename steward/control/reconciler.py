"""Drives every unfinished cluster operation to its end, one step at a time.

Level-triggered: each pass reads the store, so nothing depends on an in-memory event. A worker
thread per cluster runs that cluster's operations in order; a step that is not ready yet is retried
after its delay, a step that can never succeed fails the operation. After a crash the next start
finds the same unfinished operations in the store and carries on with the step that was running.
"""

from __future__ import annotations

import logging
import threading

from steward.control.context import ReconcileContext
from steward.control.node_specs import build_node_spec, node_key, user_properties
from steward.control.operations import HANDLERS, fail
from steward.domain.errors import PermanentError, TemporaryError
from steward.domain.model import (
    Cluster,
    ClusterState,
    Operation,
    OperationState,
    StepStatus,
    utcnow,
)

log = logging.getLogger(__name__)


class Reconciler:
    def __init__(self, context: ReconcileContext, interval: float = 1.0) -> None:
        self.ctx = context
        self.interval = interval
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._workers: dict[str, threading.Thread] = {}
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="reconciler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        for worker in list(self._workers.values()):
            worker.join(timeout)

    def wake(self) -> None:
        self._wake.set()

    # --- the loop -------------------------------------------------------------------------------
    def _loop(self) -> None:
        try:
            self.ctx.agents.ensure_local_agents()
            self.readopt()
        except Exception:
            log.exception("starting agents or re-adopting nodes failed; will retry per operation")
        while not self._stopping.is_set():
            try:
                self.pass_once()
            except Exception:
                log.exception("reconcile pass failed")
            self._wake.wait(self.interval)
            self._wake.clear()

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
        handler = HANDLERS[op.type]
        while not self._stopping.is_set():
            cluster = self.ctx.store.get_cluster(op.cluster_arn)
            current = self.ctx.store.get_operation(op.arn)
            if cluster is None or current is None or current.state.finished:
                return
            op = current
            step = op.next_step
            if step is None:
                self._complete(cluster, op)
                return
            if op.state is OperationState.PENDING:
                op.state = OperationState.UPDATE_IN_PROGRESS
            step.status = StepStatus.IN_PROGRESS
            self.ctx.store.save_operation(op)
            try:
                handler.run_step(self.ctx, cluster, op, step.name)
            except TemporaryError as error:
                step.detail = str(error)
                self.ctx.store.save_operation(op)
                self._stopping.wait(error.delay)
                continue
            except PermanentError as error:
                log.warning("operation %s failed at %s: %s", op.arn, step.name, error)
                fail(op, error.code, str(error))
                handler.on_failure(self.ctx, cluster, op)
                self._finish(cluster, op)
                return
            except Exception as error:  # a bug or an unexpected outage: retry, don't lose the op
                log.exception("step %s of %s raised", step.name, op.arn)
                step.detail = f"retrying after error: {error}"
                self.ctx.store.save_operation(op)
                self._stopping.wait(5.0)
                continue
            step.status = StepStatus.SUCCEEDED
            step.detail = ""
            if self.ctx.store.get_cluster(cluster.arn) is None:
                return  # the step removed the cluster (end of a delete)
            if not self.ctx.store.save_operation(op, cluster):
                return  # superseded while the step ran (e.g. the cluster is being deleted)

    def _complete(self, cluster: Cluster, op: Operation) -> None:
        op.state = OperationState.UPDATE_COMPLETE
        op.end_time = utcnow()
        self._finish(cluster, op)

    def _finish(self, cluster: Cluster, op: Operation) -> None:
        if cluster.active_operation_arn == op.arn:
            cluster.active_operation_arn = None
        if not self.ctx.store.save_operation(op, cluster):
            log.info("operation %s was superseded before it finished", op.arn)

    # --- after a restart ------------------------------------------------------------------------
    def readopt(self) -> None:
        """Make sure every node of a settled cluster is known to its agent. Agents re-adopt running
        Kafka processes themselves; a node an agent has lost (its host was wiped) is given back."""
        for cluster in self.ctx.store.list_clusters():
            if cluster.state in (ClusterState.CREATING, ClusterState.DELETING, ClusterState.FAILED):
                continue
            nodes = self.ctx.store.nodes(cluster.arn)
            configured = user_properties(self.ctx.store, cluster)
            for node in nodes:
                client = self.ctx.agents.client(node.agent)
                if client.node(node_key(cluster, node)) is None:
                    log.warning("agent %s lost node %s; giving it back", node.agent, node.node_id)
                    client.apply(build_node_spec(cluster, node, nodes, configured))

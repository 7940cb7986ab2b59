"""How a cluster is brought to its spec: one ordered pipeline of named steps.

Read top to bottom, it is how a cluster changes (Strimzi's KafkaReconciler reads the same way):
install Kafka, make the nodes exist, start them, repair what is broken, grow volumes, apply what
Kafka takes live, roll what differs, raise the metadata version, move replicas, apply access
policies, and write the status. An operation runs the part of the pipeline its change triggers
(`TRIGGERS`), in the pipeline's order; those are the steps `DescribeClusterOperation` shows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from steward.control import operation_records, throttles
from steward.control.arns import ArnFactory
from steward.control.context import ReconcileContext
from steward.control.node_specs import node_key
from steward.control.operation_records import mutable_info
from steward.control.rolling import RollProgress
from steward.control.step import Backoff, NoProgress, Step, StepRun, dump_progress, step
from steward.control.steps import (
    access,
    balancing,
    nodes,
    repair,
    replicas,
    rolls,
    settings,
    storage,
)
from steward.domain.errors import PermanentError
from steward.domain.model import (
    Cluster,
    ClusterState,
    Node,
    Operation,
    OperationType,
    StateInfo,
)

HOUR = 3600.0
PATIENT = Backoff(first=1.0, factor=2.0, cap=30.0, attempts=12)
"""For steps whose faults are outages more likely than bugs (an agent, a host coming back)."""


def write_status(run: StepRun[NoProgress]) -> None:
    """The cluster has converged on its spec: record it (observed generation, what each node
    runs), and it is ACTIVE again."""
    ctx, cluster, op = run.ctx, run.cluster, run.op
    status = cluster.status
    status.observed_generation = max(op.generation, status.observed_generation)
    status.applied_spec = cluster.spec
    status.node_spec_hashes = _running_hashes(ctx, cluster)
    status.set_condition("Converged", True, "Reconciled", f"generation {cluster.generation}")
    if op.type is OperationType.HEAL:
        status.findings = []
        status.set_condition("Healthy", True, "Repaired")
    cluster.state = ClusterState.ACTIVE
    cluster.state_info = None


def _running_hashes(ctx: ReconcileContext, cluster: Cluster) -> dict[int, str]:
    def hash_of(node: Node) -> tuple[int, str | None]:
        try:
            status = ctx.agents.client(node.agent, timeout=5.0).node(node_key(cluster, node))
        except Exception:
            return node.node_id, None
        return node.node_id, status.spec_hash if status is not None else None

    found = ctx.in_parallel(hash_of, ctx.store.nodes(cluster.arn))
    return {node_id: spec_hash for node_id, spec_hash in found if spec_hash is not None}


PIPELINE: tuple[Step[Any], ...] = (
    step("INSTALL_KAFKA", nodes.install_kafka, NoProgress, timeout=HOUR),
    # ensure controllers and brokers: place by the spec's count, start them
    step("PLACE_NODES", nodes.place_nodes, NoProgress, timeout=60.0),
    step("START_CONTROLLERS", nodes.start_controllers, NoProgress, timeout=600.0),
    step("START_BROKERS", nodes.start_brokers, NoProgress, timeout=600.0),
    step("WAIT_FOR_BROKERS", nodes.wait_for_brokers, NoProgress, timeout=None),
    step("PLACE_NEW_BROKERS", nodes.place_new_brokers, nodes.PlacedBrokers, timeout=60.0),
    step("START_NEW_BROKERS", nodes.start_new_brokers, NoProgress, timeout=600.0),
    step("WAIT_FOR_NEW_BROKERS", nodes.wait_for_new_brokers, NoProgress, timeout=None),
    # repair what the health monitor found
    step("REPAIR_NODES", repair.repair_nodes, repair.RepairProgress, timeout=None, backoff=PATIENT),
    step("WAIT_FOR_NODES", repair.wait_for_nodes, NoProgress, timeout=HOUR, backoff=PATIENT),
    step("WAIT_FOR_IN_SYNC", repair.wait_for_in_sync, NoProgress, timeout=None, backoff=PATIENT),
    # storage grows under running brokers
    step("GROW_VOLUMES", storage.grow, NoProgress, timeout=HOUR, timeout_code="VolumeGrowTimeout"),
    # what Kafka takes live, then roll what differs
    step("APPLY_DYNAMIC_SETTINGS", settings.apply_dynamic_settings, settings.DynamicSettings),
    step("ROLL_CONTROLLERS", rolls.roll_controllers, RollProgress, timeout=None),
    step("ROLL_BROKERS", rolls.roll_brokers, RollProgress, timeout=None),
    step("REBOOT_BROKER", rolls.reboot_broker, RollProgress, timeout=None),
    step("UPDATE_NODES", rolls.update_nodes, RollProgress, timeout=None),
    step("UPGRADE_METADATA_VERSION", rolls.upgrade_metadata_version, NoProgress, timeout=600.0),
    # rebalance: move replicas onto new brokers or off leaving ones
    step("CHECK_CAPACITY", replicas.choose_leaving_brokers, replicas.LeavingBrokers),
    step(
        "WAIT_FOR_BROKERS_TO_SETTLE",
        replicas.wait_for_brokers_to_settle,
        replicas.SettleProgress,
        timeout=600.0,
    ),
    step("REASSIGN_PARTITIONS", replicas.reassign_partitions, replicas.ReassignmentPlan),
    step("WAIT_FOR_REASSIGNMENT", replicas.wait_for_reassignment, NoProgress, timeout=None),
    step("PLAN_BALANCE", balancing.plan_rebalance, balancing.BalancePlanProgress, timeout=600.0),
    step("MOVE_IN_BATCHES", balancing.move_in_batches, balancing.BatchProgress, timeout=None),
    step("ELECT_PREFERRED_LEADERS", replicas.elect_preferred_leaders, NoProgress),
    step("REBALANCE_LEADERS", repair.rebalance_leaders, NoProgress),
    step("STOP_LEAVING_BROKERS", replicas.stop_leaving_brokers, NoProgress),
    step("UNREGISTER_BROKERS", replicas.unregister_leaving_brokers, NoProgress),
    # users and ACLs
    step("APPLY_ACCESS_POLICIES", access.apply_access_policies, NoProgress),
    # the end of a cluster
    step("STOP_NODES", nodes.stop_nodes, NoProgress, timeout=None, backoff=PATIENT),
    step("REMOVE_CLUSTER", nodes.remove_cluster, NoProgress),
    step("FINALIZE", write_status, NoProgress),
)

STEPS: dict[str, Step[Any]] = {s.name: s for s in PIPELINE}

TRIGGERS: dict[OperationType, frozenset[str]] = {
    OperationType.CREATE: frozenset(
        {"INSTALL_KAFKA", "PLACE_NODES", "START_CONTROLLERS", "START_BROKERS", "WAIT_FOR_BROKERS"}
    ),
    OperationType.DELETE: frozenset({"STOP_NODES", "REMOVE_CLUSTER"}),
    OperationType.REBOOT_NODE: frozenset({"REBOOT_BROKER"}),
    OperationType.HEAL: frozenset(
        {"REPAIR_NODES", "WAIT_FOR_NODES", "WAIT_FOR_IN_SYNC", "REBALANCE_LEADERS"}
    ),
    OperationType.UPDATE_BROKER_TYPE: frozenset({"ROLL_BROKERS"}),
    OperationType.UPDATE_CLUSTER_CONFIGURATION: frozenset(
        {"APPLY_DYNAMIC_SETTINGS", "ROLL_BROKERS"}
    ),
    OperationType.UPDATE_CLUSTER_KAFKA_VERSION: frozenset(
        {"INSTALL_KAFKA", "ROLL_CONTROLLERS", "ROLL_BROKERS", "UPGRADE_METADATA_VERSION"}
    ),
    OperationType.UPDATE_BROKER_STORAGE: frozenset({"GROW_VOLUMES"}),
    OperationType.UPDATE_MONITORING: frozenset({"UPDATE_NODES"}),
    OperationType.UPDATE_SECURITY: frozenset(
        {"ROLL_CONTROLLERS", "ROLL_BROKERS", "APPLY_ACCESS_POLICIES"}
    ),
    OperationType.INCREASE_BROKER_COUNT: frozenset(
        {
            "PLACE_NEW_BROKERS",
            "START_NEW_BROKERS",
            "WAIT_FOR_NEW_BROKERS",
            "WAIT_FOR_BROKERS_TO_SETTLE",
            "REASSIGN_PARTITIONS",
            "WAIT_FOR_REASSIGNMENT",
            "ELECT_PREFERRED_LEADERS",
        }
    ),
    OperationType.REBALANCE: frozenset(
        {"PLAN_BALANCE", "MOVE_IN_BATCHES", "ELECT_PREFERRED_LEADERS"}
    ),
    OperationType.DECREASE_BROKER_COUNT: frozenset(
        {
            "CHECK_CAPACITY",
            "WAIT_FOR_BROKERS_TO_SETTLE",
            "REASSIGN_PARTITIONS",
            "WAIT_FOR_REASSIGNMENT",
            "ELECT_PREFERRED_LEADERS",
            "STOP_LEAVING_BROKERS",
            "UNREGISTER_BROKERS",
        }
    ),
}
"""The part of the pipeline each operation runs (every one but DELETE ends with FINALIZE)."""


def steps_of(kind: OperationType) -> tuple[str, ...]:
    """The steps an operation of `kind` shows and runs, in the pipeline's order."""
    chosen = TRIGGERS[kind] | ({"FINALIZE"} if kind is not OperationType.DELETE else set())
    return tuple(s.name for s in PIPELINE if s.name in chosen)


# --- when an operation fails --------------------------------------------------------------------
FailurePolicy = Callable[[ReconcileContext, Cluster, Operation], "Operation | None"]
"""What a failed operation leaves: the cluster's state, and the operation that brings it back to
one spec (a rollback), if one is needed."""

ROLLS_BACK = frozenset(
    {
        OperationType.UPDATE_BROKER_TYPE,
        OperationType.UPDATE_CLUSTER_CONFIGURATION,
        OperationType.UPDATE_CLUSTER_KAFKA_VERSION,
        OperationType.UPDATE_MONITORING,
        OperationType.UPDATE_SECURITY,
    }
)
"""Updates whose failure leaves some nodes on the new spec and some on the old: the cluster goes
back to the spec it last converged on, through the same steps."""

ROLLING_BACK = "ROLLING_BACK"


def on_failure(ctx: ReconcileContext, cluster: Cluster, op: Operation) -> Operation | None:
    """Leave the cluster converging on one spec after `op` failed: the last one it converged on.
    Returns the rollback operation to record, if the nodes must be brought back to it."""
    if op.type is OperationType.CREATE:
        nodes.stop_after_failed_create(ctx, cluster, op)
        return None
    if op.type is OperationType.DELETE:
        return None  # deleting never gives up for good: a new DeleteCluster starts it again
    if op.type is OperationType.HEAL:
        cluster.status.set_condition("Healthy", False, op.error_code or "", op.error_message or "")
        cluster.state = ClusterState.ACTIVE
        cluster.state_info = None
        return None
    cluster.state = ClusterState.ACTIVE
    cluster.state_info = None
    throttles.release_after_failure(ctx.store, cluster, op)
    if op.type in (OperationType.INCREASE_BROKER_COUNT, OperationType.DECREASE_BROKER_COUNT):
        nodes.keep_placed_brokers(ctx, cluster, op)
        return None
    code, message = op.error_code or "", op.error_message or ""
    if op.progress.get("rollback_of"):
        # Bringing the nodes back failed too: the cluster serves as it is, its status says it is
        # not converged, and a new request can go on from there.
        cluster.status.set_condition("Converged", False, code, message)
        return None
    applied = cluster.status.applied_spec
    if applied is None or applied == cluster.spec:
        return None
    failed_target = mutable_info(cluster.spec)
    cluster.accept(applied)
    if op.type not in ROLLS_BACK:
        # Nothing to bring back (storage that grew stays grown; a reboot changed no spec).
        cluster.status.observed_generation = cluster.generation
        return None
    arns = ArnFactory(ctx.settings.region, ctx.settings.account_id)
    rollback = start_operation(
        arns.operation(cluster.arn),
        cluster.arn,
        op.type,
        source=failed_target,
        target=mutable_info(applied),
        generation=cluster.generation,
    )
    rollback.progress["rollback_of"] = op.arn
    cluster.state = ClusterState.UPDATING
    cluster.state_info = StateInfo(
        ROLLING_BACK, f"rolling back after {op.error_code}: {op.error_message}"
    )
    cluster.active_operation_arn = rollback.arn
    return rollback


def start_operation(
    arn: str,
    cluster_arn: str,
    kind: OperationType,
    source: dict[str, object] | None = None,
    target: dict[str, object] | None = None,
    generation: int = 0,
) -> Operation:
    """A new PENDING operation of `kind` with the steps it triggers."""
    return operation_records.new_operation(
        arn, cluster_arn, kind, steps_of(kind), source, target, generation
    )


def run_step(ctx: ReconcileContext, cluster: Cluster, op: Operation, name: str) -> None:
    """Run step `name` of `op` once, keeping its progress in the operation, as the reconciler
    does (whatever the step raises is raised on)."""
    entry = STEPS.get(name)
    if entry is None:
        raise PermanentError(f"unknown step {name}")
    run = StepRun(ctx, cluster, op, op.step(name), entry.progress)
    try:
        entry.run(run)
    finally:
        op.progress[name] = dump_progress(run.progress)


class Pipeline(Protocol):
    """What the reconciler needs of the pipeline (tests give it their own)."""

    def step(self, name: str) -> Step[Any]: ...

    def on_failure(
        self, ctx: ReconcileContext, cluster: Cluster, op: Operation
    ) -> Operation | None: ...


class ClusterPipeline:
    """The pipeline above."""

    def step(self, name: str) -> Step[Any]:
        found = STEPS.get(name)
        if found is None:
            raise PermanentError(f"unknown step {name}")
        return found

    def on_failure(
        self, ctx: ReconcileContext, cluster: Cluster, op: Operation
    ) -> Operation | None:
        return on_failure(ctx, cluster, op)

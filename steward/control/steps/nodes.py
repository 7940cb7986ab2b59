"""Making the cluster's nodes exist, and making them go: install the Kafka release of the spec,
place nodes over the zones (by the spec's broker count), start the controllers and the brokers
through their agents, wait until the brokers serve; and at the end of a delete, stop and purge
every node and forget the cluster."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from steward.agent.client import AgentUnavailable
from steward.control.context import ReconcileContext
from steward.control.node_specs import node_key
from steward.control.operation_records import mutable_info
from steward.control.placement import (
    FIRST_CONTROLLER_ID,
    PlacementError,
    Placer,
    controller_count,
    placer_for,
)
from steward.control.step import NoProgress, StepRun
from steward.domain.errors import PermanentError, TemporaryError
from steward.domain.model import Cluster, ClusterState, Node, NodeRole, Operation, StateInfo
from steward.kafka import distribution
from steward.kafka.admin import serving_brokers


@dataclass
class PlacedBrokers:
    """The brokers a scale-out placed: kept before they are stored, so that a crash in between
    places the same ids again, never twice."""

    node_ids: list[int] = field(default_factory=list)
    placed: bool = False


# --- INSTALL_KAFKA ------------------------------------------------------------------------------
def install_kafka(run: StepRun[NoProgress]) -> None:
    install_kafka_version(run.cluster.spec.release)


def install_kafka_version(version: str) -> None:
    try:
        distribution.install_distribution(version)
    except distribution.DistributionError as error:
        raise PermanentError(str(error), "KafkaVersionUnavailable") from error


# --- PLACE_NODES / START_CONTROLLERS / START_BROKERS / WAIT_FOR_BROKERS (create) -----------------
def place_nodes(run: StepRun[NoProgress]) -> None:
    ctx, cluster = run.ctx, run.cluster
    if ctx.store.nodes(cluster.arn):
        return
    spec = cluster.spec
    zones = spec.broker_node_group.zones
    try:
        nodes = _placer(ctx).place(
            cluster.arn,
            zones,
            broker_ids=range(1, spec.number_of_broker_nodes + 1),
            controller_ids=range(
                FIRST_CONTROLLER_ID, FIRST_CONTROLLER_ID + controller_count(len(zones))
            ),
            kafka_version=spec.release,
            instance_type=spec.broker_node_group.instance_type,
        )
    except PlacementError as error:
        raise PermanentError(str(error), "InsufficientCapacity") from error
    ctx.store.add_nodes(nodes)


def start_controllers(run: StepRun[NoProgress]) -> None:
    """The controllers get their specs, and in the same parallel wave so do the brokers of a
    cluster being created. A broker needs no running quorum to start: it keeps asking the
    controllers it is configured with until they answer. Its agent formats it in a moment; so does
    a controller's once its host has formatted a controller of that Kafka version (the kept
    bootstrap checkpoint, `steward.kafka.storage`), else it runs StorageTool first (a JVM of its
    own, seconds on a busy host). Started together, the brokers' JVMs load their classes while
    the controllers are formatted and elect their leader, instead of after it."""
    ctx, cluster = run.ctx, run.cluster
    creating = cluster.state is ClusterState.CREATING
    start_selected_nodes(ctx, cluster, lambda node: creating or node.role is NodeRole.CONTROLLER)


def start_brokers(run: StepRun[NoProgress]) -> None:
    """Every broker has its spec (a no-op for those START_CONTROLLERS started already)."""
    start_selected_nodes(run.ctx, run.cluster, lambda node: node.role is NodeRole.BROKER)


def wait_for_brokers(run: StepRun[NoProgress]) -> None:
    ctx, cluster = run.ctx, run.cluster
    nodes = ctx.store.nodes(cluster.arn)
    expected = {n.node_id for n in nodes if n.role is NodeRole.BROKER}
    serving = serving_broker_ids(ctx, cluster)
    if expected <= serving:
        return
    failures = failed_nodes(ctx, cluster, nodes)
    if failures:
        raise PermanentError("Kafka failed to start: " + "; ".join(failures), "NodeStartFailed")
    if run.elapsed > ctx.broker_wait_timeout:
        missing = sorted(expected - serving)
        raise PermanentError(
            f"brokers {missing} did not come up within {ctx.broker_wait_timeout:.0f} s",
            "NodeStartTimeout",
        )
    raise TemporaryError(f"{len(serving)} of {len(expected)} brokers serving", 0.3)


def stop_after_failed_create(ctx: ReconcileContext, cluster: Cluster, op: Operation) -> None:
    """A failed create leaves no Kafka running: the cluster is FAILED with the reason, its nodes
    stopped (data kept for diagnosis); DeleteCluster removes the rest."""
    cluster.state = ClusterState.FAILED
    cluster.state_info = StateInfo(op.error_code or "CreateFailed", op.error_message or "")
    nodes = ctx.store.nodes(cluster.arn)

    def stop(node: Node) -> None:
        with contextlib.suppress(Exception):
            ctx.agents.client(node.agent).apply(ctx.render(cluster, node, nodes, "stopped"))

    ctx.in_parallel(stop, nodes)


# --- PLACE_NEW_BROKERS / START_NEW_BROKERS / WAIT_FOR_NEW_BROKERS (scale out) -------------------
def place_new_brokers(run: StepRun[PlacedBrokers]) -> None:
    ctx, cluster, op = run.ctx, run.cluster, run.op
    if run.progress.placed:
        return
    spec = cluster.spec
    current = brokers_of(ctx, cluster)
    count = spec.number_of_broker_nodes - len(current)
    first_id = max((b.node_id for b in current), default=0) + 1
    try:
        nodes = _placer(ctx).place(
            cluster.arn,
            spec.broker_node_group.zones,
            broker_ids=range(first_id, first_id + count),
            controller_ids=[],
            kafka_version=spec.release,
            instance_type=spec.broker_node_group.instance_type,
            first_index=len(current),
            existing=current,
        )
    except PlacementError as error:
        raise PermanentError(str(error), "InsufficientCapacity") from error
    run.progress.node_ids = [n.node_id for n in nodes]
    run.progress.placed = True
    record_count_change(op, run.progress.node_ids, [])
    run.save()
    ctx.store.add_nodes(nodes)


def start_new_brokers(run: StepRun[NoProgress]) -> None:
    new = set(run.progress_of("PLACE_NEW_BROKERS", PlacedBrokers).node_ids)
    start_selected_nodes(run.ctx, run.cluster, lambda node: node.node_id in new)


def wait_for_new_brokers(run: StepRun[NoProgress]) -> None:
    ctx, cluster = run.ctx, run.cluster
    expected = set(run.progress_of("PLACE_NEW_BROKERS", PlacedBrokers).node_ids)
    serving = serving_broker_ids(ctx, cluster)
    if expected <= serving:
        return
    if run.elapsed > ctx.broker_wait_timeout:
        raise PermanentError(
            f"new brokers {sorted(expected - serving)} did not come up within "
            f"{ctx.broker_wait_timeout:.0f} s",
            "NodeStartTimeout",
        )
    raise TemporaryError(f"{len(expected & serving)} of {len(expected)} new brokers serving", 0.5)


def record_count_change(op: Operation, created: list[int], deleted: list[int]) -> None:
    """What `DescribeClusterOperation` shows of a broker count change: the brokers made or
    removed."""
    target = dict(op.target or {})
    target["brokerCountUpdateInfo"] = {
        "createdBrokerIds": [float(i) for i in created],
        "deletedBrokerIds": [float(i) for i in deleted],
    }
    op.target = target


def keep_placed_brokers(ctx: ReconcileContext, cluster: Cluster, op: Operation) -> None:
    """After a failed broker count change the spec counts the brokers the cluster has: the ones
    placed stay, the cluster converges on them (a new UpdateBrokerCount goes on from there)."""
    count = len(brokers_of(ctx, cluster))
    if count != cluster.spec.number_of_broker_nodes:
        cluster.accept(cluster.spec.replace(number_of_broker_nodes=count))
        op.target = {**mutable_info(cluster.spec), **(op.target or {})}


# --- STOP_NODES / REMOVE_CLUSTER (delete) -------------------------------------------------------
def stop_nodes(run: StepRun[NoProgress]) -> None:
    """Brokers first, then the controllers: a broker's controlled shutdown needs the quorum, and
    without it the broker only ends when its agent kills it after the stop timeout."""
    ctx, cluster = run.ctx, run.cluster

    def remove(node: Node) -> None:
        try:
            ctx.agents.client(node.agent).remove(node_key(cluster, node))
        except AgentUnavailable as error:
            raise TemporaryError(f"agent {node.agent} is unavailable: {error}", 2.0) from error

    nodes = ctx.store.nodes(cluster.arn)
    for role in (NodeRole.BROKER, NodeRole.CONTROLLER):
        ctx.in_parallel(remove, [n for n in nodes if n.role is role])


def remove_cluster(run: StepRun[NoProgress]) -> None:
    run.ctx.store.remove_cluster(run.cluster.arn)


# --- shared -------------------------------------------------------------------------------------
def _placer(ctx: ReconcileContext) -> Placer:
    return placer_for(ctx)


def brokers_of(ctx: ReconcileContext, cluster: Cluster) -> list[Node]:
    return [n for n in ctx.store.nodes(cluster.arn) if n.role is NodeRole.BROKER]


def start_selected_nodes(
    ctx: ReconcileContext, cluster: Cluster, selected: Callable[[Node], bool]
) -> None:
    """Give every selected node of the cluster its spec (in parallel); its agent formats its
    storage the first time and starts it. Idempotent."""
    nodes = ctx.store.nodes(cluster.arn)

    def apply(node: Node) -> None:
        try:
            ctx.agents.client(node.agent).apply(ctx.render(cluster, node, nodes))
        except AgentUnavailable as error:
            raise TemporaryError(f"agent {node.agent} is unavailable: {error}", 2.0) from error

    ctx.in_parallel(apply, [n for n in nodes if selected(n)])


def failed_nodes(ctx: ReconcileContext, cluster: Cluster, nodes: list[Node]) -> list[str]:
    """Messages of nodes their agent gave up on (crashing again and again). The agents are asked
    all at once: WAIT_FOR_BROKERS asks on every poll, and one agent call after another made each
    poll, and so noticing the last broker serving, slower by as many round trips as the cluster
    has nodes."""

    def failure(node: Node) -> str | None:
        try:
            status = ctx.agents.client(node.agent).node(node_key(cluster, node))
        except AgentUnavailable:
            return None
        if status is not None and status.state == "failed":
            return f"node {node.node_id} ({node.role.value.lower()}): {status.message}"
        return None

    return [message for message in ctx.in_parallel(failure, nodes) if message is not None]


def serving_broker_ids(ctx: ReconcileContext, cluster: Cluster) -> set[int]:
    """Ids of the cluster's brokers that are registered, unfenced and answering (none when the
    cluster cannot be reached)."""
    try:
        return serving_brokers(ctx.bootstrap(cluster), timeout=2.0)
    except Exception:
        return set()

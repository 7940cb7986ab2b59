"""CREATE: install Kafka if needed, place nodes over the zones, start the controller quorum and the
brokers through their agents, and wait until every broker serves."""

from __future__ import annotations

import time
from collections.abc import Callable

from steward.agent.client import AgentUnavailable
from steward.control.context import ReconcileContext
from steward.control.node_specs import build_node_spec, node_key, user_properties
from steward.control.placement import FIRST_CONTROLLER_ID, PlacementError, Placer, controller_count
from steward.domain.errors import PermanentError, TemporaryError
from steward.domain.model import Cluster, ClusterState, Node, NodeRole, Operation, StateInfo
from steward.kafka import distribution
from steward.kafka.admin import serving_brokers

STEPS = (
    "INSTALL_KAFKA",
    "PLACE_NODES",
    "START_CONTROLLERS",
    "START_BROKERS",
    "WAIT_FOR_BROKERS",
    "FINALIZE",
)


def run_step(ctx: ReconcileContext, cluster: Cluster, op: Operation, step: str) -> None:
    if step == "INSTALL_KAFKA":
        install_kafka(cluster)
    elif step == "PLACE_NODES":
        place_nodes(ctx, cluster)
    elif step == "START_CONTROLLERS":
        start_nodes(ctx, cluster, NodeRole.CONTROLLER)
    elif step == "START_BROKERS":
        start_nodes(ctx, cluster, NodeRole.BROKER)
    elif step == "WAIT_FOR_BROKERS":
        wait_for_brokers(ctx, cluster, op)
    elif step == "FINALIZE":
        cluster.state = ClusterState.ACTIVE
        cluster.state_info = None
    else:
        raise PermanentError(f"unknown step {step}")


def install_kafka(cluster: Cluster) -> None:
    install_kafka_version(cluster.spec.kafka_version)


def install_kafka_version(version: str) -> None:
    try:
        distribution.install_distribution(version)
    except distribution.DistributionError as error:
        raise PermanentError(str(error), "KafkaVersionUnavailable") from error


def place_nodes(ctx: ReconcileContext, cluster: Cluster) -> None:
    if ctx.store.nodes(cluster.arn):
        return
    spec = cluster.spec
    zones = spec.broker_node_group.zones
    placer = Placer(
        ctx.settings.zones, ctx.store.used_hosts(), ctx.settings.hosts, ctx.store.nodes_per_agent()
    )
    try:
        nodes = placer.place(
            cluster.arn,
            zones,
            broker_ids=range(1, spec.number_of_broker_nodes + 1),
            controller_ids=range(
                FIRST_CONTROLLER_ID, FIRST_CONTROLLER_ID + controller_count(len(zones))
            ),
            kafka_version=spec.kafka_version,
            instance_type=spec.broker_node_group.instance_type,
        )
    except PlacementError as error:
        raise PermanentError(str(error), "InsufficientCapacity") from error
    ctx.store.add_nodes(nodes)


def start_nodes(ctx: ReconcileContext, cluster: Cluster, role: NodeRole) -> None:
    start_selected_nodes(ctx, cluster, lambda node: node.role is role)


def start_selected_nodes(
    ctx: ReconcileContext, cluster: Cluster, selected: Callable[[Node], bool]
) -> None:
    """Give every selected node of the cluster its spec (in parallel); its agent formats its
    storage the first time and starts it. Idempotent."""
    nodes = ctx.store.nodes(cluster.arn)
    configured = user_properties(ctx.store, cluster)

    def apply(node: Node) -> None:
        try:
            ctx.agents.client(node.agent).apply(build_node_spec(cluster, node, nodes, configured))
        except AgentUnavailable as error:
            raise TemporaryError(f"agent {node.agent} is unavailable: {error}", 2.0) from error

    ctx.in_parallel(apply, [n for n in nodes if selected(n)])


def failed_nodes(ctx: ReconcileContext, cluster: Cluster, nodes: list[Node]) -> list[str]:
    """Messages of nodes their agent gave up on (crashing again and again)."""
    messages = []
    for node in nodes:
        try:
            status = ctx.agents.client(node.agent).node(node_key(cluster, node))
        except AgentUnavailable:
            continue
        if status is not None and status.state == "failed":
            messages.append(f"node {node.node_id} ({node.role.value.lower()}): {status.message}")
    return messages


def serving_broker_ids(ctx: ReconcileContext, cluster: Cluster) -> set[int]:
    """Ids of the cluster's brokers that are registered, unfenced and answering (none when the
    cluster cannot be reached)."""
    try:
        return serving_brokers(ctx.bootstrap(cluster), timeout=2.0)
    except Exception:
        return set()


def wait_for_brokers(ctx: ReconcileContext, cluster: Cluster, op: Operation) -> None:
    nodes = ctx.store.nodes(cluster.arn)
    brokers = [n for n in nodes if n.role is NodeRole.BROKER]
    expected = {b.node_id for b in brokers}
    started = float(op.progress.setdefault("brokers_wait_started", time.time()))  # type: ignore[arg-type]
    serving = serving_broker_ids(ctx, cluster)
    if expected <= serving:
        return
    failures = failed_nodes(ctx, cluster, nodes)
    if failures:
        raise PermanentError("Kafka failed to start: " + "; ".join(failures), "NodeStartFailed")
    if time.time() - started > ctx.broker_wait_timeout:
        missing = sorted(expected - serving)
        raise PermanentError(
            f"brokers {missing} did not come up within {ctx.broker_wait_timeout:.0f} s",
            "NodeStartTimeout",
        )
    raise TemporaryError(f"{len(serving)} of {len(expected)} brokers serving", 0.3)


def on_failure(ctx: ReconcileContext, cluster: Cluster, op: Operation) -> None:
    """A failed create leaves no Kafka running: the cluster is FAILED with the reason, its nodes
    stopped (data kept for diagnosis); DeleteCluster removes the rest."""
    cluster.state = ClusterState.FAILED
    cluster.state_info = StateInfo(op.error_code or "CreateFailed", op.error_message or "")
    nodes = ctx.store.nodes(cluster.arn)
    configured = user_properties(ctx.store, cluster)

    def stop(node: Node) -> None:
        try:
            spec = build_node_spec(cluster, node, nodes, configured, desired="stopped")
            ctx.agents.client(node.agent).apply(spec)
        except Exception:
            pass

    ctx.in_parallel(stop, nodes)

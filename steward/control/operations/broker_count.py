"""INCREASE_BROKER_COUNT and DECREASE_BROKER_COUNT: scale a cluster's brokers out or in while it
serves.

Out: place the new brokers round-robin over the cluster's zones, start them, then move replicas
onto them with Kafka's partition reassignment (throttled), as few as balance needs, and hand
leadership back to the preferred replicas.
In: move every replica off the leaving brokers first (same planner, same throttle), then stop
them, delete their data and unregister them from the cluster's metadata.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

from steward.agent.client import AgentUnavailable
from steward.control.balance import BalanceError, plan_topic_by_topic
from steward.control.certificates import steward_bootstrap
from steward.control.context import ReconcileContext
from steward.control.node_specs import node_key
from steward.control.operations.common import finish_update, keep_serving, target_spec
from steward.control.operations.create import serving_broker_ids, start_selected_nodes
from steward.control.placement import PlacementError, Placer
from steward.domain.errors import PermanentError, TemporaryError
from steward.domain.model import Cluster, Node, NodeRole, Operation
from steward.kafka import membership, reassignment
from steward.kafka.reassignment import Partition

log = logging.getLogger(__name__)

OUT_STEPS = (
    "PLACE_NEW_BROKERS",
    "START_NEW_BROKERS",
    "WAIT_FOR_NEW_BROKERS",
    "WAIT_FOR_BROKERS_TO_SETTLE",
    "REASSIGN_PARTITIONS",
    "WAIT_FOR_REASSIGNMENT",
    "ELECT_PREFERRED_LEADERS",
    "FINALIZE",
)
IN_STEPS = (
    "CHECK_CAPACITY",
    "WAIT_FOR_BROKERS_TO_SETTLE",
    "REASSIGN_PARTITIONS",
    "WAIT_FOR_REASSIGNMENT",
    "ELECT_PREFERRED_LEADERS",
    "STOP_LEAVING_BROKERS",
    "UNREGISTER_BROKERS",
    "FINALIZE",
)

SETTLE_YOUNG = 120.0
"""Seconds since its process started during which a broker may still be warming up: a JVM that
has just started compiles Kafka's hot code for tens of seconds. Older brokers count as settled."""
SETTLE_RATIO = 1.5
"""A young broker has settled once it uses no more CPU than this many times what the cluster's
settled brokers use (their median)."""
SETTLE_FLOOR = 0.05
"""Cores a young broker may always use and count as settled (also the reference when no broker
of the cluster is old enough to be one)."""
SETTLE_SAMPLE = 3.0
"""Seconds over which a broker's CPU use is measured."""
SETTLE_TIMEOUT = 90.0
"""How long moving replicas waits for the brokers to settle before it moves them anyway."""

MOVES_PER_BROKER = 5
"""Partitions a broker may be gaining or losing a replica of at once (Cruise Control's default
for concurrent partition movements per broker)."""
REASSIGNMENT_TIMEOUT = 3600.0
"""How long moving replicas may take before the operation gives up (and cancels nothing: the
moves Kafka made stay valid)."""


class ScaleOut:
    STEPS = OUT_STEPS

    @staticmethod
    def run_step(ctx: ReconcileContext, cluster: Cluster, op: Operation, step: str) -> None:
        run_step(ctx, cluster, op, step)

    @staticmethod
    def on_failure(ctx: ReconcileContext, cluster: Cluster, op: Operation) -> None:
        keep_serving(cluster)


class ScaleIn(ScaleOut):
    STEPS = IN_STEPS


def run_step(ctx: ReconcileContext, cluster: Cluster, op: Operation, step: str) -> None:
    if step == "PLACE_NEW_BROKERS":
        place_new_brokers(ctx, cluster, op)
    elif step == "START_NEW_BROKERS":
        start_new_brokers(ctx, cluster, op)
    elif step == "WAIT_FOR_NEW_BROKERS":
        wait_for_new_brokers(ctx, cluster, op)
    elif step == "CHECK_CAPACITY":
        choose_leaving_brokers(ctx, cluster, op)
    elif step == "WAIT_FOR_BROKERS_TO_SETTLE":
        wait_for_brokers_to_settle(ctx, cluster, op)
    elif step == "REASSIGN_PARTITIONS":
        reassign_partitions(ctx, cluster, op)
    elif step == "WAIT_FOR_REASSIGNMENT":
        wait_for_reassignment(ctx, cluster, op)
    elif step == "ELECT_PREFERRED_LEADERS":
        elect_preferred_leaders(ctx, cluster)
    elif step == "STOP_LEAVING_BROKERS":
        stop_leaving_brokers(ctx, cluster, op)
    elif step == "UNREGISTER_BROKERS":
        unregister_leaving_brokers(ctx, cluster, op)
    elif step == "FINALIZE":
        finish_update(cluster, op)
    else:
        raise PermanentError(f"unknown step {step}")


def _brokers(ctx: ReconcileContext, cluster: Cluster) -> list[Node]:
    return [n for n in ctx.store.nodes(cluster.arn) if n.role is NodeRole.BROKER]


def _ids(op: Operation, key: str) -> list[int]:
    return [int(i) for i in op.progress.get(key, [])]  # type: ignore[union-attr]


def _record_count_change(op: Operation, created: list[int], deleted: list[int]) -> None:
    target = dict(op.target or {})
    target["brokerCountUpdateInfo"] = {
        "createdBrokerIds": [float(i) for i in created],
        "deletedBrokerIds": [float(i) for i in deleted],
    }
    op.target = target


# --- scale out ----------------------------------------------------------------------------------
def place_new_brokers(ctx: ReconcileContext, cluster: Cluster, op: Operation) -> None:
    if "new_brokers" in op.progress:
        return
    spec = target_spec(op)
    current = _brokers(ctx, cluster)
    count = spec.number_of_broker_nodes - len(current)
    first_id = max((b.node_id for b in current), default=0) + 1
    placer = Placer(
        ctx.settings.zones, ctx.store.used_hosts(), ctx.settings.hosts, ctx.store.nodes_per_agent()
    )
    try:
        nodes = placer.place(
            cluster.arn,
            spec.broker_node_group.zones,
            broker_ids=range(first_id, first_id + count),
            controller_ids=[],
            kafka_version=spec.kafka_version,
            instance_type=spec.broker_node_group.instance_type,
            first_index=len(current),
        )
    except PlacementError as error:
        raise PermanentError(str(error), "InsufficientCapacity") from error
    # Progress first, nodes second: a crash in between places the same ids again, never twice.
    op.progress["new_brokers"] = [n.node_id for n in nodes]
    _record_count_change(op, [n.node_id for n in nodes], [])
    ctx.store.save_operation(op)
    ctx.store.add_nodes(nodes)


def start_new_brokers(ctx: ReconcileContext, cluster: Cluster, op: Operation) -> None:
    new = set(_ids(op, "new_brokers"))
    start_selected_nodes(ctx, cluster, lambda node: node.node_id in new)


def wait_for_new_brokers(ctx: ReconcileContext, cluster: Cluster, op: Operation) -> None:
    expected = set(_ids(op, "new_brokers"))
    serving = serving_broker_ids(ctx, cluster)
    if expected <= serving:
        return
    started = float(op.progress.setdefault("new_brokers_wait_started", time.time()))  # type: ignore[arg-type]
    if time.time() - started > ctx.broker_wait_timeout:
        raise PermanentError(
            f"new brokers {sorted(expected - serving)} did not come up within "
            f"{ctx.broker_wait_timeout:.0f} s",
            "NodeStartTimeout",
        )
    raise TemporaryError(f"{len(expected & serving)} of {len(expected)} new brokers serving", 0.5)


# --- scale in -----------------------------------------------------------------------------------
def choose_leaving_brokers(ctx: ReconcileContext, cluster: Cluster, op: Operation) -> None:
    """The brokers to remove: the newest of each zone, the same number from every zone, so the
    cluster stays spread evenly. Refused when the rest cannot hold every topic's replicas."""
    spec = target_spec(op)
    current = _brokers(ctx, cluster)
    zones = spec.broker_node_group.zones
    per_zone = (len(current) - spec.number_of_broker_nodes) // len(zones)
    leaving: list[int] = []
    for zone in zones:
        in_zone = sorted((b.node_id for b in current if b.zone == zone), reverse=True)
        leaving += in_zone[:per_zone]
    staying = {b.node_id: b.zone for b in current if b.node_id not in leaving}
    assignment = _assignment(ctx, cluster)
    widest = max((len(r) for r in assignment.values()), default=0)
    if widest > len(staying):
        raise PermanentError(
            f"{len(staying)} brokers cannot hold topics with replication factor {widest}; "
            "lower those topics' replication factor first, or keep more brokers.",
            "InsufficientBrokers",
        )
    op.progress["leaving_brokers"] = sorted(leaving)
    _record_count_change(op, [], sorted(leaving))


def stop_leaving_brokers(ctx: ReconcileContext, cluster: Cluster, op: Operation) -> None:
    leaving = set(_ids(op, "leaving_brokers"))

    def remove(node: Node) -> None:
        try:
            ctx.agents.client(node.agent).remove(node_key(cluster, node))
        except AgentUnavailable as error:
            raise TemporaryError(f"agent {node.agent} is unavailable: {error}", 2.0) from error

    ctx.in_parallel(remove, [b for b in _brokers(ctx, cluster) if b.node_id in leaving])


def unregister_leaving_brokers(ctx: ReconcileContext, cluster: Cluster, op: Operation) -> None:
    leaving = _ids(op, "leaving_brokers")
    staying = [b for b in _brokers(ctx, cluster) if b.node_id not in leaving]
    bootstrap = steward_bootstrap(ctx.store, cluster, staying)
    for broker_id in leaving:
        try:
            membership.unregister_broker(bootstrap, broker_id, cluster.spec.kafka_version)
        except membership.MembershipError as error:
            raise TemporaryError(f"unregistering broker {broker_id}: {error}", 2.0) from error
        ctx.store.remove_node(cluster.arn, broker_id)


# --- moving replicas (both directions) ----------------------------------------------------------
def wait_for_brokers_to_settle(ctx: ReconcileContext, cluster: Cluster, op: Operation) -> None:
    """Move no replica while a broker still burns CPU on its start. Measured on this machine
    (docs/benchmarks.md, run E): replicas moved while three new JVMs were still compiling stalled
    producers for 5.7-6.5 s; the same moves 25 s later, 1.9-2.2 s. Each broker's CPU time is read
    from its agent twice, SETTLE_SAMPLE seconds apart, and the young brokers are held against the
    settled ones (`warming_brokers`); after SETTLE_TIMEOUT the moves start anyway."""
    started = float(op.progress.setdefault("settle_started", time.time()))  # type: ignore[arg-type]
    now = time.time()
    usage = _cpu_usage(ctx, cluster)
    cpu = {str(b): used for b, (used, _) in usage.items()}
    sampled_at = op.progress.get("settle_sampled_at")
    before = op.progress.get("settle_cpu")
    op.progress["settle_sampled_at"] = now
    op.progress["settle_cpu"] = cpu
    ctx.store.save_operation(op)
    if not isinstance(sampled_at, float) or not isinstance(before, dict) or now <= sampled_at:
        raise TemporaryError("measuring the brokers' CPU use", SETTLE_SAMPLE)
    rates = {
        int(b): (used - float(before[b])) / (now - sampled_at)
        for b, used in cpu.items()
        if b in before
    }
    ages = {b: now - began for b, (_, began) in usage.items() if began is not None}
    warming = warming_brokers(rates, ages)
    if warming and now - started < SETTLE_TIMEOUT:
        shown = ", ".join(f"broker {b} {rate:.2f} cores" for b, rate in sorted(warming.items()))
        settled = settled_cpu(rates, ages)
        raise TemporaryError(
            f"waiting for new brokers to settle: {shown} (settled brokers use {settled:.2f})",
            SETTLE_SAMPLE,
        )


def settled_cpu(rates: dict[int, float], ages: dict[int, float]) -> float:
    """What a settled broker of this cluster uses, in cores: the median over the brokers older
    than SETTLE_YOUNG, or SETTLE_FLOOR when there are none."""
    old = sorted(rate for b, rate in rates.items() if ages.get(b, 0.0) >= SETTLE_YOUNG)
    return old[len(old) // 2] if old else SETTLE_FLOOR


def warming_brokers(rates: dict[int, float], ages: dict[int, float]) -> dict[int, float]:
    """The brokers still warming up, with their CPU use: younger than SETTLE_YOUNG and busier
    than SETTLE_RATIO times a settled broker (and SETTLE_FLOOR). Relative, not absolute: on a
    machine with fewer cores than JVMs, a compiling JVM never gets a core to itself, yet it still
    gets several times what a broker that only serves needs."""
    limit = max(SETTLE_FLOOR, SETTLE_RATIO * settled_cpu(rates, ages))
    return {
        b: rate
        for b, rate in rates.items()
        if ages.get(b, SETTLE_YOUNG) < SETTLE_YOUNG and rate > limit
    }


def _cpu_usage(ctx: ReconcileContext, cluster: Cluster) -> dict[int, tuple[float, float | None]]:
    """For each running broker, the CPU time it has used so far and when its process started,
    as its agent reports them."""
    found = {}
    for broker in _brokers(ctx, cluster):
        try:
            status = ctx.agents.client(broker.agent, timeout=5.0).node(node_key(cluster, broker))
        except AgentUnavailable:
            continue
        if status is not None and status.cpu_seconds is not None:
            found[broker.node_id] = (status.cpu_seconds, status.started_at)
    return found


def _assignment(ctx: ReconcileContext, cluster: Cluster) -> dict[tuple[str, int], list[int]]:
    try:
        return reassignment.current_assignment(ctx.bootstrap(cluster))
    except reassignment.ReassignmentError as error:
        raise TemporaryError(f"reading the partition assignment: {error}", 2.0) from error


def reassign_partitions(ctx: ReconcileContext, cluster: Cluster, op: Operation) -> None:
    """Plan once (the plan is kept in the operation), then start the first moves of the plan
    (`next_moves`). Safe to repeat. The plan balances replicas by count, then by the bytes the
    partitions hold now (`even_out_bytes`); by count alone when Kafka cannot tell the sizes."""
    leaving = set(_ids(op, "leaving_brokers"))
    bootstrap = ctx.bootstrap(cluster)
    if "reassignment" not in op.progress:
        staying = {b.node_id: b.zone for b in _brokers(ctx, cluster) if b.node_id not in leaving}
        try:
            sizes: dict[Partition, int] | None = reassignment.partition_sizes(bootstrap)
        except reassignment.ReassignmentError as error:
            log.warning("planning by replica counts only: %s", error)
            sizes = None
        try:
            plan = plan_topic_by_topic(_assignment(ctx, cluster), staying, sizes)
        except BalanceError as error:
            raise PermanentError(str(error), "InsufficientBrokers") from error
        op.progress["reassignment"] = _encode(plan.target)
        op.progress["replica_moves"] = plan.moves
        ctx.store.save_operation(op)
    target = _decode(op.progress["reassignment"])
    if not target:
        return
    try:
        involved = sorted({b for r in target.values() for b in r} | leaving)
        reassignment.set_replication_throttle(
            bootstrap, involved, ctx.settings.reassignment_throttle
        )
        _start_next_moves(bootstrap, target)
    except reassignment.ReassignmentError as error:
        raise TemporaryError(f"starting the reassignment: {error}", 2.0) from error


def wait_for_reassignment(ctx: ReconcileContext, cluster: Cluster, op: Operation) -> None:
    """Until every partition is where the plan puts it, starting the plan's next moves as
    earlier ones end."""
    bootstrap = ctx.bootstrap(cluster)
    target = _decode(op.progress.get("reassignment", []))
    started = float(op.progress.setdefault("reassignment_started", time.time()))  # type: ignore[arg-type]
    try:
        left = _start_next_moves(bootstrap, target)
    except reassignment.ReassignmentError as error:
        raise TemporaryError(f"moving replicas: {error}", 2.0) from error
    if left:
        if time.time() - started > REASSIGNMENT_TIMEOUT:
            raise PermanentError(
                f"{left} partitions were still moving after {REASSIGNMENT_TIMEOUT:.0f} s",
                "ReassignmentTimeout",
            )
        raise TemporaryError(f"{len(target) - left} of {len(target)} partitions moved", 1.0)
    leaving = set(_ids(op, "leaving_brokers"))
    involved = sorted({b for r in target.values() for b in r} | leaving)
    try:
        reassignment.clear_replication_throttle(bootstrap, involved, sorted({t for t, _ in target}))
    except reassignment.ReassignmentError as error:
        raise TemporaryError(f"clearing the replication throttle: {error}", 2.0) from error


def _start_next_moves(bootstrap: str, target: dict[Partition, list[int]]) -> int:
    """Ask Kafka for the plan's next moves (`next_moves`); how many partitions are not yet
    where the plan puts them."""
    moving = reassignment.reassignments_in_progress(bootstrap)
    current = reassignment.current_assignment(bootstrap)
    for key, move in moving.items():
        current[key] = list(move.original)
    todo = {tp: r for tp, r in target.items() if tp not in moving and current.get(tp) != r}
    in_flight = {tp: list(move.target) for tp, move in moving.items()}
    batch = next_moves(todo, current, in_flight)
    if batch:
        reassignment.start_reassignment(bootstrap, batch)
    return len(todo) + sum(1 for tp in target if tp in moving)


def next_moves(
    todo: dict[Partition, list[int]],
    current: dict[Partition, list[int]],
    in_flight: dict[Partition, list[int]],
    per_broker: int = MOVES_PER_BROKER,
) -> dict[Partition, list[int]]:
    """The moves of `todo` to start now: as many as keep every broker within `per_broker`
    partitions moving at once, counting those `in_flight`. A broker takes part in a move when it
    gains or loses a replica; a move that only reorders replicas involves none and always goes.
    Moving everything at once had brokers fetch for dozens of partitions together while they
    also served clients: the in-sync replicas of the busy partitions fell behind and `acks=all`
    producers stalled for seconds."""
    load: Counter[int] = Counter()
    for tp, replicas in in_flight.items():
        load.update(set(replicas) ^ set(current.get(tp, ())))
    chosen = {}
    for tp in sorted(todo):
        involved = set(todo[tp]) ^ set(current.get(tp, ()))
        if all(load[b] < per_broker for b in involved):
            chosen[tp] = todo[tp]
            load.update(involved)
    return chosen


def elect_preferred_leaders(ctx: ReconcileContext, cluster: Cluster) -> None:
    try:
        reassignment.elect_preferred_leaders(ctx.bootstrap(cluster))
    except reassignment.ReassignmentError as error:
        raise TemporaryError(f"electing preferred leaders: {error}", 2.0) from error


def _encode(target: dict[tuple[str, int], list[int]]) -> list[list[Any]]:
    return [[topic, partition, list(replicas)] for (topic, partition), replicas in target.items()]


def _decode(data: object) -> dict[tuple[str, int], list[int]]:
    if not isinstance(data, list):
        return {}
    return {(str(t), int(p)): [int(b) for b in r] for t, p, r in data}

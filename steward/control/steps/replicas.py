"""Moving replicas while the cluster serves, for a broker count change either way.

Out: once the new brokers (`steward.control.steps.nodes`) serve and have settled, move replicas
onto them with Kafka's partition reassignment (throttled), as few as balance needs, and hand
leadership back to the preferred replicas.
In: choose the leaving brokers, move every replica off them first (same planner, same throttle),
then stop them, delete their data and unregister them from the cluster's metadata.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from steward.agent.client import AgentUnavailable
from steward.control.balance import BalanceError, plan_topic_by_topic
from steward.control.context import ReconcileContext
from steward.control.node_specs import node_key
from steward.control.step import NoProgress, StepRun
from steward.control.steps.nodes import brokers_of, record_count_change
from steward.domain.errors import PermanentError, TemporaryError
from steward.domain.model import Cluster, Node
from steward.kafka import membership, reassignment
from steward.kafka.reassignment import Partition
from steward.security.certificates import steward_bootstrap

log = logging.getLogger(__name__)

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


@dataclass
class LeavingBrokers:
    node_ids: list[int] = field(default_factory=list)


@dataclass
class SettleProgress:
    sampled_at: float | None = None
    cpu: dict[str, float] = field(default_factory=dict)
    """Broker id -> the CPU seconds its process had used at `sampled_at`."""


@dataclass
class ReassignmentPlan:
    planned: bool = False
    target: list[list[Any]] = field(default_factory=list)
    """[topic, partition, replicas] for every partition the plan moves."""
    moves: int = 0


def _leaving(run: StepRun[Any]) -> list[int]:
    return run.progress_of("CHECK_CAPACITY", LeavingBrokers).node_ids


# --- scale in -----------------------------------------------------------------------------------
def choose_leaving_brokers(run: StepRun[LeavingBrokers]) -> None:
    """The brokers to remove: the newest of each zone, the same number from every zone, so the
    cluster stays spread evenly. Refused when the rest cannot hold every topic's replicas."""
    ctx, cluster = run.ctx, run.cluster
    spec = cluster.spec
    current = brokers_of(ctx, cluster)
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
    run.progress.node_ids = sorted(leaving)
    record_count_change(run.op, [], sorted(leaving))


def stop_leaving_brokers(run: StepRun[NoProgress]) -> None:
    ctx, cluster = run.ctx, run.cluster
    leaving = set(_leaving(run))

    def remove(node: Node) -> None:
        try:
            ctx.agents.client(node.agent).remove(node_key(cluster, node))
        except AgentUnavailable as error:
            raise TemporaryError(f"agent {node.agent} is unavailable: {error}", 2.0) from error

    ctx.in_parallel(remove, [b for b in brokers_of(ctx, cluster) if b.node_id in leaving])


def unregister_leaving_brokers(run: StepRun[NoProgress]) -> None:
    ctx, cluster = run.ctx, run.cluster
    leaving = _leaving(run)
    staying = [b for b in brokers_of(ctx, cluster) if b.node_id not in leaving]
    bootstrap = steward_bootstrap(ctx.store, cluster, staying)
    for broker_id in leaving:
        try:
            membership.unregister_broker(bootstrap, broker_id, cluster.spec.release)
        except membership.MembershipError as error:
            raise TemporaryError(f"unregistering broker {broker_id}: {error}", 2.0) from error
        ctx.store.remove_node(cluster.arn, broker_id)


# --- moving replicas (both directions) ----------------------------------------------------------
def wait_for_brokers_to_settle(run: StepRun[SettleProgress]) -> None:
    """Move no replica while a broker still burns CPU on its start. Measured on this machine
    (docs/benchmarks.md, run E): replicas moved while three new JVMs were still compiling stalled
    producers for 5.7-6.5 s; the same moves 25 s later, 1.9-2.2 s. Each broker's CPU time is read
    from its agent twice, SETTLE_SAMPLE seconds apart, and the young brokers are held against the
    settled ones (`warming_brokers`); after SETTLE_TIMEOUT the moves start anyway."""
    now = time.time()
    usage = _cpu_usage(run.ctx, run.cluster)
    cpu = {str(b): used for b, (used, _) in usage.items()}
    sampled_at = run.progress.sampled_at
    before = run.progress.cpu
    run.progress.sampled_at = now
    run.progress.cpu = cpu
    run.save()
    if sampled_at is None or now <= sampled_at:
        raise TemporaryError("measuring the brokers' CPU use", SETTLE_SAMPLE)
    rates = {
        int(b): (used - float(before[b])) / (now - sampled_at)
        for b, used in cpu.items()
        if b in before
    }
    ages = {b: now - began for b, (_, began) in usage.items() if began is not None}
    warming = warming_brokers(rates, ages)
    if warming and run.elapsed < SETTLE_TIMEOUT:
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
    for broker in brokers_of(ctx, cluster):
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


def reassign_partitions(run: StepRun[ReassignmentPlan]) -> None:
    """Plan once (the plan is kept in the operation), then start the first moves of the plan
    (`next_moves`). Safe to repeat. The plan balances replicas by count, then by the bytes the
    partitions hold now (`even_out_bytes`); by count alone when Kafka cannot tell the sizes."""
    ctx, cluster = run.ctx, run.cluster
    leaving = set(_leaving(run))
    bootstrap = ctx.bootstrap(cluster)
    if not run.progress.planned:
        staying = {b.node_id: b.zone for b in brokers_of(ctx, cluster) if b.node_id not in leaving}
        try:
            sizes: dict[Partition, int] | None = reassignment.partition_sizes(bootstrap)
        except reassignment.ReassignmentError as error:
            log.warning("planning by replica counts only: %s", error)
            sizes = None
        if sizes is not None and not any(sizes.values()):
            log.warning("planning by replica counts only: Kafka gave no partition sizes")
        elif sizes is not None:
            log.info("%s: planning with the sizes of %d partitions", cluster.name, len(sizes))
        try:
            plan = plan_topic_by_topic(_assignment(ctx, cluster), staying, sizes)
        except BalanceError as error:
            raise PermanentError(str(error), "InsufficientBrokers") from error
        run.progress.target = _encode(plan.target)
        run.progress.moves = plan.moves
        run.progress.planned = True
        run.save()
    target = _decode(run.progress.target)
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


def wait_for_reassignment(run: StepRun[NoProgress]) -> None:
    """Until every partition is where the plan puts it, starting the plan's next moves as
    earlier ones end."""
    bootstrap = run.ctx.bootstrap(run.cluster)
    target = _decode(run.progress_of("REASSIGN_PARTITIONS", ReassignmentPlan).target)
    try:
        left = _start_next_moves(bootstrap, target)
    except reassignment.ReassignmentError as error:
        raise TemporaryError(f"moving replicas: {error}", 2.0) from error
    if left:
        if run.elapsed > REASSIGNMENT_TIMEOUT:
            raise PermanentError(
                f"{left} partitions were still moving after {REASSIGNMENT_TIMEOUT:.0f} s",
                "ReassignmentTimeout",
            )
        raise TemporaryError(f"{len(target) - left} of {len(target)} partitions moved", 1.0)
    leaving = set(_leaving(run))
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


def elect_preferred_leaders(run: StepRun[NoProgress]) -> None:
    try:
        reassignment.elect_preferred_leaders(run.ctx.bootstrap(run.cluster))
    except reassignment.ReassignmentError as error:
        raise TemporaryError(f"electing preferred leaders: {error}", 2.0) from error


def _encode(target: dict[tuple[str, int], list[int]]) -> list[list[Any]]:
    return [[topic, partition, list(replicas)] for (topic, partition), replicas in target.items()]


def _decode(data: list[list[Any]]) -> dict[tuple[str, int], list[int]]:
    if not isinstance(data, list):
        return {}
    return {(str(t), int(p)): [int(b) for b in r] for t, p, r in data}

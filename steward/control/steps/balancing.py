"""A rebalance as a cluster operation: plan once, then move replicas in throttled batches.

`PLAN_BALANCE` builds the balancer's model of the cluster as it is now and keeps the plan in the
operation (a restarted control plane goes on with the same plan). `MOVE_IN_BATCHES` carries it
out under the rolling rule:

- one batch at a time: the next batch starts only once every partition of the last one is
  where the plan puts it;
- a batch starts only while no partition of the cluster is below its topic's
  `min.insync.replicas` (a move adds the new replicas before it drops the old ones, so it never
  takes a partition below; but a batch on top of a partition already short would slow its
  recovery and risk acks=all producers);
- a batch keeps every broker within `MOVES_PER_BROKER` partitions moving at once
  (`next_moves`), and the replicas that move are throttled to the cluster's reassignment rate.

Then the preferred leaders are elected (the plan's reordered replica lists), and the throttle is
cleared.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from steward.balancer.planner import PlanningError, plan_balance
from steward.control.cluster_model import build_model
from steward.control.step import StepRun
from steward.control.steps.nodes import brokers_of
from steward.control.steps.replicas import REASSIGNMENT_TIMEOUT, next_moves
from steward.domain.errors import PermanentError, TemporaryError
from steward.domain.model import StateInfo
from steward.kafka import health, reassignment
from steward.kafka.reassignment import Partition

log = logging.getLogger(__name__)

REBALANCING = "REBALANCING"
"""The cluster's StateInfo code while a rebalance runs."""


@dataclass
class BalancePlanProgress:
    planned: bool = False
    target: list[list[Any]] = field(default_factory=list)
    """[topic, partition, replicas] for every partition the plan changes."""
    moves: int = 0
    bytes_moved: int = 0
    leadership_changes: int = 0
    before: dict[str, float] = field(default_factory=dict)
    """Each goal's largest deviation, as a fraction of its mean, before the plan."""
    after: dict[str, float] = field(default_factory=dict)


@dataclass
class BatchProgress:
    batches: int = 0
    batch: list[list[Any]] = field(default_factory=list)
    """[topic, partition] of each move of the batch under way."""
    waiting_for: str = ""


def encode(target: dict[Partition, list[int]]) -> list[list[Any]]:
    return [[t, p, list(r)] for (t, p), r in sorted(target.items())]


def decode(data: object) -> dict[Partition, list[int]]:
    if not isinstance(data, list):
        return {}
    return {(str(t), int(p)): [int(b) for b in r] for t, p, r in data}


def plan_rebalance(run: StepRun[BalancePlanProgress]) -> None:
    if run.progress.planned:
        return
    ctx, cluster = run.ctx, run.cluster
    brokers = brokers_of(ctx, cluster)
    try:
        model = build_model(ctx.bootstrap(cluster), cluster, brokers, ctx.metrics)
    except reassignment.ReassignmentError as error:
        raise TemporaryError(f"reading the cluster's partitions: {error}", 2.0) from error
    try:
        plan = plan_balance(model)
    except PlanningError as error:
        raise PermanentError(str(error), "InsufficientBrokers") from error
    progress = run.progress
    progress.target = encode(plan.target)
    progress.moves = len(plan.moves)
    progress.bytes_moved = plan.bytes_moved
    progress.leadership_changes = plan.leadership_changes
    progress.before = {goal.value: round(s.relative, 4) for goal, s in plan.before.items()}
    progress.after = {goal.value: round(s.relative, 4) for goal, s in plan.after.items()}
    progress.planned = True
    cluster.state_info = StateInfo(
        REBALANCING,
        f"moving {progress.moves} replicas ({progress.bytes_moved} bytes) and "
        f"{progress.leadership_changes} leaders",
    )
    run.save(with_cluster=True)
    log.info("%s: rebalance planned: %s", cluster.name, cluster.state_info.message)


def move_in_batches(run: StepRun[BatchProgress]) -> None:
    ctx, cluster, progress = run.ctx, run.cluster, run.progress
    target = decode(run.progress_of("PLAN_BALANCE", BalancePlanProgress).target)
    bootstrap = ctx.bootstrap(cluster)
    try:
        moving = reassignment.reassignments_in_progress(bootstrap)
        in_batch = {(str(t), int(p)) for t, p in progress.batch}
        still = sorted(k for k in in_batch if k in moving)
        if still:
            _wait(run, f"batch {progress.batches}: {len(still)} of {len(in_batch)} moving")
        current = reassignment.current_assignment(bootstrap)
        todo = {k: r for k, r in target.items() if k in current and current[k] != r}
        involved = sorted(b.node_id for b in brokers_of(ctx, cluster))
        if not todo:
            topics = sorted({t for t, _ in target})
            reassignment.clear_replication_throttle(bootstrap, involved, topics)
            return
        short = _below_min_isr(bootstrap)
        if short:
            _wait(run, f"{short} partitions are below min.insync.replicas; the next batch waits")
        batch = next_moves(todo, current, {tp: list(m.target) for tp, m in moving.items()})
        if not batch:
            _wait(run, "waiting for moves Kafka has under way")
        progress.batches += 1
        progress.batch = [[t, p] for t, p in sorted(batch)]
        progress.waiting_for = ""
        run.save()
        reassignment.set_replication_throttle(
            bootstrap, involved, ctx.settings.reassignment_throttle
        )
        reassignment.start_reassignment(bootstrap, batch)
    except (reassignment.ReassignmentError, health.HealthError) as error:
        raise TemporaryError(f"moving replicas: {error}", 2.0) from error
    raise TemporaryError(
        f"batch {progress.batches} started: {len(batch)} partitions, {len(todo)} left", 1.0
    )


def _wait(run: StepRun[BatchProgress], why: str) -> None:
    if run.elapsed > REASSIGNMENT_TIMEOUT:
        raise PermanentError(
            f"the rebalance did not finish within {REASSIGNMENT_TIMEOUT:.0f} s: {why}",
            "ReassignmentTimeout",
        )
    if run.progress.waiting_for != why:
        run.progress.waiting_for = why
        run.save()
    raise TemporaryError(why, 1.0)


def _below_min_isr(bootstrap: str) -> int:
    states = health.partition_states(bootstrap)
    minimum = health.min_insync_replicas(bootstrap, {s.topic for s in states})
    return sum(1 for s in states if len(s.isr) < minimum.get(s.topic, 1))

"""The balancing planner: a greedy search with the goals as a lexicographic objective.

Each goal (`steward.balancer.model.GOALS`: replicas, disk, network in, network out, leaders) has
a score, the sum over brokers of (utilization - mean utilization)^2, and a tolerance: the goal is
met when no broker's utilization is further from the mean than the tolerance (10 % of the mean,
and at least one replica or leader for the counting goals). Zone spread is a hard rule: no move
lowers the number of zones a partition's replicas cover.

The plan is built in phases on a working copy:

1. replicas on leaving brokers (in the assignment, not in the model's brokers) are placed on the
   staying broker that is lowest on the goals, in goal order, and keeps the partition's spread;
2. partitions whose replicas cover fewer zones than they could (min(RF, zones)) get a replica
   moved out of a zone holding two into a missing zone (`repair_spread`);
3. the goals, one after the other: while a goal is not met, the planner looks at the brokers
   furthest above its mean and takes the single action that lowers the goal's score most per
   byte copied, among moving one replica to a broker below the mean and, for network out and
   leaders, handing leadership to a follower (no byte copied, so it wins whenever it helps);
   when no such action is allowed, two replicas trading brokers (replica counts unchanged),
   the heaviest of the loaded brokers against the lightest of the others. An
   action is allowed only if it keeps every earlier goal no worse than it is: each broker it
   touches stays within max(tolerance, the goal's current largest deviation). So a later goal
   never undoes an earlier one, which is what lexicographic means here.

Every move costs the partition's size plus a fixed `MOVE_OVERHEAD_BYTES`, so that a plan does not
trade one large move for hundreds of tiny ones. The planner stops when every goal is met or no
allowed action improves the current one. It is deterministic: the same model gives the same plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from steward.balancer.model import GOALS, ClusterModel, PartitionKey, Resource, zone_spread

TOLERANCE = 0.10
"""How far from the mean utilization a broker may be, as a fraction of the mean."""
COUNT_SLACK = 1.0
"""For the counting goals (replicas, leaders), the deviation always allowed."""
MOVE_OVERHEAD_BYTES = 1 << 20
"""What a move costs beyond its bytes (metadata, a leader election, the throttle's setup)."""
MAX_ACTIONS = 10_000
"""A bound on the number of actions of one plan, whatever the model."""
SOURCES_PER_STEP = 3
"""Brokers furthest above the mean that one step takes replicas from."""
SWAP_BROKERS = 2
"""When no single move is allowed: brokers on each side whose replicas may trade places."""
SWAP_CANDIDATES = 24
"""... and how many of each broker's heaviest (or lightest) replicas are tried."""


class PlanningError(ValueError):
    """The model cannot be balanced: a partition has more replicas than staying brokers."""


@dataclass(frozen=True)
class Move:
    key: PartitionKey
    source: int
    destination: int
    size_bytes: int


@dataclass(frozen=True)
class GoalState:
    """How far one goal is from met: the mean utilization, the largest deviation from it."""

    mean: float
    max_deviation: float
    tolerance: float

    @property
    def met(self) -> bool:
        return self.max_deviation <= self.tolerance + 1e-9

    @property
    def relative(self) -> float:
        """The largest deviation as a fraction of the mean (0 when there is no load)."""
        return self.max_deviation / self.mean if self.mean > 0 else 0.0


@dataclass
class BalancePlan:
    target: dict[PartitionKey, list[int]]
    """The new replica list of every partition that changes, and of no other."""
    moves: list[Move]
    leadership_changes: int
    before: dict[Resource, GoalState]
    after: dict[Resource, GoalState]
    notes: list[str] = field(default_factory=list)

    @property
    def bytes_moved(self) -> int:
        return sum(m.size_bytes for m in self.moves)

    def seconds_at(self, bytes_per_s: float) -> float:
        """How long copying the plan's bytes takes at a replication throttle of `bytes_per_s`."""
        return self.bytes_moved / bytes_per_s if bytes_per_s > 0 else 0.0


def plan_balance(model: ClusterModel, *, repair_spread: bool = True) -> BalancePlan:
    """The fewest-bytes plan this greedy search finds that meets the goals in order."""
    work = _Working(model)
    before = work.states()
    work.drain_leaving()
    if repair_spread:
        work.repair_spread()
    for index, goal in enumerate(GOALS):
        work.meet(goal, GOALS[:index])
    original = model.assignment
    target = {k: r for k, r in work.replicas.items() if r != original[k]}
    return BalancePlan(
        target=target,
        moves=moves_between(model, original, work.replicas),
        leadership_changes=sum(
            1 for k, r in target.items() if r and original[k] and r[0] != original[k][0]
        ),
        before=before,
        after=work.states(),
        notes=work.notes,
    )


def goal_states(
    model: ClusterModel, assignment: Mapping[PartitionKey, Sequence[int]] | None = None
) -> dict[Resource, GoalState]:
    """Each goal's state under `assignment` (the model's own by default)."""
    work = _Working(model)
    if assignment is not None:
        work.replicas = {k: list(r) for k, r in assignment.items()}
        work.recount()
    return work.states()


def imbalance(model: ClusterModel) -> float:
    """The worst relative deviation over the goals that are not met (0 when all are): what
    continuous balancing compares with its threshold."""
    return max((s.relative for s in goal_states(model).values() if not s.met), default=0.0)


def moves_between(
    model: ClusterModel,
    before: Mapping[PartitionKey, Sequence[int]],
    after: Mapping[PartitionKey, Sequence[int]],
) -> list[Move]:
    """The replica copies that take `before` to `after`: each broker that gains a partition,
    paired with one that loses it."""
    found = []
    for key in sorted(after):
        gained = [b for b in after[key] if b not in before[key]]
        lost = [b for b in before[key] if b not in after[key]]
        for source, destination in zip(lost, gained, strict=False):
            found.append(Move(key, source, destination, model.partitions[key].size_bytes))
    return found


def round_robin_assignment(model: ClusterModel) -> dict[PartitionKey, list[int]]:
    """What a naive reassignment does (Kafka's `--generate` without a balancer): every partition
    laid out afresh, round robin over the brokers in zone-alternating order, ignoring where its
    replicas are now. Used as the baseline the planner is measured against."""
    by_zone: dict[str, list[int]] = {}
    for broker in sorted(model.brokers.values(), key=lambda b: b.broker_id):
        by_zone.setdefault(broker.zone, []).append(broker.broker_id)
    order: list[int] = []
    columns = max((len(v) for v in by_zone.values()), default=0)
    for i in range(columns):
        for zone in sorted(by_zone):
            if i < len(by_zone[zone]):
                order.append(by_zone[zone][i])
    result = {}
    n = len(order)
    for index, key in enumerate(sorted(model.partitions)):
        rf = len(model.partitions[key].replicas)
        shift = (index // n) % max(1, n - 1)  # Kafka's replica shift, so followers spread too
        first = index % n
        result[key] = [order[first]] + [
            order[(first + 1 + (shift + j - 1) % max(1, n - 1)) % n] for j in range(1, rf)
        ]
    return result


class _Working:
    """The planner's working copy: replica lists and every goal's load per broker."""

    def __init__(self, model: ClusterModel) -> None:
        self.model = model
        self.zone_of = {b: broker.zone for b, broker in model.brokers.items()}
        self.best_zones = len(set(self.zone_of.values()))
        self.replicas = {k: list(p.replicas) for k, p in model.partitions.items()}
        self.capacity = {
            r: {b: broker.capacity.of(r) for b, broker in model.brokers.items()} for r in GOALS
        }
        self.notes: list[str] = []
        self.vectors = {
            key: (
                tuple(p.replica_load(r, True) for r in GOALS),
                tuple(p.replica_load(r, False) for r in GOALS),
            )
            for key, p in model.partitions.items()
        }
        """Per partition, what a leader and what a follower replica put on each goal."""
        for key, replicas in self.replicas.items():
            if len(replicas) > len(self.zone_of):
                raise PlanningError(
                    f"partition {key[1]} of topic {key[0]!r} has {len(replicas)} replicas but "
                    f"only {len(self.zone_of)} brokers would hold them"
                )
        self.recount()

    # --- bookkeeping ----------------------------------------------------------------------------
    def recount(self) -> None:
        self.load = self.model.loads(self.replicas)
        self.held: dict[int, set[PartitionKey]] = {b: set() for b in self.zone_of}
        for key, replicas in self.replicas.items():
            for b in replicas:
                if b in self.held:
                    self.held[b].add(key)
        self.mean = {r: self._mean(r) for r in GOALS}

    def _mean(self, resource: Resource) -> float:
        capacity = sum(self.capacity[resource].values())
        return sum(self.load[resource].values()) / capacity if capacity else 0.0

    def util(self, resource: Resource, broker: int, extra: float = 0.0) -> float:
        return (self.load[resource][broker] + extra) / self.capacity[resource][broker]

    def tolerance(self, resource: Resource) -> float:
        slack = TOLERANCE * self.mean[resource]
        if resource in (Resource.REPLICAS, Resource.LEADERS):
            return max(slack, COUNT_SLACK)
        return slack

    def max_deviation(self, resource: Resource) -> float:
        mean = self.mean[resource]
        return max((abs(self.util(resource, b) - mean) for b in self.zone_of), default=0.0)

    def states(self) -> dict[Resource, GoalState]:
        return {r: GoalState(self.mean[r], self.max_deviation(r), self.tolerance(r)) for r in GOALS}

    def spread(self, replicas: Sequence[int]) -> int:
        return zone_spread(replicas, self.zone_of)

    def deltas(
        self, key: PartitionKey, before: Sequence[int], after: Sequence[int]
    ) -> dict[Resource, dict[int, float]]:
        """How each goal's load changes per broker when the partition goes from `before` to
        `after` (only brokers that change appear)."""
        leading, following = self.vectors[key]
        changes: list[dict[int, float]] = [{} for _ in GOALS]
        for replicas, sign in ((before, -1.0), (after, 1.0)):
            for position, broker in enumerate(replicas):
                if broker not in self.zone_of:
                    continue
                for i, amount in enumerate(leading if position == 0 else following):
                    if amount:
                        found = changes[i]
                        found[broker] = found.get(broker, 0.0) + sign * amount
        return {
            r: {b: d for b, d in changes[i].items() if abs(d) > 1e-12} for i, r in enumerate(GOALS)
        }

    def apply(self, key: PartitionKey, after: list[int]) -> None:
        before = self.replicas[key]
        for r, change in self.deltas(key, before, after).items():
            for broker, amount in change.items():
                self.load[r][broker] += amount
        for b in before:
            if b in self.held:
                self.held[b].discard(key)
        for b in after:
            self.held[b].add(key)
        self.replicas[key] = after

    def score_change(self, resource: Resource, change: Mapping[int, float]) -> float:
        mean = self.mean[resource]
        total = 0.0
        for broker, amount in change.items():
            old = self.util(resource, broker) - mean
            new = self.util(resource, broker, amount) - mean
            total += new * new - old * old
        return total

    def keeps(
        self,
        earlier: Sequence[Resource],
        deltas: Mapping[Resource, Mapping[int, float]],
        bounds: Mapping[Resource, float],
    ) -> bool:
        """Whether the change leaves every earlier goal no worse than `bounds` allow."""
        for r in earlier:
            mean = self.mean[r]
            for broker, amount in deltas[r].items():
                deviation = abs(self.util(r, broker, amount) - mean)
                old = abs(self.util(r, broker) - mean)
                if deviation > bounds[r] + 1e-9 and deviation > old + 1e-9:
                    return False
        return True

    # --- phase 1: leaving brokers ---------------------------------------------------------------
    def drain_leaving(self) -> None:
        for key in sorted(self.replicas):
            for position, broker in enumerate(list(self.replicas[key])):
                if broker in self.zone_of:
                    continue
                current = self.replicas[key]
                options = []
                for destination in self.zone_of:
                    if destination in current:
                        continue
                    after = list(current)
                    after[position] = destination
                    options.append(
                        (
                            -self.spread(after),
                            tuple(self.util(r, destination) for r in GOALS),
                            destination,
                            after,
                        )
                    )
                if not options:
                    raise PlanningError(f"no broker can take a replica of {key}")
                self.apply(key, min(options)[3])

    # --- phase 2: zone spread ------------------------------------------------------------------
    def repair_spread(self) -> None:
        for key in sorted(self.replicas):
            replicas = self.replicas[key]
            wanted = min(self.best_zones, len(replicas))
            while self.spread(self.replicas[key]) < wanted:
                replicas = self.replicas[key]
                zones = [self.zone_of[b] for b in replicas]
                doubled = [b for b in replicas if zones.count(self.zone_of[b]) > 1]
                missing = sorted(set(self.zone_of.values()) - set(zones))
                options = [
                    (self.util(Resource.REPLICAS, d), self.util(Resource.DISK, d), d, s)
                    for s in doubled
                    for d in self.zone_of
                    if self.zone_of[d] in missing
                ]
                if not options:
                    break
                _, _, destination, source = min(options)
                after = [destination if b == source else b for b in replicas]
                self.apply(key, after)

    # --- phase 3: the goals in order -----------------------------------------------------------
    def meet(self, goal: Resource, earlier: Sequence[Resource]) -> None:
        for _ in range(MAX_ACTIONS):
            if self.max_deviation(goal) <= self.tolerance(goal) + 1e-9:
                return
            action = self.best_action(goal, earlier)
            if action is None:
                state = self.states()[goal]
                self.notes.append(
                    f"{goal.value}: no allowed move improves it further "
                    f"(largest deviation {state.relative:.0%} of the mean)"
                )
                return
            for i in range(0, len(action), 2):
                self.apply(action[i], action[i + 1])

    def best_action(
        self, goal: Resource, earlier: Sequence[Resource]
    ) -> (
        tuple[PartitionKey, list[int]]
        | tuple[PartitionKey, list[int], PartitionKey, list[int]]
        | None
    ):
        """The allowed action that lowers `goal` most per byte copied: a replica moved, a
        leadership handed over, or two replicas of different partitions trading brokers (which
        leaves replica counts as they are, so disk and network can be evened out once counts are
        at their tolerance). Its gain counts the later goals too, each in units of its
        tolerance, so that of two moves equally good for `goal` the one that also helps the
        next goals wins: moving the replicas the later goals need moved anyway is what keeps
        the bytes down."""
        mean = self.mean[goal]
        later = GOALS[GOALS.index(goal) + 1 :]
        bounds = {r: max(self.tolerance(r), self.max_deviation(r)) for r in earlier}
        brokers = sorted(self.zone_of, key=lambda b: (-self.util(goal, b), b))
        sources = [b for b in brokers if self.util(goal, b) > mean][:SOURCES_PER_STEP]
        destinations = [b for b in reversed(brokers) if self.util(goal, b) < mean]
        best: tuple[tuple[bool, float], tuple[Any, ...]] | None = None

        def consider(changes: list[tuple[PartitionKey, list[int], list[int]]], cost: float) -> None:
            nonlocal best
            deltas: dict[Resource, dict[int, float]] = {r: {} for r in GOALS}
            for key, before, after in changes:
                for r, change in self.deltas(key, before, after).items():
                    for b, amount in change.items():
                        deltas[r][b] = deltas[r].get(b, 0.0) + amount
            gain = -self.score_change(goal, deltas[goal])
            if gain <= 1e-12 or not self.keeps(earlier, deltas, bounds):
                return
            total = gain / self.unit(goal) + sum(
                -self.score_change(r, deltas[r]) / self.unit(r) for r in later
            )
            value = (cost == 0.0, total if cost == 0.0 else total / cost)
            if best is None or value > best[0]:
                best = (value, tuple(x for key, _, after in changes for x in (key, after)))

        for source in sources:
            for key in sorted(self.held[source]):
                current = self.replicas[key]
                spread = self.spread(current)
                size = self.model.partitions[key].size_bytes
                if goal in (Resource.NETWORK_OUT, Resource.LEADERS) and current[0] == source:
                    for i in range(1, len(current)):
                        after = list(current)
                        after[0], after[i] = after[i], after[0]
                        consider([(key, current, after)], 0.0)
                for destination in destinations:
                    if destination in current:
                        continue
                    after = [destination if b == source else b for b in current]
                    if self.spread(after) < spread:
                        continue
                    consider([(key, current, after)], float(size + MOVE_OVERHEAD_BYTES))
        if best is not None or goal is Resource.REPLICAS:
            return best[1] if best is not None else None  # type: ignore[return-value]
        # No single move is allowed (the earlier goals are at their bounds): trade replicas.
        # The heaviest replicas of the most loaded brokers against the lightest of the least
        # loaded ones are the trades that can help; the rest are not looked at.
        for source in sources[:SWAP_BROKERS]:
            heavy = self.heaviest(source, goal, SWAP_CANDIDATES)
            for destination in destinations[:SWAP_BROKERS]:
                light = self.heaviest(destination, goal, SWAP_CANDIDATES, lightest=True)
                for key in heavy:
                    current = self.replicas[key]
                    if destination in current:
                        continue
                    after = [destination if b == source else b for b in current]
                    if self.spread(after) < self.spread(current):
                        continue
                    size = self.model.partitions[key].size_bytes
                    for other in light:
                        other_now = self.replicas[other]
                        if other == key or source in other_now:
                            continue
                        other_after = [source if b == destination else b for b in other_now]
                        if self.spread(other_after) < self.spread(other_now):
                            continue
                        other_size = self.model.partitions[other].size_bytes
                        consider(
                            [(key, current, after), (other, other_now, other_after)],
                            float(size + other_size + 2 * MOVE_OVERHEAD_BYTES),
                        )
        return best[1] if best is not None else None  # type: ignore[return-value]

    def heaviest(
        self, broker: int, goal: Resource, count: int, lightest: bool = False
    ) -> list[PartitionKey]:
        """The `count` replicas on `broker` that weigh most (or least) on `goal`."""

        def weight(key: PartitionKey) -> tuple[float, PartitionKey]:
            leader = self.replicas[key][0] == broker
            load = self.model.partitions[key].replica_load(goal, leader)
            return (load if lightest else -load, key)

        return sorted(self.held[broker], key=weight)[:count]

    def unit(self, resource: Resource) -> float:
        """A goal's score in units of its tolerance (squared), so goals compare."""
        return max(self.tolerance(resource), 1e-12) ** 2

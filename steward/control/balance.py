"""Replica placement when brokers join or leave a cluster.

`plan_reassignment` takes every partition's replica list and the brokers that must hold replicas
afterwards (broker id -> zone), and returns the partitions whose replica list has to change.
Brokers in the assignment but missing from `brokers` are leaving: their replicas are *pending* and
must be placed on staying brokers. Nothing here talks to Kafka.

Rules, most important first:

1. every partition keeps its replication factor (`BalanceError` when too few brokers remain);
2. zone spread: a partition's replicas cover as many zones as they can, min(RF, zones). No move
   lowers a partition's spread, and a partition that has to move anyway (it has a replica on a
   leaving broker) gets full spread. `repair_spread=True` gives every partition full spread;
3. replicas per broker within 1 of each other, as far as spread allows;
4. preferred leaders (first replicas) per broker within 1, by reordering replica lists only;
5. as few moves (a replica placed on a broker that did not hold it) as rules 1-3 allow;
6. deterministic: the same input gives the same plan.

The plan is built in greedy steps on a working copy (`_Layout`):

1. Pending replicas are placed (`_place_pending`): first into the zones their partition is missing,
   then on the brokers furthest below their target, the most constrained replicas first. When none
   of a replica's brokers is below target, a replica placed earlier may make room by moving on
   along a chain to one that is. `_repair_spread` then covers the zones still missing by moving a
   replica out of a zone that holds two.
2. `_zone_targets` decides how many replicas each zone holds: one unit at a time to the zone whose
   brokers stay lowest, within the bounds spread sets for each zone, and on a tie to the zone that
   can take it without a move. Among the zone totals that let every broker end with k or k + 1
   replicas (k = replicas // brokers), this picks one that needs the fewest replicas to arrive on
   brokers below their share.
3. `_balance_zones` moves replicas from zones above their target to zones below it, never lowering
   a partition's spread; a replica may go through a third zone when no direct move is allowed.
   With equally sized zones brokers always end within 1 of each other: a zone X above target
   holding more replicas than a zone Y below target holds a partition that Y lacks or that X holds
   twice, which can move; and if X holds no more than Y, both already lie where their brokers can
   hold k or k + 1 replicas each. With uneven zones a small zone may have to keep one replica of
   every partition; its brokers then stay above the rest, and the other zones are balanced among
   themselves.
4. `_balance_within_zones` moves replicas from a zone's brokers above target to those below it.
   A move inside a zone never changes spread, and a broker above target holds more partitions than
   one below target, hence one that the other lacks: each move goes straight where it is needed.
5. `_balance_leaders` hands preferred leadership along chains of replicas (a follower becomes first
   replica) until no broker leads two more partitions than one it can reach; partitions that change
   anyway are reordered first, as that costs nothing.

Moves: each replica on a leaving broker moves once; other replicas leave only brokers above their
share, except where spread forces a detour (one more move, or one per zone a partition is missing).
So scaling in moves exactly the leaving brokers' replicas, and scaling out from N balanced brokers
to M moves about replicas * (M - N) / M. tests/unit/test_balance.py checks moves against a proven
lower bound (met exactly by rack-aware clusters whose topics share a replication factor) and
against the true optimum of small clusters (at most one above it).
"""

from __future__ import annotations

import heapq
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

PartitionKey = tuple[str, int]
Assignment = Mapping[PartitionKey, Sequence[int]]


class BalanceError(ValueError):
    """The assignment cannot be placed on the given brokers."""


@dataclass(frozen=True)
class Plan:
    """The partitions whose replica lists change, and the cluster's shape afterwards."""

    target: dict[PartitionKey, list[int]]
    """New ordered replica list of every partition that changes, and of no other."""
    moves: int
    """Replicas placed on a broker that did not hold them: the copies Kafka has to make."""
    replica_counts: dict[int, int]
    """Replicas per broker after the plan, for every broker in `brokers`."""
    leader_counts: dict[int, int]
    """Preferred leaders per broker after the plan, for every broker in `brokers`."""


def plan_reassignment(
    assignment: Assignment, brokers: Mapping[int, str], *, repair_spread: bool = False
) -> Plan:
    """Plan the moves that empty the brokers missing from `brokers` and balance the others.

    `assignment` maps (topic, partition) to its replica list, preferred leader first; `brokers`
    maps each broker that must hold replicas afterwards to its zone. With `repair_spread=True`
    every partition whose replicas cover fewer zones than they could is fixed too, which costs
    moves; otherwise only partitions that move anyway are.
    """
    _check_assignment(assignment, brokers)
    layout = _Layout(assignment, brokers)
    required_spread = _required_spread(layout, everything=repair_spread)
    _place_pending(layout, _zone_targets(layout, required_spread), required_spread)
    _repair_spread(layout, required_spread)
    _balance_zones(layout, _zone_targets(layout, required_spread), required_spread)
    _balance_within_zones(layout)
    _balance_leaders(layout, assignment)
    target = {
        key: replicas
        for key, replicas in layout.replicas.items()
        if replicas != list(assignment[key])
    }
    return Plan(
        target=target,
        moves=count_moves(assignment, target),
        replica_counts=replica_counts(layout.replicas, brokers),
        leader_counts=leader_counts(layout.replicas, brokers),
    )


def plan_topic_by_topic(
    assignment: Assignment,
    brokers: Mapping[int, str],
    sizes: Mapping[PartitionKey, int] | None = None,
) -> Plan:
    """Like `plan_reassignment`, but every topic is first balanced on its own, then the cluster
    as a whole. A replica count says nothing of the bytes behind it: balancing only the cluster's
    counts could fill new brokers with empty partitions (`__consumer_offsets`) and leave the data
    where it was. Partitions of one topic are usually alike in size, so a topic spread evenly over
    the brokers spreads its data evenly; the final pass evens out what the topics' remainders
    left, with few moves. Given the partitions' `sizes` in bytes, `even_out_bytes` then picks,
    among replicas of a topic that could trade places, those that leave the brokers' bytes
    closest to even."""
    _check_assignment(assignment, brokers)
    merged = {key: list(replicas) for key, replicas in assignment.items()}
    for topic in sorted({topic for topic, _ in assignment}):
        part = {key: replicas for key, replicas in merged.items() if key[0] == topic}
        merged.update(plan_reassignment(part, brokers).target)
    merged.update(plan_reassignment(merged, brokers).target)
    if sizes:
        even_out_bytes(assignment, merged, brokers, sizes)
    target = {
        key: replicas for key, replicas in merged.items() if replicas != list(assignment[key])
    }
    return Plan(
        target=target,
        moves=count_moves(assignment, target),
        replica_counts=replica_counts(merged, brokers),
        leader_counts=leader_counts(merged, brokers),
    )


def even_out_bytes(
    original: Assignment,
    layout: dict[PartitionKey, list[int]],
    brokers: Mapping[int, str],
    sizes: Mapping[PartitionKey, int],
    max_swaps: int = 10_000,
) -> int:
    """Swap replicas in `layout` (in place) while a swap brings the brokers' bytes closer to
    even; the number of swaps made. Two replicas trade brokers only when they belong to the same
    topic, sit on brokers of the same zone, are both preferred leaders or both followers, and the
    swap adds no move against `original`: so replicas and preferred leaders per broker and per
    topic, zone spread and the number of moves all stay as the count-based plan left them. Trading
    a replica that moves for one that stays changes which bytes are copied, not how many
    replicas."""

    def load_of(broker: int) -> int:
        return load.get(broker, 0)

    load: Counter[int] = Counter()
    for key, replicas in layout.items():
        for broker in replicas:
            load[broker] += sizes.get(key, 0)
    by_group: dict[tuple[str, str, bool], list[tuple[PartitionKey, int]]] = {}
    for key, replicas in layout.items():
        for position, broker in enumerate(replicas):
            if broker in brokers:
                group = (key[0], brokers[broker], position == 0)
                by_group.setdefault(group, []).append((key, position))

    def moves(key: PartitionKey) -> int:
        return len(set(layout[key]) - set(original[key]))

    swaps = 0
    improved = True
    while improved and swaps < max_swaps:
        improved = False
        for members in by_group.values():
            for i, (p, pi) in enumerate(members):
                for q, qi in members[i + 1 :]:
                    x, y = layout[p][pi], layout[q][qi]
                    if p == q or x == y or y in layout[p] or x in layout[q]:
                        continue
                    delta = sizes.get(p, 0) - sizes.get(q, 0)  # bytes x gives y by the swap
                    if delta == 0:
                        continue
                    before = (load_of(x) - load_of(y)) ** 2
                    after = (load_of(x) - delta - load_of(y) - delta) ** 2
                    if after >= before:
                        continue
                    moved = moves(p) + moves(q)
                    layout[p][pi], layout[q][qi] = y, x
                    if moves(p) + moves(q) > moved:
                        layout[p][pi], layout[q][qi] = x, y
                        continue
                    load[x] -= delta
                    load[y] += delta
                    swaps += 1
                    improved = True
    return swaps


def apply_plan(assignment: Assignment, plan: Plan) -> dict[PartitionKey, list[int]]:
    """The whole assignment once the plan is carried out."""
    return {key: list(plan.target.get(key, replicas)) for key, replicas in assignment.items()}


def count_moves(before: Assignment, after: Assignment) -> int:
    """Replicas in `after` on a broker that did not hold that partition in `before`."""
    return sum(len(set(replicas) - set(before[key])) for key, replicas in after.items())


def zone_spread(replicas: Sequence[int], brokers: Mapping[int, str]) -> int:
    """How many zones the replicas cover, counting only brokers in `brokers`."""
    return len({brokers[b] for b in replicas if b in brokers})


def best_spread(replication_factor: int, brokers: Mapping[int, str]) -> int:
    """The most zones a partition with this replication factor can cover on these brokers."""
    return min(replication_factor, len(set(brokers.values())))


def replica_counts(assignment: Assignment, brokers: Mapping[int, str]) -> dict[int, int]:
    """Replicas per broker of `brokers` (zero for brokers without any)."""
    counts = dict.fromkeys(sorted(brokers), 0)
    for replicas in assignment.values():
        for broker in replicas:
            if broker in counts:
                counts[broker] += 1
    return counts


def leader_counts(assignment: Assignment, brokers: Mapping[int, str]) -> dict[int, int]:
    """Preferred leaders (first replicas) per broker of `brokers`."""
    counts = dict.fromkeys(sorted(brokers), 0)
    for replicas in assignment.values():
        if replicas and replicas[0] in counts:
            counts[replicas[0]] += 1
    return counts


def _check_assignment(assignment: Assignment, brokers: Mapping[int, str]) -> None:
    for (topic, partition), replicas in sorted(assignment.items()):
        if not replicas:
            raise BalanceError(f"partition {partition} of topic {topic!r} has no replicas")
        if len(set(replicas)) != len(replicas):
            raise BalanceError(
                f"partition {partition} of topic {topic!r} lists a broker twice: {list(replicas)}"
            )
        if len(replicas) > len(brokers):
            raise BalanceError(
                f"topic {topic!r} has replication factor {len(replicas)} "
                f"but only {len(brokers)} brokers would remain"
            )


class _Layout:
    """The working copy the planner edits: replica lists, and which staying broker holds what.

    A pending replica keeps its list position until it is placed, so its new broker takes over
    its position (and its preferred leadership, if it was first).
    """

    def __init__(self, assignment: Assignment, brokers: Mapping[int, str]) -> None:
        self.zone_of = dict(brokers)
        self.zones = sorted(set(brokers.values()))
        self.members = {z: sorted(b for b in brokers if brokers[b] == z) for z in self.zones}
        self.replicas = {key: list(assignment[key]) for key in sorted(assignment)}
        self.held: dict[int, set[PartitionKey]] = {broker: set() for broker in sorted(brokers)}
        self.zone_total = dict.fromkeys(self.zones, 0)
        self.moved: set[PartitionKey] = set()
        self.leading = Counter(replicas[0] for replicas in self.replicas.values())
        for key, replicas in self.replicas.items():
            for broker in replicas:
                if broker in self.held:
                    self.held[broker].add(key)
                    self.zone_total[self.zone_of[broker]] += 1

    def count(self, broker: int) -> int:
        return len(self.held[broker])

    def holds(self, broker: int, key: PartitionKey) -> bool:
        return key in self.held[broker]

    def zone_counts(self, key: PartitionKey) -> dict[str, int]:
        """Replicas of the partition per zone, on staying brokers."""
        counts: dict[str, int] = {}
        for broker in self.replicas[key]:
            zone = self.zone_of.get(broker)
            if zone is not None:
                counts[zone] = counts.get(zone, 0) + 1
        return counts

    def spread(self, key: PartitionKey) -> int:
        return len(self.zone_counts(key))

    def best_spread(self, key: PartitionKey) -> int:
        return min(len(self.replicas[key]), len(self.zones))

    def pending(self, key: PartitionKey) -> list[int]:
        """Positions in the replica list still held by a leaving broker."""
        return [i for i, broker in enumerate(self.replicas[key]) if broker not in self.held]

    def brokers_without(self, key: PartitionKey) -> list[int]:
        return [broker for broker, keys in self.held.items() if key not in keys]

    def brokers_in_missing_zones(self, key: PartitionKey) -> list[int]:
        present = self.zone_counts(key)
        return [broker for broker in self.held if self.zone_of[broker] not in present]

    def move(self, key: PartitionKey, source: int, destination: int) -> None:
        """Replace `source` by `destination` in the partition's replica list, in place."""
        replicas = self.replicas[key]
        position = replicas.index(source)
        replicas[position] = destination
        if position == 0:
            self.leading[source] -= 1
            self.leading[destination] += 1
        if source in self.held:
            self.held[source].discard(key)
            self.zone_total[self.zone_of[source]] -= 1
        self.held[destination].add(key)
        self.zone_total[self.zone_of[destination]] += 1
        self.moved.add(key)

    def departure_order(self, broker: int) -> list[PartitionKey]:
        """The broker's partitions in the order they should leave it.

        Each topic is thinned out evenly (every other partition rather than its first half), so
        a broker that gives up half of its replicas gives up about half of each topic.
        """
        by_topic: dict[str, list[PartitionKey]] = {}
        for key in sorted(self.held[broker]):
            by_topic.setdefault(key[0], []).append(key)
        evenly = [
            ((2 * i + 1) / (2 * len(keys)), key)
            for keys in by_topic.values()
            for i, key in enumerate(keys)
        ]
        return [key for _, key in sorted(evenly)]


# --- step 1: pending replicas and spread ---------------------------------------------------------
def _required_spread(layout: _Layout, *, everything: bool) -> dict[PartitionKey, int]:
    """The zones each partition must cover when the plan is done: all it can if it has a pending
    replica (or `everything`), else the zones it covers now."""
    return {
        key: layout.best_spread(key) if everything or layout.pending(key) else layout.spread(key)
        for key in layout.replicas
    }


def _place_pending(
    layout: _Layout, zone_target: Mapping[str, int], required_spread: Mapping[PartitionKey, int]
) -> None:
    """Put every pending replica on a staying broker without the partition (in a zone the
    partition misses, while it is short of spread), on the broker furthest below its target.

    Replicas with the fewest brokers below target to go to are placed first. When none of a
    replica's brokers is below target, a chain of replicas placed earlier in this step moves on
    to make room (each of them moves once in the plan either way).
    """
    _PendingPlacement(layout, zone_target, required_spread).place_all()


class _PendingPlacement:
    """Places pending replicas one by one, remembering where each placed one could move on."""

    def __init__(
        self,
        layout: _Layout,
        zone_target: Mapping[str, int],
        required_spread: Mapping[PartitionKey, int],
    ) -> None:
        self.layout = layout
        self.zone_target = zone_target
        self.required_spread = required_spread
        self.broker_target = _broker_targets_for_zones(layout, zone_target)
        # onward[a][b]: partitions placed on a in this step that could move on to b (checked again
        # before use, as later placements change what a partition may do).
        self.onward: dict[int, dict[int, list[PartitionKey]]] = {
            broker: {other: [] for other in layout.held} for broker in layout.held
        }

    def is_short(self, broker: int) -> bool:
        return self.layout.count(broker) < self.broker_target[broker]

    def choices(self, key: PartitionKey) -> list[int]:
        if self.layout.spread(key) < self.required_spread[key]:
            return self.layout.brokers_in_missing_zones(key)
        return self.layout.brokers_without(key)

    def need(self, broker: int) -> tuple[int, int, bool, int, int, int]:
        layout = self.layout
        zone = layout.zone_of[broker]
        zone_surplus = layout.zone_total[zone] - self.zone_target[zone]
        count = layout.count(broker)
        under = count - self.broker_target[broker]
        return (under, count, zone_surplus >= 0, zone_surplus, layout.leading[broker], broker)

    def scarcity(self, item: tuple[PartitionKey, int]) -> tuple[int, int, tuple[PartitionKey, int]]:
        options = self.choices(item[0])
        return (sum(1 for b in options if self.is_short(b)), len(options), item)

    def place_all(self) -> None:
        layout = self.layout
        pending = [(key, position) for key in layout.replicas for position in layout.pending(key)]
        for key, position in sorted(pending, key=self.scarcity):
            options = self.choices(key)
            destination = min(options, key=self.need)
            if not self.is_short(destination):
                chain = self.chain_to_short_broker(key, options)
                if chain:
                    destination = chain[0][0]
                    for source, moving, onward in reversed(chain):
                        self.move(moving, source, onward)
            self.move(key, layout.replicas[key][position], destination)

    def move(self, key: PartitionKey, source: int, destination: int) -> None:
        self.layout.move(key, source, destination)
        for other in self.layout.held:
            if self.may_move_on(key, destination, other):
                self.onward[destination][other].append(key)

    def may_move_on(self, key: PartitionKey, broker: int, other: int) -> bool:
        """Whether the partition's replica on `broker` may move to `other` without its spread
        dropping below what it must reach (or below what it has, if it has less)."""
        layout = self.layout
        if not layout.holds(broker, key) or layout.holds(other, key):
            return False
        present = layout.zone_counts(key)
        floor = min(self.required_spread[key], len(present))
        leaves_zone = present[layout.zone_of[broker]] == 1
        return len(present) - leaves_zone + (layout.zone_of[other] not in present) >= floor

    def movable(self, broker: int, other: int) -> PartitionKey | None:
        """A partition placed on `broker` in this step that may move on to `other`."""
        keys = self.onward[broker][other]
        while keys:
            if self.may_move_on(keys[-1], broker, other):
                return keys[-1]
            keys.pop()
        return None

    def chain_to_short_broker(
        self, key: PartitionKey, options: Sequence[int]
    ) -> list[tuple[int, PartitionKey, int]]:
        """The shortest chain of hand-ons from one of `options` (where a replica of `key` is to
        go) to a broker below target, found breadth first over brokers, as (broker, partition,
        next broker) steps; empty if none, or if it would move a partition twice."""
        came_from: dict[int, tuple[int, PartitionKey] | None] = dict.fromkeys(options)
        queue = deque(options)
        while queue:
            broker = queue.popleft()
            for other in self.layout.held:
                if other in came_from:
                    continue
                moving = self.movable(broker, other)
                if moving is None:
                    continue
                came_from[other] = (broker, moving)
                if self.is_short(other):
                    return _chain_ending_at(other, came_from, key)
                queue.append(other)
        return []


def _chain_ending_at(
    end: int, came_from: Mapping[int, tuple[int, PartitionKey] | None], key: PartitionKey
) -> list[tuple[int, PartitionKey, int]]:
    steps: list[tuple[int, PartitionKey, int]] = []
    broker = end
    while (step := came_from[broker]) is not None:
        source, moving = step
        steps.append((source, moving, broker))
        broker = source
    steps.reverse()
    if len({key} | {moving for _, moving, _ in steps}) != len(steps) + 1:
        return []
    return steps


def _repair_spread(layout: _Layout, required_spread: Mapping[PartitionKey, int]) -> None:
    """Cover the zones pending replicas did not: move a replica out of a zone holding two of the
    partition (from the fullest such broker) to the emptiest broker of a missing zone."""
    for key, required in required_spread.items():
        while layout.spread(key) < required:
            present = layout.zone_counts(key)
            doubled = [b for b in layout.replicas[key] if present[layout.zone_of[b]] > 1]
            source = max(doubled, key=lambda b: (layout.count(b), b))
            destinations = layout.brokers_in_missing_zones(key)
            layout.move(key, source, min(destinations, key=lambda b: (layout.count(b), b)))


# --- step 2: how many replicas each zone and broker should hold -----------------------------------
def _zone_bounds(
    layout: _Layout, required_spread: Mapping[PartitionKey, int]
) -> tuple[dict[str, int], dict[str, int]]:
    """The fewest and the most replicas each zone can hold while every partition keeps the spread
    it must have: a partition that must cover every zone puts one replica in each; one that must
    cover s zones puts at most RF - s + 1 in any zone, and never more than the zone's brokers."""
    everywhere = sum(1 for spread in required_spread.values() if spread == len(layout.zones))
    low = dict.fromkeys(layout.zones, everywhere)
    high = dict.fromkeys(layout.zones, 0)
    for key, replicas in layout.replicas.items():
        most_in_one_zone = len(replicas) - required_spread[key] + 1
        for zone in layout.zones:
            high[zone] += min(len(layout.members[zone]), most_in_one_zone)
    return low, high


def _zone_targets(layout: _Layout, required_spread: Mapping[PartitionKey, int]) -> dict[str, int]:
    """Replicas per zone: as even per broker as the zone bounds allow, then the fewest moves.

    Adding replicas to a zone one at a time raises its brokers one level at a time (at level l
    every broker holds l - 1 and the first few hold l). Each unit goes to the zone whose next level
    is lowest; on a tie, to a zone whose broker due to rise already holds that many replicas (no
    move needed), then to the zone furthest above its target (the fewest moves between zones).
    """
    total = sum(len(replicas) for replicas in layout.replicas.values())
    low, high = _zone_bounds(layout, required_spread)
    target = dict(low)
    counts_high_first = {
        zone: sorted((layout.count(b) for b in members), reverse=True)
        for zone, members in layout.members.items()
    }

    def priority(zone: str) -> tuple[int, bool, int, str]:
        size = len(layout.members[zone])
        level = target[zone] // size + 1
        rising = counts_high_first[zone][target[zone] - (level - 1) * size]
        return (level, rising < level, target[zone] - layout.zone_total[zone], zone)

    queue = [(priority(zone), zone) for zone in layout.zones if target[zone] < high[zone]]
    heapq.heapify(queue)
    for _ in range(total - sum(target.values())):
        _, zone = heapq.heappop(queue)
        target[zone] += 1
        if target[zone] < high[zone]:
            heapq.heappush(queue, (priority(zone), zone))
    return target


def _broker_targets(layout: _Layout, zone: str, zone_total: int) -> dict[int, int]:
    """A zone's replicas split evenly over its brokers. The fullest brokers keep the extra ones,
    and among equals those leading fewest partitions (so they can take over leadership)."""
    members = layout.members[zone]
    base, extra = divmod(zone_total, len(members))
    fullest_first = sorted(members, key=lambda b: (-layout.count(b), layout.leading[b], b))
    return {broker: base + (i < extra) for i, broker in enumerate(fullest_first)}


def _broker_targets_for_zones(layout: _Layout, zone_target: Mapping[str, int]) -> dict[int, int]:
    targets: dict[int, int] = {}
    for zone in layout.zones:
        targets |= _broker_targets(layout, zone, zone_target[zone])
    return targets


# --- step 3: between zones -----------------------------------------------------------------------
def _balance_zones(
    layout: _Layout, zone_target: Mapping[str, int], required_spread: Mapping[PartitionKey, int]
) -> None:
    """Move replicas from zones above target to zones below it while any move can.

    Exact moves (from a broker above its own target to one below it) come first, as they cost
    nothing later. The others are made only while some zone holds too few or too many replicas
    for its brokers to end within 1 of all the others (once every zone could, balancing inside
    the zones is cheaper), cheapest first: any move between zones above and below target (the
    step inside zones pays one more move); a move out of a zone above its band into any zone with
    room, or into a zone below its band; a replica going through a third zone (two moves for one).
    """
    zones = _ZoneBalancer(layout, zone_target, required_spread)
    while zones.move_direct(exact=True) or (
        not zones.within_reach()
        and (zones.move_direct(exact=False) or zones.move_into_band() or zones.move_through())
    ):
        pass


class _ZoneBalancer:
    """Moves replicas between zones towards their targets, keeping every required spread."""

    def __init__(
        self,
        layout: _Layout,
        zone_target: Mapping[str, int],
        required_spread: Mapping[PartitionKey, int],
    ) -> None:
        self.layout = layout
        self.zone_target = zone_target
        self.broker_target = _broker_targets_for_zones(layout, zone_target)
        self.required_spread = required_spread
        # candidates[(broker, zone)]: partitions on the broker, in departure order, that may be
        # able to move to the zone. One found blocked is parked until it moves (only a move of the
        # partition can unblock it, see `destination`), so rescans skip it.
        self.candidates: dict[tuple[int, str], list[PartitionKey]] = {}
        self.parked: dict[PartitionKey, list[tuple[int, str]]] = {}

    def surplus(self, zone: str) -> int:
        return self.layout.zone_total[zone] - self.zone_target[zone]

    def move(self, key: PartitionKey, source: int, destination: int) -> None:
        self.layout.move(key, source, destination)
        for zone in self.layout.zones:
            if (destination, zone) in self.candidates:
                self.candidates[(destination, zone)].append(key)
        for broker, zone in self.parked.pop(key, []):
            if self.layout.holds(broker, key):
                self.candidates[(broker, zone)].append(key)

    def scan(
        self, source: int, destination_zone: str, keep_going: Callable[[], bool]
    ) -> Iterator[tuple[PartitionKey, int]]:
        """The candidates of (source, zone) that can move now, with where to, while `keep_going`.
        Those that left the broker are dropped and the blocked ones parked, once the scan ends
        (one abandoned midway leaves the list as it was, which is still valid)."""
        where = (source, destination_zone)
        if where not in self.candidates:
            self.candidates[where] = self.layout.departure_order(source)
        keys = self.candidates[where]
        kept: list[PartitionKey] = []
        scanned = 0
        for key in keys:
            if not keep_going():
                break
            scanned += 1
            if not self.layout.holds(source, key):
                continue
            destination = self.destination(key, source, destination_zone)
            if destination is None:
                self.parked.setdefault(key, []).append(where)
                continue
            kept.append(key)
            yield key, destination
        keys[:scanned] = kept

    def over_and_under(self) -> tuple[list[str], list[str]]:
        """Zones above target, most above first; zones below target, most below first."""
        zones = self.layout.zones
        over = sorted(
            (z for z in zones if self.surplus(z) > 0), key=lambda z: (-self.surplus(z), z)
        )
        under = sorted(
            (z for z in zones if self.surplus(z) < 0), key=lambda z: (self.surplus(z), z)
        )
        return over, under

    def band(self, zone: str) -> tuple[int, int]:
        """The zone totals whose brokers can hold k or k + 1 replicas each (k = replicas //
        brokers): balancing inside the zones then brings every broker within 1 of the others."""
        layout = self.layout
        k = sum(layout.zone_total.values()) // len(layout.held)
        size = len(layout.members[zone])
        return k * size, (k + 1) * size

    def within_reach(self) -> bool:
        return all(
            self.band(z)[0] <= self.layout.zone_total[z] <= self.band(z)[1]
            for z in self.layout.zones
        )

    def move_into_band(self) -> int:
        """Moves out of zones above their band into any zone with room in its band, and into
        zones below their band from any zone above its band's bottom, most urgent first."""
        total = self.layout.zone_total
        low = {zone: self.band(zone)[0] for zone in self.layout.zones}
        high = {zone: self.band(zone)[1] for zone in self.layout.zones}

        def needed(source_zone: str, destination_zone: str) -> bool:
            shed = (
                total[source_zone] > high[source_zone]
                and total[destination_zone] < high[destination_zone]
            )
            fill = (
                total[destination_zone] < low[destination_zone]
                and total[source_zone] > low[source_zone]
            )
            return source_zone != destination_zone and (shed or fill)

        moved, progress = 0, True
        while progress:
            progress = False
            by_excess = sorted(self.layout.zones, key=lambda z: (high[z] - total[z], z))
            by_room = sorted(self.layout.zones, key=lambda z: (total[z] - low[z], z))
            for source_zone in by_excess:
                for destination_zone in by_room:
                    still_needed = partial(needed, source_zone, destination_zone)
                    for key, source, destination in self.moves(
                        source_zone, destination_zone, False, still_needed
                    ):
                        self.move(key, source, destination)
                        moved += 1
                        progress = True
        return moved

    def uneven(self, source_zone: str, destination_zone: str) -> bool:
        return self.surplus(source_zone) > 0 and self.surplus(destination_zone) < 0

    def move_direct(self, *, exact: bool) -> int:
        moved = 0
        over, under = self.over_and_under()
        for source_zone in over:
            for destination_zone in under:
                uneven = partial(self.uneven, source_zone, destination_zone)
                for key, source, destination in self.moves(
                    source_zone, destination_zone, exact, uneven
                ):
                    self.move(key, source, destination)
                    moved += 1
        return moved

    def move_through(self) -> int:
        """Pairs of moves `via` -> `destination_zone` and `source_zone` -> `via`, for the first
        three zones that allow any."""
        over, under = self.over_and_under()
        for source_zone in over:
            for destination_zone in under:
                for via in self.layout.zones:
                    if via in (source_zone, destination_zone) or self.surplus(via) < 0:
                        continue
                    moved = self.move_pairs(source_zone, via, destination_zone)
                    if moved:
                        return moved
        return 0

    def move_pairs(self, source_zone: str, via: str, destination_zone: str) -> int:
        wanted = min(self.surplus(source_zone), -self.surplus(destination_zone))
        onward = self.distinct_moves(via, destination_zone, wanted, set())
        inward = self.distinct_moves(source_zone, via, wanted, {key for key, _ in onward})
        moved = 0
        for (first, first_source), (second, second_source) in zip(onward, inward, strict=False):
            if not self.uneven(source_zone, destination_zone):
                break
            first_destination = self.destination(first, first_source, destination_zone)
            second_destination = self.destination(second, second_source, via)
            if first_destination is None or second_destination is None:
                continue
            self.move(first, first_source, first_destination)
            destination = self.destination(second, second_source, via)
            assert destination is not None  # the first move only freed room in `via`
            self.move(second, second_source, destination)
            moved += 2
        return moved

    def distinct_moves(
        self, source_zone: str, destination_zone: str, wanted: int, taken: set[PartitionKey]
    ) -> list[tuple[PartitionKey, int]]:
        """Up to `wanted` (partition, source broker) pairs that could move between the zones, one
        per partition and none in `taken`."""
        found: list[tuple[PartitionKey, int]] = []
        seen = set(taken)
        for key, source, _ in self.moves(
            source_zone, destination_zone, False, lambda: len(found) < wanted
        ):
            if key not in seen:
                seen.add(key)
                found.append((key, source))
        return found

    def moves(
        self,
        source_zone: str,
        destination_zone: str,
        exact: bool,
        keep_going: Callable[[], bool],
    ) -> Iterator[tuple[PartitionKey, int, int]]:
        """Moves from `source_zone` to `destination_zone` that keep every spread, from the source
        brokers most above target first, while `keep_going`; each is valid when yielded, even if
        the caller applied the ones before. Exact moves leave a broker above target for one below
        it."""
        layout, target = self.layout, self.broker_target
        sources = sorted(
            layout.members[source_zone], key=lambda b: (target[b] - layout.count(b), b)
        )
        for source in sources:

            def source_keeps_going(source: int = source) -> bool:
                return keep_going() and (not exact or layout.count(source) > target[source])

            for key, destination in self.scan(source, destination_zone, source_keeps_going):
                if not exact or layout.count(destination) < target[destination]:
                    yield key, source, destination

    def destination(self, key: PartitionKey, source: int, destination_zone: str) -> int | None:
        """The broker of `destination_zone` furthest below target that can take the partition's
        replica on `source`; None if none can, or the partition's spread would drop (both depend
        only on where the partition's replicas are)."""
        layout = self.layout
        if not layout.holds(source, key):
            return None
        present = layout.zone_counts(key)
        leaves_zone = present[layout.zone_of[source]] == 1
        spread_after = len(present) - leaves_zone + (destination_zone not in present)
        if spread_after < self.required_spread[key]:
            return None
        free = [b for b in layout.members[destination_zone] if not layout.holds(b, key)]
        if not free:
            return None
        return min(free, key=lambda b: (layout.count(b) - self.broker_target[b], b))


# --- step 4: inside zones ------------------------------------------------------------------------
def _balance_within_zones(layout: _Layout) -> None:
    """Move replicas from each zone's brokers above target to those below it.

    Each source broker is scanned once, partitions that have not moved yet first (so that few
    partitions move more than one replica). A partition skipped because every broker below target
    already holds it stays skipped rightly: those brokers only gain partitions.
    """
    for zone in layout.zones:
        target = _broker_targets(layout, zone, layout.zone_total[zone])
        members = layout.members[zone]
        sources = sorted(
            (b for b in members if layout.count(b) > target[b]),
            key=lambda b: (target[b] - layout.count(b), b),
        )
        for source in sources:
            for key in list(_unmoved_first(layout.departure_order(source), layout.moved)):
                if layout.count(source) <= target[source]:
                    break
                if not layout.holds(source, key):
                    continue
                short = [
                    b for b in members if layout.count(b) < target[b] and not layout.holds(b, key)
                ]
                if short:
                    destination = min(
                        short, key=lambda b: (layout.count(b) - target[b], layout.leading[b], b)
                    )
                    layout.move(key, source, destination)


def _unmoved_first(
    keys: Sequence[PartitionKey], moved: set[PartitionKey]
) -> Iterator[PartitionKey]:
    yield from (key for key in keys if key not in moved)
    yield from (key for key in keys if key in moved)


# --- step 5: preferred leaders -------------------------------------------------------------------
def _balance_leaders(layout: _Layout, original: Assignment) -> None:
    """Reorder replica lists until no broker leads two more partitions than a broker it can hand
    leadership to, directly or through a chain of partitions.

    First every partition that changes anyway hands over to its least busy follower if that
    evens things out (free); the rest is removed along shortest chains from the busiest leader.
    """
    led: dict[int, dict[PartitionKey, None]] = {broker: {} for broker in layout.held}
    for key, replicas in layout.replicas.items():
        led[replicas[0]][key] = None
    changed = {key for key, replicas in layout.replicas.items() if replicas != list(original[key])}

    def hand_over(key: PartitionKey, new_leader: int) -> None:
        replicas = layout.replicas[key]
        del led[replicas[0]][key]
        replicas.remove(new_leader)
        replicas.insert(0, new_leader)
        led[new_leader][key] = None
        changed.add(key)

    for key in sorted(changed):
        leader, *followers = layout.replicas[key]
        if followers:
            follower = min(followers, key=lambda b: (len(led[b]), b))
            if len(led[leader]) - len(led[follower]) >= 2:
                hand_over(key, follower)
    while path := _leadership_path(layout, led, changed):
        for key, new_leader in path:
            hand_over(key, new_leader)


def _leadership_path(
    layout: _Layout, led: Mapping[int, Mapping[PartitionKey, None]], changed: set[PartitionKey]
) -> list[tuple[PartitionKey, int]] | None:
    """The shortest chain of hand-overs from a broker leading the most partitions to one leading
    at least two fewer, as (partition, new leader) pairs; None when there is none."""
    fewest = min((len(keys) for keys in led.values()), default=0)
    for start in sorted(led, key=lambda b: (-len(led[b]), b)):
        if len(led[start]) - fewest < 2:
            return None
        path = _shortest_handover(layout, led, changed, start)
        if path:
            return path
    return None


def _shortest_handover(
    layout: _Layout,
    led: Mapping[int, Mapping[PartitionKey, None]],
    changed: set[PartitionKey],
    start: int,
) -> list[tuple[PartitionKey, int]] | None:
    enough = len(led[start]) - 2
    came_from: dict[int, tuple[int, PartitionKey] | None] = {start: None}
    queue = deque([start])
    while queue:
        leader = queue.popleft()
        for key in _changed_first(led[leader], changed):
            for follower in layout.replicas[key][1:]:
                if follower in came_from:
                    continue
                came_from[follower] = (leader, key)
                if len(led[follower]) <= enough:
                    return _handovers_ending_at(follower, came_from)
                queue.append(follower)
    return None


def _changed_first(
    keys: Mapping[PartitionKey, None], changed: set[PartitionKey]
) -> Iterator[PartitionKey]:
    """Partitions that change anyway first: reordering them costs nothing extra."""
    yield from (key for key in keys if key in changed)
    yield from (key for key in keys if key not in changed)


def _handovers_ending_at(
    end: int, came_from: Mapping[int, tuple[int, PartitionKey] | None]
) -> list[tuple[PartitionKey, int]]:
    path: list[tuple[PartitionKey, int]] = []
    broker = end
    while (step := came_from[broker]) is not None:
        leader, key = step
        path.append((key, broker))
        broker = leader
    return path

"""Replica planning when a cluster scales out or in (steward.control.balance).

User stories first, then properties over random clusters. Two yardsticks for moves:
`minimum_moves`, a lower bound any plan must pay (proof in its docstring), and `fewest_moves`,
the true optimum found by brute force on tiny clusters.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from steward.control.balance import (
    BalanceError,
    Plan,
    apply_plan,
    best_spread,
    count_moves,
    leader_counts,
    plan_reassignment,
    plan_topic_by_topic,
    replica_counts,
    zone_spread,
)

Key = tuple[str, int]
Assignment = dict[Key, list[int]]


# --- helpers -------------------------------------------------------------------------------------
def cluster(size: int, zones: str = "abc") -> dict[int, str]:
    """Brokers 1..size placed round-robin over the zones, as Steward places them."""
    return {broker: zones[(broker - 1) % len(zones)] for broker in range(1, size + 1)}


def rack_aware(topics: Mapping[str, tuple[int, int]], brokers: Mapping[int, str]) -> Assignment:
    """What Kafka's rack-aware assignment gives: brokers alternate between zones and partition i
    of a topic starts one broker further than partition i - 1 (each topic where the last ended).
    `topics` maps a name to (partitions, replication factor)."""
    by_zone: dict[str, list[int]] = {}
    for broker in sorted(brokers):
        by_zone.setdefault(brokers[broker], []).append(broker)
    rows = itertools.zip_longest(*(by_zone[zone] for zone in sorted(by_zone)))
    ring = [broker for row in rows for broker in row if broker is not None]
    assignment: Assignment = {}
    start = 0
    for topic, (partitions, replication_factor) in sorted(topics.items()):
        for partition in range(partitions):
            first = start + partition
            assignment[(topic, partition)] = [
                ring[(first + i) % len(ring)] for i in range(replication_factor)
            ]
        start += partitions
    return assignment


def spread_promised(replicas: Sequence[int], brokers: Mapping[int, str], repair: bool) -> int:
    """Full spread for a partition with a replica on a leaving broker (or for all, on repair);
    otherwise the spread it has."""
    if repair or any(b not in brokers for b in replicas):
        return best_spread(len(replicas), brokers)
    return zone_spread(replicas, brokers)


def within_one(counts: Mapping[int, int]) -> bool:
    return not counts or max(counts.values()) - min(counts.values()) <= 1


def minimum_moves(
    assignment: Assignment, brokers: Mapping[int, str], repair: bool = False
) -> int | None:
    """A lower bound on the moves of any plan that leaves every broker within 1 of the others
    and every partition with the spread the planner promises; None if the zones rule that out.

    Proof. Let R be the replicas and B the brokers. Within 1 means each broker ends with k or
    k + 1 replicas (k = R // B), exactly R % B of them with k + 1: some set `high`. A broker that
    holds c replicas and ends with t receives at least t - c replicas it did not have, each a move;
    it also receives every partition with B replicas (those end on every broker) it lacks. In a
    zone, the moves are also at least the number of partitions that must cover every zone but have
    no replica there yet. And a zone's total is bounded by spread: a partition that must cover
    every zone puts one replica in each; one that must cover s zones puts at most RF - s + 1 in
    any zone, and no more than the zone has brokers. So for a given `high` the moves are at least
    the sum over zones of the larger of the zone's two counts, if the zone totals fit their
    bounds; the bound is the least of these over all `high` sets.
    """
    zones = sorted(set(brokers.values()))
    size = Counter(brokers.values())
    total = sum(len(replicas) for replicas in assignment.values())
    k, extra = divmod(total, len(brokers))
    holding = replica_counts(assignment, brokers)
    lacking_everywhere = Counter(
        b for r in assignment.values() if len(r) == len(brokers) for b in brokers if b not in r
    )
    low, high, uncovered = Counter[str](), Counter[str](), Counter[str]()
    for replicas in assignment.values():
        spread = spread_promised(replicas, brokers, repair)
        present = {brokers[b] for b in replicas if b in brokers}
        for zone in zones:
            low[zone] += spread == len(zones)
            high[zone] += min(size[zone], len(replicas) - spread + 1)
            uncovered[zone] += spread == len(zones) and zone not in present
    best: int | None = None
    for fuller in itertools.combinations(sorted(brokers), extra):
        ending = {b: k + (b in fuller) for b in brokers}
        zone_total = Counter[str]()
        received = Counter[str]()
        for broker, zone in brokers.items():
            zone_total[zone] += ending[broker]
            received[zone] += max(ending[broker] - holding[broker], lacking_everywhere[broker])
        if all(low[z] <= zone_total[z] <= high[z] for z in zones):
            moves = sum(max(received[z], uncovered[z]) for z in zones)
            best = moves if best is None else min(best, moves)
    return best


def fewest_moves(
    assignment: Assignment, brokers: Mapping[int, str], repair: bool = False
) -> int | None:
    """The true fewest moves to reach within-1 balance with the promised spread, by trying every
    placement (tiny clusters only); None if no placement reaches it."""
    keys = sorted(assignment)
    k, extra = divmod(sum(len(assignment[key]) for key in keys), len(brokers))
    ceiling = k + (extra > 0)
    options = []
    for key in keys:
        now = assignment[key]
        spread = spread_promised(now, brokers, repair)
        placements = [
            (len(set(chosen) - set(now)), chosen)
            for chosen in itertools.combinations(sorted(brokers), len(now))
            if zone_spread(chosen, brokers) >= spread
        ]
        options.append(sorted(placements))
    counts = Counter[int]()
    best: list[int] = []

    def search(index: int, moves: int) -> None:
        if best and moves >= best[0]:
            return
        if index == len(keys):
            if within_one({b: counts[b] for b in brokers}):
                best[:] = [moves]
            return
        for cost, chosen in options[index]:
            if all(counts[b] < ceiling for b in chosen):
                counts.update(chosen)
                search(index + 1, moves + cost)
                counts.subtract(chosen)

    search(0, 0)
    return best[0] if best else None


def check_plan_is_sound(
    assignment: Assignment, brokers: Mapping[int, str], plan: Plan, repair: bool = False
) -> Assignment:
    """What every plan must satisfy; returns the assignment after the plan."""
    after = apply_plan(assignment, plan)
    for key, replicas in after.items():
        before = assignment[key]
        assert len(replicas) == len(before), key
        assert len(set(replicas)) == len(replicas), key
        assert set(replicas) <= set(brokers), key
        assert zone_spread(replicas, brokers) >= spread_promised(before, brokers, repair), key
    assert all(plan.target[key] != assignment[key] for key in plan.target)
    assert plan.moves == count_moves(assignment, after)
    assert plan.replica_counts == replica_counts(after, brokers)
    assert plan.leader_counts == leader_counts(after, brokers)
    return after


# --- user stories --------------------------------------------------------------------------------
def test_a_balanced_cluster_needs_no_plan() -> None:
    brokers = cluster(6)
    assignment = rack_aware({"orders": (12, 3), "clicks": (6, 2), "audit": (3, 1)}, brokers)

    plan = plan_reassignment(assignment, brokers)

    assert plan.target == {}
    assert plan.moves == 0


def test_an_empty_cluster_needs_no_plan() -> None:
    plan = plan_reassignment({}, cluster(3))

    assert plan == Plan(
        target={}, moves=0, replica_counts={1: 0, 2: 0, 3: 0}, leader_counts={1: 0, 2: 0, 3: 0}
    )


def test_scaling_three_brokers_in_three_zones_out_to_six_moves_half_the_replicas_in_zone() -> None:
    before, after_scaling = cluster(3), cluster(6)
    assignment = rack_aware({"orders": (12, 3)}, before)

    plan = plan_reassignment(assignment, after_scaling)
    after = check_plan_is_sound(assignment, after_scaling, plan)

    assert plan.moves == 36 // 2
    assert plan.replica_counts == dict.fromkeys(range(1, 7), 6)
    assert plan.leader_counts == dict.fromkeys(range(1, 7), 2)
    for key, replicas in after.items():
        assert sorted(after_scaling[b] for b in replicas) == ["a", "b", "c"], key
        assert set(replicas) - set(assignment[key]) <= {4, 5, 6}, key


def test_scaling_out_keeps_an_original_replica_of_every_partition() -> None:
    assignment = rack_aware({"orders": (12, 3), "clicks": (9, 3)}, cluster(3))

    after = apply_plan(assignment, plan_reassignment(assignment, cluster(6)))

    assert all(set(after[key]) & set(assignment[key]) for key in assignment)


def test_scaling_in_from_six_to_three_moves_exactly_the_replicas_of_the_leaving_brokers() -> None:
    before, after_scaling = cluster(6), cluster(3)
    assignment = rack_aware({"orders": (12, 3), "clicks": (6, 3)}, before)
    on_leaving = sum(1 for replicas in assignment.values() for b in replicas if b > 3)

    plan = plan_reassignment(assignment, after_scaling)
    after = check_plan_is_sound(assignment, after_scaling, plan)

    assert plan.moves == on_leaving
    assert plan.replica_counts == {1: 18, 2: 18, 3: 18}
    assert plan.leader_counts == {1: 6, 2: 6, 3: 6}
    assert all(
        sorted(after_scaling[b] for b in replicas) == ["a", "b", "c"] for replicas in after.values()
    )


def test_replacing_a_broker_moves_its_replicas_onto_the_new_broker_of_its_zone() -> None:
    before = cluster(6)
    after_replacing = {**{b: z for b, z in before.items() if b != 5}, 7: before[5]}
    assignment = rack_aware({"orders": (24, 3), "clicks": (12, 2)}, before)

    plan = plan_reassignment(assignment, after_replacing)
    after = check_plan_is_sound(assignment, after_replacing, plan)

    assert plan.moves == sum(replicas.count(5) for replicas in assignment.values())
    assert set(plan.target) == {key for key, replicas in assignment.items() if 5 in replicas}
    assert all([7 if b == 5 else b for b in assignment[key]] == after[key] for key in plan.target)


def test_replication_factor_three_over_three_zones_keeps_one_replica_per_zone() -> None:
    brokers = cluster(9)
    assignment = rack_aware({"payments": (30, 3)}, cluster(3))

    plan = plan_reassignment(assignment, brokers)
    after = check_plan_is_sound(assignment, brokers, plan)

    assert all(
        sorted(brokers[b] for b in replicas) == ["a", "b", "c"] for replicas in after.values()
    )
    assert set(plan.replica_counts.values()) == {10}
    assert plan.moves == minimum_moves(assignment, brokers) == 60


def test_topics_with_replication_factor_one_and_two_mix() -> None:
    before, after_scaling = cluster(4, "ab"), cluster(6, "ab")
    assignment = rack_aware({"logs": (10, 1), "events": (10, 2)}, before)

    plan = plan_reassignment(assignment, after_scaling)
    after = check_plan_is_sound(assignment, after_scaling, plan)

    assert within_one(plan.replica_counts)
    assert within_one(plan.leader_counts)
    assert all(zone_spread(after[("events", p)], after_scaling) == 2 for p in range(10))
    assert plan.moves == minimum_moves(assignment, after_scaling)


def test_fifty_consumer_offsets_partitions_spread_over_new_brokers() -> None:
    assignment = rack_aware({"__consumer_offsets": (50, 3), "orders": (6, 3)}, cluster(3))

    plan = plan_reassignment(assignment, cluster(6))
    after = check_plan_is_sound(assignment, cluster(6), plan)

    assert plan.moves == 168 // 2
    assert set(plan.replica_counts.values()) == {28}
    assert within_one(plan.leader_counts)
    offsets_per_broker = Counter(
        b for (topic, _), r in after.items() if topic == "__consumer_offsets" for b in r
    )
    assert within_one(offsets_per_broker)


def test_uneven_zones_keep_spread_and_balance_the_brokers_that_can_be() -> None:
    # Zones a and b have one broker each; every RF-3 partition needs one replica in each of them,
    # so those two brokers hold every partition and only zone c's brokers can share the rest.
    brokers = {1: "a", 2: "b", 3: "c", 4: "c", 5: "c", 6: "c"}
    assignment = rack_aware({"orders": (12, 3)}, {1: "a", 2: "b", 3: "c"})

    plan = plan_reassignment(assignment, brokers)
    after = check_plan_is_sound(assignment, brokers, plan)

    assert all(zone_spread(replicas, brokers) == 3 for replicas in after.values())
    assert plan.replica_counts == {1: 12, 2: 12, 3: 3, 4: 3, 5: 3, 6: 3}
    assert plan.moves == 9


def test_a_partition_losing_a_replica_is_given_full_spread() -> None:
    brokers = {1: "a", 2: "a", 3: "b", 4: "c"}
    assignment = {("orders", 0): [1, 2, 9]}  # two replicas in zone a, one on leaving broker 9

    plan = plan_reassignment(assignment, brokers)

    assert zone_spread(plan.target[("orders", 0)], brokers) == 3
    assert plan.moves == 2  # the leaving replica, and one of the two in zone a


def test_a_partition_that_does_not_move_keeps_its_spread_unless_repair_is_asked() -> None:
    brokers = {1: "a", 2: "a", 3: "b", 4: "b"}
    assignment = {("orders", 0): [1, 2], ("orders", 1): [3, 4]}

    assert plan_reassignment(assignment, brokers).target == {}

    repaired = plan_reassignment(assignment, brokers, repair_spread=True)
    after = check_plan_is_sound(assignment, brokers, repaired, repair=True)
    assert all(zone_spread(replicas, brokers) == 2 for replicas in after.values())
    assert repaired.moves == 2
    assert within_one(repaired.replica_counts)


def test_a_zone_whose_brokers_all_leave_is_emptied_and_spread_kept_where_possible() -> None:
    before = cluster(6)
    after_scaling = {b: z for b, z in before.items() if z != "c"}
    assignment = rack_aware({"orders": (12, 3), "clicks": (12, 2)}, before)

    plan = plan_reassignment(assignment, after_scaling)
    after = check_plan_is_sound(assignment, after_scaling, plan)

    assert all(zone_spread(replicas, after_scaling) == 2 for replicas in after.values())
    assert within_one(plan.replica_counts)
    assert plan.moves == sum(1 for r in assignment.values() for b in r if before[b] == "c")


def test_leaders_are_balanced_by_reordering_without_moving_data() -> None:
    brokers = cluster(3)
    assignment = {("orders", p): [1, 2, 3] for p in range(3)}

    plan = plan_reassignment(assignment, brokers)

    assert plan.moves == 0
    assert len(plan.target) == 2
    assert plan.leader_counts == {1: 1, 2: 1, 3: 1}
    assert all(sorted(replicas) == [1, 2, 3] for replicas in plan.target.values())


def test_leader_balance_reorders_a_partition_that_moves_anyway() -> None:
    # Broker 1 leads three of four partitions; orders-0 changes anyway (broker 9 leaves), so it
    # is the one that hands leadership over, and the others stay as they are.
    brokers = {1: "a", 2: "a", 3: "a"}
    assignment = {("orders", 0): [1, 9], ("orders", 1): [1, 2], ("orders", 2): [1, 3]}
    assignment[("orders", 3)] = [2, 3]

    plan = plan_reassignment(assignment, brokers)

    assert list(plan.target) == [("orders", 0)]
    assert plan.target[("orders", 0)][1] == 1
    assert plan.leader_counts == {1: 2, 2: 1, 3: 1}


def test_too_few_remaining_brokers_are_refused_naming_the_topic_and_numbers() -> None:
    assignment = {("orders", 0): [1, 2, 3], ("clicks", 0): [1]}

    with pytest.raises(BalanceError, match=r"'orders' has replication factor 3 but only 2 brokers"):
        plan_reassignment(assignment, {1: "a", 2: "b"})


def test_a_replica_list_naming_a_broker_twice_is_refused() -> None:
    with pytest.raises(BalanceError, match="lists a broker twice"):
        plan_reassignment({("orders", 0): [1, 1]}, cluster(3))


def test_the_same_cluster_given_in_another_order_gets_the_same_plan() -> None:
    assignment = rack_aware({"orders": (20, 3), "clicks": (7, 2), "logs": (5, 1)}, cluster(6))
    reversed_assignment = dict(reversed(list(assignment.items())))
    brokers = cluster(9)
    reversed_brokers = dict(reversed(list(brokers.items())))

    assert plan_reassignment(assignment, brokers) == plan_reassignment(
        reversed_assignment, reversed_brokers
    )


def test_ten_thousand_partitions_scale_out_from_six_to_twelve_brokers() -> None:
    topics = {f"topic-{i}": (1_000, 3) for i in range(10)}
    assignment = rack_aware(topics, cluster(6))
    brokers = cluster(12)

    plan = plan_reassignment(assignment, brokers)
    after = check_plan_is_sound(assignment, brokers, plan)

    assert plan.moves == 30_000 * (12 - 6) // 12
    assert set(plan.replica_counts.values()) == {2_500}
    assert within_one(plan.leader_counts)
    assert all(zone_spread(replicas, brokers) == 3 for replicas in after.values())


# --- properties ----------------------------------------------------------------------------------
TOPICS = ("orders", "clicks", "__consumer_offsets")


@st.composite
def clusters(
    draw: st.DrawFn, *, equal_zones: bool = False, max_partitions: int = 12, max_per_zone: int = 3
) -> tuple[Assignment, dict[int, str]]:
    """Any valid assignment: random replica lists over some of the staying brokers and up to
    three leaving ones (101, 102, ...), and the staying brokers spread over up to three zones."""
    zone_count = draw(st.integers(1, 3))
    if equal_zones:
        sizes = [draw(st.integers(1, max_per_zone))] * zone_count
    else:
        sizes = draw(
            st.lists(st.integers(1, max_per_zone), min_size=zone_count, max_size=zone_count)
        )
    brokers = {}
    for zone, size in zip("abc", sizes, strict=False):
        for _ in range(size):
            brokers[len(brokers) + 1] = zone
    staying_holders = draw(st.sets(st.sampled_from(sorted(brokers)), min_size=1))
    leaving = list(range(101, 101 + draw(st.integers(0, 3))))
    holders = sorted(staying_holders) + leaving
    largest_rf = min(len(holders), len(brokers), 4)
    partitions = draw(
        st.lists(
            st.tuples(
                st.sampled_from(TOPICS), st.integers(1, largest_rf), st.permutations(holders)
            ),
            max_size=max_partitions,
        )
    )
    assignment = {(topic, n): list(order[:rf]) for n, (topic, rf, order) in enumerate(partitions)}
    return assignment, brokers


@st.composite
def rack_aware_changes(
    draw: st.DrawFn, *, one_replication_factor: bool
) -> tuple[Assignment, dict[int, str]]:
    """A rack-aware cluster of equally sized zones that scales out, scales in, or replaces one
    broker (the new one in the same zone). Its topics share one replication factor, at most the
    number of zones, or have any (up to 4)."""
    zones = "abc"[: draw(st.integers(1, 3))]
    before = cluster(len(zones) * draw(st.integers(1, 4)), zones)
    if draw(st.booleans()):
        after = cluster(len(zones) * draw(st.integers(1, 4)), zones)
    else:
        leaving = draw(st.sampled_from(sorted(before)))
        after = {b: z for b, z in before.items() if b != leaving} | {100: before[leaving]}
    if one_replication_factor:
        rf = st.just(draw(st.integers(1, min(len(before), len(after), len(zones)))))
    else:
        rf = st.integers(1, min(len(before), len(after), 4))
    topics = draw(
        st.dictionaries(st.sampled_from(TOPICS), st.tuples(st.integers(1, 16), rf), min_size=1)
    )
    return rack_aware(topics, before), after


@given(clusters(), st.booleans())
def test_every_plan_keeps_replication_factors_spread_and_honest_counts(
    case: tuple[Assignment, dict[int, str]], repair: bool
) -> None:
    assignment, brokers = case
    plan = plan_reassignment(assignment, brokers, repair_spread=repair)

    after = check_plan_is_sound(assignment, brokers, plan, repair)

    leaving = {b for replicas in assignment.values() for b in replicas} - set(brokers)
    assert not leaving & {b for replicas in after.values() for b in replicas}


@given(clusters())
def test_planning_is_deterministic_whatever_the_input_order(
    case: tuple[Assignment, dict[int, str]],
) -> None:
    assignment, brokers = case
    shuffled = list(assignment.items())
    random.Random(7).shuffle(shuffled)

    assert plan_reassignment(assignment, brokers) == plan_reassignment(dict(shuffled), brokers)


@given(clusters())
def test_no_leader_could_hand_a_partition_to_a_follower_leading_two_fewer(
    case: tuple[Assignment, dict[int, str]],
) -> None:
    assignment, brokers = case
    plan = plan_reassignment(assignment, brokers)

    leaders = plan.leader_counts
    for leader, *followers in apply_plan(assignment, plan).values():
        assert all(leaders[leader] - leaders[f] <= 1 for f in followers)


@settings(deadline=None)
@given(clusters(equal_zones=True), st.booleans())
def test_equally_sized_zones_end_within_one_replica_per_broker(
    case: tuple[Assignment, dict[int, str]], repair: bool
) -> None:
    assignment, brokers = case

    plan = plan_reassignment(assignment, brokers, repair_spread=repair)

    assert within_one(plan.replica_counts)
    bound = minimum_moves(assignment, brokers, repair)
    assert bound is not None and plan.moves >= bound


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clusters(max_partitions=5, max_per_zone=2), st.booleans())
def test_small_clusters_take_at_most_one_move_more_than_the_fewest_possible(
    case: tuple[Assignment, dict[int, str]], repair: bool
) -> None:
    assignment, brokers = case
    fewest = fewest_moves(assignment, brokers, repair)

    plan = plan_reassignment(assignment, brokers, repair_spread=repair)

    if fewest is not None:
        assert within_one(plan.replica_counts)
        assert fewest <= plan.moves <= fewest + 1


@settings(deadline=None)
@given(rack_aware_changes(one_replication_factor=True))
def test_resizing_a_rack_aware_cluster_moves_exactly_the_lower_bound(
    case: tuple[Assignment, dict[int, str]],
) -> None:
    assignment, brokers = case

    plan = plan_reassignment(assignment, brokers)

    assert plan.moves == minimum_moves(assignment, brokers)
    assert within_one(plan.replica_counts)
    assert within_one(plan.leader_counts)


@settings(deadline=None)
@given(rack_aware_changes(one_replication_factor=False))
def test_resizing_with_mixed_replication_factors_stays_within_one_move_of_the_lower_bound(
    case: tuple[Assignment, dict[int, str]],
) -> None:
    # The bound cannot see a broker whose surplus partitions all need their zone (one replica per
    # zone) while its zone must give a replica away: that replica leaves from a neighbour, which
    # the broker then refills, one move more than the bound.
    assignment, brokers = case

    plan = plan_reassignment(assignment, brokers)

    bound = minimum_moves(assignment, brokers)
    assert bound is not None and bound <= plan.moves <= bound + 1
    assert within_one(plan.replica_counts)


def test_scaling_out_spreads_every_topic_not_just_the_replica_count() -> None:
    """A cluster whose data sits in one topic beside many empty partitions: balancing only the
    cluster's replica count could hand the new brokers the empty partitions. Topic by topic,
    the data topic lands evenly on all six brokers, with no more moves than needed."""
    assignment: dict[tuple[str, int], list[int]] = {}
    for topic, partitions in (("history", 24), ("__consumer_offsets", 50), ("events", 6)):
        for p in range(partitions):
            assignment[(topic, p)] = [1 + (p + i) % 3 for i in range(3)]
    brokers = {1: "az-a", 2: "az-b", 3: "az-c", 4: "az-a", 5: "az-b", 6: "az-c"}
    plan = plan_topic_by_topic(assignment, brokers)
    after = apply_plan(assignment, plan)
    for topic in ("history", "__consumer_offsets", "events"):
        per_broker = Counter(b for key, r in after.items() if key[0] == topic for b in r)
        assert max(per_broker.values()) - min(per_broker.values()) <= 1, (topic, per_broker)
    total = sum(len(r) for r in assignment.values())
    assert plan.moves == total // 2
    assert max(plan.replica_counts.values()) - min(plan.replica_counts.values()) <= 1
    assert all(len({brokers[b] for b in r}) == 3 for r in after.values())


def test_scaling_out_with_partition_sizes_copies_the_minimum_of_bytes() -> None:
    """Partitions of one topic differ in size (a sticky partitioner fills some more than
    others): given the sizes, the plan picks which replicas move so that the six brokers end
    with the same bytes within a partition's size, and so the new brokers receive half of the
    data, no more; replica and leader counts, zone spread and moves stay as by count alone."""
    rng = random.Random(7)
    assignment: dict[tuple[str, int], list[int]] = {}
    sizes: dict[tuple[str, int], int] = {}
    for topic, partitions, size in (("history", 24, 4 << 20), ("__consumer_offsets", 50, 0)):
        for p in range(partitions):
            assignment[(topic, p)] = rng.sample([1, 2, 3], 3)
            sizes[(topic, p)] = int(size * rng.uniform(0.4, 1.6))
    brokers = {1: "az-a", 2: "az-b", 3: "az-c", 4: "az-a", 5: "az-b", 6: "az-c"}
    by_count = plan_topic_by_topic(assignment, brokers)
    plan = plan_topic_by_topic(assignment, brokers, sizes)
    after = apply_plan(assignment, plan)
    assert plan.moves == by_count.moves
    assert plan.replica_counts == by_count.replica_counts
    assert plan.leader_counts == by_count.leader_counts
    assert all(len({brokers[b] for b in r}) == 3 for r in after.values())
    load = Counter({b: 0 for b in brokers})
    for key, replicas in after.items():
        for b in replicas:
            load[b] += sizes[key]
    assert max(load.values()) - min(load.values()) <= max(sizes.values())
    total = sum(sizes[key] * len(r) for key, r in assignment.items())
    copied = sum(sizes[k] * len(set(after[k]) - set(assignment[k])) for k in assignment)
    assert abs(copied - total / 2) <= 0.02 * total / 2

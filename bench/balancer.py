"""The balancer against a naive round-robin reassignment of the same cluster.

Part 1 (always, no Kafka): synthetic clusters, each planned two ways:

- Steward's balancer (`steward.balancer.planner.plan_balance`);
- naive: every partition laid out afresh round robin over the brokers in zone order (what
  `kafka-reassign-partitions --generate` does, with no regard for where replicas are).

For each: replicas and bytes moved, the time copying them takes at the replication throttle
(50 MiB/s per receiving broker), the worst goal's imbalance afterwards, and how long planning
took. Clusters: a scale-out from 3 to 6 brokers; six brokers with the biggest topic on three of
them; twelve brokers with sizes spread over four orders of magnitude.

Part 2 (`--real`): a real 3-broker Steward cluster with a skewed topic (every partition on
brokers 1 and 2, filled with data): the time Steward's REBALANCE operation takes, then the same
skew again and the time a naive round-robin reassignment takes through Kafka's own API at the
same throttle, with the bytes each moved.

    python bench/balancer.py [--real] [--messages 20000]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from steward.balancer.model import BrokerCapacity, ClusterModel, PartitionKey  # noqa: E402
from steward.balancer.planner import (  # noqa: E402
    goal_states,
    moves_between,
    plan_balance,
    round_robin_assignment,
)

GIB = 1 << 30
THROTTLE = 50 * 1024 * 1024


@dataclass
class Outcome:
    replicas: int
    bytes: int
    copy_seconds: float
    imbalance: float
    plan_seconds: float


def copy_seconds(model: ClusterModel, after: dict[PartitionKey, list[int]]) -> float:
    """Copy time at THROTTLE per receiving broker: the busiest receiver decides."""
    received: dict[int, int] = {}
    for move in moves_between(model, model.assignment, after):
        received[move.destination] = received.get(move.destination, 0) + move.size_bytes
    return max(received.values(), default=0) / THROTTLE


def outcome(model: ClusterModel, after: dict[PartitionKey, list[int]], took: float) -> Outcome:
    moves = moves_between(model, model.assignment, after)
    states = goal_states(model, after)
    return Outcome(
        len(moves),
        sum(m.size_bytes for m in moves),
        copy_seconds(model, after),
        max(s.relative for s in states.values()),
        took,
    )


def scale_out(rng: random.Random) -> ClusterModel:
    zones = {b: "abc"[(b - 1) % 3] for b in range(1, 7)}
    assignment, sizes = {}, {}
    for t in range(8):
        for p in range(12):
            replicas = [1, 2, 3]
            rng.shuffle(replicas)
            assignment[(f"t{t}", p)] = replicas
            sizes[(f"t{t}", p)] = int(rng.uniform(0.2, 2.0) * GIB)
    return ClusterModel.build(assignment, zones, sizes=sizes, capacity=BrokerCapacity(500 * GIB))


def skewed_topic(rng: random.Random) -> ClusterModel:
    zones = {b: "abc"[(b - 1) % 3] for b in range(1, 7)}
    rotations = [[1, 2, 3], [4, 5, 6], [2, 3, 4], [5, 6, 1], [3, 4, 5], [6, 1, 2]]
    assignment, sizes = {}, {}
    for t in range(6):
        for p in range(24):
            key = (f"t{t}", p)
            replicas = [1, 2, 3] if t == 0 else list(rotations[p % 6])
            rng.shuffle(replicas)
            assignment[key] = replicas
            sizes[key] = int((4.0 if t == 0 else 0.5) * rng.uniform(0.7, 1.3) * GIB)
    return ClusterModel.build(assignment, zones, sizes=sizes, capacity=BrokerCapacity(500 * GIB))


def wide_sizes(rng: random.Random) -> ClusterModel:
    zones = {b: "abc"[(b - 1) % 3] for b in range(1, 13)}
    brokers = sorted(zones)
    assignment, sizes = {}, {}
    for t in range(20):
        for p in range(rng.choice([3, 6, 12])):
            key = (f"t{t}", p)
            first = rng.choice(brokers[:6])  # older brokers got more
            by_zone = [b for b in brokers if zones[b] != zones[first]]
            second = rng.choice(by_zone)
            third = rng.choice([b for b in by_zone if zones[b] != zones[second]])
            assignment[key] = [first, second, third]
            sizes[key] = int(10 ** rng.uniform(6, 10))
    return ClusterModel.build(assignment, zones, sizes=sizes, capacity=BrokerCapacity(2000 * GIB))


def part_one() -> None:
    rng = random.Random(18)
    print("Part 1: planning only (no Kafka)")
    header = (
        f"{'cluster':<14} {'plan':<12} {'replicas':>8} {'GiB':>8} {'copy s':>8} "
        f"{'imbalance':>9} {'plan s':>7}"
    )
    print(header)
    for name, build in (
        ("scale-out", scale_out),
        ("skewed-topic", skewed_topic),
        ("wide-sizes", wide_sizes),
    ):
        model = build(rng)
        start = time.perf_counter()
        plan = plan_balance(model)
        ours = outcome(model, {**model.assignment, **plan.target}, time.perf_counter() - start)
        start = time.perf_counter()
        naive_after = round_robin_assignment(model)
        naive = outcome(model, naive_after, time.perf_counter() - start)
        for label, o in (("steward", ours), ("round-robin", naive)):
            print(
                f"{name:<14} {label:<12} {o.replicas:>8} {o.bytes / GIB:>8.1f} "
                f"{o.copy_seconds:>8.0f} {o.imbalance:>9.1%} {o.plan_seconds:>7.2f}"
            )
        ratio = ours.bytes / naive.bytes if naive.bytes else 0.0
        print(f"{name:<14} bytes moved: steward / round-robin = {ratio:.2f}")


def part_two(messages: int) -> None:
    from confluent_kafka import Producer
    from kafka.admin import KafkaAdminClient, NewTopic

    from steward.kafka import reassignment
    from tests.integration.harness import Steward, provisioned

    print("\nPart 2: a real cluster (3 brokers), the same skew balanced both ways")
    with tempfile.TemporaryDirectory() as home:
        steward = Steward(Path(home))
        steward.start()
        try:
            client = steward.client()
            arn = client.create_cluster_v2(ClusterName="bench", Provisioned=provisioned())[
                "ClusterArn"
            ]
            steward.wait_for_state(arn, {"ACTIVE"}, timeout=600)
            bootstrap = client.get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerString"]

            def skew(topic: str) -> None:
                layout = {p: [1, 2] if p % 2 == 0 else [2, 1] for p in range(12)}
                admin = KafkaAdminClient(bootstrap_servers=bootstrap)
                admin.create_topics([NewTopic(topic, replica_assignments=layout)])
                admin.close()
                producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 50})
                for i in range(messages):
                    producer.produce(topic, b"x" * 1000, key=str(i).encode())
                    producer.poll(0)
                producer.flush(120)

            skew("ours")
            start = time.perf_counter()
            with steward.http() as http:
                from urllib.parse import quote

                path = f"/steward/v1/clusters/{quote(arn, safe='')}/rebalance"
                plan = http.get(f"{path}/plan").json()
                op = http.post(path).json()["clusterOperationArn"]
            steward.wait_for_operation(op, timeout=3600)
            ours = time.perf_counter() - start
            megabytes = plan["bytesToMove"] / 1e6
            print(f"steward:     {plan['moves']} moves, {megabytes:.1f} MB, {ours:.1f} s")

            skew("naive")
            current = reassignment.current_assignment(bootstrap)
            sizes = reassignment.partition_sizes(bootstrap)
            zones = {1: "a", 2: "b", 3: "c"}
            model = ClusterModel.build(current, zones, sizes=sizes)
            target = round_robin_assignment(model)
            changed = {k: r for k, r in target.items() if r != current[k]}
            moved = sum(m.size_bytes for m in moves_between(model, current, target))
            start = time.perf_counter()
            reassignment.start_reassignment(bootstrap, changed, throttle_bytes_per_s=THROTTLE)
            while reassignment.reassignments_in_progress(bootstrap):
                time.sleep(0.5)
            naive = time.perf_counter() - start
            reassignment.clear_replication_throttle(
                bootstrap, [1, 2, 3], sorted({t for t, _ in changed})
            )
            print(f"round-robin: {len(changed)} partitions, {moved / 1e6:.1f} MB, {naive:.1f} s")
        finally:
            steward.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", action="store_true", help="also balance a real cluster")
    parser.add_argument("--messages", type=int, default=20000, help="messages per skewed topic")
    args = parser.parse_args()
    part_one()
    if args.real:
        part_two(args.messages)


if __name__ == "__main__":
    main()

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

Part 3 (`--autoscale`): the time from load rising to the new brokers carrying their share. A
real two-zone cluster of two kafka.t3.small brokers with a broker autoscaling policy on network
in (boto3 `application-autoscaling`, 1 % of the type's network, 2 to 4 brokers), the control
plane's autoscaling timing shortened as the integration test shortens it; a paced acks=all
producer starts writing `--load-mb` MB/s, and the clock runs until each new broker's bytes in
(CloudWatch's BytesInPerSec over the last 10 s) is within `--share-tolerance` (20 %) of an even
share. Printed with the moments it passed on the way: the autoscaler's decision, and the end
of each step of its operation (the new brokers started, serving, settled, the replicas moved).

    python bench/balancer.py [--real] [--messages 20000] [--autoscale] [--load-mb 1.2]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


def part_one() -> dict[str, float]:
    """The planning comparison; the bytes-moved ratio (Steward / round robin) per cluster."""
    ratios: dict[str, float] = {}
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
        ratios[name] = ratio
        print(f"{name:<14} bytes moved: steward / round-robin = {ratio:.2f}")
    return ratios


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


FAST_AUTOSCALING = {
    "STEWARD_METRICS_INTERVAL": "3",
    "STEWARD_AUTOSCALING_INTERVAL": "5",
    "STEWARD_BROKER_SCALING_PERIOD": "10",
    "STEWARD_BROKER_SCALING_WINDOW": "60",
    "STEWARD_BROKER_SCALING_LEAD_TIME": "20",
}
"""The control plane's autoscaling timing for the run: scrapes every 3 s, the trend over the
last minute in 10 s points carried 20 s ahead, a look every 5 s."""


@dataclass
class ScaleOutTimes:
    decided: float | None = None
    """Seconds from the load's start to the autoscaler's operation."""
    serving: float | None = None
    """... to the new brokers started (START_NEW_BROKERS done)."""
    steps: dict[str, float] = field(default_factory=dict)
    """... to the end of each step of the scale-out."""
    moved: float | None = None
    """... to the operation's end (replicas moved, leaders elected)."""
    carrying: float | None = None
    """... to every new broker's bytes in within the tolerance of an even share."""
    shares: dict[int, float] | None = None


def part_three(load_mb: float, tolerance: float, timeout: float) -> ScaleOutTimes:
    from datetime import UTC, datetime, timedelta

    import boto3
    from confluent_kafka.admin import AdminClient, NewTopic

    from tests.integration.harness import REGION, Steward, provisioned
    from tests.integration.load import PacedProducer

    print("\nPart 3: load rising on a real cluster (2 brokers, autoscaling to 4)")
    times = ScaleOutTimes()
    with tempfile.TemporaryDirectory() as home:
        steward = Steward(Path(home), extra_env=FAST_AUTOSCALING)
        steward.start()
        load = None
        try:
            client = steward.client()
            key, secret = steward.credentials()

            def aws(service: str) -> Any:
                return boto3.client(
                    service,
                    endpoint_url=steward.endpoint,
                    region_name=REGION,
                    aws_access_key_id=key,
                    aws_secret_access_key=secret,
                )

            spec = provisioned(
                brokers=2,
                zones=("az-a", "az-b"),
                OpenMonitoring={"Prometheus": {"JmxExporter": {"EnabledInBroker": True}}},
            )
            spec["BrokerNodeGroupInfo"]["InstanceType"] = "kafka.t3.small"
            arn = client.create_cluster_v2(ClusterName="rising", Provisioned=spec)["ClusterArn"]
            steward.wait_for_state(arn, {"ACTIVE"}, timeout=600)
            bootstrap = client.get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerString"]
            admin = AdminClient({"bootstrap.servers": bootstrap})
            admin.create_topics([NewTopic("rising", 8, 2)])["rising"].result(60)
            scaling = aws("application-autoscaling")
            dimension = "kafka:broker-count:BrokerCount"
            scaling.register_scalable_target(
                ServiceNamespace="kafka",
                ResourceId=arn,
                ScalableDimension=dimension,
                MinCapacity=2,
                MaxCapacity=4,
            )
            scaling.put_scaling_policy(
                PolicyName="network-in",
                ServiceNamespace="kafka",
                ResourceId=arn,
                ScalableDimension=dimension,
                PolicyType="TargetTrackingScaling",
                TargetTrackingScalingPolicyConfiguration={
                    "TargetValue": 1.0,
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "KafkaBrokerNetworkInUtilization"
                    },
                    "ScaleOutCooldown": 5,
                    "ScaleInCooldown": 3600,  # the run ends scaled out
                },
            )
            cloudwatch = aws("cloudwatch")

            def recent_bytes_in(broker: int) -> float:
                now = datetime.now(UTC)
                points = cloudwatch.get_metric_statistics(
                    Namespace="AWS/Kafka",
                    MetricName="BytesInPerSec",
                    Dimensions=[
                        {"Name": "Cluster Name", "Value": "rising"},
                        {"Name": "Broker ID", "Value": str(broker)},
                    ],
                    StartTime=now - timedelta(seconds=10),
                    EndTime=now,
                    Period=10,
                    Statistics=["Average"],
                )["Datapoints"]
                return sum(p["Average"] for p in points) / len(points) if points else 0.0

            load = PacedProducer(bootstrap, "rising", load_mb * 1e6).start()
            start = time.monotonic()
            op_arn = None
            while time.monotonic() - start < timeout:
                elapsed = time.monotonic() - start
                if op_arn is None:
                    listed = client.list_cluster_operations(ClusterArn=arn)
                    op_arn = next(
                        (
                            o["OperationArn"]
                            for o in listed["ClusterOperationInfoList"]
                            if o["OperationType"] == "INCREASE_BROKER_COUNT"
                        ),
                        None,
                    )
                    if op_arn is not None:
                        times.decided = elapsed
                if op_arn is not None and times.moved is None:
                    op = client.describe_cluster_operation(ClusterOperationArn=op_arn)[
                        "ClusterOperationInfo"
                    ]
                    done = [
                        s["StepName"]
                        for s in op["OperationSteps"]
                        if s["StepInfo"]["StepStatus"] == "SUCCEEDED"
                    ]
                    for name in done:  # in the operation's order, for steps seen done together
                        times.steps.setdefault(name, elapsed)
                    if times.serving is None and "START_NEW_BROKERS" in done:
                        times.serving = elapsed
                    if op["OperationState"] == "UPDATE_COMPLETE":
                        times.moved = elapsed
                    elif op["OperationState"] == "UPDATE_FAILED":
                        print(f"the scale-out failed: {op.get('ErrorInfo')}")
                        break
                if times.serving is not None:
                    rates = {b: recent_bytes_in(b) for b in (1, 2, 3, 4)}
                    total = sum(rates.values())
                    if total > 0:
                        shares = {b: r / total for b, r in rates.items()}
                        even = 1 / len(rates)
                        if all(abs(shares[b] - even) <= tolerance * even for b in (3, 4)):
                            times.carrying = elapsed
                            times.shares = shares
                            break
                time.sleep(1.0)
            load.stop()
            milestones = [
                ("autoscaler's decision", times.decided),
                *sorted(times.steps.items(), key=lambda item: item[1]),
                ("operation complete", times.moved),
                (f"new brokers within {tolerance:.0%} of an even share", times.carrying),
            ]
            for label, value in milestones:
                shown = f"{value:.1f} s" if value is not None else f"not within {timeout:.0f} s"
                print(f"load rising -> {label:<42} {shown}")
            if times.shares:
                print(
                    "bytes-in shares: "
                    + ", ".join(f"broker {b} {s:.0%}" for b, s in sorted(times.shares.items()))
                )
            print(f"records acknowledged: {len(load.acked)} of {load.sent} ({load.failed} failed)")
        finally:
            if load is not None:
                load.stop()
            steward.cleanup()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", action="store_true", help="also balance a real cluster")
    parser.add_argument("--messages", type=int, default=20000, help="messages per skewed topic")
    parser.add_argument(
        "--autoscale", action="store_true", help="also time a real cluster's scale-out under load"
    )
    parser.add_argument("--load-mb", type=float, default=1.2, help="the load, MB/s (--autoscale)")
    parser.add_argument(
        "--share-tolerance", type=float, default=0.2, help="how near an even share counts"
    )
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="seconds the scale-out may take"
    )
    args = parser.parse_args()
    ratios = part_one()
    if args.real:
        part_two(args.messages)
    times = part_three(args.load_mb, args.share_tolerance, args.timeout) if args.autoscale else None
    print("\nSummary")
    for name, ratio in ratios.items():
        print(f"  bytes moved, steward / round-robin, {name:<14} {ratio:.2f}")
    if times is not None:
        carrying = f"{times.carrying:.1f} s" if times.carrying is not None else "not reached"
        print(f"  load rising to the new brokers carrying their share:  {carrying}")


if __name__ == "__main__":
    main()

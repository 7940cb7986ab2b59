"""Time to a usable 3-broker, 3-zone cluster: Steward vs. the same Kafka started by hand.

Both sides run Apache Kafka from the same installed distribution, with the same node layout
(3 dedicated KRaft controllers + 3 brokers, one of each per zone, each on its own loopback
address), the same server.properties and the same JVM options. They are measured alternately in
one run:

- by hand: `kafka-storage format` (StorageTool) for each of the 6 nodes in parallel, then start the
  6 JVMs, then wait until the 3 brokers serve; no Steward involved;
- Steward: `create_cluster_v2` through boto3 to a running Steward, then poll `describe_cluster_v2`
  every 0.1 s until the cluster is ACTIVE.

Each side then creates a topic (RF 3), produces one message with acks=all and reads it back
(assigned partition, so no group rebalance delay): "first message" is the time from the start to
that message being consumed.

    python bench/create_cluster.py [--runs 3] [--profile] [--sides hand,steward]

`--profile` prints, for every run, where its seconds went: the reconciler's steps, the agents'
formatting and starting of each node, and each node's milestones in its server.log
(`bench/create_profile.py`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from create_profile import by_hand_events, steward_events, summary  # noqa: E402

from steward.agent.spec import NodeSpec  # noqa: E402
from steward.control.node_specs import build_node_spec  # noqa: E402
from steward.control.placement import Placer, new_directory_id  # noqa: E402
from steward.domain.model import (  # noqa: E402
    BrokerNodeGroup,
    Cluster,
    ClusterSpec,
    ClusterState,
    NodeRole,
    utcnow,
)
from steward.kafka.distribution import require_distribution  # noqa: E402
from steward.kafka.java import find_java  # noqa: E402
from steward.kafka.launch import kafka_server_command  # noqa: E402
from steward.kafka.log4j import render_log4j2_properties  # noqa: E402
from steward.kafka.properties import render_properties  # noqa: E402
from steward.kafka.storage import storage_tool_command  # noqa: E402
from steward.settings import Zone  # noqa: E402
from tests.integration.harness import Steward, kill_all, next_octet, provisioned  # noqa: E402

VERSION = "4.3.1"
ZONES = ("az-a", "az-b", "az-c")


@dataclass
class Timing:
    ready: float
    """Seconds from the start to a serving cluster (Steward: state ACTIVE)."""
    first_message: float
    """Seconds from the start to the first message produced (acks=all) and consumed."""
    profile: list[str] = field(default_factory=list)
    """Where the seconds went (`bench/create_profile.py`)."""


def first_message(bootstrap: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topic = f"bench-{uuid.uuid4().hex[:6]}"
    admin.create_topics([NewTopic(topic, num_partitions=1)])[topic].result(60)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    errors: list[object] = []
    producer.produce(topic, b"first", on_delivery=lambda err, _m: errors.append(err))
    producer.flush(60)
    assert errors == [None], errors
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "bench", "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    deadline = time.time() + 60
    while time.time() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and msg.error() is None and msg.value() == b"first":
            break
    else:
        raise RuntimeError("first message never arrived")
    consumer.close()


def wait_for_brokers(bootstrap: str, count: int, timeout: float = 120) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if len(admin.list_topics(timeout=1).brokers) >= count:
                return
        except Exception:  # not up yet
            pass
        time.sleep(0.1)
    raise RuntimeError("brokers did not come up")


def by_hand(work: Path) -> Timing:
    """Format and start the same 6 nodes directly, the way the Kafka docs describe."""
    work.mkdir(parents=True, exist_ok=True)
    octet = next_octet()
    zones = [Zone(name, f"127.{octet}.{i + 1}") for i, name in enumerate(ZONES)]
    arn = f"arn:aws:kafka:us-east-1:000000000000:cluster/byhand/{uuid.uuid4()}-1"
    spec = ClusterSpec(VERSION, 3, BrokerNodeGroup("kafka.m5.large", ZONES, 10))
    cluster = Cluster(
        arn, "byhand", spec, ClusterState.CREATING, utcnow(), "K0", new_directory_id()
    )
    nodes = Placer(zones, set()).place(
        arn, ZONES, [1, 2, 3], [1001, 1002, 1003], VERSION, "kafka.m5.large"
    )
    specs: list[NodeSpec] = [build_node_spec(cluster, n, nodes, {}) for n in nodes]
    dist = require_distribution(VERSION)
    java = find_java()
    log4j = work / "log4j2.properties"
    log4j.write_text(render_log4j2_properties())
    pids: list[int] = []
    wall = time.time()
    started = time.monotonic()
    try:
        formats = []
        for node_spec in specs:
            node_dir = work / node_spec.key
            (node_dir / "logs").mkdir(parents=True)
            props = node_dir / "server.properties"
            props.write_text(
                render_properties({**node_spec.properties, "log.dirs": str(node_dir / "data")})
            )
            quorum = (
                ["--initial-controllers", node_spec.initial_controllers]
                if node_spec.initial_controllers
                else []
            )
            command = storage_tool_command(
                java, dist.classpath, props, cluster.kafka_cluster_id, quorum
            )
            formats.append(
                subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )
        for process in formats:
            assert process.wait() == 0
        for node_spec in specs:
            node_dir = work / node_spec.key
            command = kafka_server_command(
                node_spec,
                java=java,
                classpath=dist.classpath,
                properties_file=node_dir / "server.properties",
                log4j_file=log4j,
                logs_dir=node_dir / "logs",
            )
            out = (node_dir / "logs" / "stdout.log").open("wb")
            pids.append(
                subprocess.Popen(
                    command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                ).pid
            )
        bootstrap = ",".join(n.endpoint("CLIENT") for n in nodes if n.role is NodeRole.BROKER)
        wait_for_brokers(bootstrap, 3)
        ready = time.monotonic() - started
        first_message(bootstrap)
        done = time.monotonic() - started
        return Timing(ready, done, summary(by_hand_events(work, wall)))
    finally:
        kill_all(pids, timeout=30)


def with_steward(steward: Steward, run: int) -> Timing:
    client = steward.client()
    wall = time.time()
    started = time.monotonic()
    arn = client.create_cluster_v2(ClusterName=f"bench-{run}", Provisioned=provisioned())[
        "ClusterArn"
    ]
    while True:
        state = client.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]["State"]
        if state == "ACTIVE":
            break
        if state == "FAILED":
            raise RuntimeError("cluster failed")
        time.sleep(0.1)
    ready = time.monotonic() - started
    bootstrap = client.get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerString"]
    first_message(bootstrap)
    done = time.monotonic() - started
    events = steward_events(steward.home, f"bench-{run}-{arn.rsplit('/', 1)[1][:8]}", wall)
    lines = [*summary(events), f"  {ready:6.2f} s  ACTIVE seen (describe_cluster_v2)"]
    timing = Timing(ready, done, lines)
    client.delete_cluster(ClusterArn=arn)
    steward.wait_until_gone(arn)
    return timing


def spread(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):6.2f} s (min {min(values):.2f}, max {max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--profile", action="store_true", help="print where each run's seconds went"
    )
    parser.add_argument("--sides", default="hand,steward", help="hand,steward or either one alone")
    args = parser.parse_args()
    sides = args.sides.split(",")
    require_distribution(VERSION)
    hand: list[Timing] = []
    managed: list[Timing] = []
    with tempfile.TemporaryDirectory(prefix="steward-bench-") as tmp:
        steward = Steward(Path(tmp) / "steward")
        steward.start()
        try:
            for run in range(args.runs):
                work = Path(tmp) / f"by-hand-{run}"
                print(f"run {run + 1} (load {os.getloadavg()[0]:.2f}):", flush=True)
                if "hand" in sides:
                    hand.append(by_hand(work))
                    print(
                        f"  by hand ready {hand[-1].ready:.2f} s, first message "
                        f"{hand[-1].first_message:.2f} s",
                        flush=True,
                    )
                    if args.profile:
                        print("\n".join(hand[-1].profile), flush=True)
                if "steward" in sides:
                    managed.append(with_steward(steward, run))
                    print(
                        f"  Steward ACTIVE {managed[-1].ready:.2f} s, first message "
                        f"{managed[-1].first_message:.2f} s (load {os.getloadavg()[0]:.2f})",
                        flush=True,
                    )
                    if args.profile:
                        print("\n".join(managed[-1].profile), flush=True)
        finally:
            steward.cleanup()
    print()
    print(f"3 brokers + 3 controllers over 3 zones, Kafka {VERSION}, {args.runs} runs (median)")
    print(f"{'':28}{'by hand':>32}{'Steward':>34}{'ratio':>8}")
    for label, pick in (
        ("to serving / ACTIVE", lambda t: t.ready),
        ("to first message consumed", lambda t: t.first_message),
    ):
        a = [pick(t) for t in hand]
        b = [pick(t) for t in managed]
        ratio = f"{statistics.median(b) / statistics.median(a):7.2f}x" if a and b else "      -"
        print(f"{label:28}{spread(a):>32}  {spread(b):>32}{ratio}")


if __name__ == "__main__":
    main()

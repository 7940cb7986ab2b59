"""Cluster operations under load: how long each takes, how long clients stall, what data moves.

One 3-broker cluster over three zones (3 brokers and 3 KRaft controllers, one of each per zone),
created through boto3 against a Steward started the way the integration tests start one. Each
operation runs while a fresh workload (tests/integration/workload.py: an idempotent acks=all
producer at 200 messages/s round-robin over 6 partitions, and a consumer) writes and reads:

1. RebootBroker, broker 2;
2. UpdateClusterConfiguration with a dynamic setting only (log.retention.ms): no restart;
3. UpdateClusterConfiguration adding a static setting (auto.create.topics.enable): rolls 3 brokers;
   then the baseline, the naive roll: the same 3 brokers restarted one by one through the agent
   API, each followed by nothing but a wait for its client port to accept connections (no
   in-sync checks, no leader election);
4. UpdateBrokerType to kafka.m5.xlarge: rolls 3 brokers;
5. UpdateBrokerCount 3 -> 6, after a 24-partition topic was written with acks=all;
6. UpdateBrokerCount 6 -> 3.

For each: the wall time from the API call to UPDATE_COMPLETE, the longest gap between two
acknowledgements of one partition (the stall a client feels), messages acknowledged and consumed,
and whether every acknowledged message was consumed exactly once and in order. For 5 and 6 also
the bytes moved (partition size x replicas placed on brokers that did not hold them) against the
least any placement that ends balanced has to move.

    python bench/operations.py [--quick] [--data-mb 80]
"""

from __future__ import annotations

import argparse
import itertools
import os
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from unittest import mock

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from steward.control.agents import AgentDirectory  # noqa: E402
from steward.control.node_specs import node_key  # noqa: E402
from steward.domain.model import NodeRole  # noqa: E402
from steward.kafka.distribution import require_distribution  # noqa: E402
from steward.kafka.health import partition_states, under_replicated  # noqa: E402
from steward.kafka.node_config import CLIENT  # noqa: E402
from steward.kafka.reassignment import (  # noqa: E402
    Partition,
    broker_disk_usage,
    current_assignment,
    partition_sizes,
)
from steward.settings import Settings  # noqa: E402
from steward.store.store import Store  # noqa: E402
from tests.integration.harness import Steward, provisioned  # noqa: E402
from tests.integration.workload import Workload  # noqa: E402

VERSION = "4.3.1"
ROLL_STEPS = ("ROLL_CONTROLLERS", "ROLL_BROKERS", "REBOOT_BROKER", "UPDATE_NODES")
POLL = 0.25
"""Seconds between two looks at a running operation."""
WARMUP = 2.0
"""Seconds the workload runs before an operation starts, and after it ends."""
ROLL_TARGET = 90.0
STALL_TARGET = 5.0
MOVE_TARGET = 0.10
"""Scale-out may move at most this fraction more (or less) than the minimum."""
MESSAGE_BYTES = 16 * 1024


@dataclass
class Outcome:
    name: str
    state: str
    """UPDATE_COMPLETE, UPDATE_FAILED, TIMED_OUT (Steward operations) or DONE (the naive roll)."""
    wall: float
    """Seconds from the API call (naive roll: the first restart) to the end."""
    error: str = ""
    stall: float = 0.0
    acked: int = 0
    consumed: int = 0
    verified: str = ""
    """"ok" when every acknowledged message was consumed exactly once and in order, else why not."""
    phases: list[tuple[str, float]] = field(default_factory=list)
    """(step, seconds it took) in order."""
    waits: list[tuple[str, float]] = field(default_factory=list)
    """(what the running step waited for, as its detail said, seconds) in order."""
    stall_at: float | None = None
    """Seconds after the start at which the longest stall began."""
    load: float = 0.0
    """The machine's 1-minute load average when the operation ended (counting its own JVMs)."""
    moved: int | None = None
    minimum: int | None = None
    notes: list[str] = field(default_factory=list)

    def phase_at(self, offset: float) -> str:
        """The phase that was running `offset` seconds after the start."""
        if offset < 0:
            return "the warm-up before the start"
        end = 0.0
        for name, seconds in self.phases:
            end += seconds
            if offset <= end:
                return name
        return "the cool-down after the end"

    @property
    def completed(self) -> bool:
        return self.state in ("UPDATE_COMPLETE", "DONE")

    @property
    def ratio(self) -> float | None:
        if self.moved is None or not self.minimum:
            return None
        return self.moved / self.minimum

    def line(self) -> str:
        parts = [
            f"{self.name}: {self.state} in {self.wall:.1f} s",
            f"stall {self.stall:.2f} s",
            f"acked {self.acked}, consumed {self.consumed}, exactly once in order: {self.verified}",
            f"load {self.load:.1f}",
        ]
        if self.ratio is not None and self.moved is not None and self.minimum is not None:
            parts.append(
                f"moved {mib(self.moved)} vs minimum {mib(self.minimum)} ({self.ratio:.2f}x)"
            )
        text = " | ".join(parts)
        if self.error:
            text += f"\n    error: {self.error}"
        if self.phases:
            text += "\n    " + ", ".join(f"{name} {sec:.1f} s" for name, sec in self.phases)
        if self.waits:
            text += "\n    waited: " + "; ".join(f"{what} {sec:.1f} s" for what, sec in self.waits)
        if self.stall_at is not None:
            text += (
                f"\n    longest stall began {self.stall_at:.1f} s in, "
                f"during {self.phase_at(self.stall_at)}"
            )
        for note in self.notes:
            text += f"\n    {note}"
        return text


def mib(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MiB"


def fill(bootstrap: str, topic: str, partitions: int, total_bytes: int) -> float:
    """Write `total_bytes` of incompressible data to a new topic with acks=all; the seconds it
    took."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=partitions)])[topic].result(60)
    producer = Producer(
        {"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 20, "batch.size": 1 << 20}
    )
    errors: list[str] = []

    def delivered(err: Any, _msg: Any) -> None:
        if err is not None:
            errors.append(str(err))

    block = os.urandom(1 << 20)
    started = time.monotonic()
    for i in range(total_bytes // MESSAGE_BYTES):
        offset = (i * 4099) % (len(block) - MESSAGE_BYTES)
        while True:
            try:
                producer.produce(
                    topic, block[offset : offset + MESSAGE_BYTES], on_delivery=delivered
                )
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    remaining = producer.flush(120)
    if remaining or errors:
        raise RuntimeError(f"filling {topic}: {remaining} unacknowledged, errors {errors[:3]}")
    return time.monotonic() - started


def bytes_moved(
    before: dict[Partition, list[int]],
    after: dict[Partition, list[int]],
    sizes: dict[Partition, int],
) -> int:
    """Bytes copied: for each partition, its size times the replicas it gained on brokers that
    did not hold it."""
    return sum(
        sizes[key] * len(set(after[key]) - set(replicas))
        for key, replicas in before.items()
        if key in after and key in sizes
    )


def minimum_scale_out(
    before: dict[Partition, list[int]], sizes: dict[Partition, int], old: int, new: int
) -> int:
    """To end balanced by bytes, the new brokers must receive (new - old) / new of all replica
    bytes."""
    total = sum(sizes[key] * len(replicas) for key, replicas in before.items() if key in sizes)
    return total * (new - old) // new


def minimum_scale_in(
    before: dict[Partition, list[int]], sizes: dict[Partition, int], leaving: set[int]
) -> int:
    """Every byte the leaving brokers hold has to go somewhere."""
    return sum(
        sizes[key] * len(set(replicas) & leaving)
        for key, replicas in before.items()
        if key in sizes
    )


def wait_for_port(host: str, port: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{host}:{port} did not open within {timeout:.0f} s")


class Bench:
    def __init__(self, steward: Steward, arn: str) -> None:
        self.steward = steward
        self.client = steward.client()
        self.arn = arn
        # The agents' addresses and token, exactly as the Steward under test computes them.
        with mock.patch.dict(os.environ, steward.env):
            self.settings = Settings()
        self.store = Store(self.settings.db_url)
        self.agents = AgentDirectory(self.settings)

    def bootstrap(self) -> str:
        return str(self.client.get_bootstrap_brokers(ClusterArn=self.arn)["BootstrapBrokerString"])

    # --- Steward's operations -------------------------------------------------------------------
    def operation(
        self,
        name: str,
        start: Callable[[str], dict[str, Any]],
        timeout: float = 300.0,
        scaling: int | None = None,
    ) -> Outcome:
        """Run one operation under a fresh workload. `scaling`: the target broker count, to
        measure the data moved."""
        self.steward.wait_for_state(self.arn, {"ACTIVE"})
        bootstrap = self.bootstrap()
        workload = Workload(bootstrap).start()
        watch = LeaderWatch(bootstrap, workload.topic)
        time.sleep(WARMUP)
        before: dict[Partition, list[int]] = {}
        sizes: dict[Partition, int] = {}
        if scaling is not None:
            before = current_assignment(bootstrap)
            sizes = partition_sizes(bootstrap)
        version = self.client.describe_cluster_v2(ClusterArn=self.arn)["ClusterInfo"][
            "CurrentVersion"
        ]
        started = time.monotonic()
        op_arn = start(version)["ClusterOperationArn"]
        outcome = self._await(name, op_arn, started, timeout)
        if scaling is not None and outcome.completed:
            after = current_assignment(self.bootstrap())
            old = len({b for replicas in before.values() for b in replicas})
            outcome.moved = bytes_moved(before, after, sizes)
            if scaling > old:
                outcome.minimum = minimum_scale_out(before, sizes, old, scaling)
            else:
                staying = {b for replicas in after.values() for b in replicas}
                leaving = {b for replicas in before.values() for b in replicas} - staying
                outcome.minimum = minimum_scale_in(before, sizes, leaving)
            usage = broker_disk_usage(self.bootstrap())
            outcome.notes.append(
                f"{len(sizes)} partitions measured, {mib(sum(sizes.values()))} of leader data; "
                "bytes per broker after: "
                + ", ".join(f"{b}: {mib(u)}" for b, u in sorted(usage.items()))
            )
        time.sleep(WARMUP)
        self._stop(workload, watch, outcome, started)
        return outcome

    def _await(self, name: str, op_arn: str, started: float, timeout: float) -> Outcome:
        """Poll the operation until it ends: its state through the API, and, from the store,
        the detail its running step reports while it waits and the nodes a roll has finished."""
        done_at: dict[str, float] = {}
        order: list[str] = []
        info: dict[str, Any] = {}
        state = "TIMED_OUT"
        waits: list[tuple[str, float]] = []
        waiting, since = "", 0.0
        rolled: dict[int, float] = {}
        while time.monotonic() - started < timeout:
            info = self.client.describe_cluster_operation(ClusterOperationArn=op_arn)[
                "ClusterOperationInfo"
            ]
            now = time.monotonic() - started
            for step in info.get("OperationSteps", []):
                if step["StepName"] not in order:
                    order.append(step["StepName"])
                if step["StepInfo"]["StepStatus"] == "SUCCEEDED":
                    done_at.setdefault(step["StepName"], now)
            stored = self.store.get_operation(op_arn)
            if stored is not None:
                pending = stored.next_step
                label = pending.detail.split(": ")[0] if pending is not None else ""
                if label != waiting:
                    if waiting:
                        waits.append((waiting, now - since))
                    waiting, since = label, now
                for key, progress in stored.progress.items():
                    if key in ROLL_STEPS and isinstance(progress, dict):
                        for node in progress.get("done", []):
                            rolled.setdefault(int(node), now)
            if info["OperationState"] in ("UPDATE_COMPLETE", "UPDATE_FAILED"):
                state = info["OperationState"]
                break
            time.sleep(POLL)
        wall = time.monotonic() - started
        if waiting:
            waits.append((waiting, wall - since))
        outcome = Outcome(name, state, wall, waits=waits)
        previous = 0.0
        for step in order:
            if step in done_at:
                outcome.phases.append((step, done_at[step] - previous))
                previous = done_at[step]
        if rolled:
            outcome.notes.append(
                "nodes rolled, done at: "
                + ", ".join(f"{node} {at:.1f} s" for node, at in sorted(rolled.items()))
            )
        if state != "UPDATE_COMPLETE":
            error = info.get("ErrorInfo") or {}
            stored = self.store.get_operation(op_arn)
            pending = stored.next_step if stored is not None else None
            where = f"in step {pending.name}: {pending.detail}" if pending is not None else ""
            outcome.error = " ".join(
                part
                for part in (error.get("ErrorCode", ""), error.get("ErrorString", ""), where)
                if part
            )
        return outcome

    # --- the baseline ---------------------------------------------------------------------------
    def naive_roll(self) -> Outcome:
        """Restart the brokers one by one through their agents, each time waiting only for the
        client port to accept connections."""
        self.steward.wait_for_state(self.arn, {"ACTIVE"})
        cluster = self.store.get_cluster(self.arn)
        assert cluster is not None
        brokers = sorted(
            (n for n in self.store.nodes(self.arn) if n.role is NodeRole.BROKER),
            key=lambda n: n.node_id,
        )
        bootstrap = self.bootstrap()
        workload = Workload(bootstrap).start()
        watch = LeaderWatch(bootstrap, workload.topic)
        time.sleep(WARMUP)
        outcome = Outcome("naive roll (3 brokers)", "DONE", 0.0)
        started = time.monotonic()
        try:
            for node in brokers:
                began = time.monotonic()
                self.agents.client(node.agent).restart(node_key(cluster, node))
                restarted = time.monotonic()
                wait_for_port(node.host, node.ports[CLIENT])
                outcome.phases.append((f"broker {node.node_id}", time.monotonic() - began))
                outcome.waits.append((f"broker {node.node_id} restart call", restarted - began))
                outcome.waits.append((f"broker {node.node_id} port", time.monotonic() - restarted))
        except Exception as error:  # report it with the rest
            outcome.state = "FAILED"
            outcome.error = f"{type(error).__name__}: {error}"
        outcome.wall = time.monotonic() - started
        lagging = self._seconds_until_in_sync(bootstrap)
        outcome.notes.append(
            "every partition fully in sync again "
            + (f"{lagging:.1f} s after the roll" if lagging is not None else "NOT within 120 s")
        )
        time.sleep(WARMUP)
        self._stop(workload, watch, outcome, started)
        return outcome

    @staticmethod
    def _seconds_until_in_sync(bootstrap: str, timeout: float = 120.0) -> float | None:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            try:
                if not under_replicated(partition_states(bootstrap)):
                    return time.monotonic() - started
            except Exception:  # the cluster could not tell yet
                pass
            time.sleep(POLL)
        return None

    def _stop(
        self, workload: Workload, watch: LeaderWatch, outcome: Outcome, started: float
    ) -> None:
        watch.stop()
        result = workload.stop()
        partition, gap_start, gap_end = longest_gap(workload)
        outcome.notes.append(
            f"longest stall: partition {partition}, {gap_start - started:.1f}-"
            f"{gap_end - started:.1f} s; its leader and ISR then: "
            + watch.around(partition, gap_start, gap_end, started)
        )
        outcome.stall = result.longest_stall
        outcome.acked = result.acked
        outcome.consumed = result.consumed
        outcome.stall_at = gap_start - started
        outcome.load = os.getloadavg()[0]
        try:
            workload.verify(result)
            outcome.verified = "ok"
        except AssertionError as failure:
            outcome.verified = f"NO ({failure})"
            try:
                outcome.notes.extend(audit(self.bootstrap(), workload))
            except Exception as error:  # the finding stands; only its explanation is missing
                outcome.notes.append(f"could not read the log back: {error}")


class LeaderWatch:
    """Polls the leader and in-sync set of every partition of one topic (4 times a second), to
    tell what happened to a partition while its producer stalled."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.changes: dict[int, list[tuple[float, int | None, tuple[int, ...]]]] = defaultdict(list)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="leader-watch", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(0.25):
            try:
                states = partition_states(self.bootstrap, 2.0)
            except Exception:
                continue
            now = time.monotonic()
            for state in states:
                if state.topic != self.topic:
                    continue
                seen = self.changes[state.partition]
                if not seen or seen[-1][1:] != (state.leader, state.isr):
                    seen.append((now, state.leader, state.isr))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def around(self, partition: int, start: float, end: float, origin: float) -> str:
        """The partition's leader and in-sync set changes from 2 s before `start` to `end`."""
        shown = [
            f"{at - origin:.1f} s leader {leader} isr {list(isr)}"
            for at, leader, isr in self.changes.get(partition, [])
            if start - 2.0 <= at <= end
        ]
        return "; ".join(shown) or "no change seen"


def audit(bootstrap: str, workload: Workload) -> list[str]:
    """For each partition whose consumer saw a sequence number twice: whether the log itself
    holds it twice (and at which offsets), read again from the start by a fresh consumer."""
    findings = []
    for partition, consumed in sorted(workload.consumed.items()):
        seen = Counter(consumed)
        twice = sorted(seq for seq, count in seen.items() if count > 1)
        if not twice:
            continue
        in_log = offsets_by_sequence(bootstrap, workload.topic, partition)
        for seq in twice[:5]:
            offsets = in_log.get(seq, [])
            where = (
                f"the log holds it {len(offsets)} times, at offsets {offsets}"
                if len(offsets) > 1
                else f"the log holds it {len(offsets)} time(s), at {offsets}: the consumer "
                "read it twice"
            )
            findings.append(f"partition {partition}: sequence {seq} consumed twice; {where}")
    return findings


def offsets_by_sequence(bootstrap: str, topic: str, partition: int) -> dict[int, list[int]]:
    """Sequence number -> offsets it is stored at, over the whole partition."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-audit-{uuid.uuid4().hex[:6]}",
            "enable.auto.commit": False,
        }
    )
    found: dict[int, list[int]] = defaultdict(list)
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
        consumer.assign([TopicPartition(topic, partition, low)])
        deadline = time.monotonic() + 60
        position = low
        while position < high and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error() is not None:
                continue
            found[int(msg.value())].append(msg.offset())
            position = msg.offset() + 1
    finally:
        consumer.close()
    return found


def longest_gap(workload: Workload) -> tuple[int, float, float]:
    """The partition of the longest gap between two acknowledgements, and its start and end
    (time.monotonic()). The workload keeps the acknowledgement times to itself; they are read
    here, after it stopped, only to place its `longest_stall` in time."""
    times: dict[int, list[float]] = workload._ack_times
    gaps = [(b - a, p, a, b) for p, per in times.items() for a, b in itertools.pairwise(per)]
    _, partition, start, end = max(gaps, default=(0.0, 0, 0.0, 0.0))
    return partition, start, end


def create_cluster(steward: Steward) -> tuple[str, float]:
    client = steward.client()
    started = time.monotonic()
    arn = client.create_cluster_v2(ClusterName="operations", Provisioned=provisioned())[
        "ClusterArn"
    ]
    info = steward.wait_for_state(arn, {"ACTIVE", "FAILED"}, timeout=180)
    if info["State"] != "ACTIVE":
        raise RuntimeError(f"the cluster did not become ACTIVE: {info.get('StateInfo')}")
    return str(arn), time.monotonic() - started


def run(
    steward: Steward, data_bytes: int, outcomes: list[Outcome], scale_only: bool = False
) -> None:
    """Run the operations in order, appending each outcome to `outcomes` as it ends; stops early
    when an operation leaves the cluster unable to take the next one."""
    arn, took = create_cluster(steward)
    print(f"cluster ACTIVE after {took:.1f} s", flush=True)
    bench = Bench(steward, arn)
    client = bench.client

    def record(outcome: Outcome) -> bool:
        outcomes.append(outcome)
        print(outcome.line(), flush=True)
        state = client.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]["State"]
        if outcome.completed:
            return True
        print(f"    the cluster is {state}; later operations may not start", flush=True)
        return state == "ACTIVE"

    dynamic = client.create_configuration(
        Name="bench-dynamic",
        KafkaVersions=[VERSION],
        ServerProperties=b"log.retention.ms=3600000\n",
    )
    static = client.create_configuration(
        Name="bench-static",
        KafkaVersions=[VERSION],
        ServerProperties=b"log.retention.ms=3600000\nauto.create.topics.enable=true\n",
    )

    def configure(config: dict[str, Any]) -> Callable[[str], dict[str, Any]]:
        return lambda version: client.update_cluster_configuration(
            ClusterArn=arn,
            CurrentVersion=version,
            ConfigurationInfo={"Arn": config["Arn"], "Revision": 1},
        )

    def brokers(count: int) -> Callable[[str], dict[str, Any]]:
        return lambda version: client.update_broker_count(
            ClusterArn=arn, CurrentVersion=version, TargetNumberOfBrokerNodes=count
        )

    steps: list[Callable[[], Outcome]] = [
        lambda: bench.operation(
            "1 RebootBroker (broker 2)",
            lambda _version: client.reboot_broker(ClusterArn=arn, BrokerIds=["2"]),
        ),
        lambda: bench.operation("2 configuration, dynamic only", configure(dynamic)),
        lambda: bench.operation("3 configuration, static (roll)", configure(static)),
        bench.naive_roll,
        lambda: bench.operation(
            "4 broker type -> m5.xlarge (roll)",
            lambda version: client.update_broker_type(
                ClusterArn=arn, CurrentVersion=version, TargetInstanceType="kafka.m5.xlarge"
            ),
        ),
    ]
    for step in [] if scale_only else steps:
        if not record(step()):
            return

    topic = f"history-{uuid.uuid4().hex[:6]}"
    took = fill(bench.bootstrap(), topic, 24, data_bytes)
    print(
        f"wrote {mib(data_bytes)} to {topic} (24 partitions, RF 3, acks=all) in {took:.1f} s",
        flush=True,
    )
    if record(bench.operation("5 broker count 3 -> 6", brokers(6), 900, scaling=6)):
        record(bench.operation("6 broker count 6 -> 3", brokers(3), 900, scaling=3))


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def report(outcomes: list[Outcome]) -> None:
    print()
    print(
        f"{'operation':36}{'state':>16}{'wall':>9}{'stall':>9}{'acked':>8}{'consumed':>9}  "
        f"{'exactly once':14}{'moved / minimum':>28}"
    )
    for o in outcomes:
        moved = ""
        if o.ratio is not None and o.moved is not None and o.minimum is not None:
            moved = f"{mib(o.moved)} / {mib(o.minimum)} {o.ratio:.2f}x"
        print(
            f"{o.name:36}{o.state:>16}{o.wall:8.1f}s{o.stall:8.2f}s{o.acked:8}{o.consumed:9}  "
            f"{o.verified[:14]:14}{moved:>28}"
        )
    by_name = {o.name.split(" ")[0]: o for o in outcomes}
    naive = by_name.get("naive")
    print()
    for key in ("3", "4"):
        roll = by_name.get(key)
        if roll is None:
            continue
        line = (
            f"roll of 3 brokers under {ROLL_TARGET:.0f} s ({roll.name}): "
            f"{roll.wall:.1f} s, {verdict(roll.completed and roll.wall < ROLL_TARGET)}"
        )
        if naive is not None and naive.wall > 0:
            line += (
                f" | vs naive roll {naive.wall:.1f} s: {roll.wall / naive.wall:.2f}x time, "
                f"stall {roll.stall:.2f} s vs {naive.stall:.2f} s"
            )
        print(line)
    steward_ops = [o for o in outcomes if o is not naive]
    worst = max(steward_ops, key=lambda o: o.stall, default=None)
    if worst is not None:
        print(
            f"longest stall under {STALL_TARGET:.0f} s (Steward's operations): {worst.stall:.2f} s"
            f" in {worst.name}, {verdict(worst.stall < STALL_TARGET)}"
        )
    out = by_name.get("5")
    if out is not None and out.ratio is not None:
        print(
            f"scale-out data moved within {MOVE_TARGET:.0%} of the minimum: {out.ratio:.2f}x, "
            f"{verdict(abs(out.ratio - 1) <= MOVE_TARGET)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="write 16 MiB before the scale-out")
    parser.add_argument("--data-mb", type=int, default=80, help="MiB written before scale-out")
    parser.add_argument("--scale-only", action="store_true", help="only operations 5 and 6")
    args = parser.parse_args()
    data_bytes = (16 if args.quick else args.data_mb) * 1024 * 1024
    require_distribution(VERSION)
    print(
        f"{date.today().isoformat()}, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f} at the start",
        flush=True,
    )
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="steward-bench-") as tmp:
        steward = Steward(Path(tmp) / "steward")
        steward.start()
        outcomes: list[Outcome] = []
        try:
            run(steward, data_bytes, outcomes, args.scale_only)
        finally:
            steward.cleanup()
            report(outcomes)
    print(
        f"\ntotal {time.monotonic() - started:.0f} s, load average "
        f"{os.getloadavg()[0]:.1f} at the end"
    )


if __name__ == "__main__":
    main()

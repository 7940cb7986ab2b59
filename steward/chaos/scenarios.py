"""Fault scenarios: a workload runs, a fault is injected, Steward heals the cluster, and the run
reports what the clients saw and how long healing took.

Times are measured from the moment of injection:
- detected: the start of the first HEAL operation Steward opened after it (its `StartTime`);
- healed: the cluster is ACTIVE again, no HEAL operation is running, and no partition is
  under-replicated (every replica back in its in-sync set).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from steward.chaos import faults
from steward.chaos.workload import Workload
from steward.kafka import admin, health

Inject = Callable[[faults.LocalCluster], list[str]]


@dataclass
class ScenarioResult:
    name: str
    injected: list[str]
    """What was done, in words."""
    detected_after: float | None
    """Seconds from the injection to the first repair Steward started; None if none started."""
    healed_after: float | None
    """Seconds until the cluster was ACTIVE with every replica in sync; None if it never was."""
    repairs: list[str] = field(default_factory=list)
    """Each HEAL operation since the injection: its state and why it was started."""
    acked: int = 0
    lost: int = 0
    duplicates: int = 0
    rewritten: int = 0
    """Duplicates the producer wrote twice (`WorkloadResult.rewritten`)."""
    longest_stall: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.healed_after is not None and not self.problems


def _second_broker(cluster: faults.LocalCluster, skip: int) -> int:
    return next(b.node_id for b in cluster.brokers if b.node_id != skip)


def _two_faults(cluster: faults.LocalCluster) -> list[str]:
    first = cluster.brokers[0].node_id
    done = [faults.kill_node(cluster, first)]
    time.sleep(3.0)
    done.append(faults.kill_node(cluster, _second_broker(cluster, first)))
    return done


SCENARIOS: dict[str, Inject] = {
    "kill-broker": lambda c: [faults.kill_node(c, c.brokers[1].node_id)],
    "kill-active-controller": lambda c: [faults.kill_active_controller(c)],
    "hang-broker": lambda c: [faults.hang_node(c, c.brokers[2].node_id, 60.0)],
    "delete-broker-data": lambda c: [faults.delete_data(c, c.brokers[0].node_id)],
    "fill-broker-disk": lambda c: [faults.fill_disk(c, c.brokers[1].node_id)],
    "kill-agent": lambda c: [faults.kill_agent(c, c.brokers[1].agent)],
    "cut-zone": lambda c: [faults.cut_zone(c, c.brokers[2].zone, 20.0)],
    "two-faults": _two_faults,
    "kill-host": lambda c: [faults.kill_host(c, c.host_with_brokers_only())],
    "hang-after-repair": lambda c: [faults.hang_node(c, c.brokers[1].node_id, 120.0)],
}
"""Each scenario's fault, by name (what `steward chaos run` accepts). `kill-host` needs a zone
with two hosts or more (STEWARD_HOSTS_PER_ZONE): the killed host stays powered off until
`faults.power_on_host`."""

PRELUDES: dict[str, Inject] = {
    "hang-after-repair": lambda c: [faults.kill_node(c, c.brokers[0].node_id)],
}
"""Scenarios whose fault comes after another one has been repaired: the prelude's fault is
injected first, and the scenario's own `PRELUDE_PAUSE` seconds after the cluster healed. The
times measured are those of the second fault (as a user met it: a broker killed, healed, and
then another one hung)."""

PRELUDE_PAUSE = 10.0


def run_scenario(
    client: Any,
    cluster: faults.LocalCluster,
    name: str,
    warmup: float = 5.0,
    heal_timeout: float = 300.0,
    during_repair: Callable[[], None] | None = None,
    partitions: int = 6,
    expect_repair: bool = True,
    producer: str = "confluent",
) -> ScenarioResult:
    """Run scenario `name` against `cluster` with a boto3 `kafka` client of its Steward.
    `during_repair`, when given, is called once the first repair has started (e.g. to kill the
    control plane in the middle of it). With `expect_repair` False (a Steward whose health
    monitor is off: the baseline of bench/healing.py), "detected" is when Kafka itself shows the
    fault (a broker gone from the cluster or a replica out of sync) and "healed" when it no longer
    does; a fault Kafka never shows within `settle` seconds counts as healed at once.
    `producer`: the workload's producer, "confluent" or "java" (Kafka's own client)."""
    inject = SCENARIOS[name]
    workload = Workload(cluster.bootstrap, partitions=partitions, producer=producer).start()
    injected: list[str] = []
    try:
        time.sleep(warmup)
        prelude = PRELUDES.get(name)
        if prelude is not None:
            began = time.time()
            injected += prelude(cluster)
            if expect_repair:
                _, healed = _wait_for_healing(client, cluster, began, heal_timeout, None)
            else:
                _, healed = _wait_for_kafka(cluster, began, heal_timeout)
            injected.append("healed" if healed is not None else "not healed")
            time.sleep(PRELUDE_PAUSE)
        began = time.time()
        injected += inject(cluster)
        if expect_repair:
            detected_after, healed_after = _wait_for_healing(
                client, cluster, began, heal_timeout, during_repair
            )
        else:
            detected_after, healed_after = _wait_for_kafka(cluster, began, heal_timeout)
    finally:
        result = workload.stop()
    return ScenarioResult(
        name=name,
        injected=injected,
        detected_after=detected_after,
        healed_after=healed_after,
        repairs=_repairs(client, cluster.arn, began),
        acked=result.acked,
        lost=result.lost,
        duplicates=result.duplicates,
        rewritten=result.rewritten,
        longest_stall=result.longest_stall,
        problems=workload.problems(result),
    )


def _wait_for_healing(
    client: Any,
    cluster: faults.LocalCluster,
    began: float,
    timeout: float,
    during_repair: Callable[[], None] | None,
) -> tuple[float | None, float | None]:
    detected: float | None = None
    deadline = began + timeout
    while time.time() < deadline:
        repairs = _heal_operations(client, cluster.arn, began)
        if repairs and detected is None:
            detected = min(_epoch(op["StartTime"]) for op in repairs) - began
            if during_repair is not None:
                during_repair()
        state = _cluster_state(client, cluster.arn)
        running = any(op["OperationState"] not in _FINISHED for op in repairs)
        if detected is not None and state == "ACTIVE" and not running and _in_sync(cluster):
            return detected, time.time() - began
        time.sleep(0.25)
    return detected, None


def _wait_for_kafka(
    cluster: faults.LocalCluster, began: float, timeout: float, settle: float = 30.0
) -> tuple[float | None, float | None]:
    detected: float | None = None
    deadline = began + timeout
    while time.time() < deadline:
        degraded = _degraded(cluster)
        now = time.time() - began
        if detected is None and degraded:
            detected = now
        elif detected is None and now > settle:
            return None, 0.0
        elif detected is not None and not degraded:
            return detected, now
        time.sleep(0.25)
    return detected, None


def _degraded(cluster: faults.LocalCluster) -> bool:
    try:
        states = health.partition_states(cluster.bootstrap, 5.0)
        serving = admin.serving_brokers(cluster.bootstrap, 5.0)
    except Exception:
        return True
    wanted = {b.node_id for b in cluster.brokers}
    return bool(health.under_replicated(states)) or not wanted <= serving


_FINISHED = ("UPDATE_COMPLETE", "UPDATE_FAILED")


def _heal_operations(client: Any, arn: str, since: float) -> list[dict[str, Any]]:
    try:
        listed = client.list_cluster_operations_v2(ClusterArn=arn)["ClusterOperationInfoList"]
    except Exception:  # the control plane may be restarting
        return []
    return [
        op
        for op in listed
        if op["OperationType"] == "HEAL" and _epoch(op["StartTime"]) >= since - 1.0
    ]


def _repairs(client: Any, arn: str, since: float) -> list[str]:
    found = []
    for op in sorted(_heal_operations(client, arn, since), key=lambda o: o["StartTime"]):
        info = client.describe_cluster_operation_v2(ClusterOperationArn=op["OperationArn"])
        steps = info["ClusterOperationInfo"].get("Provisioned", {}).get("OperationSteps", [])
        names = ", ".join(s["StepName"] for s in steps)
        found.append(f"{op['OperationState']} ({names})")
    return found


def _cluster_state(client: Any, arn: str) -> str | None:
    try:
        return str(client.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]["State"])
    except Exception:
        return None


def _in_sync(cluster: faults.LocalCluster) -> bool:
    try:
        return not health.under_replicated(health.partition_states(cluster.bootstrap, 5.0))
    except health.HealthError:
        return False


def _epoch(value: datetime | str) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()

"""Metrics read through the Admin API: consumer lag (sums and maxima per group and topic, the
time estimate from the rate the log end moves at, per-partition lag only where the cluster asks
for it), and partition health and disk use where no exporter gives them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from steward.domain.model import (
    BrokerNodeGroup,
    Cluster,
    ClusterSpec,
    ClusterState,
    EnhancedMonitoring,
    Node,
    NodeRole,
    OpenMonitoring,
)
from steward.kafka.group_lag import ConsumerGroup, PartitionLag
from steward.kafka.health import PartitionState
from steward.monitor import admin_metrics
from steward.monitor.admin_metrics import AdminMetricsCollector
from steward.monitor.kafka_state import disk_samples, partition_samples
from steward.monitor.store import MetricStore, Sample


def cluster(level: EnhancedMonitoring = EnhancedMonitoring.DEFAULT) -> Cluster:
    spec = ClusterSpec(
        "4.3.1", 3, BrokerNodeGroup("kafka.m5.large", ("az-a",), 10), enhanced_monitoring=level
    )
    return Cluster(
        arn="arn:aws:kafka:us-east-1:000000000000:cluster/orders/abc-1",
        name="orders",
        spec=spec,
        state=ClusterState.ACTIVE,
        creation_time=None,  # type: ignore[arg-type]
        current_version="K1",
        kafka_cluster_id="AAAAAAAAAAAAAAAAAAAAAA",
    )


def group(*partitions: tuple[str, int, int, int]) -> ConsumerGroup:
    return ConsumerGroup(
        group_id="billing",
        state="STABLE",
        protocol_type="consumer",
        group_type="CLASSIC",
        coordinator=1,
        partition_assignor="range",
        members=(),
        partitions=tuple(PartitionLag(t, p, committed, end) for t, p, committed, end in partitions),
    )


def by_name(samples: list[Sample]) -> dict[tuple[str, str], float]:
    return {
        (s.metric, s.dimensions.get("Partition", s.dimensions["Topic"])): s.value for s in samples
    }


def collector() -> AdminMetricsCollector:
    return AdminMetricsCollector(store=None, groups=None, metrics=None)  # type: ignore[arg-type]


def test_sum_and_max_per_topic_with_msk_dimensions() -> None:
    samples = collector().samples(
        cluster(),
        [group(("payments", 0, 90, 100), ("payments", 1, 70, 100), ("audit", 0, 5, 5))],
        1000.0,
    )
    values = by_name(samples)
    assert values[("SumOffsetLag", "payments")] == 40 and values[("MaxOffsetLag", "payments")] == 30
    assert values[("SumOffsetLag", "audit")] == 0
    wanted = {"Cluster Name": "orders", "Consumer Group": "billing", "Topic": "payments"}
    assert all(s.dimensions == wanted for s in samples if s.dimensions["Topic"] == "payments")
    assert not [s for s in samples if s.metric == "OffsetLag"]  # DEFAULT level


def test_the_time_lag_comes_from_the_rate_the_log_end_moves_at() -> None:
    lag = collector()
    first: Any = by_name(lag.samples(cluster(), [group(("payments", 0, 0, 100))], 1000.0))
    assert ("EstimatedMaxTimeLag", "payments") not in first  # no rate known yet
    # 100 more messages in 10 s (10/s); 150 unread: 15 s of producing behind
    second = by_name(lag.samples(cluster(), [group(("payments", 0, 50, 200))], 1010.0))
    assert second[("EstimatedMaxTimeLag", "payments")] == 15.0
    # nothing new for 30 s, nothing read: the backlog is 30 s older
    third = by_name(lag.samples(cluster(), [group(("payments", 0, 50, 200))], 1040.0))
    assert third[("EstimatedMaxTimeLag", "payments")] == 45.0
    caught_up = by_name(lag.samples(cluster(), [group(("payments", 0, 200, 200))], 1050.0))
    assert caught_up[("EstimatedMaxTimeLag", "payments")] == 0.0


def test_per_partition_lag_at_the_partition_level() -> None:
    level = EnhancedMonitoring.PER_TOPIC_PER_PARTITION
    samples = collector().samples(cluster(level), [group(("payments", 3, 90, 100))], 1000.0)
    (partition,) = [s for s in samples if s.metric == "OffsetLag"]
    assert partition.value == 10 and partition.dimensions["Partition"] == "3"


def test_partition_health_per_cluster_and_per_broker() -> None:
    states = [
        PartitionState("payments", 0, 1, (1, 2, 3), (1, 2, 3)),
        PartitionState("payments", 1, 2, (2, 3, 1), (2, 3)),  # broker 1 out of sync
        PartitionState("audit", 0, None, (3, 1, 2), ()),  # offline
    ]
    values = {
        (s.metric, s.dimensions.get("Broker ID")): s.value
        for s in partition_samples(cluster(), [1, 2, 3], states, 1000.0)
    }
    assert values[("OfflinePartitionsCount", None)] == 1
    assert values[("GlobalPartitionCount", None)] == 3
    assert values[("GlobalTopicCount", None)] == 2
    assert values[("UnderReplicatedPartitions", "2")] == 1  # it leads the lagging partition
    assert values[("UnderReplicatedPartitions", "1")] == 0
    assert values[("PartitionCount", "3")] == 3


def test_disk_use_is_a_percentage_of_the_volume() -> None:
    (sample,) = disk_samples(cluster(), {2: 1024**3}, 1000.0)  # 1 GiB of a 10 GiB volume
    assert sample.metric == "KafkaDataLogsDiskUsed" and sample.value == 10.0
    assert sample.dimensions == {"Cluster Name": "orders", "Broker ID": "2"}


def test_with_the_node_exporter_kafka_counts_only_the_volumes_it_does_not_measure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broker whose data is a plain directory of the host: its node exporter names no data
    filesystem (the host's use is not the broker's), so its disk use is Kafka's count; a broker
    with a volume of its own is measured by its exporter, and counted once, not twice."""
    exported = replace(
        cluster(),
        spec=replace(cluster().spec, open_monitoring=OpenMonitoring(True, True)),
    )
    when = datetime(2026, 12, 7, tzinfo=UTC)
    brokers = [
        Node(
            exported.arn,
            b,
            NodeRole.BROKER,
            "az-a",
            f"127.0.0.{b}",
            "az-a",
            {},
            "d",
            when,
            "4.3.1",
            "kafka.m5.large",
        )
        for b in (1, 2)
    ]
    monkeypatch.setattr(admin_metrics, "steward_bootstrap", lambda *_: "127.0.0.1:9092")
    monkeypatch.setattr(
        admin_metrics, "broker_disk_usage", lambda *_, **__: {1: 1024**3, 2: 2 * 1024**3}
    )
    metrics = MetricStore(tmp_path / "metrics.db")
    clock = [1000.0]
    lag = AdminMetricsCollector(
        store=SimpleNamespace(nodes=lambda _: brokers),  # type: ignore[arg-type]
        groups=None,  # type: ignore[arg-type]
        metrics=metrics,
        interval=30.0,
        clock=lambda: clock[0],
    )
    try:
        # broker 1's exporter measured its volume 10 s ago; broker 2's names none
        dims = {"Cluster Name": "orders", "Broker ID": "1"}
        metrics.put([Sample("KafkaDataLogsDiskUsed", dims, 990.0, 12.5)])
        for _ in range(3):  # its own counts never pass for the exporter's
            found = lag.state_samples(exported)
            metrics.put(found)
            assert [(s.dimensions["Broker ID"], s.value) for s in found] == [("2", 20.0)]
            clock[0] += 30.0
            metrics.put([Sample("KafkaDataLogsDiskUsed", dims, clock[0] - 5, 12.5)])
        clock[0] += 200.0  # broker 1's exporter went quiet: Kafka counts it too
        found = lag.state_samples(exported)
        assert sorted(s.dimensions["Broker ID"] for s in found) == ["1", "2"]
    finally:
        metrics.close()

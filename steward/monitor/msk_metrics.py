"""From what a cluster's exporters serve to MSK's CloudWatch metrics.

MSK names its metrics after Kafka's MBeans and publishes them under the dimensions "Cluster Name",
"Broker ID" and "Topic", more of them the higher the cluster's `EnhancedMonitoring` level:

- DEFAULT: cluster-level (ActiveControllerCount, GlobalPartitionCount, GlobalTopicCount,
  OfflinePartitionsCount) and per broker (BytesInPerSec, BytesOutPerSec, MessagesInPerSec,
  PartitionCount, UnderReplicatedPartitions, KafkaDataLogsDiskUsed, CpuUser, CpuSystem, CpuIdle,
  MemoryUsed, MemoryFree);
- PER_BROKER adds per broker: LeaderCount, RequestHandlerAvgIdlePercent,
  NetworkProcessorAvgIdlePercent, ProduceTotalTimeMsMean, FetchConsumerTotalTimeMsMean,
  FetchFollowerTotalTimeMsMean, IsrShrinksPerSec, IsrExpandsPerSec, HeapMemoryAfterGC;
- PER_TOPIC_PER_BROKER adds per topic and broker: BytesInPerSec, BytesOutPerSec,
  MessagesInPerSec;
- PER_TOPIC_PER_PARTITION adds MSK's per-partition consumer lag metrics, which come from the
  consumer groups, not from an exporter.

Kafka's meters are cumulative counts; a "PerSec" metric is the rate between two scrapes of the
same broker, so `BrokerScrapes` keeps each broker's previous scrape.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from steward.domain.model import EnhancedMonitoring
from steward.monitor.exposition import Exposition
from steward.monitor.store import Sample

CLUSTER_NAME = "Cluster Name"
BROKER_ID = "Broker ID"
TOPIC = "Topic"
CONSUMER_GROUP = "Consumer Group"

_LEVELS = tuple(EnhancedMonitoring)

_TOPIC_METERS = "kafka_server_brokertopicmetrics_count"
_RATES = ("BytesInPerSec", "BytesOutPerSec", "MessagesInPerSec")
_REPLICA_GAUGES = "kafka_server_replicamanager_value"
_REPLICA_METERS = "kafka_server_replicamanager_count"
_CONTROLLER_GAUGES = "kafka_controller_kafkacontroller_value"

USED_PREFIXES = (
    "kafka_server_brokertopicmetrics_count",
    "kafka_server_replicamanager_",
    "kafka_server_kafkarequesthandlerpool_oneminuterate",
    "kafka_network_socketserver_value",
    "kafka_network_requestmetrics_mean",
    "kafka_controller_kafkacontroller_value",
    "java_lang_memory_heapmemoryusage_",
    "node_",
    "steward_kafka_data_filesystem_info",
)
"""The exporters' metrics the translation below reads; the scraper parses only those."""

CLUSTER_METRICS = (
    "ActiveControllerCount",
    "GlobalPartitionCount",
    "GlobalTopicCount",
    "OfflinePartitionsCount",
)


def at_least(level: EnhancedMonitoring, wanted: EnhancedMonitoring) -> bool:
    return _LEVELS.index(level) >= _LEVELS.index(wanted)


@dataclass(frozen=True)
class Scrape:
    timestamp: float
    exposition: Exposition


def _rate(now: Scrape, before: Scrape | None, name: str, labels: dict[str, str]) -> float | None:
    if before is None or now.timestamp <= before.timestamp:
        return None
    current = now.exposition.get(name, **labels)
    previous = before.exposition.get(name, **labels)
    if current is None:
        return None
    if previous is None:
        previous = 0.0  # Kafka makes a topic's meters on its first record: they start at 0
    if current < previous:  # the broker restarted
        return None
    return (current - previous) / (now.timestamp - before.timestamp)


def broker_samples(
    cluster: str,
    broker_id: int,
    level: EnhancedMonitoring,
    now: Scrape,
    before: Scrape | None,
) -> list[Sample]:
    """MSK's per-broker (and per-topic) metrics of one broker's scrape (its JMX exporter and
    node metrics merged), at the cluster's level."""
    dims = {CLUSTER_NAME: cluster, BROKER_ID: str(broker_id)}
    ts = now.timestamp
    exposition = now.exposition
    out: list[Sample] = []

    def put(metric: str, value: float | None, dimensions: dict[str, str] = dims) -> None:
        if value is not None:
            out.append(Sample(metric, dimensions, ts, value))

    for meter in _RATES:
        put(meter, _rate(now, before, _TOPIC_METERS, {"name": meter}))
    for gauge in ("UnderReplicatedPartitions", "PartitionCount"):
        put(gauge, exposition.get(_REPLICA_GAUGES, name=gauge))
    out.extend(_host_samples(dims, now, before))
    if at_least(level, EnhancedMonitoring.PER_BROKER):
        put("LeaderCount", exposition.get(_REPLICA_GAUGES, name="LeaderCount"))
        idle = exposition.get(
            "kafka_server_kafkarequesthandlerpool_oneminuterate",
            name="RequestHandlerAvgIdlePercent",
        )
        put("RequestHandlerAvgIdlePercent", idle)
        put(
            "NetworkProcessorAvgIdlePercent",
            exposition.get(
                "kafka_network_socketserver_value", name="NetworkProcessorAvgIdlePercent"
            ),
        )
        for request in ("Produce", "FetchConsumer", "FetchFollower"):
            put(
                f"{request}TotalTimeMsMean",
                exposition.get(
                    "kafka_network_requestmetrics_mean", name="TotalTimeMs", request=request
                ),
            )
        for meter in ("IsrShrinksPerSec", "IsrExpandsPerSec"):
            put(meter, _rate(now, before, _REPLICA_METERS, {"name": meter}))
        put("HeapMemoryAfterGC", _heap_after_gc(exposition))
    if at_least(level, EnhancedMonitoring.PER_TOPIC_PER_BROKER):
        for labels, _ in exposition.series(_TOPIC_METERS):
            topic = labels.get("topic")
            if topic is None or labels.get("name") not in _RATES:
                continue
            topic_dims = {**dims, TOPIC: topic}
            put(labels["name"], _rate(now, before, _TOPIC_METERS, labels), topic_dims)
    return out


def _heap_after_gc(exposition: Exposition) -> float | None:
    """Percent of the heap in use (MSK measures it after garbage collection)."""
    used = exposition.get("java_lang_memory_heapmemoryusage_used")
    size = exposition.get("java_lang_memory_heapmemoryusage_max")
    if used is None or not size or size <= 0:
        return None
    return 100.0 * used / size


def _host_samples(dims: dict[str, str], now: Scrape, before: Scrape | None) -> list[Sample]:
    """CpuUser/CpuSystem/CpuIdle (percent of all CPUs), MemoryUsed/MemoryFree (bytes) and
    KafkaDataLogsDiskUsed (percent of the data volume) from the node metrics."""
    out: list[Sample] = []
    ts = now.timestamp
    exposition = now.exposition
    if before is not None:
        deltas: dict[str, float] = {}
        for labels, value in exposition.series("node_cpu_seconds_total"):
            previous = before.exposition.get("node_cpu_seconds_total", **labels)
            if previous is not None and value >= previous:
                mode = labels.get("mode", "")
                deltas[mode] = deltas.get(mode, 0.0) + value - previous
        total = sum(deltas.values())
        if total > 0:
            for metric, mode in (("CpuUser", "user"), ("CpuSystem", "system"), ("CpuIdle", "idle")):
                out.append(Sample(metric, dims, ts, 100.0 * deltas.get(mode, 0.0) / total))
    total_memory = exposition.get("node_memory_MemTotal_bytes")
    available = exposition.get("node_memory_MemAvailable_bytes")
    if total_memory is not None and available is not None:
        out.append(Sample("MemoryUsed", dims, ts, total_memory - available))
        out.append(Sample("MemoryFree", dims, ts, available))
    data_mounts = {
        labels.get("mountpoint")
        for labels, _ in exposition.series("steward_kafka_data_filesystem_info")
    }
    for labels, size in exposition.series("node_filesystem_size_bytes"):
        is_data = labels.get("purpose") == "kafka-data" or (labels.get("mountpoint") in data_mounts)
        if not is_data or size <= 0:
            continue
        avail = exposition.get("node_filesystem_avail_bytes", **labels)
        if avail is not None:
            out.append(Sample("KafkaDataLogsDiskUsed", dims, ts, 100.0 * (size - avail) / size))
            break  # a filesystem mounted twice is still one data volume
    return out


def cluster_samples(
    cluster: str, timestamp: float, controllers: Sequence[Exposition]
) -> list[Sample]:
    """The cluster-level metrics, from the KRaft controllers' exporters: ActiveControllerCount
    summed over them (1 when healthy), the others as the active controller counts them."""
    dims = {CLUSTER_NAME: cluster}
    out: list[Sample] = []
    for metric in CLUSTER_METRICS:
        values = [
            v
            for v in (c.get(_CONTROLLER_GAUGES, name=metric) for c in controllers)
            if v is not None
        ]
        if not values:
            continue
        value = sum(values) if metric == "ActiveControllerCount" else max(values)
        out.append(Sample(metric, dims, timestamp, value))
    return out


def metric_names(samples: Iterable[Sample]) -> set[str]:
    return {s.metric for s in samples}

"""The balancer's model of a running cluster, built from what Kafka and the metrics say.

Replicas and leaders come from the cluster's metadata, partition sizes from the brokers' log
directories (`describe_log_dirs`), each partition's bytes in and out from MSK's per-topic
metrics when the cluster publishes them (PER_TOPIC_PER_BROKER; a topic's rate is shared evenly
by its partitions), zones from where Steward placed each broker, and capacity from the instance
type (disk: the volume size; network: `network_bytes_per_s`).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence

from steward.balancer.model import BrokerCapacity, ClusterModel, PartitionKey
from steward.domain.model import Cluster, Node
from steward.kafka import reassignment
from steward.kafka.instance_types import network_bytes_per_s
from steward.monitor.msk_metrics import BROKER_ID, CLUSTER_NAME, TOPIC
from steward.monitor.store import MetricStore

log = logging.getLogger(__name__)

RATE_WINDOW = 600.0
"""Seconds of metrics a partition's bytes in and out are averaged over."""


def broker_capacity(cluster: Cluster) -> BrokerCapacity:
    group = cluster.spec.broker_node_group
    network = network_bytes_per_s(group.instance_type)
    return BrokerCapacity(float(group.volume_size_gb) * 1024**3, network, network)


def build_model(
    bootstrap: str,
    cluster: Cluster,
    brokers: Sequence[Node],
    metrics: MetricStore | None = None,
    timeout: float = 30.0,
) -> ClusterModel:
    """The model of `cluster` with `brokers` (those that are to hold replicas). Raises
    `ReassignmentError` when Kafka cannot be asked."""
    assignment = reassignment.current_assignment(bootstrap, timeout=min(timeout, 10.0))
    try:
        sizes = reassignment.partition_sizes(bootstrap, timeout=timeout)
    except reassignment.ReassignmentError as error:
        log.warning("%s: balancing without partition sizes: %s", cluster.name, error)
        sizes = {}
    bytes_in, bytes_out = (
        partition_rates(metrics, cluster, assignment, brokers) if metrics else ({}, {})
    )
    return ClusterModel.build(
        assignment,
        {b.node_id: b.zone for b in brokers},
        sizes=sizes,
        bytes_in=bytes_in,
        bytes_out=bytes_out,
        capacity=broker_capacity(cluster),
    )


def partition_rates(
    metrics: MetricStore,
    cluster: Cluster,
    assignment: dict[PartitionKey, list[int]],
    brokers: Sequence[Node],
    now: float | None = None,
) -> tuple[dict[PartitionKey, float], dict[PartitionKey, float]]:
    """Each partition's bytes in and out per second over the last RATE_WINDOW, from the
    per-topic metrics (none when the cluster does not publish them)."""
    now = time.time() if now is None else now
    partitions = Counter(topic for topic, _ in assignment)
    found: list[dict[PartitionKey, float]] = []
    for metric in ("BytesInPerSec", "BytesOutPerSec"):
        per_topic: Counter[str] = Counter()
        for topic in partitions:
            for broker in brokers:
                dims = {CLUSTER_NAME: cluster.name, BROKER_ID: str(broker.node_id), TOPIC: topic}
                points = metrics.query(
                    metric, dims, now - RATE_WINDOW, now, int(RATE_WINDOW), "Average", now=now
                )
                if points:
                    per_topic[topic] += points[-1].value
        found.append(
            {key: per_topic[key[0]] / partitions[key[0]] for key in assignment if per_topic[key[0]]}
        )
    return found[0], found[1]

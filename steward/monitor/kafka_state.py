"""MSK's cluster and broker health metrics read from Kafka's metadata rather than from an exporter,
for clusters without open monitoring: every cluster has them, as on MSK, whose DEFAULT level
CloudWatch metrics need no Prometheus. With the JMX exporter on, its numbers are used instead
(`steward.monitor.msk_metrics`); with the node exporter on, its filesystem figures.

- OfflinePartitionsCount, GlobalPartitionCount and GlobalTopicCount per cluster;
- UnderReplicatedPartitions (partitions the broker leads with a replica out of sync, as Kafka's
  own gauge counts) and PartitionCount (replicas it holds) per broker;
- KafkaDataLogsDiskUsed per broker: the bytes of its log directories against the cluster's
  volume size, in percent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from steward.agent.volumes import GIB
from steward.domain.model import Cluster
from steward.kafka.health import PartitionState
from steward.monitor.msk_metrics import BROKER_ID, CLUSTER_NAME
from steward.monitor.store import Sample


def partition_samples(
    cluster: Cluster, brokers: Sequence[int], states: Sequence[PartitionState], now: float
) -> list[Sample]:
    dims = {CLUSTER_NAME: cluster.name}
    samples = [
        Sample("OfflinePartitionsCount", dims, now, sum(s.leader is None for s in states)),
        Sample("GlobalPartitionCount", dims, now, len(states)),
        Sample("GlobalTopicCount", dims, now, len({s.topic for s in states})),
    ]
    for broker in brokers:
        broker_dims = {CLUSTER_NAME: cluster.name, BROKER_ID: str(broker)}
        behind = sum(s.leader == broker and len(s.isr) < len(s.replicas) for s in states)
        held = sum(broker in s.replicas for s in states)
        samples += [
            Sample("UnderReplicatedPartitions", broker_dims, now, behind),
            Sample("PartitionCount", broker_dims, now, held),
        ]
    return samples


DISK_USED = "KafkaDataLogsDiskUsed"


def disk_samples(cluster: Cluster, used_bytes: Mapping[int, int], now: float) -> list[Sample]:
    size = cluster.spec.broker_node_group.volume_size_gb * GIB
    return [
        Sample(
            DISK_USED,
            {CLUSTER_NAME: cluster.name, BROKER_ID: str(broker)},
            now,
            100.0 * used / size,
        )
        for broker, used in sorted(used_bytes.items())
    ]

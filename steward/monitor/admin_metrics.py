"""The metrics Steward reads through Kafka's Admin API rather than from exporters, every
`interval` seconds for each serving cluster, put in the metric store under MSK's names:

- consumer lag, for every cluster (lag is Kafka's own bookkeeping, as MSK reports it at every
  monitoring level), with the dimensions "Cluster Name", "Consumer Group" and "Topic":
  SumOffsetLag and MaxOffsetLag per group and topic (messages); EstimatedMaxTimeLag per group and
  topic (seconds): for each partition, how long the producers took to write the messages the
  group has not read yet, from the rate the partition's log end moved at since the last look
  (while nothing new comes in, the backlog only gets older); OffsetLag per group, topic and
  partition at PER_TOPIC_PER_PARTITION;
- for a cluster without the JMX exporter, its partition health, and without the node exporter,
  its brokers' disk use (`steward.monitor.kafka_state`), so that every cluster has the metrics its
  recommended alarms watch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Protocol

from steward.domain.errors import StewardError
from steward.domain.model import Cluster, ClusterState, EnhancedMonitoring, NodeRole
from steward.kafka.errors import KafkaAdminError
from steward.kafka.group_lag import ConsumerGroup
from steward.kafka.health import partition_states
from steward.kafka.reassignment import broker_disk_usage
from steward.monitor.kafka_state import DISK_USED, disk_samples, partition_samples
from steward.monitor.msk_metrics import BROKER_ID, CLUSTER_NAME, CONSUMER_GROUP, TOPIC
from steward.monitor.store import MetricStore, Sample
from steward.security.certificates import steward_bootstrap
from steward.store.store import Store

log = logging.getLogger(__name__)

WATCHED = (ClusterState.ACTIVE, ClusterState.UPDATING, ClusterState.HEALING)


@dataclass
class _Seen:
    when: float
    log_end: int
    time_lag: float | None


class GroupReader(Protocol):
    """A cluster's consumer groups, with their lag (the control plane's use case)."""

    def group_ids(self, cluster_arn: str) -> list[str]: ...

    def groups(self, cluster_arn: str, group_ids: Sequence[str]) -> list[ConsumerGroup]: ...


class AdminMetricsCollector:
    def __init__(
        self,
        store: Store,
        groups: GroupReader,
        metrics: MetricStore,
        interval: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.groups = groups
        self.metrics = metrics
        self.interval = interval
        self.clock = clock
        self._seen: dict[tuple[str, str, str, int], _Seen] = {}
        self._counted: dict[tuple[str, str], set[float]] = {}
        self._collecting: dict[str, Future[int]] = {}
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="admin-metrics")

    def collect_all(self) -> int:
        """One pass over every serving cluster, side by side: a cluster whose brokers answer
        slowly (each request waits for its timeout) delays only its own samples; while its last
        collection runs, the pass leaves it out. Waits at most `interval` seconds for the
        collections it started; the number of samples those stored."""
        started = []
        for cluster in self.store.list_clusters():
            if cluster.state not in WATCHED:
                continue
            running = self._collecting.get(cluster.arn)
            if running is not None and not running.done():
                continue
            self._collecting[cluster.arn] = running = self._pool.submit(self.collect, cluster)
            started.append(running)
        done, _ = wait(started, timeout=self.interval)
        return sum(f.result() for f in done)

    def collect(self, cluster: Cluster) -> int:
        """One cluster's samples, stored; how many."""
        try:
            samples = self.state_samples(cluster)
            ids = self.groups.group_ids(cluster.arn)
            found = self.groups.groups(cluster.arn, ids) if ids else []
        except (StewardError, KafkaAdminError) as error:  # not serving right now: next pass
            log.debug("no admin metrics of %s: %s", cluster.name, error)
            return 0
        except Exception:
            log.exception("admin metrics of %s failed", cluster.name)
            return 0
        return self.metrics.put(samples + self.samples(cluster, found, self.clock()))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def state_samples(self, cluster: Cluster) -> list[Sample]:
        """Partition health and disk use, where no exporter gives them. The node exporter gives
        KafkaDataLogsDiskUsed only of a broker whose volume is a filesystem of its own; of the
        others (a plain directory of the host) Kafka's count of their log directories does."""
        monitoring = cluster.spec.open_monitoring
        brokers = [n for n in self.store.nodes(cluster.arn) if n.role is NodeRole.BROKER]
        if not brokers:
            return []
        now = self.clock()
        ids = sorted(b.node_id for b in brokers)
        uncounted = (
            [b for b in ids if not self._volume_measured(cluster, b, now)]
            if monitoring.node_exporter
            else ids
        )
        if monitoring.jmx_exporter and not uncounted:
            return []
        bootstrap = steward_bootstrap(self.store, cluster, brokers)
        samples: list[Sample] = []
        if not monitoring.jmx_exporter:
            states = partition_states(bootstrap, timeout=10.0)
            samples += partition_samples(cluster, ids, states, now)
        if uncounted:
            used = broker_disk_usage(bootstrap, timeout=10.0)
            counted = disk_samples(cluster, {b: used[b] for b in uncounted if b in used}, now)
            for sample in counted:
                self._counted.setdefault((cluster.name, sample.dimensions[BROKER_ID]), set()).add(
                    sample.timestamp
                )
            samples += counted
        return samples

    def _volume_measured(self, cluster: Cluster, broker: int, now: float) -> bool:
        """Whether the broker's node exporter measured its volume lately (in three passes): a
        sample of the series this collector did not count itself."""
        key = (cluster.name, str(broker))
        since = now - 3 * self.interval
        ours = {ts for ts in self._counted.get(key, set()) if ts >= since}
        self._counted[key] = ours
        dims = {CLUSTER_NAME: cluster.name, BROKER_ID: str(broker)}
        return any(
            ts not in ours for ts, _ in self.metrics.samples(DISK_USED, dims, since, now + 1)
        )

    def samples(self, cluster: Cluster, groups: list[ConsumerGroup], now: float) -> list[Sample]:
        partitions = cluster.spec.enhanced_monitoring is EnhancedMonitoring.PER_TOPIC_PER_PARTITION
        samples: list[Sample] = []
        for group in groups:
            time_lags: dict[str, list[float]] = {}
            for p in group.partitions:
                lag = p.lag
                if lag is None or p.log_end_offset is None:
                    continue
                key = (cluster.arn, group.group_id, p.topic, p.partition)
                estimate = self._time_lag(key, now, p.log_end_offset, lag)
                if estimate is not None:
                    time_lags.setdefault(p.topic, []).append(estimate)
                if partitions:
                    dimensions = _dimensions(cluster, group.group_id, p.topic)
                    dimensions["Partition"] = str(p.partition)
                    samples.append(Sample("OffsetLag", dimensions, now, float(lag)))
            for topic in group.topics:
                dimensions = _dimensions(cluster, group.group_id, topic.topic)
                samples += [
                    Sample("SumOffsetLag", dimensions, now, float(topic.sum_offset_lag)),
                    Sample("MaxOffsetLag", dimensions, now, float(topic.max_offset_lag)),
                ]
                if topic.topic in time_lags:
                    worst = max(time_lags[topic.topic])
                    samples.append(Sample("EstimatedMaxTimeLag", dimensions, now, worst))
        return samples

    def _time_lag(
        self, key: tuple[str, str, str, int], now: float, log_end: int, lag: int
    ) -> float | None:
        before = self._seen.get(key)
        estimate: float | None = None
        if lag == 0:
            estimate = 0.0
        elif before is not None and now > before.when:
            appended = log_end - before.log_end
            if appended > 0:
                estimate = lag * (now - before.when) / appended
            elif before.time_lag is not None:
                estimate = before.time_lag + (now - before.when)
        self._seen[key] = _Seen(now, log_end, estimate)
        return estimate


def _dimensions(cluster: Cluster, group: str, topic: str) -> dict[str, str]:
    return {CLUSTER_NAME: cluster.name, CONSUMER_GROUP: group, TOPIC: topic}

"""The metrics use cases: a cluster's metrics as CloudWatch's GetMetricStatistics gives them,
the Prometheus service-discovery document of every exporter, and Steward's own metrics."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from steward.domain.errors import BadRequestException
from steward.domain.model import Cluster, ClusterState, NodeRole
from steward.kafka.jmx_exporter import JMX_EXPORTER_PORT, NODE_EXPORTER_PORT
from steward.monitor.control_metrics import ControlPlaneMetrics
from steward.monitor.metric_source import LayeredSource, MetricSource, StoredSource
from steward.monitor.msk_metrics import BROKER_ID, CLUSTER_NAME, CONSUMER_GROUP, TOPIC
from steward.monitor.prometheus_source import PrometheusSource
from steward.monitor.store import Datapoint, MetricStore, Series, Statistic
from steward.store.store import Store

MAX_DATAPOINTS = 1440
"""CloudWatch's limit of datapoints per GetMetricStatistics answer."""


class ClusterMetrics:
    def __init__(
        self,
        store: Store,
        path: Path | str,
        describe: Callable[[str], Cluster],
        prometheus_url: str | None = None,
    ) -> None:
        """`path`: the metric store's SQLite file, opened on first use; `prometheus_url`: a
        Prometheus that answers the exporters' metrics instead (STEWARD_METRICS_PROMETHEUS_URL)."""
        self._control_store = store
        self._path = path
        self._describe = describe
        self._prometheus_url = prometheus_url
        self._lock = threading.Lock()
        self._store: MetricStore | None = None
        self._source: MetricSource | None = None
        self._prometheus: PrometheusSource | None = None
        self.control_plane = ControlPlaneMetrics(store)

    @property
    def source(self) -> MetricSource:
        """Where every reader of metrics reads them: the embedded store, with a Prometheus
        before it for the exporters' metrics when one is configured."""
        stored = self.store
        with self._lock:
            if self._source is None:
                embedded = StoredSource(stored)
                if self._prometheus_url:
                    self._prometheus = PrometheusSource(self._prometheus_url)
                    self._source = LayeredSource(
                        self._prometheus, set(self._prometheus.knows), embedded
                    )
                else:
                    self._source = embedded
            return self._source

    @property
    def store(self) -> MetricStore:
        with self._lock:
            if self._store is None:
                self._store = MetricStore(self._path)
            return self._store

    def close(self) -> None:
        with self._lock:
            self._source = None
            if self._prometheus is not None:
                self._prometheus.close()
                self._prometheus = None
            if self._store is not None:
                self._store.close()
                self._store = None

    def query(
        self,
        arn: str,
        metric: str,
        *,
        start: float | None = None,
        end: float | None = None,
        period: int = 60,
        statistic: str = "Average",
        broker_id: str | None = None,
        topic: str | None = None,
        consumer_group: str | None = None,
    ) -> list[Datapoint]:
        """Datapoints of the cluster's `metric` (of one broker, of one topic on one broker, of one
        consumer group's lag on one topic, or of the cluster), over [start, end) (default: the
        last hour) per `period` seconds."""
        cluster = self._describe(arn)
        end = time.time() if end is None else end
        start = end - 3600 if start is None else start
        if end <= start:
            raise BadRequestException("The end time must be after the start time.", "endTime")
        if period < 1:
            raise BadRequestException("The period must be at least one second.", "period")
        if (end - start) / period > MAX_DATAPOINTS:
            raise BadRequestException(
                f"At most {MAX_DATAPOINTS} datapoints: widen the period or shorten the range.",
                "period",
            )
        try:
            chosen = Statistic(statistic)
        except ValueError as error:
            raise BadRequestException(
                f"Unknown statistic {statistic}; use one of "
                f"{', '.join(s.value for s in Statistic)}.",
                "statistic",
            ) from error
        dimensions = {CLUSTER_NAME: cluster.name, **_series_of(broker_id, topic, consumer_group)}
        return self.source.query(metric, dimensions, start, end, period, chosen.value)

    def list_metrics(self, arn: str, metric: str | None = None) -> list[Series]:
        cluster = self._describe(arn)
        return self.store.list_series(metric, {CLUSTER_NAME: cluster.name})

    def prometheus_targets(self) -> list[dict[str, Any]]:
        """Prometheus HTTP service discovery: one group per exporter of every broker of every
        cluster that has it on, labelled with the cluster and the broker."""
        groups: list[dict[str, Any]] = []
        for cluster in self._control_store.list_clusters():
            if cluster.state in (ClusterState.CREATING, ClusterState.DELETING):
                continue
            monitoring = cluster.spec.open_monitoring
            exporters = [
                (name, port)
                for name, port, enabled in (
                    ("jmx", JMX_EXPORTER_PORT, monitoring.jmx_exporter),
                    ("node", NODE_EXPORTER_PORT, monitoring.node_exporter),
                )
                if enabled
            ]
            if not exporters:
                continue
            brokers = sorted(
                (n for n in self._control_store.nodes(cluster.arn) if n.role is NodeRole.BROKER),
                key=lambda n: n.node_id,
            )
            for broker in brokers:
                for name, port in exporters:
                    groups.append(
                        {
                            "targets": [f"{broker.host}:{port}"],
                            "labels": {
                                "job": f"{name}-exporter",
                                "cluster_name": cluster.name,
                                "cluster_arn": cluster.arn,
                                "broker_id": str(broker.node_id),
                                "availability_zone": broker.zone,
                            },
                        }
                    )
        return groups


def _series_of(
    broker_id: str | None, topic: str | None, consumer_group: str | None
) -> dict[str, str]:
    """The dimensions beside the cluster's name that select one series, as MSK publishes them:
    per broker, per topic on a broker, or a consumer group's lag per topic (which no broker
    has)."""
    if consumer_group is not None:
        if broker_id is not None:
            raise BadRequestException(
                "A consumer group's lag is the cluster's, not a broker's: give no broker.",
                "brokerId",
            )
        if topic is None:
            raise BadRequestException(
                "A consumer group's lag is per topic: give the topic too.", "topic"
            )
        return {CONSUMER_GROUP: consumer_group, TOPIC: topic}
    if topic is not None and broker_id is None:
        raise BadRequestException(
            "A topic's metrics are per broker or per consumer group: give the broker or the "
            "group too.",
            "brokerId",
        )
    dimensions: dict[str, str] = {} if broker_id is None else {BROKER_ID: broker_id}
    if topic is not None:
        dimensions[TOPIC] = topic
    return dimensions

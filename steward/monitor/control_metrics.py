"""Steward's own metrics, served at `/metrics` in Prometheus text format: its clusters, nodes and
operations (read from the store when scraped) and the work of its metrics scraper."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from steward.domain.model import ClusterState, NodeRole
from steward.store.store import Store

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class ScrapeStats:
    """What the scraper did, as Prometheus metrics in `registry`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.passes = Counter(
            "steward_metrics_scrape_passes", "Scrape passes over every target.", registry=registry
        )
        self.failures = Counter(
            "steward_metrics_scrape_failures",
            "Targets that did not answer a scrape.",
            registry=registry,
        )
        self.samples = Counter(
            "steward_metrics_samples_stored", "Samples put in the metric store.", registry=registry
        )
        self.targets = Gauge(
            "steward_metrics_scrape_targets",
            "Nodes scraped in the latest pass.",
            registry=registry,
        )
        self.duration = Histogram(
            "steward_metrics_scrape_duration_seconds",
            "How long a scrape pass took.",
            buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=registry,
        )

    def record_pass(self, targets: int, failed: int, samples: int, seconds: float) -> None:
        self.passes.inc()
        self.failures.inc(failed)
        self.samples.inc(samples)
        self.targets.set(targets)
        self.duration.observe(seconds)


class ControlPlaneCollector(Collector):
    """Clusters by state, nodes by role and running operations, from the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        clusters = self.store.list_clusters()
        by_state = GaugeMetricFamily("steward_clusters", "Clusters by state.", labels=["state"])
        for state in ClusterState:
            count = sum(1 for c in clusters if c.state is state)
            by_state.add_metric([state.value], count)
        yield by_state
        nodes = GaugeMetricFamily("steward_nodes", "Kafka nodes by role.", labels=["role"])
        counts = {role: 0 for role in NodeRole}
        for cluster in clusters:
            for node in self.store.nodes(cluster.arn):
                counts[node.role] += 1
        for role, count in counts.items():
            nodes.add_metric([role.value.lower()], count)
        yield nodes
        running = GaugeMetricFamily(
            "steward_cluster_operations_running", "Clusters with an operation under way."
        )
        running.add_metric([], sum(1 for c in clusters if c.active_operation_arn))
        yield running


class ControlPlaneMetrics:
    def __init__(self, store: Store) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(ControlPlaneCollector(store))
        self.scrape_stats = ScrapeStats(self.registry)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

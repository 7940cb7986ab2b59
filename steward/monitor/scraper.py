"""The metrics scraper: every `interval` seconds it reads the exporters of every cluster with open
monitoring (the JMX exporter of each node on 11001, the node metrics of each broker on 11002),
turns what they serve into MSK's metrics at the cluster's enhanced monitoring level
(`steward.monitor.msk_metrics`) and puts them in the metric store.

It runs in the control plane beside the health monitor, reads the store only, and never changes a
cluster. A node that does not answer is skipped for that pass (its rates resume two passes after
it answers again).
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass

import httpx

from steward.domain.model import Cluster, ClusterState, Node, NodeRole
from steward.kafka.jmx_exporter import JMX_EXPORTER_PORT, NODE_EXPORTER_PORT
from steward.monitor.control_metrics import ScrapeStats
from steward.monitor.exposition import Exposition, parse_exposition
from steward.monitor.msk_metrics import USED_PREFIXES, Scrape, broker_samples, cluster_samples
from steward.monitor.store import MetricStore, Sample
from steward.store.store import Store

log = logging.getLogger(__name__)

SCRAPED = (
    ClusterState.ACTIVE,
    ClusterState.UPDATING,
    ClusterState.HEALING,
    ClusterState.MAINTENANCE,
    ClusterState.REBOOTING_BROKER,
)
COMPACT_EVERY = 60.0


@dataclass(frozen=True)
class Target:
    cluster: Cluster
    node: Node

    @property
    def urls(self) -> list[str]:
        monitoring = self.cluster.spec.open_monitoring
        urls = [f"http://{self.node.host}:{JMX_EXPORTER_PORT}/metrics"]
        if self.node.role is NodeRole.BROKER and monitoring.node_exporter:
            urls.append(f"http://{self.node.host}:{NODE_EXPORTER_PORT}/metrics")
        return urls


def scrape_targets(store: Store) -> list[Target]:
    """Every node Steward reads metrics from: those of clusters whose JMX exporter is on."""
    targets: list[Target] = []
    for cluster in store.list_clusters():
        if cluster.state not in SCRAPED or not cluster.spec.open_monitoring.jmx_exporter:
            continue
        targets.extend(Target(cluster, node) for node in store.nodes(cluster.arn))
    return targets


class MetricsScraper:
    def __init__(
        self,
        store: Store,
        metrics: MetricStore,
        stats: ScrapeStats | None = None,
        interval: float = 15.0,
        timeout: float = 5.0,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.stats = stats
        self.interval = interval
        self.prefixes: tuple[str, ...] | None = USED_PREFIXES
        """Which exporter metrics to parse (None: all of them)."""
        self._client = httpx.Client(timeout=timeout)
        self._previous: dict[tuple[str, int], Scrape] = {}
        self._last_compact = 0.0
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="metrics-scrape")
        self.read_timeout = timeout
        """The most one exporter's answer may take, whole (httpx's own timeout bounds each wait
        for a byte, not the answer: an exporter that sends a byte now and then would hold it)."""
        self.pass_timeout = 2 * timeout + 1.0
        """How long a pass waits for its reads (a node has up to two exporters); one still
        running then is left behind, counted as failed, and the pass stores the others'."""

    def close(self) -> None:
        """Drop the reads under way and the HTTP client (after the background task that calls
        `scrape_once` is stopped)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._client.close()

    def scrape_once(self, now: float | None = None) -> int:
        """One pass over every target; how many samples were stored."""
        started = time.monotonic()
        targets = scrape_targets(self.store)
        read = self._read_all(targets)
        timestamp = time.time() if now is None else now
        samples: list[Sample] = []
        controllers: dict[str, list[Exposition]] = {}
        # A broker that did not answer keeps its previous scrape: its next sample's rate spans
        # the gap, so no count is lost.
        live = {(t.cluster.arn, t.node.node_id) for t in targets}
        for target, found in zip(targets, read, strict=True):
            if found is None:
                continue
            exposition, read_at = found
            cluster, node = target.cluster, target.node
            if node.role is NodeRole.CONTROLLER:
                controllers.setdefault(cluster.arn, []).append(exposition)
                continue
            key = (cluster.arn, node.node_id)
            # Rates divide by the time between two reads of the broker, not between passes.
            scrape = Scrape(read_at if now is None else timestamp, exposition)
            samples.extend(
                broker_samples(
                    cluster.name,
                    node.node_id,
                    cluster.spec.enhanced_monitoring,
                    scrape,
                    self._previous.get(key),
                )
            )
            self._previous[key] = scrape
        for gone in set(self._previous) - live:
            del self._previous[gone]
        names = {t.cluster.arn: t.cluster.name for t in targets}
        for arn, expositions in controllers.items():
            samples.extend(cluster_samples(names[arn], timestamp, expositions))
        stored = self.metrics.put(samples)
        if timestamp - self._last_compact >= COMPACT_EVERY:
            self.metrics.compact(timestamp)
            self._last_compact = timestamp
        if self.stats is not None:
            self.stats.record_pass(
                targets=len(targets),
                failed=sum(1 for r in read if r is None),
                samples=stored,
                seconds=time.monotonic() - started,
            )
        return stored

    def _get_within(self, url: str, deadline: float) -> str:
        """The body at `url`, or httpx.TimeoutException once `deadline` (monotonic) passes,
        however the exporter paces its bytes."""
        with self._client.stream("GET", url) as response:
            response.raise_for_status()
            chunks: list[bytes] = []
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout(f"{url} took longer than {self.read_timeout} s")
            return b"".join(chunks).decode(response.encoding or "utf-8", errors="replace")

    def _read_all(self, targets: list[Target]) -> list[tuple[Exposition, float] | None]:
        futures = [self._pool.submit(self._read, target) for target in targets]
        wait(futures, timeout=self.pass_timeout)
        read: list[tuple[Exposition, float] | None] = []
        for target, future in zip(targets, futures, strict=True):
            if future.done() and future.exception() is None:
                read.append(future.result())
            else:
                if not future.done():
                    log.info("%s: its exporters did not answer within the pass", target.urls)
                    future.cancel()
                read.append(None)
        return read

    def _read(self, target: Target) -> tuple[Exposition, float] | None:
        """What the target's exporters serve, and when the JMX exporter answered."""
        merged = Exposition()
        read_at = 0.0
        for url in target.urls:
            try:
                text = self._get_within(url, time.monotonic() + self.read_timeout)
                read_at = read_at or time.time()
                merged = merged.merge(parse_exposition(text, self.prefixes))
            except (httpx.HTTPError, ValueError) as error:
                log.debug("cannot read %s: %s", url, error)
                if not read_at:
                    return None  # no JMX metrics: nothing of this node this pass
        return merged, read_at

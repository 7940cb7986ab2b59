"""A user's Prometheus as the source of the brokers' exporter metrics, through its HTTP query API
(`GET /api/v1/query_range`), configured by STEWARD_METRICS_PROMETHEUS_URL.

That Prometheus scrapes the exporters itself (from Steward's HTTP service discovery,
`/prometheus/targets`, whose labels `cluster_name` and `broker_id` every series then carries), so
an MSK metric is a PromQL expression over the exporters' series: `BytesInPerSec` of broker 1 is
the per-second rate of `kafka_server_brokertopicmetrics_count{name="BytesInPerSec"}` of that
broker. A CloudWatch statistic over a period is the matching `*_over_time` of a subquery ending
at the period's end. Metrics with no expression here (consumer lag, users' own metrics, the
controllers' cluster-level counts) are answered by the embedded store (`LayeredSource`).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from steward.monitor.msk_metrics import BROKER_ID, CLUSTER_NAME, TOPIC
from steward.monitor.store import Datapoint, Sample, Series, Statistic

log = logging.getLogger(__name__)

QUERY_TIMEOUT = 10.0
RETRY_AFTER = 15.0
"""Seconds a Prometheus that timed out is left alone: meanwhile queries fail at once, so that a
pass over many alarms does not wait QUERY_TIMEOUT for each (one that refuses connections fails
at once anyway, and is asked again each time)."""
RATE_WINDOW = 60
"""Seconds of samples each rate is taken over: several scrapes at any usual interval."""

_LABELS = {CLUSTER_NAME: "cluster_name", BROKER_ID: "broker_id", TOPIC: "topic"}
_RATES = ("BytesInPerSec", "BytesOutPerSec", "MessagesInPerSec")
_REPLICA_GAUGES = ("UnderReplicatedPartitions", "PartitionCount", "LeaderCount")
_CPU = {"CpuUser": "user", "CpuSystem": "system", "CpuIdle": "idle"}
KNOWN_METRICS = frozenset(
    {*_RATES, *_REPLICA_GAUGES, *_CPU, "MemoryUsed", "MemoryFree"}
    | {"IsrShrinksPerSec", "IsrExpandsPerSec"}
)
_OVER_TIME = {
    Statistic.AVERAGE.value: "avg_over_time",
    Statistic.MAXIMUM.value: "max_over_time",
    Statistic.MINIMUM.value: "min_over_time",
    Statistic.SUM.value: "sum_over_time",
    Statistic.SAMPLE_COUNT.value: "count_over_time",
}


class PrometheusQueryError(RuntimeError):
    """Prometheus refused a query or did not answer in time."""


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def selector(dimensions: Mapping[str, str], *, per_topic: bool = False, **fixed: str) -> str:
    """The label matchers of a series with these dimensions. For a metric Kafka keeps per topic
    (`per_topic`), the broker-wide series is the one without a topic: `topic=""` matches it."""
    labels = dict(fixed)
    for dimension, label in _LABELS.items():
        if dimension in dimensions:
            labels[label] = dimensions[dimension]
    if per_topic:
        labels.setdefault("topic", "")
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items())) + "}"


def expression(
    metric: str, dimensions: Mapping[str, str], rate_window: int = RATE_WINDOW
) -> str | None:
    """The PromQL of an MSK metric of one series; None when Prometheus cannot answer it.
    `rate_window`: seconds each rate is taken over (Prometheus divides by all of it, so a
    series younger than the window reads low until it fills)."""
    if set(dimensions) - set(_LABELS) or BROKER_ID not in dimensions:
        return None
    window = f"[{rate_window}s]"
    if metric in _RATES:
        chosen = selector(dimensions, per_topic=True, name=metric)
        return f"sum(rate(kafka_server_brokertopicmetrics_count{chosen}{window}))"
    if TOPIC in dimensions:
        return None
    if metric in ("IsrShrinksPerSec", "IsrExpandsPerSec"):
        chosen = selector(dimensions, name=metric)
        return f"sum(rate(kafka_server_replicamanager_count{chosen}{window}))"
    if metric in _REPLICA_GAUGES:
        return f"max(kafka_server_replicamanager_value{selector(dimensions, name=metric)})"
    host = selector(dimensions)
    if metric in _CPU:
        mode = selector(dimensions, mode=_CPU[metric])
        return (
            f"100 * sum(rate(node_cpu_seconds_total{mode}{window})) "
            f"/ sum(rate(node_cpu_seconds_total{host}{window}))"
        )
    if metric == "MemoryFree":
        return f"max(node_memory_MemAvailable_bytes{host})"
    if metric == "MemoryUsed":
        return f"max(node_memory_MemTotal_bytes{host}) - max(node_memory_MemAvailable_bytes{host})"
    return None


def over_period(expr: str, period: int, statistic: str) -> str:
    """The statistic of `expr` over the `period` seconds that end at each evaluation."""
    step = max(1, min(period, 15))
    if statistic in _OVER_TIME:
        return f"{_OVER_TIME[statistic]}(({expr})[{period}s:{step}s])"
    wanted = float(statistic[1:]) / 100.0
    return f"quantile_over_time({wanted}, ({expr})[{period}s:{step}s])"


class PrometheusSource:
    """Answers `KNOWN_METRICS` of brokers from the Prometheus at `url`."""

    knows = set(KNOWN_METRICS)

    def __init__(
        self, url: str, timeout: float = QUERY_TIMEOUT, rate_window: int = RATE_WINDOW
    ) -> None:
        self.url = url.rstrip("/")
        self.rate_window = rate_window
        self._client = httpx.Client(timeout=timeout)
        self._unreachable_until = 0.0

    def close(self) -> None:
        self._client.close()

    def put(self, samples: Iterable[Sample]) -> int:
        """Prometheus scrapes for itself: nothing is written to it."""
        return 0

    def query(
        self,
        metric: str,
        dimensions: Mapping[str, str],
        start: float,
        end: float,
        period: int,
        statistic: str,
    ) -> list[Datapoint]:
        expr = expression(metric, dimensions, self.rate_window)
        if expr is None:
            return []
        first = math.ceil(start / period) * period
        if first + period > end:
            return []
        result = self._query_range(
            over_period(expr, period, statistic), first + period, end, period
        )
        points: list[Datapoint] = []
        for series in result:
            for ts, value in series.get("values", []):
                number = float(value)
                if math.isfinite(number) and float(ts) - period >= start:
                    points.append(Datapoint(float(ts) - period, number, 1))
        points.sort(key=lambda p: p.timestamp)
        return points

    def _query_range(self, query: str, start: float, end: float, step: int) -> list[Any]:
        if time.monotonic() < self._unreachable_until:
            raise PrometheusQueryError(f"Prometheus at {self.url} timed out lately")
        try:
            response = self._client.get(
                f"{self.url}/api/v1/query_range",
                params={"query": query, "start": start, "end": end, "step": step},
            )
            body = response.json()
        except httpx.TimeoutException as error:
            self._unreachable_until = time.monotonic() + RETRY_AFTER
            raise PrometheusQueryError(f"Prometheus at {self.url}: {error}") from error
        except (httpx.HTTPError, ValueError) as error:
            raise PrometheusQueryError(f"Prometheus at {self.url}: {error}") from error
        if body.get("status") != "success":
            raise PrometheusQueryError(f"Prometheus refused {query!r}: {body.get('error')}")
        return list(body.get("data", {}).get("result", []))

    def list_series(
        self, metric: str | None = None, dimensions: Mapping[str, str] | None = None
    ) -> list[Series]:
        """The series are listed by the embedded store, which the scraper keeps filling."""
        return []

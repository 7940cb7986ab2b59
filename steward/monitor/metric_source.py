"""What every reader of metrics (alarms, CloudWatch's API, Steward's own metric routes) asks of
the place metrics are kept, whichever it is: the embedded SQLite store (`MetricStore`, the
default) or a user's Prometheus (`steward.monitor.prometheus_source`).

A metric is named by its CloudWatch namespace and name. `AWS/Kafka` (MSK's metrics) is stored
under the bare metric name, as the scraper has always written it; a user's own namespace (from
PutMetricData) is kept apart by `series_name`, so `Custom/App` `Latency` never mixes with MSK's.

Statistics are CloudWatch's: SampleCount, Average, Sum, Minimum, Maximum, and percentiles `pNN`
(`p99`, `p99.9`), which need the raw samples: a period older than the raw retention has none.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Protocol

from steward.monitor.store import Datapoint, MetricStore, Sample, Series, Statistic

KAFKA_NAMESPACE = "AWS/Kafka"
_SEPARATOR = "::"
PERCENTILE = re.compile(r"^p(\d{1,2}(\.\d{1,10})?|100)$")


def series_name(namespace: str, metric: str) -> str:
    """The name a metric is stored under."""
    return metric if namespace == KAFKA_NAMESPACE else f"{namespace}{_SEPARATOR}{metric}"


def split_series_name(name: str) -> tuple[str, str]:
    """(namespace, metric) of a stored name."""
    namespace, sep, metric = name.partition(_SEPARATOR)
    return (namespace, metric) if sep else (KAFKA_NAMESPACE, name)


def is_statistic(statistic: str) -> bool:
    return statistic in {s.value for s in Statistic} or percentile_of(statistic) is not None


def percentile_of(statistic: str) -> float | None:
    """The percentile `pNN` names (0-100), or None when it is not one."""
    match = PERCENTILE.match(statistic)
    return float(match.group(1)) if match else None


def percentile(values: list[float], wanted: float) -> float:
    """The nearest-rank percentile of `values` (not empty)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(wanted / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


class MetricSource(Protocol):
    def put(self, samples: Iterable[Sample]) -> int:
        """Store samples (a source that cannot store them keeps them elsewhere)."""
        ...

    def query(
        self,
        metric: str,
        dimensions: Mapping[str, str],
        start: float,
        end: float,
        period: int,
        statistic: str,
    ) -> list[Datapoint]:
        """One datapoint per period of [start, end) that has data, oldest first; the series is
        the one with exactly these dimensions; `metric` is a stored name (`series_name`)."""
        ...

    def list_series(
        self, metric: str | None = None, dimensions: Mapping[str, str] | None = None
    ) -> list[Series]:
        """The series of `metric` (or of every metric) whose dimensions include `dimensions`."""
        ...


class StoredSource:
    """The embedded store, with percentiles computed from its raw samples."""

    def __init__(self, store: MetricStore) -> None:
        self.store = store

    def put(self, samples: Iterable[Sample]) -> int:
        return self.store.put(samples)

    def query(
        self,
        metric: str,
        dimensions: Mapping[str, str],
        start: float,
        end: float,
        period: int,
        statistic: str,
    ) -> list[Datapoint]:
        wanted = percentile_of(statistic)
        if wanted is None:
            return self.store.query(metric, dimensions, start, end, period, statistic)
        buckets: dict[int, list[float]] = {}
        for ts, value in self.store.samples(metric, dimensions, start, end):
            buckets.setdefault(int(ts // period), []).append(value)
        return [
            Datapoint(float(bucket * period), percentile(values, wanted), len(values))
            for bucket, values in sorted(buckets.items())
        ]

    def list_series(
        self, metric: str | None = None, dimensions: Mapping[str, str] | None = None
    ) -> list[Series]:
        return self.store.list_series(metric, dimensions)


class LayeredSource:
    """`first` answers the metrics it knows (`knows(metric)`), `rest` everything else and keeps
    every sample put: how a Prometheus answers the exporters' metrics while consumer lag and
    users' own metrics stay in the embedded store."""

    def __init__(self, first: MetricSource, knows: set[str], rest: MetricSource) -> None:
        self.first = first
        self.knows = knows
        self.rest = rest

    def put(self, samples: Iterable[Sample]) -> int:
        return self.rest.put(samples)

    def query(
        self,
        metric: str,
        dimensions: Mapping[str, str],
        start: float,
        end: float,
        period: int,
        statistic: str,
    ) -> list[Datapoint]:
        source = self.first if metric in self.knows else self.rest
        return source.query(metric, dimensions, start, end, period, statistic)

    def list_series(
        self, metric: str | None = None, dimensions: Mapping[str, str] | None = None
    ) -> list[Series]:
        found: dict[tuple[str, tuple[tuple[str, str], ...]], Series] = {}
        for source in (self.first, self.rest):
            for series in source.list_series(metric, dimensions):
                found[(series.metric, tuple(sorted(series.dimensions.items())))] = series
        return sorted(found.values(), key=lambda s: (s.metric, sorted(s.dimensions.items())))

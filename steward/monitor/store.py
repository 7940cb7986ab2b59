"""Steward's time-series store: metric samples under CloudWatch-style names and dimensions, in a
SQLite file of their own (`<home>/metrics.db`), apart from the control plane's state.

The interface is two calls: `put(samples)` and `query(metric, dimensions, start, end, period,
statistic)`. Whatever feeds it (the scraper of the brokers' exporters, consumer-lag readers)
puts `Sample`s; the API and the CLI query `Datapoint`s, as CloudWatch's GetMetricStatistics does.

Retention follows CloudWatch's resolutions, scaled to one host: raw samples for
`raw_retention` (6 h), one-minute rollups (count, sum, min, max) for 15 days and five-minute
rollups for 63 days. `compact(now)` rolls finished minutes up and drops what is too old; the
scraper calls it after every pass. A query reads the finest data that still covers its start.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

RAW_RETENTION = 6 * 3600.0
ROLLUPS: tuple[tuple[int, float], ...] = ((60, 15 * 86400.0), (300, 63 * 86400.0))
"""(resolution in seconds, how long it is kept)."""
ROLLUP_GRACE = 5.0
"""A minute is rolled up this long after it ended, so that samples of its last scrape are in."""


class Statistic(StrEnum):
    AVERAGE = "Average"
    MAXIMUM = "Maximum"
    MINIMUM = "Minimum"
    SUM = "Sum"
    SAMPLE_COUNT = "SampleCount"


@dataclass(frozen=True)
class Sample:
    metric: str
    dimensions: Mapping[str, str]
    timestamp: float
    """Epoch seconds."""
    value: float


@dataclass(frozen=True)
class Datapoint:
    timestamp: float
    """Start of the period, epoch seconds."""
    value: float
    sample_count: int


@dataclass(frozen=True)
class Series:
    metric: str
    dimensions: dict[str, str]


@dataclass(frozen=True)
class _Aggregate:
    count: int
    total: float
    low: float
    high: float

    def statistic(self, statistic: Statistic) -> float:
        if statistic is Statistic.AVERAGE:
            return self.total / self.count
        if statistic is Statistic.MAXIMUM:
            return self.high
        if statistic is Statistic.MINIMUM:
            return self.low
        if statistic is Statistic.SUM:
            return self.total
        return float(self.count)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    metric TEXT NOT NULL,
    dimensions TEXT NOT NULL,
    UNIQUE (metric, dimensions)
);
CREATE TABLE IF NOT EXISTS samples (
    series_id INTEGER NOT NULL,
    ts REAL NOT NULL,
    value REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS samples_by_series ON samples (series_id, ts);
CREATE INDEX IF NOT EXISTS samples_by_time ON samples (ts);
CREATE TABLE IF NOT EXISTS rollups (
    series_id INTEGER NOT NULL,
    resolution INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    count INTEGER NOT NULL,
    total REAL NOT NULL,
    low REAL NOT NULL,
    high REAL NOT NULL,
    PRIMARY KEY (series_id, resolution, ts)
);
CREATE TABLE IF NOT EXISTS rolled_up (
    resolution INTEGER PRIMARY KEY,
    until INTEGER NOT NULL
);
"""


def dimensions_key(dimensions: Mapping[str, str]) -> str:
    return json.dumps(dict(sorted(dimensions.items())), separators=(",", ":"))


class MetricStore:
    def __init__(self, path: Path | str, raw_retention: float = RAW_RETENTION) -> None:
        """`path`: the SQLite file, or ":memory:"."""
        if isinstance(path, Path):
            path.parent.mkdir(parents=True, exist_ok=True)
        self.raw_retention = raw_retention
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._series: dict[tuple[str, str], int] = {}

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- writing --------------------------------------------------------------------------------
    def put(self, samples: Iterable[Sample]) -> int:
        """Store samples (NaN and infinite values are dropped); how many were stored."""
        rows: list[tuple[int, float, float]] = []
        with self._lock:
            self._db.execute("BEGIN")
            try:
                for sample in samples:
                    if not math.isfinite(sample.value):
                        continue
                    series = self._series_id(sample.metric, dimensions_key(sample.dimensions))
                    rows.append((series, float(sample.timestamp), float(sample.value)))
                self._db.executemany("INSERT INTO samples VALUES (?, ?, ?)", rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                self._series.clear()
                raise
        return len(rows)

    def _series_id(self, metric: str, dims: str) -> int:
        key = (metric, dims)
        found = self._series.get(key)
        if found is not None:
            return found
        self._db.execute(
            "INSERT OR IGNORE INTO series (metric, dimensions) VALUES (?, ?)", (metric, dims)
        )
        row = self._db.execute(
            "SELECT id FROM series WHERE metric = ? AND dimensions = ?", (metric, dims)
        ).fetchone()
        self._series[key] = int(row[0])
        return int(row[0])

    def compact(self, now: float | None = None) -> None:
        """Roll finished buckets up and drop data past its retention. Idempotent."""
        now = time.time() if now is None else now
        with self._lock:
            self._db.execute("BEGIN")
            try:
                for resolution, keep in ROLLUPS:
                    self._roll_up(resolution, now)
                    self._db.execute(
                        "DELETE FROM rollups WHERE resolution = ? AND ts < ?",
                        (resolution, now - keep),
                    )
                self._db.execute("DELETE FROM samples WHERE ts < ?", (now - self.raw_retention,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _roll_up(self, resolution: int, now: float) -> None:
        row = self._db.execute(
            "SELECT until FROM rolled_up WHERE resolution = ?", (resolution,)
        ).fetchone()
        start: float
        if row is not None:
            start = float(row[0])
        else:
            first = self._db.execute("SELECT MIN(ts) FROM samples").fetchone()[0]
            if first is None:
                return
            start = math.floor(first / resolution) * resolution
        end = math.floor((now - ROLLUP_GRACE) / resolution) * resolution
        if end <= start:
            return
        self._db.execute(
            "INSERT OR REPLACE INTO rollups "
            "SELECT series_id, ?, CAST(ts / ? AS INTEGER) * ?, COUNT(*), SUM(value), "
            "MIN(value), MAX(value) FROM samples WHERE ts >= ? AND ts < ? "
            "GROUP BY series_id, CAST(ts / ? AS INTEGER)",
            (resolution, resolution, resolution, start, end, resolution),
        )
        self._db.execute(
            "INSERT OR REPLACE INTO rolled_up (resolution, until) VALUES (?, ?)",
            (resolution, int(end)),
        )

    # --- reading --------------------------------------------------------------------------------
    def query(
        self,
        metric: str,
        dimensions: Mapping[str, str],
        start: float,
        end: float,
        period: int,
        statistic: Statistic | str,
        now: float | None = None,
    ) -> list[Datapoint]:
        """One datapoint per period of [start, end) that has samples, oldest first. The series
        is the one with exactly these dimensions (as in CloudWatch). Periods align to multiples
        of `period` since the epoch."""
        statistic = Statistic(statistic)
        if period < 1:
            raise ValueError("period must be at least one second")
        now = time.time() if now is None else now
        with self._lock:
            row = self._db.execute(
                "SELECT id FROM series WHERE metric = ? AND dimensions = ?",
                (metric, dimensions_key(dimensions)),
            ).fetchone()
            if row is None:
                return []
            series = int(row[0])
            resolution = self._resolution_for(start, period, now)
            if resolution is None:
                rows = self._db.execute(
                    "SELECT CAST(ts / ? AS INTEGER), COUNT(*), SUM(value), MIN(value), "
                    "MAX(value) FROM samples WHERE series_id = ? AND ts >= ? AND ts < ? "
                    "GROUP BY 1 ORDER BY 1",
                    (period, series, start, end),
                ).fetchall()
            else:
                rows = self._db.execute(
                    "SELECT CAST(ts / ? AS INTEGER), SUM(count), SUM(total), MIN(low), "
                    "MAX(high) FROM rollups WHERE series_id = ? AND resolution = ? "
                    "AND ts >= ? AND ts < ? GROUP BY 1 ORDER BY 1",
                    (period, series, resolution, start, end),
                ).fetchall()
        return [
            Datapoint(
                timestamp=float(bucket * period),
                value=_Aggregate(count, total, low, high).statistic(statistic),
                sample_count=count,
            )
            for bucket, count, total, low, high in rows
        ]

    def samples(
        self, metric: str, dimensions: Mapping[str, str], start: float, end: float
    ) -> list[tuple[float, float]]:
        """The raw samples (timestamp, value) of one series in [start, end), oldest first; only
        as far back as raw samples are kept."""
        with self._lock:
            row = self._db.execute(
                "SELECT id FROM series WHERE metric = ? AND dimensions = ?",
                (metric, dimensions_key(dimensions)),
            ).fetchone()
            if row is None:
                return []
            rows = self._db.execute(
                "SELECT ts, value FROM samples WHERE series_id = ? AND ts >= ? AND ts < ? "
                "ORDER BY ts",
                (int(row[0]), start, end),
            ).fetchall()
        return [(float(ts), float(value)) for ts, value in rows]

    def _resolution_for(self, start: float, period: int, now: float) -> int | None:
        """None for raw samples, else the rollup resolution to read."""
        if start >= now - self.raw_retention:
            return None
        for resolution, keep in ROLLUPS:
            if period % resolution == 0 and start >= now - keep:
                return resolution
        return ROLLUPS[-1][0] if period % ROLLUPS[-1][0] == 0 else ROLLUPS[0][0]

    def list_series(
        self, metric: str | None = None, dimensions: Mapping[str, str] | None = None
    ) -> list[Series]:
        """Every series, or those of `metric` whose dimensions include `dimensions`."""
        with self._lock:
            if metric is None:
                rows = self._db.execute(
                    "SELECT metric, dimensions FROM series ORDER BY metric, dimensions"
                ).fetchall()
            else:
                rows = self._db.execute(
                    "SELECT metric, dimensions FROM series WHERE metric = ? ORDER BY dimensions",
                    (metric,),
                ).fetchall()
        wanted = dict(dimensions or {})
        found = [Series(name, json.loads(dims)) for name, dims in rows]
        return [s for s in found if all(s.dimensions.get(k) == v for k, v in wanted.items())]

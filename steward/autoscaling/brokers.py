"""Broker autoscaling, Steward's own (MSK has none): a scalable target on the Steward dimension
`kafka:broker-count:BrokerCount` (min and max brokers) with target tracking policies on
Steward's predefined metrics, each the mean over the cluster's brokers:

- `KafkaBrokerCpuUtilization`: CpuUser + CpuSystem, percent;
- `KafkaBrokerNetworkInUtilization`: BytesInPerSec over what the instance type is sized for,
  percent;
- `KafkaBrokerRequestHandlerIdle`: RequestHandlerAvgIdlePercent; its target is the idle share to
  keep, so the load it tracks is 100 minus it.

The decision (`decide`): for each policy, the load expected is the larger of the latest value
and a linear trend fitted over the last FORECAST_WINDOW and carried LEAD_TIME ahead (about what
adding brokers and moving replicas onto them takes), so a rising load is met before it
saturates. A policy wants the broker count that brings that load to its target (load scales as
1/brokers), rounded up to a multiple of the zone count. The cluster scales out when any policy
wants more brokers (to the most wanted), and in only when every policy wants fewer, none
disables scale-in, and the load would stay under SCALE_IN_HEADROOM of each target at the new
size; always within [min, max] in multiples of the zone count.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

BROKER_DIMENSION = "kafka:broker-count:BrokerCount"
CPU = "KafkaBrokerCpuUtilization"
NETWORK_IN = "KafkaBrokerNetworkInUtilization"
HANDLER_IDLE = "KafkaBrokerRequestHandlerIdle"
BROKER_METRICS = (CPU, NETWORK_IN, HANDLER_IDLE)

FORECAST_WINDOW = 3 * 3600.0
"""Seconds of history the trend is fitted over."""
LEAD_TIME = 900.0
"""Seconds ahead the trend is carried: what a scale-out takes to carry load."""
SCALE_IN_HEADROOM = 0.8
"""Scale in only while the load at the smaller size stays below this share of the target."""
SERIES_PERIOD = 300
"""Seconds per point of the series the trend is fitted to."""
DEFAULT_SCALE_OUT_COOLDOWN = 600
DEFAULT_SCALE_IN_COOLDOWN = 1800


@dataclass(frozen=True)
class ForecastTiming:
    """How far back the trend looks, how far ahead it is carried, and how coarse its points
    are. The defaults suit production loads that change over hours; a test of a real cluster
    shortens them to seconds (Settings' broker_scaling_* values)."""

    window: float = FORECAST_WINDOW
    lead_time: float = LEAD_TIME
    period: int = SERIES_PERIOD


def linear_forecast(points: Sequence[tuple[float, float]], at: float) -> float | None:
    """The least-squares line through (time, value) points, evaluated at `at`; the only value
    when there is one point; None without points."""
    if not points:
        return None
    if len(points) == 1:
        return points[0][1]
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if spread == 0:
        return mean_v
    slope = sum((t - mean_t) * (v - mean_v) for t, v in points) / spread
    return mean_v + slope * (at - mean_t)


def load_of(metric: str, value: float) -> float:
    """The busy share a metric value stands for (idle metrics count backwards)."""
    return 100.0 - value if metric == HANDLER_IDLE else value


@dataclass(frozen=True)
class Reading:
    """One policy's view of the cluster now."""

    policy: str
    metric: str
    target: float
    latest: float
    forecast: float
    disable_scale_in: bool = False
    lead_time: float = LEAD_TIME
    """Seconds ahead `forecast` looks."""

    @property
    def expected_load(self) -> float:
        return max(load_of(self.metric, self.latest), load_of(self.metric, self.forecast))

    @property
    def target_load(self) -> float:
        return load_of(self.metric, self.target)

    def describe(self) -> str:
        ahead = (
            f"{self.lead_time / 60:.0f} min" if self.lead_time >= 120 else f"{self.lead_time:.0f} s"
        )
        return (
            f"{self.metric} {self.latest:.1f} (forecast {self.forecast:.1f} in {ahead}) "
            f"against the target {self.target:g}"
        )


@dataclass(frozen=True)
class Decision:
    current: int
    desired: int
    readings: list[Reading] = field(default_factory=list)

    @property
    def direction(self) -> str:
        if self.desired > self.current:
            return "out"
        return "in" if self.desired < self.current else "none"

    @property
    def cause(self) -> str:
        return "; ".join(r.describe() for r in self.readings)


def round_up(count: float, zones: int) -> int:
    return max(zones, math.ceil(count / zones - 1e-9) * zones)


def bounds(min_capacity: int, max_capacity: int, zones: int) -> tuple[int, int]:
    """[min, max] brokers as multiples of the zone count (min rounded up, max down)."""
    low = round_up(max(min_capacity, zones), zones)
    high = max(low, (max_capacity // zones) * zones)
    return low, high


def decide(
    current: int, zones: int, min_capacity: int, max_capacity: int, readings: Sequence[Reading]
) -> Decision:
    low, high = bounds(min_capacity, max_capacity, zones)
    if not readings:
        return Decision(current, min(max(current, low), high), [])
    wanted = [
        round_up(current * r.expected_load / max(r.target_load, 1e-9), zones) for r in readings
    ]
    desired = current
    if any(w > current for w in wanted):
        desired = max(wanted)
    elif all(w < current for w in wanted) and not any(r.disable_scale_in for r in readings):
        smaller = max(wanted)
        fits = all(
            r.expected_load * current / smaller <= SCALE_IN_HEADROOM * r.target_load
            for r in readings
        )
        if fits:
            desired = smaller
    desired = min(max(desired, low), high)
    return Decision(current, desired, list(readings))

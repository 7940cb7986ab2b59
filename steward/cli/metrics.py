"""`steward metrics ...`: a cluster's metrics (MSK's CloudWatch names) from Steward's metric store,
through `/steward/v1/clusters/{arn}/metrics`, signed like the MSK API's requests."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import click

from steward.client.context import CliContext, pass_cli
from steward.client.options import CLUSTER, CLUSTER_HELP

STATISTICS = ("Average", "Maximum", "Minimum", "Sum", "SampleCount")
_DURATION = re.compile(r"^(\d+)([smhd])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _metrics_path(cli: CliContext, cluster: str, metric: str | None = None) -> str:
    path = f"/steward/v1/clusters/{quote(cli.api.cluster_arn(cluster), safe='')}/metrics"
    return path if metric is None else f"{path}/{quote(metric, safe='')}"


def _duration(value: str) -> int:
    match = _DURATION.match(value.strip())
    if match is None:
        raise click.BadParameter(f"{value!r} is not a duration such as 90s, 15m, 3h or 2d")
    return int(match.group(1)) * _SECONDS[match.group(2)]


def _time(value: str | None) -> float | None:
    """Epoch seconds, or an ISO 8601 date-time (local time when it names no zone)."""
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is neither epoch seconds nor an ISO 8601 date-time"
        ) from None


@click.group()
def metrics() -> None:
    """A cluster's metrics under MSK's CloudWatch names: list them, get their datapoints."""


@metrics.command("list", epilog=CLUSTER_HELP)
@CLUSTER
@click.option("--metric", help="Only this metric (e.g. BytesInPerSec).")
@pass_cli
def list_metrics(cli: CliContext, cluster: str, metric: str | None) -> None:
    """List the metrics Steward keeps for a cluster, with their dimensions."""
    params = {"metricName": metric} if metric else {}
    found = cli.api.steward_route("GET", _metrics_path(cli, cluster), params=params)
    if cli.output.is_json:
        cli.output.json(found)
        return
    cli.output.table(
        ["METRIC", "DIMENSIONS"],
        [
            (m["metricName"], ", ".join(f"{d['name']}={d['value']}" for d in m["dimensions"]))
            for m in found["metrics"]
        ],
    )


@metrics.command("get", epilog=CLUSTER_HELP)
@CLUSTER
@click.argument("metric", metavar="METRIC")
@click.option("--broker", "broker_id", help="The broker, for per-broker metrics.")
@click.option("--topic", help="The topic, for per-topic metrics (with --broker or --group).")
@click.option("--group", "consumer_group", help="The consumer group, for its lag (with --topic).")
@click.option("--since", default="1h", show_default=True, help="How far back: 90s, 15m, 3h, 2d.")
@click.option("--start", "start_time", help="Start (epoch seconds or ISO 8601); overrides --since.")
@click.option("--end", "end_time", help="End (epoch seconds or ISO 8601)  [default: now]")
@click.option("--period", default=60, show_default=True, type=click.IntRange(1), help="Seconds.")
@click.option(
    "--statistic",
    type=click.Choice(STATISTICS),
    default="Average",
    show_default=True,
)
@pass_cli
def get_metric(
    cli: CliContext,
    cluster: str,
    metric: str,
    broker_id: str | None,
    topic: str | None,
    consumer_group: str | None,
    since: str,
    start_time: str | None,
    end_time: str | None,
    period: int,
    statistic: str,
) -> None:
    """Print a metric's datapoints: one per PERIOD seconds over the time range."""
    end = _time(end_time) or time.time()
    start = _time(start_time)
    if start is None:
        start = end - _duration(since)
    params: dict[str, Any] = {
        "startTime": start,
        "endTime": end,
        "period": period,
        "statistic": statistic,
    }
    if broker_id is not None:
        params["brokerId"] = broker_id
    if topic is not None:
        params["topic"] = topic
    if consumer_group is not None:
        params["consumerGroup"] = consumer_group
    found = cli.api.steward_route("GET", _metrics_path(cli, cluster, metric), params=params)
    if cli.output.is_json:
        cli.output.json(found)
        return
    cli.output.table(
        ["TIMESTAMP", statistic.upper(), "SAMPLES"],
        [
            (
                datetime.fromtimestamp(p["timestamp"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                _number(p["value"]),
                p["sampleCount"],
            )
            for p in found["datapoints"]
        ],
    )


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 1000 or value == int(value) else f"{value:.4g}"

"""`steward cloudwatch ...`: Steward's metrics and alarms through CloudWatch's API, with boto3's
own `cloudwatch` client, as any CloudWatch tool sees them: list metrics, read a metric's
statistics, put metrics of your own, describe alarms, set an alarm's state, read its history,
switch its actions on and off. `steward alarms` puts and deletes the same alarms through
Steward's own routes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import click

from steward.client.api import CliError, make_client
from steward.client.context import CliContext, pass_cli
from steward.client.output import response_data

KAFKA = "AWS/Kafka"


def _cloudwatch(cli: CliContext) -> Any:
    return make_client(cli.endpoint_url, cli.region, service="cloudwatch")


def _dimensions(values: tuple[str, ...]) -> list[dict[str, str]]:
    found = []
    for value in values:
        name, sep, item = value.partition("=")
        if not sep or not name:
            raise CliError(f"Error: --dimension {value!r} is not NAME=VALUE.")
        found.append({"Name": name, "Value": item})
    return found


DIMENSION = click.option(
    "--dimension",
    "dimensions",
    multiple=True,
    metavar="NAME=VALUE",
    help='e.g. "Cluster Name=orders", "Broker ID=1"; repeatable.',
)
NAMESPACE = click.option("--namespace", default=KAFKA, show_default=True)


@click.group("cloudwatch")
def cloudwatch() -> None:
    """Metrics and alarms through CloudWatch's API (namespace AWS/Kafka and your own)."""


@cloudwatch.command("list-metrics")
@NAMESPACE
@click.option("--metric", default=None, help="Only this metric name.")
@DIMENSION
@pass_cli
def list_metrics(
    cli: CliContext, namespace: str, metric: str | None, dimensions: tuple[str, ...]
) -> None:
    """The metrics (name and dimensions) that have data."""
    params: dict[str, Any] = {"Namespace": namespace}
    if metric:
        params["MetricName"] = metric
    if dimensions:
        params["Dimensions"] = _dimensions(dimensions)
    found: list[dict[str, Any]] = []
    for page in _cloudwatch(cli).get_paginator("list_metrics").paginate(**params):
        found.extend(page.get("Metrics", []))
    if cli.output.is_json:
        cli.output.json({"Metrics": found})
        return
    cli.output.table(
        ["Namespace", "Metric", "Dimensions"],
        [
            [
                m["Namespace"],
                m["MetricName"],
                ", ".join(f"{d['Name']}={d['Value']}" for d in m.get("Dimensions", [])),
            ]
            for m in found
        ],
    )


@cloudwatch.command("statistics")
@click.argument("metric")
@NAMESPACE
@DIMENSION
@click.option("--statistic", default="Average", show_default=True, help="Or a percentile: p99.")
@click.option("--period", type=int, default=60, show_default=True, help="Seconds.")
@click.option("--minutes", type=int, default=60, show_default=True, help="How far back.")
@pass_cli
def statistics(
    cli: CliContext,
    metric: str,
    namespace: str,
    dimensions: tuple[str, ...],
    statistic: str,
    period: int,
    minutes: int,
) -> None:
    """One statistic of METRIC per period (GetMetricData)."""
    end = datetime.now(UTC)
    answer = _cloudwatch(cli).get_metric_data(
        StartTime=end - timedelta(minutes=minutes),
        EndTime=end,
        ScanBy="TimestampAscending",
        MetricDataQueries=[
            {
                "Id": "m",
                "MetricStat": {
                    "Metric": {
                        "Namespace": namespace,
                        "MetricName": metric,
                        "Dimensions": _dimensions(dimensions),
                    },
                    "Period": period,
                    "Stat": statistic,
                },
            }
        ],
    )
    [result] = answer["MetricDataResults"]
    if cli.output.is_json:
        cli.output.json(response_data(answer))
        return
    cli.output.table(
        ["Timestamp", statistic],
        list(zip(result["Timestamps"], result["Values"], strict=True)),
    )


@cloudwatch.command("put-metric-data")
@click.argument("metric")
@click.argument("value", type=float)
@click.option("--namespace", required=True, help="Your own namespace, e.g. Shop/Orders.")
@DIMENSION
@pass_cli
def put_metric_data(
    cli: CliContext, metric: str, value: float, namespace: str, dimensions: tuple[str, ...]
) -> None:
    """Put one VALUE of METRIC, timestamped now."""
    _cloudwatch(cli).put_metric_data(
        Namespace=namespace,
        MetricData=[{"MetricName": metric, "Value": value, "Dimensions": _dimensions(dimensions)}],
    )
    if not cli.output.is_json:
        cli.output.text(f"Put {metric} = {value:g} in {namespace}.")
    else:
        cli.output.json({})


@cloudwatch.command("describe-alarms")
@click.option("--prefix", default=None, help="Only alarms whose name starts with this.")
@click.option("--state", type=click.Choice(["OK", "ALARM", "INSUFFICIENT_DATA"]), default=None)
@pass_cli
def describe_alarms(cli: CliContext, prefix: str | None, state: str | None) -> None:
    """The alarms, as CloudWatch's DescribeAlarms gives them."""
    params: dict[str, Any] = {}
    if prefix:
        params["AlarmNamePrefix"] = prefix
    if state:
        params["StateValue"] = state
    found: list[dict[str, Any]] = []
    for page in _cloudwatch(cli).get_paginator("describe_alarms").paginate(**params):
        found.extend(page.get("MetricAlarms", []))
    if cli.output.is_json:
        cli.output.json({"MetricAlarms": found})
        return
    cli.output.table(
        ["Alarm", "State", "Metric", "Namespace", "Actions"],
        [
            [
                a["AlarmName"],
                a["StateValue"],
                a["MetricName"],
                a["Namespace"],
                "on" if a.get("ActionsEnabled") else "off",
            ]
            for a in found
        ],
    )


@cloudwatch.command("set-alarm-state")
@click.argument("name")
@click.argument("state", type=click.Choice(["OK", "ALARM", "INSUFFICIENT_DATA"]))
@click.option("--reason", default="Set by hand.", show_default=True)
@pass_cli
def set_alarm_state(cli: CliContext, name: str, state: str, reason: str) -> None:
    """Put alarm NAME in STATE now (its actions run); its next evaluation corrects it."""
    _cloudwatch(cli).set_alarm_state(AlarmName=name, StateValue=state, StateReason=reason)
    if cli.output.is_json:
        cli.output.json({})
    else:
        cli.output.text(f"Alarm {name} is {state}.")


@cloudwatch.command("alarm-history")
@click.argument("name")
@click.option(
    "--type",
    "kind",
    type=click.Choice(["ConfigurationUpdate", "StateUpdate", "Action"]),
    default=None,
)
@pass_cli
def alarm_history(cli: CliContext, name: str, kind: str | None) -> None:
    """Alarm NAME's history, newest first."""
    params: dict[str, Any] = {"AlarmName": name}
    if kind:
        params["HistoryItemType"] = kind
    items: list[dict[str, Any]] = []
    for page in _cloudwatch(cli).get_paginator("describe_alarm_history").paginate(**params):
        items.extend(page.get("AlarmHistoryItems", []))
    if cli.output.is_json:
        cli.output.json({"AlarmHistoryItems": items})
        return
    cli.output.table(
        ["Timestamp", "Type", "Summary"],
        [[i["Timestamp"], i["HistoryItemType"], i["HistorySummary"]] for i in items],
    )


@cloudwatch.command("actions")
@click.argument("switch", type=click.Choice(["on", "off"]))
@click.argument("names", nargs=-1, required=True)
@pass_cli
def actions(cli: CliContext, switch: str, names: tuple[str, ...]) -> None:
    """Switch the actions of alarms NAMES on or off."""
    client = _cloudwatch(cli)
    if switch == "on":
        client.enable_alarm_actions(AlarmNames=list(names))
    else:
        client.disable_alarm_actions(AlarmNames=list(names))
    if cli.output.is_json:
        cli.output.json({})
    else:
        cli.output.text(f"Actions {switch} for {', '.join(names)}.")

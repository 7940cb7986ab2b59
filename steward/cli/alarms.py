"""`steward alarm ...`: alarms on cluster metrics, through Steward's routes under
`/steward/v1/alarms`."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import click

from steward.cli.clusters import key_values
from steward.client.context import CliContext, pass_cli

ALARMS = "/steward/v1/alarms"
NAME = click.argument("name", metavar="NAME")
COMPARISONS = {
    ">": "GreaterThanThreshold",
    ">=": "GreaterThanOrEqualToThreshold",
    "<": "LessThanThreshold",
    "<=": "LessThanOrEqualToThreshold",
}


def _path(name: str | None = None) -> str:
    return ALARMS if name is None else f"{ALARMS}/{quote(name, safe='')}"


@click.group()
def alarm() -> None:
    """Alarms on metrics (CloudWatch's rules): put, list, describe, history, delete."""


@alarm.command("put")
@NAME
@click.option("--metric", required=True, help="e.g. MaxOffsetLag, UnderReplicatedPartitions.")
@click.option(
    "--dimension",
    "dimensions",
    multiple=True,
    callback=key_values,
    metavar="NAME=VALUE",
    help='e.g. "Cluster Name=orders", "Consumer Group=billing"; repeatable.',
)
@click.option(
    "--statistic",
    default="Average",
    show_default=True,
    help="Average, Sum, Minimum, Maximum, SampleCount or a percentile such as p99.",
)
@click.option(
    "--namespace",
    default="AWS/Kafka",
    show_default=True,
    help="MSK's metrics, or a namespace of your own (PutMetricData).",
)
@click.option("--period", type=int, default=60, show_default=True, help="Seconds.")
@click.option("--evaluation-periods", type=int, default=1, show_default=True)
@click.option("--datapoints-to-alarm", type=int, help="Default: all evaluated periods.")
@click.option(
    "--threshold",
    required=True,
    metavar="OP VALUE",
    help='A comparison and a number, e.g. "> 1000" or ">= 85".',
)
@click.option(
    "--missing",
    "treat_missing",
    default="missing",
    show_default=True,
    type=click.Choice(["missing", "notBreaching", "breaching", "ignore"]),
)
@click.option(
    "--webhook",
    "webhooks",
    multiple=True,
    help="URL (or SNS topic ARN) told of every state change; repeatable.",
)
@click.option("--alarm-action", "alarm_actions", multiple=True, help="Told when it goes to ALARM.")
@click.option("--ok-action", "ok_actions", multiple=True, help="Told when it goes to OK.")
@click.option("--description", default="")
@pass_cli
def put(
    cli: CliContext,
    name: str,
    metric: str,
    dimensions: dict[str, str],
    statistic: str,
    namespace: str,
    period: int,
    evaluation_periods: int,
    datapoints_to_alarm: int | None,
    threshold: str,
    treat_missing: str,
    webhooks: tuple[str, ...],
    alarm_actions: tuple[str, ...],
    ok_actions: tuple[str, ...],
    description: str,
) -> None:
    """Create the alarm NAME, or replace its rule."""
    operator, _, number = threshold.strip().partition(" ")
    if operator not in COMPARISONS:
        raise click.BadParameter(
            f"starts with one of {', '.join(COMPARISONS)}", param_hint="--threshold"
        )
    try:
        value = float(number)
    except ValueError:
        raise click.BadParameter(f"{number!r} is not a number", param_hint="--threshold") from None
    body: dict[str, Any] = {
        "namespace": namespace,
        "metricName": metric,
        "dimensions": [{"name": k, "value": v} for k, v in dimensions.items()],
        "statistic": statistic,
        "period": period,
        "evaluationPeriods": evaluation_periods,
        "threshold": value,
        "comparisonOperator": COMPARISONS[operator],
        "treatMissingData": treat_missing,
        "alarmActions": [*webhooks, *alarm_actions],
        "okActions": [*webhooks, *ok_actions],
        "insufficientDataActions": list(webhooks),
        "alarmDescription": description,
    }
    if datapoints_to_alarm is not None:
        body["datapointsToAlarm"] = datapoints_to_alarm
    answer = cli.api.steward_route("PUT", _path(name), body=body)
    if cli.output.is_json:
        cli.output.json(answer)
    else:
        cli.output.text(f"Alarm {name} is {answer['stateValue']}.")


@alarm.command("list")
@click.option("--prefix", help="Only alarms whose name starts with this.")
@click.option("--state", type=click.Choice(["OK", "ALARM", "INSUFFICIENT_DATA"]))
@pass_cli
def list_alarms(cli: CliContext, prefix: str | None, state: str | None) -> None:
    """Every alarm with its state."""
    params = {k: v for k, v in {"prefix": prefix, "state": state}.items() if v}
    alarms: list[dict[str, Any]] = []
    while True:
        answer = cli.api.steward_route("GET", _path(), params=params)
        alarms.extend(answer.get("alarms", []))
        if not answer.get("nextToken"):
            break
        params["nextToken"] = answer["nextToken"]
    if cli.output.is_json:
        cli.output.json({"alarms": alarms})
        return
    cli.output.table(
        ["ALARM", "STATE", "METRIC", "CONDITION"],
        [(a["alarmName"], a["stateValue"], a["metricName"], _condition(a)) for a in alarms],
    )


@alarm.command()
@NAME
@pass_cli
def describe(cli: CliContext, name: str) -> None:
    """An alarm's rule and state, with the reason for it."""
    found = cli.api.steward_route("GET", _path(name))
    if cli.output.is_json:
        cli.output.json(found)
        return
    dimensions = ", ".join(f"{d['name']}={d['value']}" for d in found["dimensions"])
    cli.output.fields(
        [
            ("Alarm", found["alarmName"]),
            ("State", found["stateValue"]),
            ("Reason", found["stateReason"]),
            ("Since", found["stateUpdatedTimestamp"] or "-"),
            ("Metric", f"{found['metricName']} {{{dimensions}}}"),
            ("Condition", _condition(found)),
            ("Webhooks", ", ".join(found["alarmActions"]) or "-"),
        ]
    )


@alarm.command()
@NAME
@pass_cli
def history(cli: CliContext, name: str) -> None:
    """What happened to the alarm, newest first."""
    items = cli.api.steward_route("GET", f"{_path(name)}/history")["alarmHistoryItems"]
    if cli.output.is_json:
        cli.output.json({"alarmHistoryItems": items})
        return
    cli.output.table(
        ["TIME", "TYPE", "SUMMARY"],
        [(i["timestamp"], i["historyItemType"], i["historySummary"]) for i in items],
    )


@alarm.command()
@NAME
@pass_cli
def delete(cli: CliContext, name: str) -> None:
    """Delete an alarm (its history stays)."""
    answer = cli.api.steward_route("DELETE", _path(name))
    if cli.output.is_json:
        cli.output.json(answer)
    else:
        cli.output.text(f"Alarm {name} deleted.")


def _condition(alarm: dict[str, Any]) -> str:
    operator = {v: k for k, v in COMPARISONS.items()}[alarm["comparisonOperator"]]
    threshold = alarm["threshold"]
    shown = int(threshold) if float(threshold).is_integer() else threshold
    return (
        f"{alarm['statistic']} {operator} {shown} for {alarm['datapointsToAlarm']} of "
        f"{alarm['evaluationPeriods']} x {alarm['period']} s"
    )

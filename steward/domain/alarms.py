"""Alarms on Steward's metrics, with CloudWatch's rules: a statistic of one metric (name and
dimensions) per period, compared with a threshold over the last `evaluation_periods` periods,
`datapoints_to_alarm` of which must breach for ALARM; states OK, ALARM and INSUFFICIENT_DATA;
`treat_missing_data` as CloudWatch has it (missing, notBreaching, breaching, ignore).

This module holds the rules and their evaluation only; `steward.monitor.alarm_monitor` runs them,
records each change in the alarm's history and notifies its webhooks. It is the one alarm model
behind both Steward's alarm routes and CloudWatch's API (`steward.cloudwatch`).

An action is a webhook: an http(s) URL, or an SNS topic ARN (`arn:aws:sns:<region>:<account>:
<name>`) that Steward's settings map to a URL (STEWARD_ALARM_TOPICS). As in CloudWatch, a change
to ALARM runs `alarm_actions`, to OK `ok_actions`, to INSUFFICIENT_DATA
`insufficient_data_actions`, and none while `actions_enabled` is off.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from steward.domain.errors import BadRequestException


class AlarmState(StrEnum):
    OK = "OK"
    ALARM = "ALARM"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


class Comparison(StrEnum):
    GREATER_OR_EQUAL = "GreaterThanOrEqualToThreshold"
    GREATER = "GreaterThanThreshold"
    LESS = "LessThanThreshold"
    LESS_OR_EQUAL = "LessThanOrEqualToThreshold"

    def breaches(self, value: float, threshold: float) -> bool:
        return {
            Comparison.GREATER_OR_EQUAL: value >= threshold,
            Comparison.GREATER: value > threshold,
            Comparison.LESS: value < threshold,
            Comparison.LESS_OR_EQUAL: value <= threshold,
        }[self]


class MissingData(StrEnum):
    MISSING = "missing"
    NOT_BREACHING = "notBreaching"
    BREACHING = "breaching"
    IGNORE = "ignore"


STATISTICS = ("Average", "Sum", "Minimum", "Maximum", "SampleCount")
PERCENTILE = re.compile(r"^p(\d{1,2}(\.\d{1,10})?|100)$")
"""CloudWatch's extended statistics: p0 to p100 (`p99`, `p99.9`)."""
SNS_TOPIC = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:([A-Za-z0-9_-]{1,256})$")
KAFKA_NAMESPACE = "AWS/Kafka"


def is_statistic(statistic: str) -> bool:
    return statistic in STATISTICS or bool(PERCENTILE.match(statistic))


def topic_name(action: str) -> str | None:
    """The SNS topic an action names, or None when it is not a topic ARN."""
    match = SNS_TOPIC.match(action)
    return match.group(1) if match else None


def is_action(action: str) -> bool:
    return action.startswith(("http://", "https://")) or topic_name(action) is not None


_NAME = re.compile(r"^[A-Za-z0-9_.:/#@+=-][A-Za-z0-9 _.:/#@+=-]{0,254}$")
MAX_EVALUATED_SECONDS = 7 * 24 * 3600
"""CloudWatch's bound on period x evaluation periods: one week."""


@dataclass(frozen=True)
class AlarmRule:
    name: str
    metric_name: str
    dimensions: tuple[tuple[str, str], ...]
    """(name, value) pairs, sorted: e.g. (("Broker ID", "1"), ("Cluster Name", "orders"))."""
    statistic: str
    period: int
    """Seconds: 10, 30, or a multiple of 60."""
    evaluation_periods: int
    threshold: float
    comparison: Comparison
    datapoints_to_alarm: int | None = None
    """How many of the evaluated periods must breach; all of them when None."""
    treat_missing_data: MissingData = MissingData.MISSING
    alarm_actions: tuple[str, ...] = ()
    description: str = ""
    cluster_arn: str | None = None
    """The cluster the alarm watches, when Steward made it with the cluster (deleted with it)."""
    ok_actions: tuple[str, ...] = ()
    insufficient_data_actions: tuple[str, ...] = ()
    actions_enabled: bool = True
    namespace: str = KAFKA_NAMESPACE
    unit: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    """(key, value) pairs, as CloudWatch's TagResource keeps them."""

    @property
    def required_breaches(self) -> int:
        return self.datapoints_to_alarm or self.evaluation_periods

    def actions_for(self, state: AlarmState) -> tuple[str, ...]:
        """What runs when the alarm goes to `state`."""
        if not self.actions_enabled:
            return ()
        return {
            AlarmState.ALARM: self.alarm_actions,
            AlarmState.OK: self.ok_actions,
            AlarmState.INSUFFICIENT_DATA: self.insufficient_data_actions,
        }[state]

    def validate(self) -> None:
        """BadRequestException naming the first member that is wrong."""
        checks: list[tuple[bool, str, str]] = [
            (bool(_NAME.match(self.name)), "alarmName", "1-255 printable characters"),
            (bool(self.metric_name), "metricName", "required"),
            (bool(self.namespace), "namespace", "required"),
            (
                is_statistic(self.statistic),
                "statistic",
                f"one of {', '.join(STATISTICS)} or a percentile pNN",
            ),
            (
                self.period in (10, 30) or (self.period >= 60 and self.period % 60 == 0),
                "period",
                "10, 30 or a multiple of 60 seconds",
            ),
            (self.evaluation_periods >= 1, "evaluationPeriods", "at least 1"),
            (
                self.period * self.evaluation_periods <= MAX_EVALUATED_SECONDS,
                "evaluationPeriods",
                "period x evaluationPeriods of at most one week",
            ),
            (
                self.datapoints_to_alarm is None
                or 1 <= self.datapoints_to_alarm <= self.evaluation_periods,
                "datapointsToAlarm",
                "from 1 to evaluationPeriods",
            ),
            (math.isfinite(self.threshold), "threshold", "a finite number"),
        ]
        for member, actions in (
            ("alarmActions", self.alarm_actions),
            ("okActions", self.ok_actions),
            ("insufficientDataActions", self.insufficient_data_actions),
        ):
            checks.append(
                (
                    all(is_action(a) for a in actions),
                    member,
                    "http(s) URLs of webhooks or SNS topic ARNs",
                )
            )
        for ok, member, expected in checks:
            if not ok:
                raise BadRequestException(f"{member} must be {expected}.", member)


@dataclass
class AlarmStatus:
    state: AlarmState = AlarmState.INSUFFICIENT_DATA
    reason: str = "Unchecked: the alarm has not been evaluated yet."
    updated_at: datetime | None = None
    evaluated_at: datetime | None = None


@dataclass(frozen=True)
class Evaluation:
    state: AlarmState
    reason: str
    datapoints: tuple[tuple[float, float | None], ...] = field(default=())
    """(period start, value or None when missing), oldest first."""


def evaluation_window(rule: AlarmRule, now: float) -> list[float]:
    """The starts of the periods evaluated at `now`: the last complete ones, oldest first."""
    end = math.floor(now / rule.period) * rule.period
    return [end - k * rule.period for k in range(rule.evaluation_periods, 0, -1)]


def evaluate(
    rule: AlarmRule,
    values: Mapping[float, float],
    now: float,
    current: AlarmState,
) -> Evaluation:
    """The alarm's state at `now`, given the statistic's value per period start (`values` may
    hold periods outside the window; a period without a value is missing)."""
    window = evaluation_window(rule, now)
    points = tuple((start, values.get(start)) for start in window)
    present = [v for _, v in points if v is not None]
    missing = len(points) - len(present)
    breaching = sum(rule.comparison.breaches(v, rule.threshold) for v in present)
    how = rule.treat_missing_data
    if how is MissingData.BREACHING:
        breaching += missing
    if not present and how in (MissingData.MISSING, MissingData.IGNORE):
        if how is MissingData.IGNORE:
            return Evaluation(
                current, "No data: the state is kept (treatMissingData=ignore).", points
            )
        return Evaluation(
            AlarmState.INSUFFICIENT_DATA,
            f"Insufficient Data: no datapoint in the last {len(points)} period(s) "
            f"of {rule.period} s.",
            points,
        )
    shown = ", ".join(_number(v) if v is not None else "missing" for _, v in points)
    comparison = f"the threshold ({_number(rule.threshold)}) {rule.comparison.value}"
    if breaching >= rule.required_breaches:
        return Evaluation(
            AlarmState.ALARM,
            f"Threshold Crossed: {breaching} of {len(points)} datapoint(s) [{shown}] breached "
            f"{comparison}.",
            points,
        )
    return Evaluation(
        AlarmState.OK,
        f"Threshold not crossed: {breaching} of {len(points)} datapoint(s) [{shown}] breached "
        f"{comparison}; {rule.required_breaches} needed.",
        points,
    )


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.4g}"


def recommended_alarms(
    cluster_arn: str, cluster_name: str, broker_ids: list[int]
) -> list[AlarmRule]:
    """What Steward watches on every cluster, as MSK's best practices advise: offline
    partitions, and per broker under-replicated partitions and a data volume above 85%."""
    cluster = (("Cluster Name", cluster_name),)
    rules = [
        AlarmRule(
            name=f"{cluster_name}-OfflinePartitionsCount",
            metric_name="OfflinePartitionsCount",
            dimensions=cluster,
            statistic="Maximum",
            period=60,
            evaluation_periods=1,
            threshold=0,
            comparison=Comparison.GREATER,
            description="Partitions without a leader: clients cannot use them.",
            cluster_arn=cluster_arn,
        )
    ]
    for broker in broker_ids:
        dimensions = tuple(sorted((*cluster, ("Broker ID", str(broker)))))
        rules += [
            AlarmRule(
                name=f"{cluster_name}-broker-{broker}-UnderReplicatedPartitions",
                metric_name="UnderReplicatedPartitions",
                dimensions=dimensions,
                statistic="Maximum",
                period=60,
                evaluation_periods=5,
                datapoints_to_alarm=5,
                threshold=0,
                comparison=Comparison.GREATER,
                description="Replicas out of sync for five minutes.",
                cluster_arn=cluster_arn,
            ),
            AlarmRule(
                name=f"{cluster_name}-broker-{broker}-KafkaDataLogsDiskUsed",
                metric_name="KafkaDataLogsDiskUsed",
                dimensions=dimensions,
                statistic="Maximum",
                period=60,
                evaluation_periods=1,
                threshold=85,
                comparison=Comparison.GREATER_OR_EQUAL,
                description="The broker's data volume is 85% full or more.",
                cluster_arn=cluster_arn,
            ),
        ]
    return rules

"""Steward's alarm routes, under /steward/v1/alarms: CloudWatch's alarm members (namespace,
metric, dimensions, statistic, period, evaluation periods, datapoints to alarm, threshold,
comparison, missing data, actions per state as webhook URLs or SNS topic ARNs) in the camelCase
JSON and error shapes of the MSK routes. The same alarms CloudWatch's API (`steward.cloudwatch`)
serves: one store, one book."""

from __future__ import annotations

from typing import Any

from steward.api.msk.fields import Fields
from steward.api.msk.pagination import page, with_token
from steward.api.msk.routing import Body, MskRequest, Router
from steward.control.service import ClusterService
from steward.domain.alarms import (
    KAFKA_NAMESPACE,
    AlarmRule,
    AlarmState,
    AlarmStatus,
    Comparison,
    MissingData,
)
from steward.domain.errors import BadRequestException

router = Router()

ALARMS = "/steward/v1/alarms"
ALARM = f"{ALARMS}/{{alarmName}}"


@router.add("PutAlarm", "PUT", ALARM)
def put_alarm(service: ClusterService, request: MskRequest) -> Body:
    """Create the alarm or replace its rule; it starts over in INSUFFICIENT_DATA."""
    rule = _rule(request.param("alarmName"), request.body)
    return _alarm(*service.alarms.put(rule))


@router.add("DescribeAlarm", "GET", ALARM)
def describe_alarm(service: ClusterService, request: MskRequest) -> Body:
    return _alarm(*service.alarms.describe(request.param("alarmName")))


@router.add("ListAlarms", "GET", ALARMS)
def list_alarms(service: ClusterService, request: MskRequest) -> Body:
    """`prefix`, `clusterArn` and `state` filter; MSK's pagination."""
    state = request.query.get("state")
    if state is not None and state not in {s.value for s in AlarmState}:
        raise BadRequestException("state must be OK, ALARM or INSUFFICIENT_DATA.", "state")
    found = service.alarms.list(
        prefix=request.query.get("prefix"),
        cluster_arn=request.query.get("clusterArn"),
        state=state,
    )
    names, token = page([rule.name for rule, _ in found], request.query)
    chosen = set(names)
    return with_token({"alarms": [_alarm(r, s) for r, s in found if r.name in chosen]}, token)


@router.add("DeleteAlarm", "DELETE", ALARM)
def delete_alarm(service: ClusterService, request: MskRequest) -> Body:
    name = request.param("alarmName")
    service.alarms.delete(name)
    return {"alarmName": name}


@router.add("DescribeAlarmHistory", "GET", f"{ALARM}/history")
def describe_alarm_history(service: ClusterService, request: MskRequest) -> Body:
    """Newest first: configuration updates, state updates, webhook actions."""
    entries = service.alarms.history(request.param("alarmName"))
    return {
        "alarmHistoryItems": [
            {**entry, "timestamp": entry["timestamp"].isoformat()} for entry in entries
        ]
    }


def _rule(name: str, body: Fields) -> AlarmRule:
    dimensions = body.objects("dimensions") or []
    return AlarmRule(
        name=name,
        metric_name=body.required_string("metricName", min_length=1, max_length=255),
        dimensions=tuple(
            sorted(
                (d.required_string("name", min_length=1), d.required_string("value"))
                for d in dimensions
            )
        ),
        statistic=body.required_string("statistic", min_length=1),
        period=body.required_integer("period", minimum=10),
        evaluation_periods=body.required_integer("evaluationPeriods", minimum=1),
        datapoints_to_alarm=body.integer("datapointsToAlarm", minimum=1),
        threshold=_required_number(body, "threshold"),
        comparison=Comparison(
            body.required_string("comparisonOperator", choices=tuple(c.value for c in Comparison))
        ),
        treat_missing_data=MissingData(
            body.string("treatMissingData", choices=tuple(m.value for m in MissingData))
            or MissingData.MISSING.value
        ),
        alarm_actions=tuple(body.strings("alarmActions") or ()),
        ok_actions=tuple(body.strings("okActions") or ()),
        insufficient_data_actions=tuple(body.strings("insufficientDataActions") or ()),
        actions_enabled=body.boolean("actionsEnabled") is not False,
        namespace=body.string("namespace", min_length=1, max_length=255) or KAFKA_NAMESPACE,
        description=body.string("alarmDescription", max_length=1024) or "",
    )


def _required_number(body: Fields, member: str) -> float:
    value = body.number(member, required=True)
    assert value is not None
    return value


def _alarm(rule: AlarmRule, status: AlarmStatus) -> dict[str, Any]:
    return {
        "alarmName": rule.name,
        "alarmDescription": rule.description,
        "clusterArn": rule.cluster_arn,
        "metricName": rule.metric_name,
        "namespace": rule.namespace,
        "dimensions": [{"name": k, "value": v} for k, v in rule.dimensions],
        "statistic": rule.statistic,
        "period": rule.period,
        "evaluationPeriods": rule.evaluation_periods,
        "datapointsToAlarm": rule.required_breaches,
        "threshold": rule.threshold,
        "comparisonOperator": rule.comparison.value,
        "treatMissingData": rule.treat_missing_data.value,
        "alarmActions": list(rule.alarm_actions),
        "okActions": list(rule.ok_actions),
        "insufficientDataActions": list(rule.insufficient_data_actions),
        "actionsEnabled": rule.actions_enabled,
        "stateValue": status.state.value,
        "stateReason": status.reason,
        "stateUpdatedTimestamp": status.updated_at.isoformat() if status.updated_at else None,
        "evaluatedTimestamp": status.evaluated_at.isoformat() if status.evaluated_at else None,
    }

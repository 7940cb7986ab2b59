"""The Application-Auto-Scaling-compatible endpoint: AWS JSON 1.1, `POST /` with
`X-Amz-Target: AnyScaleFrontendService.<Operation>`, so that boto3's `application-autoscaling`
client works against Steward's endpoint unchanged. Errors are `{"__type": <Name>, "Message":
...}`, HTTP 400 (500 for Steward's own failures).

Operations: RegisterScalableTarget, DescribeScalableTargets, DeregisterScalableTarget,
PutScalingPolicy, DescribeScalingPolicies, DeleteScalingPolicy, DescribeScalingActivities.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp

from steward.autoscaling.service import (
    ApplicationAutoScaling,
    AutoScalingError,
    InternalServiceException,
    ValidationException,
)
from steward.autoscaling.store import ScalableTarget, ScalingActivity, ScalingPolicy
from steward.domain.errors import StewardError
from steward.wire.json_protocol import Body, JsonEndpoint, json_response, with_json_endpoint

log = logging.getLogger(__name__)

TARGET_PREFIX = "AnyScaleFrontendService."

Operation = Callable[[ApplicationAutoScaling, Body], Body]


class UnknownOperationException(AutoScalingError):
    pass


class SerializationException(AutoScalingError):
    pass


def error_response(error: StewardError, request_id: str) -> Response:
    if not isinstance(error, AutoScalingError):
        error = (
            ValidationException(error.message)
            if error.status < 500
            else InternalServiceException(error.message)
        )
    return json_response(
        {"__type": error.error_type, "Message": error.message}, request_id, error.status
    )


def _unknown_operation(target: str) -> UnknownOperationException:
    return UnknownOperationException(
        f"Steward's Application Auto Scaling has no operation {target or '(no X-Amz-Target)'}."
    )


# --- reading the request ------------------------------------------------------------------------
def _string(body: Body, name: str, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise ValidationException(f"1 validation error detected: {name} must not be null")
        return None
    if not isinstance(value, str):
        raise ValidationException(f"{name} must be a string.")
    return value


def _required(body: Body, name: str) -> str:
    value = _string(body, name, required=True)
    assert value is not None
    return value


def _integer(body: Body, name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationException(f"{name} must be a whole number.")
    return value


def _strings(body: Body, name: str) -> list[str] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationException(f"{name} must be a list of strings.")
    return list(value)


def _key(body: Body) -> tuple[str, str, str]:
    return (
        _required(body, "ServiceNamespace"),
        _required(body, "ResourceId"),
        _required(body, "ScalableDimension"),
    )


# --- shapes -------------------------------------------------------------------------------------
def _time(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def target_json(target: ScalableTarget) -> Body:
    return {
        "ServiceNamespace": target.service_namespace,
        "ResourceId": target.resource_id,
        "ScalableDimension": target.scalable_dimension,
        "MinCapacity": target.min_capacity,
        "MaxCapacity": target.max_capacity,
        "RoleARN": target.role_arn,
        "CreationTime": _time(target.creation_time),
        "SuspendedState": {
            "DynamicScalingInSuspended": target.suspended.get("DynamicScalingInSuspended", False),
            "DynamicScalingOutSuspended": target.suspended.get("DynamicScalingOutSuspended", False),
            "ScheduledScalingSuspended": target.suspended.get("ScheduledScalingSuspended", False),
        },
        "ScalableTargetARN": target.arn,
    }


def policy_json(policy: ScalingPolicy) -> Body:
    return {
        "PolicyARN": policy.arn,
        "PolicyName": policy.name,
        "ServiceNamespace": policy.service_namespace,
        "ResourceId": policy.resource_id,
        "ScalableDimension": policy.scalable_dimension,
        "PolicyType": policy.policy_type,
        "TargetTrackingScalingPolicyConfiguration": policy.configuration,
        "Alarms": [],
        "CreationTime": _time(policy.creation_time),
    }


def activity_json(activity: ScalingActivity) -> Body:
    answer: dict[str, Any] = {
        "ActivityId": activity.activity_id,
        "ServiceNamespace": activity.service_namespace,
        "ResourceId": activity.resource_id,
        "ScalableDimension": activity.scalable_dimension,
        "Description": activity.description,
        "Cause": activity.cause,
        "StartTime": _time(activity.start_time),
        "StatusCode": activity.status_code,
    }
    if activity.end_time is not None:
        answer["EndTime"] = _time(activity.end_time)
    if activity.status_message:
        answer["StatusMessage"] = activity.status_message
    if activity.operation_arn:
        answer["Details"] = f"Cluster operation {activity.operation_arn}"
    return answer


def _listed(member: str, items: list[Body], next_token: str | None) -> Body:
    answer: Body = {member: items}
    if next_token is not None:
        answer["NextToken"] = next_token
    return answer


# --- operations ---------------------------------------------------------------------------------
def register_scalable_target(service: ApplicationAutoScaling, body: Body) -> Body:
    suspended = body.get("SuspendedState")
    if suspended is not None and not isinstance(suspended, dict):
        raise ValidationException("SuspendedState must be an object.")
    target = service.register_scalable_target(
        *_key(body),
        _integer(body, "MinCapacity"),
        _integer(body, "MaxCapacity"),
        _string(body, "RoleARN"),
        {k: bool(v) for k, v in (suspended or {}).items()},
    )
    return {"ScalableTargetARN": target.arn}


def describe_scalable_targets(service: ApplicationAutoScaling, body: Body) -> Body:
    page = service.describe_scalable_targets(
        _required(body, "ServiceNamespace"),
        _strings(body, "ResourceIds"),
        _string(body, "ScalableDimension"),
        _integer(body, "MaxResults"),
        _string(body, "NextToken"),
    )
    return _listed("ScalableTargets", [target_json(t) for t in page.items], page.next_token)


def deregister_scalable_target(service: ApplicationAutoScaling, body: Body) -> Body:
    service.deregister_scalable_target(*_key(body))
    return {}


def put_scaling_policy(service: ApplicationAutoScaling, body: Body) -> Body:
    policy = service.put_scaling_policy(
        _required(body, "PolicyName"),
        *_key(body),
        _string(body, "PolicyType"),
        body.get("TargetTrackingScalingPolicyConfiguration"),
    )
    return {"PolicyARN": policy.arn, "Alarms": []}


def describe_scaling_policies(service: ApplicationAutoScaling, body: Body) -> Body:
    page = service.describe_scaling_policies(
        _required(body, "ServiceNamespace"),
        _strings(body, "PolicyNames"),
        _string(body, "ResourceId"),
        _string(body, "ScalableDimension"),
        _integer(body, "MaxResults"),
        _string(body, "NextToken"),
    )
    return _listed("ScalingPolicies", [policy_json(p) for p in page.items], page.next_token)


def delete_scaling_policy(service: ApplicationAutoScaling, body: Body) -> Body:
    service.delete_scaling_policy(_required(body, "PolicyName"), *_key(body))
    return {}


def describe_scaling_activities(service: ApplicationAutoScaling, body: Body) -> Body:
    page = service.describe_scaling_activities(
        _required(body, "ServiceNamespace"),
        _string(body, "ResourceId"),
        _string(body, "ScalableDimension"),
        _integer(body, "MaxResults"),
        _string(body, "NextToken"),
    )
    return _listed("ScalingActivities", [activity_json(a) for a in page.items], page.next_token)


OPERATIONS: dict[str, Operation] = {
    "RegisterScalableTarget": register_scalable_target,
    "DescribeScalableTargets": describe_scalable_targets,
    "DeregisterScalableTarget": deregister_scalable_target,
    "PutScalingPolicy": put_scaling_policy,
    "DescribeScalingPolicies": describe_scaling_policies,
    "DeleteScalingPolicy": delete_scaling_policy,
    "DescribeScalingActivities": describe_scaling_activities,
}


def with_application_autoscaling(other: ASGIApp, service: ApplicationAutoScaling) -> ASGIApp:
    """A `POST /` naming an Application Auto Scaling operation in `X-Amz-Target` goes to this
    API, everything else to `other`."""
    endpoint = JsonEndpoint(
        target_prefix=TARGET_PREFIX,
        operations=OPERATIONS,
        service=service,
        error_response=error_response,
        unknown_operation=_unknown_operation,
        serialization=SerializationException,
        internal=InternalServiceException,
        bare_operations=False,
        log=log,
    )
    return with_json_endpoint(endpoint, other)

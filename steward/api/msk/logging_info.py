"""MSK's `LoggingInfo` member (CreateCluster, CreateClusterV2's `provisioned`, UpdateMonitoring),
checked the way MSK checks it and kept in MSK's shape.

Each destination needs `enabled`; an enabled one needs its resource (`logGroup`,
`deliveryStream`, `bucket`). Names must be what Steward can make of them on its hosts
(`steward.agent.log_delivery`): a log group's directories, a bucket's directory, a Kafka topic.
Authorizer logs are accepted only turned off: Kafka has no separate authorizer log to deliver.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from steward.agent.log_delivery import (
    bucket_problem,
    delivery_stream_problem,
    log_group_problem,
    prefix_problem,
)
from steward.api.msk.fields import Fields
from steward.domain.errors import BadRequestException

Problem = Callable[[str], str | None]


def logging_info(info: Fields | None) -> dict[str, Any] | None:
    """The request's `loggingInfo`, checked, with only the members MSK defines; None without."""
    if info is None:
        return None
    broker_logs = info.object("brokerLogs", required=True)
    assert broker_logs is not None
    checked: dict[str, Any] = {"brokerLogs": _destinations(broker_logs)}
    authorizer_logs = info.object("authorizerLogs")
    if authorizer_logs is not None:
        destinations = _destinations(authorizer_logs)
        if any(d["enabled"] for d in destinations.values()):
            raise BadRequestException(
                "Authorizer logs are not available in Steward; broker logs carry Kafka's "
                "authorizer messages. Leave authorizerLogs out or disabled.",
                info.name("authorizerLogs"),
            )
        checked["authorizerLogs"] = destinations
    return checked


def _destinations(logs: Fields) -> dict[str, Any]:
    destinations: dict[str, Any] = {}
    cloud_watch = logs.object("cloudWatchLogs")
    if cloud_watch is not None:
        destinations["cloudWatchLogs"] = _destination(
            cloud_watch, "logGroup", log_group_problem, max_length=512
        )
    firehose = logs.object("firehose")
    if firehose is not None:
        destinations["firehose"] = _destination(
            firehose, "deliveryStream", delivery_stream_problem, max_length=64
        )
    s3 = logs.object("s3")
    if s3 is not None:
        bucket = _destination(s3, "bucket", bucket_problem, max_length=63)
        prefix = s3.string("prefix")
        if prefix is not None:
            _check(s3, "prefix", prefix, prefix_problem)
            bucket["prefix"] = prefix
        destinations["s3"] = bucket
    return destinations


def _destination(
    fields: Fields, resource: str, problem: Problem, max_length: int
) -> dict[str, Any]:
    """`{enabled, <resource>}`: the resource is required when the destination is enabled."""
    enabled = fields.boolean("enabled", required=True)
    name = fields.string(resource, required=bool(enabled), min_length=1, max_length=max_length)
    checked: dict[str, Any] = {"enabled": enabled}
    if name is not None:
        _check(fields, resource, name, problem)
        checked[resource] = name
    return checked


def _check(fields: Fields, member: str, value: str, problem: Problem) -> None:
    found = problem(value)
    if found is not None:
        raise BadRequestException(f"{fields.name(member)} must be {found}.", fields.name(member))

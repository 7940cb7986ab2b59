"""Where a connector's workers deliver their logs: MSK Connect's `logDelivery.workerLogDelivery`,
checked when a connector is created and turned into each worker's `LogDelivery`
(`steward.agent.log_delivery`), which its agent carries out as it does for brokers.

- `cloudWatchLogs.logGroup`: a log group kept as files on the worker's host, a stream per worker;
- `s3.bucket`/`s3.prefix`: objects PUT to the S3 API Steward's MSK Connect is configured with
  (`STEWARD_CONNECT_S3_ENDPOINT` and its keys), under
  `<prefix>/AWSLogs/<account>/KafkaConnectLogs/<region>/<connectorName>-<connectorId>/`;
- `firehose.deliveryStream`: a topic of that name in the connector's own cluster, reached as the
  workers reach it (plaintext or TLS); not for connectors that sign in with IAM, whose cluster
  takes nobody without a signature.
"""

from __future__ import annotations

import hashlib
from typing import Any

from steward.agent.log_delivery import (
    LogDelivery,
    bucket_problem,
    delivery_stream_problem,
    log_group_problem,
    prefix_problem,
)
from steward.connect.store import ConnectorRecord, WorkerPlacement
from steward.connect.workers import ClusterEndpoint, signs_in_with_iam
from steward.domain.errors import BadRequestException
from steward.settings import Settings

DESTINATIONS = {"cloudWatchLogs": "logGroup", "firehose": "deliveryStream", "s3": "bucket"}


def check_log_delivery(value: Any, iam: bool) -> dict[str, Any]:
    """`logDelivery` as MSK Connect takes it: each destination `enabled`, and when it is, the
    name it needs; what is kept is the destinations given."""
    workers = value.get("workerLogDelivery") if isinstance(value, dict) else None
    if not isinstance(workers, dict):
        raise BadRequestException("logDelivery must have a workerLogDelivery.", "logDelivery")
    kept: dict[str, Any] = {}
    for destination, name_field in DESTINATIONS.items():
        given = workers.get(destination)
        if given is None:
            continue
        if not isinstance(given, dict) or not isinstance(given.get("enabled"), bool):
            raise BadRequestException(
                f"workerLogDelivery.{destination} must say whether it is enabled.", destination
            )
        if given["enabled"]:
            _check_destination(destination, name_field, given, iam)
        kept[destination] = {k: v for k, v in given.items() if v is not None}
    return {"workerLogDelivery": kept}


def _check_destination(destination: str, name_field: str, given: dict[str, Any], iam: bool) -> None:
    name = given.get(name_field)
    checks = {
        "cloudWatchLogs": log_group_problem,
        "firehose": delivery_stream_problem,
        "s3": bucket_problem,
    }
    problem = checks[destination](name) if isinstance(name, str) else "a name"
    if problem is not None:
        raise BadRequestException(
            f"workerLogDelivery.{destination}.{name_field} must be {problem}.", name_field
        )
    if destination == "s3" and given.get("prefix") is not None:
        prefix = given["prefix"]
        problem = prefix_problem(prefix) if isinstance(prefix, str) else "a string"
        if problem is not None:
            raise BadRequestException(f"workerLogDelivery.s3.prefix must be {problem}.", "prefix")
    if destination == "firehose" and iam:
        raise BadRequestException(
            "Worker logs cannot go to firehose for a connector that signs in with IAM: choose "
            "cloudWatchLogs or s3.",
            "firehose",
        )


def worker_id(connector: ConnectorRecord, worker: WorkerPlacement) -> str:
    """The worker's id in its log lines and names (17 hex digits, as MSK Connect's), fixed for
    the worker."""
    return hashlib.sha256(f"{connector.arn}/{worker.key}".encode()).hexdigest()[:17]


def _enabled(workers: dict[str, Any], destination: str) -> dict[str, Any] | None:
    given = workers.get(destination)
    return given if isinstance(given, dict) and given.get("enabled") is True else None


def worker_log_delivery(
    connector: ConnectorRecord,
    worker: WorkerPlacement,
    endpoint: ClusterEndpoint,
    settings: Settings,
) -> dict[str, Any] | None:
    """The worker's `NodeSpec.log_delivery`, or None when its logs go nowhere."""
    workers = (connector.spec.get("logDelivery") or {}).get("workerLogDelivery") or {}
    log_group = _enabled(workers, "cloudWatchLogs")
    bucket = _enabled(workers, "s3")
    stream = _enabled(workers, "firehose")
    if signs_in_with_iam(connector):
        stream = None  # refused when the connector was created
    if log_group is None and bucket is None and stream is None:
        return None
    _, _, _, region, account_id, _ = connector.arn.split(":", 5)
    encryption = connector.spec.get("kafkaClusterEncryptionInTransit") or {}
    tls = encryption.get("encryptionType") == "TLS"
    delivery = LogDelivery(
        cluster_name=connector.name,
        cluster_uuid=connector.connector_id,
        account_id=account_id,
        region=region,
        log_group=log_group["logGroup"] if log_group else None,
        bucket=bucket["bucket"] if bucket else None,
        prefix=(bucket.get("prefix") or "") if bucket else "",
        topic=stream["deliveryStream"] if stream else None,
        bootstrap=endpoint.bootstrap_servers if stream else None,
        security_protocol="SSL" if tls else "PLAINTEXT",
        ca_certificates=endpoint.ca_certificate if tls else None,
        source="worker",
        worker_id=worker_id(connector, worker),
        s3_api=bucket is not None,
        s3_endpoint=settings.connect_s3_endpoint if bucket else None,
        s3_access_key_id=settings.connect_s3_access_key_id if bucket else None,
        s3_secret_access_key=settings.connect_s3_secret_access_key if bucket else None,
    )
    return delivery.to_dict()

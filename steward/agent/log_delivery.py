"""Where a broker's logs go: MSK's `LoggingInfo.brokerLogs`, as Steward delivers it on its hosts.

MSK delivers each broker's INFO log to up to three AWS resources. Steward keeps the request shape
and maps each destination onto something a self-hosted service has, on the broker's host, under
the Steward home of that host (`STEWARD_HOME`, the directory the agent's state lives in):

- `cloudWatchLogs.logGroup` -> a log group kept as plain files, one stream per broker:
  `<home>/log-groups/<logGroup>/<clusterName>-<clusterUuid>/Broker-<id>.log`, rolled at
  10 MB with 5 rolled files kept (a log group's slashes are directories);
- `s3.bucket`/`s3.prefix` -> a bucket kept as a directory, with MSK's S3 key layout:
  `<home>/buckets/<bucket>/<prefix>/AWSLogs/<account>/KafkaBrokerLogs/<region>/`
  `<clusterName>-<clusterUuid>/<YYYY-MM-DD-HH>/Broker-<id>_<HH-MM>_<8 hex>.log.gz`,
  one gzip object per broker each time its lines are written out (every minute while it logs);
- `firehose.deliveryStream` -> a Kafka topic of that name in the same cluster, created when
  missing (3 partitions, the cluster's replication factor, 7 days or 1 GiB a partition); each
  record's key is the broker id and its value a JSON object: `broker`, `timestamp`, `level`,
  `logger`, `message` (a stack trace line is a record of its own with only `message`).

MSK Connect's `logDelivery.workerLogDelivery` takes the same three destinations for a connector's
Kafka Connect workers (`source="worker"`): each line is prefixed with the worker's id as MSK
Connect prefixes it (`[Worker-<17 hex>] `), the log group's stream and the objects are named
`Worker-<id>` under `<connectorName>-<connectorId>`, the S3 layout says `KafkaConnectLogs` where
the brokers' says `KafkaBrokerLogs`, and the bucket is one of the S3 API Steward's MSK Connect is
configured with (`s3_api`; `STEWARD_CONNECT_S3_ENDPOINT`), not a directory.

This module holds the description the control plane sends with a node's `NodeSpec`
(`LogDelivery`), the name rules shared with the API's validation, and the destinations' paths.
The delivery itself is `steward.agent.log_shipper`.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

LOG_GROUP_NAME = re.compile(r"^[A-Za-z0-9_./#-]{1,512}$")
"""CloudWatch Logs' rule for a log group name."""
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
"""S3's rule for a bucket name (3-63 lowercase letters, digits, dots and hyphens)."""
DELIVERY_STREAM_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
"""Firehose's rule for a delivery stream name, which is also a valid Kafka topic name."""
MAX_PREFIX_LENGTH = 512
SOURCES = ("broker", "worker")
WORKER_ID = re.compile(r"^[0-9a-f]{17}$")
"""A Connect worker's id as MSK Connect shows it after `Worker-`."""

TOPIC_PARTITIONS = 3
TOPIC_CONFIGS = {
    "cleanup.policy": "delete",
    "retention.ms": str(7 * 24 * 3600 * 1000),
    "retention.bytes": str(1024**3),
}
"""The delivery topic, when Steward creates it: a week of logs, at most 1 GiB a partition."""


class InvalidLogDelivery(ValueError):
    """A log delivery the agent cannot carry out as described."""


def relative_parts(name: str) -> tuple[str, ...]:
    """`name` as path segments below a destination's directory: slashes separate segments,
    empty segments are dropped; "." and ".." are refused (they would leave the directory)."""
    parts = tuple(part for part in name.split("/") if part)
    if any(part in (".", "..") for part in parts) or "\0" in name:
        raise InvalidLogDelivery(f"{name!r} has a '.' or '..' segment or a NUL character")
    return parts


def log_group_problem(name: str) -> str | None:
    """Why `name` cannot be a log group, or None."""
    if not LOG_GROUP_NAME.match(name):
        return "1 to 512 letters, digits and the characters _ . / # -"
    try:
        parts = relative_parts(name)
    except InvalidLogDelivery:
        return "without '.' or '..' segments"
    return None if parts else "more than slashes"


def bucket_problem(name: str) -> str | None:
    if not BUCKET_NAME.match(name) or ".." in name:
        return (
            "3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a "
            "letter or digit"
        )
    return None


def prefix_problem(prefix: str) -> str | None:
    if len(prefix) > MAX_PREFIX_LENGTH:
        return f"at most {MAX_PREFIX_LENGTH} characters"
    try:
        relative_parts(prefix)
    except InvalidLogDelivery:
        return "without '.' or '..' segments or NUL characters"
    return None


def delivery_stream_problem(name: str) -> str | None:
    if not DELIVERY_STREAM_NAME.match(name) or name in (".", ".."):
        return "1 to 64 letters, digits and the characters _ . - (a Kafka topic name)"
    if name.startswith("__"):
        return "a name that does not start with '__' (Kafka's internal topics)"
    return None


@dataclass(frozen=True)
class LogDelivery:
    """One broker's destinations, as the control plane sends them in its `NodeSpec`."""

    cluster_name: str
    cluster_uuid: str
    """The last part of the cluster's ARN (`<uuid>-<n>`)."""
    account_id: str
    region: str
    log_group: str | None = None
    bucket: str | None = None
    prefix: str = ""
    topic: str | None = None
    bootstrap: str | None = None
    """The cluster's bootstrap brokers, for the topic destination."""
    security_protocol: str = "PLAINTEXT"
    """How the agent reaches `bootstrap`: PLAINTEXT, or SSL trusting `ca_certificates`."""
    ca_certificates: str | None = None
    """PEM: the certificate authorities of the cluster's TLS listeners."""
    node_identity: bool = False
    """Present the broker's own certificate (its key store): the bootstrap is the brokers'
    REPLICATION listeners of a cluster with an authorizer, where only the nodes get in."""
    source: str = "broker"
    """Whose log: a broker's, or a Connect worker's (`cluster_name`/`cluster_uuid` are then the
    connector's name and id)."""
    worker_id: str | None = None
    """A worker's id (17 hex digits), which names its stream and objects and prefixes its lines."""
    s3_api: bool = False
    """The bucket is one of an S3 API (`s3_endpoint`, AWS's own when None), not a directory."""
    s3_endpoint: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = field(default=None, repr=False)
    """Kept out of the stored spec (`NodeSpec.to_json`): the control plane sends it again."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        for name in ("cluster_name", "cluster_uuid", "account_id", "region"):
            value = getattr(self, name)
            if not isinstance(value, str) or not re.match(r"^[A-Za-z0-9_.-]{1,128}$", value):
                raise InvalidLogDelivery(f"{name} {value!r} is not a plain name")
        checks = (
            (self.log_group, log_group_problem, "log_group"),
            (self.bucket, bucket_problem, "bucket"),
            (self.topic, delivery_stream_problem, "topic"),
        )
        for value, problem, name in checks:
            if value is None:
                continue
            if not isinstance(value, str) or problem(value) is not None:
                raise InvalidLogDelivery(f"{name} {value!r} is not valid")
        if not isinstance(self.prefix, str) or prefix_problem(self.prefix) is not None:
            raise InvalidLogDelivery(f"prefix {self.prefix!r} is not valid")
        if self.security_protocol not in ("PLAINTEXT", "SSL"):
            raise InvalidLogDelivery(f"security_protocol {self.security_protocol!r} is not valid")
        if not isinstance(self.node_identity, bool):
            raise InvalidLogDelivery("node_identity must be true or false")
        if self.ca_certificates is not None and not isinstance(self.ca_certificates, str):
            raise InvalidLogDelivery("ca_certificates must be PEM text")
        if self.topic is not None and not (isinstance(self.bootstrap, str) and self.bootstrap):
            raise InvalidLogDelivery("a topic destination needs the cluster's bootstrap")
        if self.log_group is None and self.bucket is None and self.topic is None:
            raise InvalidLogDelivery("a log delivery needs at least one destination")
        if self.source not in SOURCES:
            raise InvalidLogDelivery(f"source {self.source!r} is not one of {SOURCES}")
        if self.source == "worker" and not (
            isinstance(self.worker_id, str) and WORKER_ID.match(self.worker_id)
        ):
            raise InvalidLogDelivery(f"worker_id {self.worker_id!r} is not 17 hex digits")
        if not isinstance(self.s3_api, bool):
            raise InvalidLogDelivery("s3_api must be true or false")
        for name in ("s3_endpoint", "s3_access_key_id", "s3_secret_access_key"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or "\n" in value):
                raise InvalidLogDelivery(f"{name} must be null or a single-line string")

    def node_name(self, node_id: int) -> str:
        """How the destinations name the node: `Broker-<id>` or `Worker-<id>`."""
        return f"Worker-{self.worker_id}" if self.source == "worker" else f"Broker-{node_id}"

    @property
    def log_kind(self) -> str:
        """The S3 layout's name of the logs' kind."""
        return "KafkaConnectLogs" if self.source == "worker" else "KafkaBrokerLogs"

    @property
    def line_prefix(self) -> str:
        """What each delivered line starts with: a worker's id, as MSK Connect's lines do."""
        return f"[Worker-{self.worker_id}] " if self.source == "worker" else ""

    def stored(self) -> dict[str, Any]:
        """The delivery as the agent stores it: without the S3 secret."""
        return {**self.to_dict(), "s3_secret_access_key": None}

    @property
    def stream_name(self) -> str:
        """`<clusterName>-<clusterUuid>`, as MSK names a cluster in its log destinations."""
        return f"{self.cluster_name}-{self.cluster_uuid}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object) -> LogDelivery:
        if not isinstance(data, dict):
            raise InvalidLogDelivery("a log delivery must be an object")
        try:
            return cls(**data)
        except TypeError as error:
            raise InvalidLogDelivery(str(error)) from error


def log_group_file(root: Path, delivery: LogDelivery, broker_id: int) -> Path:
    """The file of a node's stream in its log group, below the Steward home `root`."""
    assert delivery.log_group is not None
    group = relative_parts(delivery.log_group)
    name = delivery.node_name(broker_id)
    return root.joinpath("log-groups", *group, delivery.stream_name, f"{name}.log")


def bucket_object_key(delivery: LogDelivery, broker_id: int, at: datetime, token: str) -> str:
    """MSK's S3 key of a broker's log object written at `at` (UTC), e.g.
    `logs/AWSLogs/123456789012/KafkaBrokerLogs/us-east-1/demo-1a2b...-1/2026-11-29-01/`
    `Broker-1_01-05_5b17f696.log.gz`. `token` tells apart objects of the same minute."""
    parts = [
        *relative_parts(delivery.prefix),
        "AWSLogs",
        delivery.account_id,
        delivery.log_kind,
        delivery.region,
        delivery.stream_name,
        at.strftime("%Y-%m-%d-%H"),
        f"{delivery.node_name(broker_id)}_{at.strftime('%H-%M')}_{token}.log.gz",
    ]
    return "/".join(parts)


def bucket_object_path(root: Path, delivery: LogDelivery, key: str) -> Path:
    """Where the object `key` of the delivery's bucket is, below the Steward home `root`."""
    assert delivery.bucket is not None
    return root.joinpath("buckets", delivery.bucket, *relative_parts(key))

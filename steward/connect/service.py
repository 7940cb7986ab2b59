"""MSK Connect's use cases: each checks a request as MSK Connect does, writes the desired state
to the store and wakes the reconciler (`steward.connect.reconciler`), which does the work.

Errors are MSK Connect's own (the same names and statuses as MSK's: BadRequestException,
NotFoundException, ConflictException). Plugins and connectors start in CREATING and reach
ACTIVE/RUNNING or CREATE_FAILED/FAILED in the background, with a stateDescription saying why.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from steward.connect.store import (
    ConnectorRecord,
    ConnectRecords,
    CustomPluginRecord,
    NameTaken,
    Record,
    WorkerConfigurationRecord,
    WorkerConfigurationRevision,
)
from steward.connect.worker_logs import check_log_delivery
from steward.domain.errors import BadRequestException, ConflictException, NotFoundException
from steward.kafka.properties import PropertiesError, parse_properties
from steward.settings import Zone

LOCAL_FILES_BUCKET_ARN = "file:///"
"""A custom plugin's `bucketArn` that names the control plane's own file system: its `fileKey`
is then an absolute path there (Steward's addition to MSK's S3-only locations)."""

CONTENT_TYPES = ("JAR", "ZIP")
MCU_COUNTS = (1, 2, 4, 8)
MAX_WORKERS = 10
CLIENT_AUTHENTICATION_TYPES = ("NONE", "IAM")
ENCRYPTION_TYPES = ("PLAINTEXT", "TLS")
MAX_RESULTS = 100
MAX_TAGS = 200

Wake = Callable[[], None]


def _now() -> datetime:
    return datetime.now(UTC)


def _require(value: Any, name: str) -> Any:
    if value is None or value == "" or value == [] or value == {}:
        raise BadRequestException(f"The request is missing required parameter {name}.", name)
    return value


def _name(value: Any, parameter: str) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 128:
        raise BadRequestException(f"{parameter} must be 1 to 128 characters.", parameter)
    if not all(c.isalnum() or c == "-" for c in value):
        raise BadRequestException(
            f"{parameter} may hold only letters, digits and hyphens.", parameter
        )
    return value


def _description(value: Any, parameter: str) -> str | None:
    if value is not None and (not isinstance(value, str) or len(value) > 1024):
        raise BadRequestException(f"{parameter} must be at most 1024 characters.", parameter)
    return value


def _tags(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > MAX_TAGS:
        raise BadRequestException("tags must be a map of at most 200 tags.", "tags")
    for key, tag in value.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 128 or key.startswith("aws:"):
            raise BadRequestException(f"Tag key {key!r} is not valid.", "tags")
        if not isinstance(tag, str) or len(tag) > 256:
            raise BadRequestException(f"The value of tag {key!r} is not valid.", "tags")
    return dict(value)


def _integer(value: Any, parameter: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise BadRequestException(f"{parameter} must be from {low} to {high}.", parameter)
    return value


def decode_worker_properties(content: str) -> dict[str, str]:
    """The properties of a worker configuration's base64 `propertiesFileContent`."""
    try:
        text = base64.b64decode(content, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise BadRequestException(
            "propertiesFileContent must be base64 of a UTF-8 properties file.",
            "propertiesFileContent",
        ) from error
    try:
        return parse_properties(text)
    except PropertiesError as error:
        raise BadRequestException(
            f"propertiesFileContent is not a properties file: {error}", "propertiesFileContent"
        ) from error


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_token: str | None


def _page(items: list[Any], max_results: int | None, next_token: str | None) -> Page:
    size = MAX_RESULTS if max_results is None else _integer(max_results, "maxResults", 1, 100)
    start = 0
    if next_token:
        try:
            start = int(base64.urlsafe_b64decode(next_token.encode()).decode())
        except (ValueError, binascii.Error) as error:
            raise BadRequestException("nextToken is not valid.", "nextToken") from error
    end = start + size
    token = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else None
    return Page(items[start:end], token)


class MskConnect:
    """The MSK Connect API's use cases, over the store's records."""

    def __init__(
        self,
        records: ConnectRecords,
        region: str,
        account_id: str,
        wake: Wake = lambda: None,
        is_steward_cluster: Callable[[str], bool] = lambda _arn: False,
        zones: Sequence[Zone] = (),
        may_assume_role: Callable[[str], bool] | None = None,
    ) -> None:
        self.records = records
        self.may_assume_role = may_assume_role
        """Whether MSK Connect (`kafkaconnect.amazonaws.com`) may assume a role, which an IAM
        connector's workers sign in as; None checks nothing."""
        self.zones = tuple(zones)
        """Steward's zones, which a connector's subnets name (none given: any subnet passes)."""
        self.region = region
        self.account_id = account_id
        self.wake = wake
        """Asks the reconciler for a pass now (set once the background tasks exist)."""
        self.is_steward_cluster = is_steward_cluster

    def _arn(self, kind: str, name: str) -> str:
        return (
            f"arn:aws:kafkaconnect:{self.region}:{self.account_id}:{kind}/{name}/{uuid.uuid4()}-2"
        )

    # --- custom plugins -------------------------------------------------------------------------
    def create_custom_plugin(self, body: dict[str, Any]) -> CustomPluginRecord:
        name = _name(_require(body.get("name"), "name"), "name")
        content_type = _require(body.get("contentType"), "contentType")
        if content_type not in CONTENT_TYPES:
            raise BadRequestException("contentType must be JAR or ZIP.", "contentType")
        location = _require(body.get("location"), "location")
        s3 = location.get("s3Location") if isinstance(location, dict) else None
        if not isinstance(s3, dict):
            raise BadRequestException("location must have an s3Location.", "location")
        bucket_arn = _require(s3.get("bucketArn"), "bucketArn")
        file_key = _require(s3.get("fileKey"), "fileKey")
        if not isinstance(bucket_arn, str) or not (
            bucket_arn == LOCAL_FILES_BUCKET_ARN or bucket_arn.startswith("arn:aws:s3:::")
        ):
            raise BadRequestException(
                f"bucketArn must be an S3 bucket ARN (arn:aws:s3:::bucket) or "
                f"{LOCAL_FILES_BUCKET_ARN} for a file of the Steward host.",
                "bucketArn",
            )
        if bucket_arn == LOCAL_FILES_BUCKET_ARN and not str(file_key).startswith("/"):
            raise BadRequestException("fileKey must be an absolute path.", "fileKey")
        record = CustomPluginRecord(
            arn=self._arn("custom-plugin", name),
            name=name,
            description=_description(body.get("description"), "description"),
            content_type=content_type,
            location={"s3Location": {k: v for k, v in s3.items() if v is not None}},
            state="CREATING",
            created_at=_now(),
            tags=_tags(body.get("tags")),
        )
        self._add(record)
        return record

    def describe_custom_plugin(self, arn: str) -> CustomPluginRecord:
        return self._get(CustomPluginRecord, arn, "custom plugin")

    def list_custom_plugins(
        self, name_prefix: str | None, max_results: int | None, next_token: str | None
    ) -> Page:
        plugins = [
            p for p in self.records.all(CustomPluginRecord) if p.name.startswith(name_prefix or "")
        ]
        return _page(plugins, max_results, next_token)

    def delete_custom_plugin(self, arn: str) -> CustomPluginRecord:
        plugin = self.describe_custom_plugin(arn)
        users = [
            c.name
            for c in self.records.all(ConnectorRecord)
            if c.state != "DELETING" and arn in plugin_arns(c.spec)
        ]
        if users:
            raise ConflictException(
                f"Custom plugin {plugin.name} is used by connector {users[0]}; delete the "
                "connector first."
            )
        if plugin.state == "CREATING":
            raise ConflictException(f"Custom plugin {plugin.name} is still being created.")
        plugin.state = "DELETING"
        self.records.change(plugin)
        self.wake()
        return plugin

    # --- worker configurations ------------------------------------------------------------------
    def create_worker_configuration(self, body: dict[str, Any]) -> WorkerConfigurationRecord:
        name = _name(_require(body.get("name"), "name"), "name")
        content = _require(body.get("propertiesFileContent"), "propertiesFileContent")
        if not isinstance(content, str):
            raise BadRequestException(
                "propertiesFileContent must be a string.", "propertiesFileContent"
            )
        decode_worker_properties(content)
        now = _now()
        description = _description(body.get("description"), "description")
        record = WorkerConfigurationRecord(
            arn=self._arn("worker-configuration", name),
            name=name,
            description=description,
            state="ACTIVE",
            created_at=now,
            revisions=[WorkerConfigurationRevision(1, description, content, now)],
            tags=_tags(body.get("tags")),
        )
        self._add(record)
        return record

    def describe_worker_configuration(self, arn: str) -> WorkerConfigurationRecord:
        return self._get(WorkerConfigurationRecord, arn, "worker configuration")

    def list_worker_configurations(
        self, name_prefix: str | None, max_results: int | None, next_token: str | None
    ) -> Page:
        found = [
            w
            for w in self.records.all(WorkerConfigurationRecord)
            if w.name.startswith(name_prefix or "")
        ]
        return _page(found, max_results, next_token)

    def delete_worker_configuration(self, arn: str) -> WorkerConfigurationRecord:
        configuration = self.describe_worker_configuration(arn)
        users = [
            c.name
            for c in self.records.all(ConnectorRecord)
            if (c.spec.get("workerConfiguration") or {}).get("workerConfigurationArn") == arn
        ]
        if users:
            raise ConflictException(
                f"Worker configuration {configuration.name} is used by connector {users[0]}."
            )
        self.records.remove(arn)
        configuration.state = "DELETING"
        return configuration

    # --- connectors -----------------------------------------------------------------------------
    def create_connector(self, body: dict[str, Any]) -> ConnectorRecord:
        for required in (
            "capacity",
            "connectorConfiguration",
            "connectorName",
            "kafkaCluster",
            "kafkaClusterClientAuthentication",
            "kafkaClusterEncryptionInTransit",
            "kafkaConnectVersion",
            "plugins",
            "serviceExecutionRoleArn",
        ):
            _require(body.get(required), required)
        name = _name(body["connectorName"], "connectorName")
        spec = {
            "capacity": self._capacity(body["capacity"]),
            "connectorConfiguration": self._connector_configuration(body["connectorConfiguration"]),
            "kafkaCluster": self._kafka_cluster(body["kafkaCluster"]),
            "kafkaClusterClientAuthentication": self._client_authentication(
                body["kafkaClusterClientAuthentication"]
            ),
            "kafkaClusterEncryptionInTransit": self._encryption(
                body["kafkaClusterEncryptionInTransit"]
            ),
            "kafkaConnectVersion": str(body["kafkaConnectVersion"]),
            "plugins": self._plugins(body["plugins"]),
            "serviceExecutionRoleArn": str(body["serviceExecutionRoleArn"]),
            "networkType": body.get("networkType") or "IPV4",
        }
        self._check_iam(spec)
        if body.get("workerConfiguration") is not None:
            spec["workerConfiguration"] = self._worker_configuration(body["workerConfiguration"])
        if body.get("logDelivery") is not None:
            iam = spec["kafkaClusterClientAuthentication"]["authenticationType"] == "IAM"
            spec["logDelivery"] = check_log_delivery(body["logDelivery"], iam)
        now = _now()
        record = ConnectorRecord(
            arn=self._arn("connector", name),
            name=name,
            description=_description(body.get("connectorDescription"), "connectorDescription"),
            state="CREATING",
            created_at=now,
            state_since=now,
            spec=spec,
            current_version=_version(),
            tags=_tags(body.get("tags")),
        )
        self._add(record)
        self.wake()
        return record

    def describe_connector(self, arn: str) -> ConnectorRecord:
        return self._get(ConnectorRecord, arn, "connector")

    def list_connectors(
        self, name_prefix: str | None, max_results: int | None, next_token: str | None
    ) -> Page:
        found = [
            c for c in self.records.all(ConnectorRecord) if c.name.startswith(name_prefix or "")
        ]
        return _page(found, max_results, next_token)

    def update_connector(
        self, arn: str, current_version: str | None, body: dict[str, Any]
    ) -> ConnectorRecord:
        connector = self.describe_connector(arn)
        if not current_version:
            raise BadRequestException(
                "The request is missing required parameter currentVersion.", "currentVersion"
            )
        if current_version != connector.current_version:
            raise BadRequestException(
                f"currentVersion {current_version} is not the connector's current version "
                f"{connector.current_version}.",
                "currentVersion",
            )
        if connector.state not in ("RUNNING", "FAILED"):
            raise ConflictException(
                f"Connector {connector.name} is {connector.state}; it can be updated once it "
                "is RUNNING."
            )
        changed = False
        if body.get("capacity") is not None:
            connector.spec["capacity"] = self._capacity(body["capacity"])
            connector.worker_count = None
            changed = True
        if body.get("connectorConfiguration") is not None:
            connector.spec["connectorConfiguration"] = self._connector_configuration(
                body["connectorConfiguration"]
            )
            changed = True
        if body.get("plugins") is not None:
            connector.spec["plugins"] = self._plugins(body["plugins"])
            changed = True
        if body.get("workerConfiguration") is not None:
            connector.spec["workerConfiguration"] = self._worker_configuration(
                body["workerConfiguration"]
            )
            changed = True
        if body.get("useDefaultWorkerConfiguration"):
            connector.spec.pop("workerConfiguration", None)
            changed = True
        if not changed:
            raise BadRequestException(
                "The request changes nothing: give capacity, connectorConfiguration, plugins "
                "or workerConfiguration."
            )
        connector.state = "UPDATING"
        connector.state_since = _now()
        connector.state_description = None
        connector.current_version = _version()
        self.records.change(connector)
        self.wake()
        return connector

    def delete_connector(self, arn: str, current_version: str | None) -> ConnectorRecord:
        connector = self.describe_connector(arn)
        if current_version and current_version != connector.current_version:
            raise BadRequestException(
                f"currentVersion {current_version} is not the connector's current version "
                f"{connector.current_version}.",
                "currentVersion",
            )
        if connector.state != "DELETING":
            connector.state = "DELETING"
            connector.state_since = _now()
            self.records.change(connector)
        self.wake()
        return connector

    def pause_connector(self, arn: str) -> ConnectorRecord:
        connector = self.describe_connector(arn)
        if connector.state not in ("RUNNING", "PAUSING"):
            raise ConflictException(
                f"Connector {connector.name} is {connector.state}; only a RUNNING connector "
                "can be paused."
            )
        return self._change_state(connector, "PAUSING", paused=True)

    def resume_connector(self, arn: str) -> ConnectorRecord:
        connector = self.describe_connector(arn)
        if connector.state not in ("PAUSED", "PAUSING", "RESUMING"):
            raise ConflictException(
                f"Connector {connector.name} is {connector.state}; only a PAUSED connector can "
                "be resumed."
            )
        return self._change_state(connector, "RESUMING", paused=False)

    def restart_connector(self, arn: str, only_failed_tasks: bool) -> ConnectorRecord:
        """Restart a RUNNING connector's tasks (or only its failed ones) through Connect, or
        run a FAILED connector again from the start."""
        connector = self.describe_connector(arn)
        if connector.state not in ("RUNNING", "FAILED"):
            raise ConflictException(
                f"Connector {connector.name} is {connector.state}; it can be restarted when it "
                "is RUNNING or FAILED."
            )
        connector.restart = "failed" if only_failed_tasks else "all"
        if connector.state == "FAILED":
            connector.restart = None
            connector.state_description = None
        return self._change_state(connector, "RESTARTING", paused=connector.paused)

    def _change_state(
        self, connector: ConnectorRecord, state: str, paused: bool
    ) -> ConnectorRecord:
        connector.state = state
        connector.paused = paused
        connector.state_since = _now()
        self.records.change(connector)
        self.wake()
        return connector

    # --- tags -----------------------------------------------------------------------------------
    def _tagged(self, arn: str) -> Record:
        kind = self.records.kind_of(arn)
        record = self.records.get(kind, arn) if kind is not None else None
        if record is None:
            raise NotFoundException(f"Resource {arn} was not found.", "resourceArn")
        return record

    def list_tags(self, arn: str) -> dict[str, str]:
        return dict(self._tagged(arn).tags)

    def tag_resource(self, arn: str, tags: Any) -> None:
        record = self._tagged(arn)
        merged = {**record.tags, **_tags(_require(tags, "tags"))}
        record.tags = _tags(merged)
        self.records.change(record)

    def untag_resource(self, arn: str, keys: list[str]) -> None:
        record = self._tagged(arn)
        _require(keys, "tagKeys")
        record.tags = {k: v for k, v in record.tags.items() if k not in keys}
        self.records.change(record)

    # --- checks ---------------------------------------------------------------------------------
    def _add(self, record: Record) -> None:
        try:
            self.records.add(record)
        except NameTaken as error:
            raise ConflictException(f"A resource named {record.name} already exists.") from error
        if isinstance(record, CustomPluginRecord):
            self.wake()

    def _get(self, kind: type[Any], arn: str, what: str) -> Any:
        record = self.records.get(kind, arn) if arn else None
        if record is None:
            raise NotFoundException(f"The {what} {arn} was not found.")
        return record

    @staticmethod
    def _capacity(value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise BadRequestException("capacity must be an object.", "capacity")
        auto, provisioned = value.get("autoScaling"), value.get("provisionedCapacity")
        if (auto is None) == (provisioned is None):
            raise BadRequestException(
                "capacity must have exactly one of autoScaling and provisionedCapacity.",
                "capacity",
            )
        if provisioned is not None:
            mcu = _require(provisioned.get("mcuCount"), "mcuCount")
            if mcu not in MCU_COUNTS:
                raise BadRequestException("mcuCount must be 1, 2, 4 or 8.", "mcuCount")
            workers = _integer(
                _require(provisioned.get("workerCount"), "workerCount"),
                "workerCount",
                1,
                MAX_WORKERS,
            )
            return {"provisionedCapacity": {"mcuCount": mcu, "workerCount": workers}}
        mcu = _require(auto.get("mcuCount"), "mcuCount")
        if mcu not in MCU_COUNTS:
            raise BadRequestException("mcuCount must be 1, 2, 4 or 8.", "mcuCount")
        low = _integer(
            _require(auto.get("minWorkerCount"), "minWorkerCount"), "minWorkerCount", 1, MAX_WORKERS
        )
        high = _integer(
            _require(auto.get("maxWorkerCount"), "maxWorkerCount"), "maxWorkerCount", 1, MAX_WORKERS
        )
        if high < low:
            raise BadRequestException(
                "maxWorkerCount must be at least minWorkerCount.", "maxWorkerCount"
            )
        scale_in = _integer(
            (auto.get("scaleInPolicy") or {}).get("cpuUtilizationPercentage", 20),
            "scaleInPolicy.cpuUtilizationPercentage",
            1,
            100,
        )
        scale_out = _integer(
            (auto.get("scaleOutPolicy") or {}).get("cpuUtilizationPercentage", 80),
            "scaleOutPolicy.cpuUtilizationPercentage",
            1,
            100,
        )
        if scale_in >= scale_out:
            raise BadRequestException(
                "The scale-in CPU utilization must be below the scale-out one.", "scaleInPolicy"
            )
        described: dict[str, Any] = {
            "mcuCount": mcu,
            "minWorkerCount": low,
            "maxWorkerCount": high,
            "scaleInPolicy": {"cpuUtilizationPercentage": scale_in},
            "scaleOutPolicy": {"cpuUtilizationPercentage": scale_out},
        }
        if auto.get("maxAutoscalingTaskCount") is not None:
            described["maxAutoscalingTaskCount"] = auto["maxAutoscalingTaskCount"]
        return {"autoScaling": described}

    @staticmethod
    def _connector_configuration(value: Any) -> dict[str, str]:
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise BadRequestException(
                "connectorConfiguration must be a map of strings.", "connectorConfiguration"
            )
        if not value.get("connector.class"):
            raise BadRequestException(
                "connectorConfiguration must name connector.class.", "connectorConfiguration"
            )
        return dict(value)

    def _kafka_cluster(self, value: Any) -> dict[str, Any]:
        apache = value.get("apacheKafkaCluster") if isinstance(value, dict) else None
        if not isinstance(apache, dict):
            raise BadRequestException(
                "kafkaCluster must have an apacheKafkaCluster.", "apacheKafkaCluster"
            )
        bootstrap = _require(apache.get("bootstrapServers"), "bootstrapServers")
        vpc = _require(apache.get("vpc"), "vpc")
        if not isinstance(vpc, dict) or not vpc.get("subnets"):
            raise BadRequestException("vpc must name its subnets.", "vpc")
        self._check_subnets(vpc["subnets"])
        if str(bootstrap).startswith("arn:") and not self.is_steward_cluster(bootstrap):
            raise NotFoundException(
                f"bootstrapServers names cluster {bootstrap}, which does not exist.",
                "bootstrapServers",
            )
        return {
            "apacheKafkaCluster": {
                "bootstrapServers": str(bootstrap),
                "vpc": {
                    "subnets": list(vpc["subnets"]),
                    "securityGroups": list(vpc.get("securityGroups") or []),
                },
            }
        }

    def _check_subnets(self, subnets: Any) -> None:
        if not isinstance(subnets, list) or not all(isinstance(s, str) for s in subnets):
            raise BadRequestException("subnets must be a list of subnet ids.", "subnets")
        if not self.zones:
            return
        known = {zone.name for zone in self.zones}
        known |= {subnet for zone in self.zones for subnet in zone.subnets}
        unknown = [s for s in subnets if s not in known]
        if unknown:
            raise BadRequestException(
                f"Subnet {unknown[0]} is in none of Steward's zones "
                f"({', '.join(z.name for z in self.zones)}): name a zone, or a subnet id "
                "STEWARD_ZONES gives one.",
                "subnets",
            )

    @staticmethod
    def _client_authentication(value: Any) -> dict[str, str]:
        kind = value.get("authenticationType") if isinstance(value, dict) else None
        if kind not in CLIENT_AUTHENTICATION_TYPES:
            raise BadRequestException(
                "authenticationType must be NONE or IAM.", "authenticationType"
            )
        return {"authenticationType": kind}

    def _check_iam(self, spec: dict[str, Any]) -> None:
        """An IAM connector's workers sign in over TLS as its service execution role, which MSK
        Connect must be allowed to assume."""
        if spec["kafkaClusterClientAuthentication"]["authenticationType"] != "IAM":
            return
        if spec["kafkaClusterEncryptionInTransit"]["encryptionType"] != "TLS":
            raise BadRequestException(
                "IAM client authentication needs encryptionType TLS in "
                "kafkaClusterEncryptionInTransit.",
                "kafkaClusterEncryptionInTransit",
            )
        role = spec["serviceExecutionRoleArn"]
        if self.may_assume_role is not None and not self.may_assume_role(role):
            raise BadRequestException(
                f"The service execution role {role} does not exist or its trust policy does not "
                "let kafkaconnect.amazonaws.com assume it.",
                "serviceExecutionRoleArn",
            )

    @staticmethod
    def _encryption(value: Any) -> dict[str, str]:
        kind = value.get("encryptionType") if isinstance(value, dict) else None
        if kind not in ENCRYPTION_TYPES:
            raise BadRequestException("encryptionType must be PLAINTEXT or TLS.", "encryptionType")
        return {"encryptionType": kind}

    def _plugins(self, value: Any) -> list[dict[str, Any]]:
        if not isinstance(value, list) or len(value) != 1:
            raise BadRequestException("plugins must name exactly one custom plugin.", "plugins")
        custom = value[0].get("customPlugin") if isinstance(value[0], dict) else None
        if not isinstance(custom, dict):
            raise BadRequestException("plugins must name a customPlugin.", "plugins")
        arn = _require(custom.get("customPluginArn"), "customPluginArn")
        revision = _integer(custom.get("revision"), "revision", 1, 2**62)
        plugin = self.describe_custom_plugin(arn)
        if revision != plugin.revision:
            raise BadRequestException(
                f"Custom plugin {plugin.name} has no revision {revision}.", "revision"
            )
        return [{"customPlugin": {"customPluginArn": arn, "revision": revision}}]

    def _worker_configuration(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise BadRequestException(
                "workerConfiguration must be an object.", "workerConfiguration"
            )
        arn = _require(value.get("workerConfigurationArn"), "workerConfigurationArn")
        revision = _integer(value.get("revision"), "revision", 1, 2**62)
        configuration = self.describe_worker_configuration(arn)
        if revision > configuration.latest.revision:
            raise BadRequestException(
                f"Worker configuration {configuration.name} has no revision {revision}.",
                "revision",
            )
        return {"workerConfigurationArn": arn, "revision": revision}


def plugin_arns(spec: dict[str, Any]) -> list[str]:
    return [p["customPlugin"]["customPluginArn"] for p in spec.get("plugins", [])]


def _version() -> str:
    """A connector's currentVersion: MSK Connect's are opaque short strings."""
    return uuid.uuid4().hex[:14].upper()

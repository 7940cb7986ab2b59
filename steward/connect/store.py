"""MSK Connect's resources as the store keeps them: one row each, its record as JSON.

Custom plugins, worker configurations and connectors are plain dataclasses here; the use cases
(`steward.connect.service`) change their desired part and bump `generation`, the reconciler
(`steward.connect.reconciler`) writes what it observed only while the generation it read is
still the row's, so an observation never overwrites a newer request.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from steward.store import schema

PLUGIN = "custom-plugin"
WORKER_CONFIGURATION = "worker-configuration"
CONNECTOR = "connector"


class NameTaken(Exception):
    pass


@dataclass
class StateDescription:
    code: str
    message: str


@dataclass
class CustomPluginRecord:
    arn: str
    name: str
    description: str | None
    content_type: str
    location: dict[str, Any]
    """MSK's CustomPluginLocation: {"s3Location": {"bucketArn", "fileKey", "objectVersion"}}."""
    state: str
    created_at: datetime
    revision: int = 1
    state_description: StateDescription | None = None
    file_md5: str | None = None
    file_size: int | None = None
    connector_classes: list[str] = field(default_factory=list)
    plugin_path: str | None = None
    """The directory a worker's `plugin.path` names, once the plugin is unpacked there."""
    tags: dict[str, str] = field(default_factory=dict)
    generation: int = 1


@dataclass
class WorkerConfigurationRevision:
    revision: int
    description: str | None
    properties_file_content: str
    """Base64 of the properties text, as MSK takes and gives it."""
    created_at: datetime


@dataclass
class WorkerConfigurationRecord:
    arn: str
    name: str
    description: str | None
    state: str
    created_at: datetime
    revisions: list[WorkerConfigurationRevision]
    tags: dict[str, str] = field(default_factory=dict)
    generation: int = 1

    @property
    def latest(self) -> WorkerConfigurationRevision:
        return self.revisions[-1]


@dataclass
class WorkerPlacement:
    key: str
    """The agent's node key of the worker."""
    agent: str
    zone: str
    address: str
    port: int


@dataclass
class ConnectorRecord:
    arn: str
    name: str
    description: str | None
    state: str
    created_at: datetime
    spec: dict[str, Any]
    """The connector as CreateConnector (then UpdateConnector) gave it, in MSK's member names:
    capacity, connectorConfiguration, kafkaCluster, kafkaClusterClientAuthentication,
    kafkaClusterEncryptionInTransit, kafkaConnectVersion, logDelivery, plugins,
    serviceExecutionRoleArn, workerConfiguration, networkType."""
    current_version: str
    state_description: StateDescription | None = None
    workers: list[WorkerPlacement] = field(default_factory=list)
    worker_count: int | None = None
    """Autoscaling: how many workers the rule asks for now (None: the minimum)."""
    state_since: datetime | None = None
    paused: bool = False
    """PauseConnector asked for the connector's tasks to stop (ResumeConnector clears it)."""
    restart: str | None = None
    """RestartConnector asked for a restart: "all" or "failed" (its tasks); cleared once done."""
    tags: dict[str, str] = field(default_factory=dict)
    generation: int = 1

    @property
    def connector_id(self) -> str:
        return self.arn.rsplit("/", 1)[-1]


Record = CustomPluginRecord | WorkerConfigurationRecord | ConnectorRecord
R = TypeVar("R", CustomPluginRecord, WorkerConfigurationRecord, ConnectorRecord)

_KINDS: dict[type[Any], str] = {
    CustomPluginRecord: PLUGIN,
    WorkerConfigurationRecord: WORKER_CONFIGURATION,
    ConnectorRecord: CONNECTOR,
}


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$time": value.astimezone(UTC).isoformat()}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$time"}:
            return datetime.fromisoformat(value["$time"])
        return {k: _decode_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode_value(v) for v in value]
    return value


def _decode(kind: type[R], data: dict[str, Any]) -> R:
    data = _decode_value(data)
    if data.get("state_description"):
        data["state_description"] = StateDescription(**data["state_description"])
    if kind is WorkerConfigurationRecord:
        data["revisions"] = [WorkerConfigurationRevision(**r) for r in data["revisions"]]
    if kind is ConnectorRecord:
        data["workers"] = [WorkerPlacement(**w) for w in data.get("workers", [])]
    return kind(**data)


class ConnectRecords:
    """Repository of MSK Connect's resources, over the store's engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, record: Record) -> None:
        table = schema.connect_resources
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(table).values(
                        arn=record.arn,
                        kind=_KINDS[type(record)],
                        name=record.name,
                        generation=record.generation,
                        record=_encode(dataclasses.asdict(record)),
                        creation_time=record.created_at,
                    )
                )
        except IntegrityError as error:
            raise NameTaken(record.name) from error

    def get(self, kind: type[R], arn: str) -> R | None:
        table = schema.connect_resources
        with self.engine.connect() as conn:
            row = conn.execute(
                select(table).where(table.c.arn == arn, table.c.kind == _KINDS[kind])
            ).first()
        return None if row is None else _decode(kind, dict(row.record))

    def all(self, kind: type[R]) -> list[R]:
        table = schema.connect_resources
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(table)
                .where(table.c.kind == _KINDS[kind])
                .order_by(table.c.creation_time, table.c.arn)
            ).all()
        return [_decode(kind, dict(r.record)) for r in rows]

    def kind_of(self, arn: str) -> type[Record] | None:
        table = schema.connect_resources
        with self.engine.connect() as conn:
            kind = conn.execute(select(table.c.kind).where(table.c.arn == arn)).scalar()
        return next((k for k, name in _KINDS.items() if name == kind), None)

    def change(self, record: Record) -> None:
        """A change a user asked for: the record as given, one generation on."""
        record.generation += 1
        self._write(record, expected=None)

    def observe(self, record: Record) -> bool:
        """What the reconciler saw, written only while nobody changed the record since it was
        read; False when somebody did (the next pass reads it again)."""
        return self._write(record, expected=record.generation)

    def _write(self, record: Record, expected: int | None) -> bool:
        table = schema.connect_resources
        statement = update(table).where(table.c.arn == record.arn)
        if expected is not None:
            statement = statement.where(table.c.generation == expected)
        with self.engine.begin() as conn:
            done = conn.execute(
                statement.values(
                    generation=record.generation, record=_encode(dataclasses.asdict(record))
                )
            )
        return done.rowcount == 1

    def remove(self, arn: str) -> None:
        table = schema.connect_resources
        with self.engine.begin() as conn:
            conn.execute(delete(table).where(table.c.arn == arn))

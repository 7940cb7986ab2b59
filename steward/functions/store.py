"""Functions and event-source mappings as the store keeps them. Rows only: what a field means is
the service's business (`steward.functions.service`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine

from steward.store import schema
from steward.store.codec import aware


@dataclass
class FunctionRecord:
    name: str
    config: dict[str, Any]
    """Lambda's FunctionConfiguration members Steward keeps (Runtime, Handler, Timeout, ...)."""
    state: str
    last_modified: datetime
    state_reason: str | None = None
    code_zip: bytes | None = field(default=None, repr=False)


@dataclass
class MappingRecord:
    uuid: str
    function_name: str
    config: dict[str, Any]
    """What CreateEventSourceMapping took (Topics, BatchSize, StartingPosition, ...)."""
    state: str
    state_reason: str
    last_processing_result: str
    last_modified: datetime


def _function(row: Any, with_code: bool) -> FunctionRecord:
    return FunctionRecord(
        name=row.name,
        config=dict(row.config),
        state=row.state,
        state_reason=row.state_reason,
        last_modified=aware(row.last_modified),  # type: ignore[arg-type]
        code_zip=bytes(row.code_zip) if with_code and row.code_zip is not None else None,
    )


def _mapping(row: Any) -> MappingRecord:
    return MappingRecord(
        uuid=row.uuid,
        function_name=row.function_name,
        config=dict(row.config),
        state=row.state,
        state_reason=row.state_reason,
        last_processing_result=row.last_processing_result,
        last_modified=aware(row.last_modified),  # type: ignore[arg-type]
    )


class FunctionRecords:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, record: FunctionRecord) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(schema.functions).values(
                    name=record.name,
                    config=record.config,
                    code_zip=record.code_zip,
                    state=record.state,
                    state_reason=record.state_reason,
                    last_modified=record.last_modified,
                )
            )

    def get(self, name: str, with_code: bool = False) -> FunctionRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(schema.functions).where(schema.functions.c.name == name)
            ).first()
        return None if row is None else _function(row, with_code)

    def list(self) -> list[FunctionRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(schema.functions).order_by(schema.functions.c.name))
            return [_function(row, with_code=False) for row in rows]

    def save(self, record: FunctionRecord, with_code: bool = False) -> None:
        values: dict[str, Any] = {
            "config": record.config,
            "state": record.state,
            "state_reason": record.state_reason,
            "last_modified": record.last_modified,
        }
        if with_code:
            values["code_zip"] = record.code_zip
        with self.engine.begin() as conn:
            conn.execute(
                update(schema.functions).where(schema.functions.c.name == record.name),
                values,
            )

    def set_state(self, name: str, state: str, reason: str | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(schema.functions)
                .where(schema.functions.c.name == name)
                .values(state=state, state_reason=reason)
            )

    def remove(self, name: str) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(delete(schema.functions).where(schema.functions.c.name == name))
        return bool(result.rowcount)


class MappingRecords:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, record: MappingRecord) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(schema.event_source_mappings).values(**_values(record)))

    def get(self, uuid: str) -> MappingRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(schema.event_source_mappings).where(
                    schema.event_source_mappings.c.uuid == uuid
                )
            ).first()
        return None if row is None else _mapping(row)

    def list(self) -> list[MappingRecord]:
        table = schema.event_source_mappings
        with self.engine.connect() as conn:
            rows = conn.execute(select(table).order_by(table.c.last_modified, table.c.uuid))
            return [_mapping(row) for row in rows]

    def save(self, record: MappingRecord) -> None:
        table = schema.event_source_mappings
        with self.engine.begin() as conn:
            conn.execute(update(table).where(table.c.uuid == record.uuid), _values(record))

    def set_progress(
        self,
        uuid: str,
        *,
        state: str | None = None,
        reason: str | None = None,
        result: str | None = None,
    ) -> None:
        values: dict[str, Any] = {}
        if state is not None:
            values["state"] = state
        if reason is not None:
            values["state_reason"] = reason
        if result is not None:
            values["last_processing_result"] = result
        if not values:
            return
        table = schema.event_source_mappings
        with self.engine.begin() as conn:
            conn.execute(update(table).where(table.c.uuid == uuid).values(**values))

    def remove(self, uuid: str) -> None:
        table = schema.event_source_mappings
        with self.engine.begin() as conn:
            conn.execute(delete(table).where(table.c.uuid == uuid))


def _values(record: MappingRecord) -> dict[str, Any]:
    return {
        "uuid": record.uuid,
        "function_name": record.function_name,
        "config": record.config,
        "state": record.state,
        "state_reason": record.state_reason,
        "last_processing_result": record.last_processing_result,
        "last_modified": record.last_modified,
    }

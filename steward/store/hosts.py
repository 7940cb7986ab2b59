"""The host registry as the store keeps it: one row per host (`steward.domain.hosts`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine

from steward.domain.hosts import Capacity, Disk, HostOrigin, HostRecord, HostState
from steward.store import schema
from steward.store.codec import aware

_columns = schema.hosts.c


def _record(row: Any) -> HostRecord:
    return HostRecord(
        name=row.name,
        zone=row.zone,
        agent_address=row.agent_address,
        capacity=Capacity(
            float(row.cores),
            int(row.memory_bytes),
            tuple(Disk(str(d["path"]), int(d["bytes"])) for d in row.disks),
        ),
        state=HostState(row.state),
        origin=HostOrigin(row.origin),
        node_addresses=tuple(str(a) for a in row.node_addresses),
        labels={str(k): str(v) for k, v in dict(row.labels).items()},
        registered_at=aware(row.registered_at),
        last_seen=aware(row.last_seen),
    )


def _described(record: HostRecord) -> dict[str, Any]:
    """The columns a registration sets (not its state or when it first registered)."""
    return {
        "zone": record.zone,
        "agent_address": record.agent_address,
        "node_addresses": list(record.node_addresses),
        "cores": record.capacity.cores,
        "memory_bytes": record.capacity.memory_bytes,
        "disks": [{"path": d.path, "bytes": d.bytes} for d in record.capacity.disks],
        "origin": record.origin.value,
        "labels": dict(record.labels),
    }


class HostRecords:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def upsert(self, record: HostRecord, now: datetime, revive: bool) -> HostRecord:
        """Add `record`, or update the registered host of its name with its address, capacity,
        zone and labels; its state stays, except that `revive` makes a REMOVED host ACTIVE."""
        with self.engine.begin() as conn:
            row = conn.execute(select(schema.hosts).where(_columns.name == record.name)).first()
            if row is None:
                conn.execute(
                    insert(schema.hosts).values(
                        name=record.name,
                        state=record.state.value,
                        registered_at=now,
                        last_seen=now,
                        **_described(record),
                    )
                )
            else:
                values = {**_described(record), "last_seen": now}
                if revive and row.state == HostState.REMOVED.value:
                    values["state"] = HostState.ACTIVE.value
                conn.execute(
                    update(schema.hosts).where(_columns.name == record.name).values(**values)
                )
        found = self.get(record.name)
        assert found is not None
        return found

    def get(self, name: str) -> HostRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(schema.hosts).where(_columns.name == name)).first()
        return _record(row) if row is not None else None

    def list(self) -> list[HostRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(schema.hosts).order_by(_columns.zone, _columns.name)
            ).fetchall()
        return [_record(r) for r in rows]

    def set_state(self, name: str, state: HostState) -> bool:
        """Whether a host of that name was there to change."""
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(schema.hosts).where(_columns.name == name).values(state=state.value)
            )
        return changed.rowcount > 0

    def seen(self, name: str, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(schema.hosts).where(_columns.name == name).values(last_seen=now))

    def delete(self, name: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(schema.hosts).where(_columns.name == name))

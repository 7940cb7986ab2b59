"""Leases in the store: how control planes sharing one database agree on which of them leads.

A lease is a row: its holder, the holder's address, and when it expires. Taking it is one
conditional UPDATE (held by me, or expired) or, for a lease nobody ever held, one INSERT; two
servers racing for it cannot both win, on PostgreSQL (the second UPDATE waits for the first and
then finds the row no longer expired) as on SQLite (writers take turns). Times are the database's
clock, so servers whose clocks disagree still agree on when a lease ran out."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from steward.store import schema

_leases = schema.control_plane_leases.c


@dataclass(frozen=True)
class Lease:
    name: str
    holder: str
    address: str
    term: int
    """Counted up at every change of holder: a fencing number for logs and status."""
    expires_at: float
    now: float
    """The database's time when the lease was read."""

    @property
    def expired(self) -> bool:
        return self.expires_at <= self.now


def database_now(conn: Connection) -> float:
    """Seconds since the epoch by the database's clock."""
    if conn.dialect.name == "postgresql":
        query = "SELECT extract(epoch from clock_timestamp())"
    else:
        query = "SELECT (julianday('now') - 2440587.5) * 86400.0"
    return float(conn.execute(text(query)).scalar_one())


class Leases:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def acquire(self, name: str, holder: str, address: str, seconds: float) -> Lease | None:
        """Take or renew the lease `name` for `seconds` from now; the lease if `holder` has it
        now, None if another holder's has not expired."""
        try:
            with self.engine.begin() as conn:
                now = database_now(conn)
                values = {"address": address, "expires_at": now + seconds, "renewed_at": now}
                renewed = conn.execute(
                    update(schema.control_plane_leases)
                    .where((_leases.name == name) & (_leases.holder == holder))
                    .values(**values)
                )
                if renewed.rowcount == 0:
                    taken = conn.execute(
                        update(schema.control_plane_leases)
                        .where((_leases.name == name) & (_leases.expires_at <= now))
                        .values(holder=holder, term=_leases.term + 1, **values)
                    )
                    if taken.rowcount == 0:
                        held = select(_leases.name).where(_leases.name == name)
                        if conn.execute(held).first() is not None:
                            return None
                        conn.execute(
                            insert(schema.control_plane_leases).values(
                                name=name, holder=holder, term=1, **values
                            )
                        )
        except IntegrityError:
            return None  # someone else holds it (the first lease was inserted by another)
        lease = self.current(name)
        return lease if lease is not None and lease.holder == holder else None

    def current(self, name: str) -> Lease | None:
        """The lease as stored (expired or not), or None if nobody ever held it."""
        with self.engine.connect() as conn:
            now = database_now(conn)
            row = conn.execute(
                select(schema.control_plane_leases).where(_leases.name == name)
            ).first()
        if row is None:
            return None
        return Lease(row.name, row.holder, row.address, row.term, row.expires_at, now)

    def release(self, name: str, holder: str) -> None:
        """Give the lease up at once (a server stopping cleanly), if `holder` has it."""
        with self.engine.begin() as conn:
            now = database_now(conn)
            conn.execute(
                update(schema.control_plane_leases)
                .where((_leases.name == name) & (_leases.holder == holder))
                .values(expires_at=now)
            )

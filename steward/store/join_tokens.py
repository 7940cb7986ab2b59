"""Join tokens in the store: made with an expiry, kept only as a hash, burnt once.

Burning is one conditional UPDATE (not used yet, not expired), so two machines that present the
same token at once, to the same server or to two servers sharing the store, cannot both join:
the second finds the row used and is told so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from steward.store import schema
from steward.store.codec import aware

_tokens = schema.join_tokens.c


@dataclass(frozen=True)
class JoinTokenRecord:
    token_id: str
    zone: str | None
    creation_time: datetime
    expires_at: datetime
    used_at: datetime | None
    used_by: str | None


class JoinTokenRecords:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, record: JoinTokenRecord, token_hash: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(schema.join_tokens).values(
                    token_id=record.token_id,
                    token_hash=token_hash,
                    zone=record.zone,
                    creation_time=record.creation_time,
                    expires_at=record.expires_at,
                )
            )

    def find(self, token_hash: str) -> JoinTokenRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(schema.join_tokens).where(_tokens.token_hash == token_hash)
            ).first()
        return None if row is None else _record(row._mapping)

    def list(self) -> list[JoinTokenRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(schema.join_tokens).order_by(_tokens.creation_time))
            return [_record(row._mapping) for row in rows]

    def burn(self, token_hash: str, host: str, now: datetime) -> bool:
        """Mark the token used by `host`, when it is neither used nor expired; whether it was."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(schema.join_tokens)
                .where(
                    _tokens.token_hash == token_hash,
                    _tokens.used_at.is_(None),
                    _tokens.expires_at > now,
                )
                .values(used_at=now, used_by=host)
            )
        return result.rowcount == 1

    def restore(self, token_hash: str, host: str) -> None:
        """Undo a burn by `host` whose join then failed, so the token can be used again."""
        with self.engine.begin() as conn:
            conn.execute(
                update(schema.join_tokens)
                .where(_tokens.token_hash == token_hash, _tokens.used_by == host)
                .values(used_at=None, used_by=None)
            )


def _record(row: object) -> JoinTokenRecord:
    values = dict(row)  # type: ignore[call-overload]
    return JoinTokenRecord(
        token_id=values["token_id"],
        zone=values["zone"],
        creation_time=_moment(values["creation_time"]),
        expires_at=_moment(values["expires_at"]),
        used_at=aware(values["used_at"]),
        used_by=values["used_by"],
    )


def _moment(value: datetime) -> datetime:
    found = aware(value)
    assert found is not None
    return found

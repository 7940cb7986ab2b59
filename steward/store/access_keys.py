"""The access keys that may sign requests to Steward's API.

Listing a key never reads its secret: only `secret_of` does, for the signature check, and the
secret leaves Steward only once, when the key is made (`steward access-key create`, or the first
start of the embedded default).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from steward.store import schema
from steward.store.codec import aware


class DuplicateAccessKeyError(Exception):
    """An access key with this id exists already."""


@dataclass(frozen=True)
class AccessKey:
    """What may be shown of a key: never its secret."""

    access_key_id: str
    name: str
    creation_time: datetime


class AccessKeys:
    """Repository of access keys, over the store's engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, key: AccessKey, secret_access_key: str) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(schema.access_keys).values(
                        access_key_id=key.access_key_id,
                        name=key.name,
                        secret_access_key=secret_access_key,
                        creation_time=key.creation_time,
                    )
                )
        except IntegrityError as error:
            raise DuplicateAccessKeyError(key.access_key_id) from error

    def replace_secret(self, access_key_id: str, secret_access_key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(schema.access_keys)
                .where(schema.access_keys.c.access_key_id == access_key_id)
                .values(secret_access_key=secret_access_key)
            )

    def all_keys(self) -> list[AccessKey]:
        columns = schema.access_keys.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(columns.access_key_id, columns.name, columns.creation_time).order_by(
                    columns.creation_time, columns.access_key_id
                )
            ).all()
        return [
            AccessKey(r.access_key_id, r.name, aware(r.creation_time))  # type: ignore[arg-type]
            for r in rows
        ]

    def secret_of(self, access_key_id: str) -> str | None:
        """The key's secret, for checking a signature; None for a key Steward does not know."""
        columns = schema.access_keys.c
        with self.engine.connect() as conn:
            secret = conn.execute(
                select(columns.secret_access_key).where(columns.access_key_id == access_key_id)
            ).scalar_one_or_none()
        return None if secret is None else str(secret)

    def remove(self, access_key_id: str) -> bool:
        """Forget a key; False when there was none with this id."""
        with self.engine.begin() as conn:
            result = conn.execute(
                delete(schema.access_keys).where(
                    schema.access_keys.c.access_key_id == access_key_id
                )
            )
        return bool(result.rowcount)

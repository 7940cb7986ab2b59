"""The access keys that may sign requests to Steward's API, each belonging to an IAM user.

Listing a key never reads its secret: only `secret_of` does, for the signature check, and the
secret leaves Steward only once, when the key is made (`steward access-key create`, `steward iam
access-key create`, CreateAccessKey, or the first start of the embedded default).

Steward's keys came before its IAM users. A key without a user (one made by an older Steward, or
by `add` without a user) belongs to the administrator user, made on demand with AWS's
AdministratorAccess policy attached, so that every key that could do everything still can.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from steward.store import schema
from steward.store.codec import aware

ADMINISTRATOR_USER = "steward-admin"
"""The IAM user that keys without one belong to."""
ADMINISTRATOR_POLICY_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
"""AWS's managed policy that allows every action on every resource."""
ACTIVE = "Active"
INACTIVE = "Inactive"


class DuplicateAccessKeyError(Exception):
    """An access key with this id exists already."""


@dataclass(frozen=True)
class AccessKey:
    """What may be shown of a key: never its secret."""

    access_key_id: str
    name: str
    creation_time: datetime
    user_name: str = ADMINISTRATOR_USER
    status: str = ACTIVE
    last_used_time: datetime | None = None
    last_used_service: str | None = None


def new_unique_id(prefix: str) -> str:
    """An IAM unique id: a prefix (AIDA users, AROA roles, ANPA policies) and 17 more letters and
    digits."""
    alphabet = string.ascii_uppercase + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(17))


def ensure_administrator(conn: Connection) -> None:
    """Make the administrator user, with AdministratorAccess attached, if it is not there."""
    users = schema.iam_users.c
    if conn.execute(select(users.user_name).where(users.user_name == ADMINISTRATOR_USER)).first():
        return
    conn.execute(
        insert(schema.iam_users).values(
            user_name=ADMINISTRATOR_USER,
            user_id=new_unique_id("AIDA"),
            path="/",
            create_date=datetime.now(UTC),
            tags=[],
        )
    )
    conn.execute(
        insert(schema.iam_attachments).values(
            principal_kind="user",
            principal_name=ADMINISTRATOR_USER,
            policy_arn=ADMINISTRATOR_POLICY_ARN,
        )
    )


def adopt_keys_without_user(engine: Engine) -> int:
    """Give every key without a user to the administrator user; how many there were. Run when
    the store opens, so a store of a Steward before IAM keeps working."""
    columns = schema.access_keys.c
    with engine.begin() as conn:
        orphans = conn.execute(
            select(columns.access_key_id).where(columns.user_name.is_(None))
        ).all()
        if not orphans:
            return 0
        ensure_administrator(conn)
        conn.execute(
            update(schema.access_keys)
            .where(columns.user_name.is_(None))
            .values(user_name=ADMINISTRATOR_USER)
        )
    return len(orphans)


def _key(row: Any) -> AccessKey:
    return AccessKey(
        row.access_key_id,
        row.name,
        aware(row.creation_time),  # type: ignore[arg-type]
        row.user_name or ADMINISTRATOR_USER,
        row.status or ACTIVE,
        aware(row.last_used_time),
        row.last_used_service,
    )


_SHOWN = (
    schema.access_keys.c.access_key_id,
    schema.access_keys.c.name,
    schema.access_keys.c.creation_time,
    schema.access_keys.c.user_name,
    schema.access_keys.c.status,
    schema.access_keys.c.last_used_time,
    schema.access_keys.c.last_used_service,
)


class AccessKeys:
    """Repository of access keys, over the store's engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, key: AccessKey, secret_access_key: str) -> None:
        """Keep `key`; the administrator user is made first when the key is its."""
        try:
            with self.engine.begin() as conn:
                if key.user_name == ADMINISTRATOR_USER:
                    ensure_administrator(conn)
                conn.execute(
                    insert(schema.access_keys).values(
                        access_key_id=key.access_key_id,
                        name=key.name,
                        secret_access_key=secret_access_key,
                        creation_time=key.creation_time,
                        user_name=key.user_name,
                        status=key.status,
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

    def all_keys(self, user_name: str | None = None) -> list[AccessKey]:
        """Every key (of `user_name` only, when given), oldest first."""
        columns = schema.access_keys.c
        query = select(*_SHOWN).order_by(columns.creation_time, columns.access_key_id)
        if user_name is not None:
            query = query.where(columns.user_name == user_name)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [_key(r) for r in rows]

    def get(self, access_key_id: str) -> AccessKey | None:
        columns = schema.access_keys.c
        with self.engine.connect() as conn:
            row = conn.execute(
                select(*_SHOWN).where(columns.access_key_id == access_key_id)
            ).first()
        return None if row is None else _key(row)

    def secret_of(self, access_key_id: str) -> str | None:
        """The secret of an active key, for checking a signature; None for a key Steward does
        not know, or one made inactive."""
        columns = schema.access_keys.c
        with self.engine.connect() as conn:
            row = conn.execute(
                select(columns.secret_access_key, columns.status).where(
                    columns.access_key_id == access_key_id
                )
            ).first()
        if row is None or (row.status or ACTIVE) != ACTIVE:
            return None
        return str(row.secret_access_key)

    def active_secrets(self) -> list[tuple[AccessKey, str]]:
        """Every active key with its secret: what the brokers' IAM sign-in verifies against."""
        columns = schema.access_keys.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(*_SHOWN, columns.secret_access_key).where(columns.status == ACTIVE)
            ).all()
        return [(_key(r), str(r.secret_access_key)) for r in rows]

    def set_status(self, access_key_id: str, status: str) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(
                update(schema.access_keys)
                .where(schema.access_keys.c.access_key_id == access_key_id)
                .values(status=status)
            )
        return bool(result.rowcount)

    def record_use(self, access_key_id: str, service: str, when: datetime) -> None:
        """For GetAccessKeyLastUsed."""
        with self.engine.begin() as conn:
            conn.execute(
                update(schema.access_keys)
                .where(schema.access_keys.c.access_key_id == access_key_id)
                .values(last_used_time=when, last_used_service=service)
            )

    def remove(self, access_key_id: str) -> bool:
        """Forget a key; False when there was none with this id."""
        with self.engine.begin() as conn:
            result = conn.execute(
                delete(schema.access_keys).where(
                    schema.access_keys.c.access_key_id == access_key_id
                )
            )
        return bool(result.rowcount)

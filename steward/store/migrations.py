"""Bringing a store up to the current tables, with Alembic, on SQLite and PostgreSQL alike.

The revisions are in `steward/store/revisions/versions`. The first, the baseline, is the schema as
it stood when Alembic took over; on a store of an earlier Steward (tables, no `alembic_version`)
it adds only what is missing, the way the hand-written step before it did, so such a store is
upgraded in place without losing a row. Every change since is a revision of its own.

Several control planes may open one PostgreSQL store at once (`steward server` on three hosts):
the upgrade holds a transaction-scoped advisory lock, so one of them migrates and the others find
the store at head. On SQLite the same is done with an exclusive `flock` of a lock file beside the
database (`steward.db.lock`), never of the database itself: closing any descriptor of the database
file drops every POSIX lock the process holds on it, SQLite's own among them, and a process that
finds no other holder believes itself the last connection and removes the write-ahead log that
the server's connections still write to (their commits would then be lost to every other
process)."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.engine import Engine

REVISIONS = Path(__file__).with_name("revisions")
MIGRATION_LOCK_KEY = 0x5354_4557
"""The PostgreSQL advisory lock key of migrations ("STEW")."""


def alembic_config() -> Config:
    """Alembic's configuration for the store: the revisions' folder, nothing read from a file."""
    config = Config()
    config.set_main_option("script_location", str(REVISIONS))
    return config


@cache
def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(conn: Connection) -> str | None:
    """The revision the store is at, or None for a new store or one of before Alembic."""
    return MigrationContext.configure(conn).get_current_revision()


def upgrade_store(engine: Engine) -> bool:
    """Run every revision the store lacks; whether any ran."""
    with engine.connect() as conn:
        if current_revision(conn) == head_revision():
            return False
    with _exclusive(engine), engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        if current_revision(conn) == head_revision():
            return False
        config = alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    return True


@contextmanager
def _exclusive(engine: Engine) -> Iterator[None]:
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.lock", "ab") as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)

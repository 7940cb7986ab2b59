"""A private PostgreSQL for the tests: its own cluster (initdb) in a temporary folder, listening on
a free loopback port, stopped and removed afterwards. Debian's `postgresql` package provides the
programs (`make system` installs it); PostgreSQL refuses to run as root, so as root the cluster
belongs to the `postgres` user.

Setting STEWARD_TEST_STORE=postgresql runs the unit tests against it (tests/unit/conftest.py):
each test gets a database of its own, copied from a migrated template, as STEWARD_DATABASE_URL."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

TEST_STORE_ENV = "STEWARD_TEST_STORE"
POSTGRES_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
TEMPLATE = "steward_template"


def postgres_bin() -> Path | None:
    """The folder of initdb and pg_ctl: Debian's newest, or the one on PATH."""
    for folder in POSTGRES_BIN_DIRS:
        if (folder / "initdb").exists():
            return folder
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_owner() -> dict[str, Any]:
    """How to run PostgreSQL's programs: as `postgres` when this process is root."""
    if os.getuid() != 0:
        return {}
    return {"user": "postgres", "group": pwd.getpwnam("postgres").pw_gid}


class PostgresCluster:
    """A running PostgreSQL cluster of the tests' own; `database` makes databases on it."""

    def __init__(self) -> None:
        folder = postgres_bin()
        if folder is None:
            raise RuntimeError("PostgreSQL is not installed (Debian's postgresql package)")
        self.bin = folder
        self.dir = Path(tempfile.mkdtemp(prefix="steward-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self.user = "steward"
        self._owner = _as_owner()
        if self._owner:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", self.user, "-A", "trust", "-E", "UTF8")
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-o", options, "-w",
            "-t", "120", "start",
        )  # fmt: skip
        self._wait_until_ready()

    def _run(self, program: str, *args: str) -> None:
        subprocess.run(
            [str(self.bin / program), *args],
            check=True,
            capture_output=True,
            timeout=180,
            **self._owner,
        )

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                with self.connect():
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> psycopg.Connection[Any]:
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=self.user,
            dbname=database,
            autocommit=True,
            connect_timeout=10,
        )

    def create_database(self, name: str, template: str | None = None) -> str:
        """A new database (a copy of `template`, if given); its SQLAlchemy URL."""
        with self.connect() as conn:
            statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if template:
                statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
            conn.execute(statement)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop `name`, ending whatever connections a test left open to it."""
        with self.connect() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def migrated_template(self, open_store: Callable[[str], Any]) -> str:
        """A template database at the store's current revision (made once), for fast copies."""
        with self.connect() as conn:
            known = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (TEMPLATE,))
            if known.fetchone() is None:
                store = open_store(self.create_database(TEMPLATE))
                store.close()
        return TEMPLATE

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

"""The store's migrations (Alembic), on SQLite and on a real PostgreSQL: a new store ends at the
current tables, a store of today's schema written before Alembic took over keeps every row, a
store missing columns of a later Steward gets them, and several control planes opening one store
at once migrate it once."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, Table, create_engine, insert, inspect, select, text

from steward.control.service import ClusterService
from steward.domain.model import BrokerNodeGroup, ClusterSpec, ClusterState
from steward.settings import Settings, Zone
from steward.store import schema
from steward.store.migrations import current_revision, head_revision
from steward.store.store import Store, open_engine, postgresql_driver
from tests.postgres import PostgresCluster

ZONES = (Zone("az-a", "127.66.1"), Zone("az-b", "127.66.2"), Zone("az-c", "127.66.3"))


def spec() -> ClusterSpec:
    return ClusterSpec("4.3.1", 3, BrokerNodeGroup("kafka.m5.large", ("az-a", "az-b", "az-c"), 10))


def test_a_new_store_is_at_the_head_and_matches_the_tables(store_url: str) -> None:
    store = Store(store_url)
    try:
        with store.engine.connect() as conn:
            assert current_revision(conn) == head_revision()
            differences = compare_metadata(MigrationContext.configure(conn), schema.metadata)
        assert differences == []
    finally:
        store.close()


def test_clusters_survive_a_restart_of_the_control_plane(store_url: str, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, zones=ZONES, database_url=store_url)
    first = Store(store_url)
    made = ClusterService(settings, first).create_cluster("orders", spec(), {"team": "a"})
    first.close()
    again = Store(store_url)
    try:
        found = ClusterService(settings, again).describe_cluster(made.arn)
        assert (found.name, found.state) == ("orders", ClusterState.CREATING)
        assert again.tags(made.arn) == {"team": "a"}
        assert [op.cluster_arn for op in again.unfinished_operations()] == [made.arn]
    finally:
        again.close()


def test_a_store_of_todays_schema_from_before_alembic_keeps_its_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'steward.db'}"
    before = create_engine(url)
    schema.metadata.create_all(before)
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    with before.begin() as conn:
        conn.execute(insert(schema.tags).values(resource_arn="arn:x", key="team", value="a"))
        conn.execute(
            insert(schema.resource_policies).values(
                cluster_arn="arn:x", document="{}", version="K1", update_time=when
            )
        )
    before.dispose()
    store = Store(url)
    try:
        assert store.tags("arn:x") == {"team": "a"}
        with store.engine.connect() as conn:
            assert current_revision(conn) == head_revision()
            versions = conn.execute(select(schema.resource_policies.c.version)).scalars().all()
        assert versions == ["K1"]
    finally:
        store.close()


def test_an_older_store_gets_the_columns_added_since(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'steward.db'}"
    before = create_engine(url)
    older = MetaData()
    kept = [c._copy() for c in schema.operations.columns if c.name != "generation"]
    operations = Table("operations", older, *kept)
    older.create_all(before)
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    with before.begin() as conn:
        conn.execute(
            insert(operations).values(
                arn="arn:op",
                cluster_arn="arn:c",
                type="INCREASE_BROKER_COUNT",
                state="PENDING",
                steps=[],
                creation_time=when,
                progress={},
            )
        )
    before.dispose()
    store = Store(url)
    try:
        assert "generation" in {c["name"] for c in inspect(store.engine).get_columns("operations")}
        found = store.get_operation("arn:op")
        assert found is not None
        assert (found.cluster_arn, found.generation) == ("arn:c", 0)
    finally:
        store.close()


def test_control_planes_opening_a_new_postgresql_store_at_once_migrate_it_once(
    postgres_cluster: PostgresCluster,
) -> None:
    url = postgres_cluster.create_database("opened_at_once")
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            open_engine(url).dispose()
        except BaseException as error:  # reported by the assert below
            errors.append(error)

    threads = [threading.Thread(target=open_it) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            assert current_revision(conn) == head_revision()
    finally:
        engine.dispose()
        postgres_cluster.drop_database("opened_at_once")


def test_a_postgresql_url_as_its_own_tools_write_it_uses_the_installed_driver() -> None:
    assert postgresql_driver("postgresql://u@db/steward") == "postgresql+psycopg://u@db/steward"
    assert postgresql_driver("postgres://u@db/s") == "postgresql+psycopg://u@db/s"
    assert postgresql_driver("sqlite:///x.db") == "sqlite:///x.db"


def test_a_command_opening_the_store_loses_none_of_the_servers_later_writes(tmp_path: Path) -> None:
    """A server migrates a new SQLite store and keeps it open; a command (another process, as
    `steward access-key create` is) opens the store and closes it; what the server writes after
    that is still what every other process reads. (A migration lock taken on the database file
    itself dropped the server's SQLite locks, and the command, seeing no other user, removed the
    write-ahead log the server kept writing to.)"""
    url = f"sqlite:///{tmp_path / 'steward.db'}"
    server = open_engine(url)  # a new store: the migration and its lock run here
    try:
        with server.begin() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS scratch (x INTEGER)"))
            conn.execute(text("INSERT INTO scratch VALUES (1)"))
        command = (
            "import sys; from steward.store.store import Store; "
            "store = Store(sys.argv[1]); store.close()"
        )
        subprocess.run([sys.executable, "-c", command, url], check=True, timeout=60)
        with server.begin() as conn:
            conn.execute(text("INSERT INTO scratch VALUES (2)"))
        reader = (
            "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); "
            "print(db.execute('SELECT count(*) FROM scratch').fetchone()[0])"
        )
        seen = subprocess.run(
            [sys.executable, "-c", reader, str(tmp_path / "steward.db")],
            check=True,
            timeout=60,
            capture_output=True,
            text=True,
        )
        assert seen.stdout.strip() == "2"
    finally:
        server.dispose()

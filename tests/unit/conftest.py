"""Unit tests see the same clusters on every host: unencrypted at rest unless a test asks, whether
or not this host has gocryptfs (`Settings.encrypts_at_rest`).

The store is SQLite unless STEWARD_TEST_STORE=postgresql: then every test's Settings point at a
PostgreSQL database of the test's own (tests/postgres.py), and the same tests run there."""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from steward.settings import ENCRYPTION_AT_REST_ENV
from steward.store.store import Store
from tests.postgres import TEST_STORE_ENV, PostgresCluster, postgres_bin

os.environ.setdefault(ENCRYPTION_AT_REST_ENV, "off")

ON_POSTGRESQL = os.environ.get(TEST_STORE_ENV, "").strip().lower() == "postgresql"


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL of the test session's own (one per xdist worker), stopped at its end."""
    if postgres_bin() is None:
        pytest.skip("PostgreSQL is not installed (make system)")
    cluster = PostgresCluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """A fresh, migrated database of the test's own, dropped after it."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    template = postgres_cluster.migrated_template(Store)
    url = postgres_cluster.create_database(name, template)
    try:
        yield url
    finally:
        postgres_cluster.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store's URL, once on each database Steward supports."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{tmp_path / 'steward.db'}"


@pytest.fixture(autouse=ON_POSTGRESQL)
def _store_on_postgresql(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under STEWARD_TEST_STORE=postgresql: the test's Settings use a database of its own."""
    monkeypatch.setenv("STEWARD_DATABASE_URL", str(request.getfixturevalue("postgres_url")))

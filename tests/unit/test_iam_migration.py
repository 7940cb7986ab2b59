"""A store of a Steward from before IAM: its access keys (a table without users) are given to the
administrator user when the store opens, so every key that could do everything still can; and
every route Steward serves has an IAM action."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text

from steward.api.auth.actions import MSK_ACTION_OVERRIDES, RouteActions
from steward.api.msk.app import msk_router
from steward.iam.service import IdentityAccess
from steward.iam.store import USER, IamRecords
from steward.store.access_keys import ADMINISTRATOR_POLICY_ARN, ADMINISTRATOR_USER
from steward.store.store import Store


def test_keys_of_an_older_store_become_the_administrators(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'steward.db'}"
    old = create_engine(url)
    with old.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE access_keys (access_key_id VARCHAR PRIMARY KEY, name VARCHAR NOT "
                "NULL, secret_access_key VARCHAR NOT NULL, creation_time DATETIME NOT NULL)"
            )
        )
        conn.execute(
            text("INSERT INTO access_keys VALUES ('STWOLDKEY', 'first start', 's3cret', :t)"),
            {"t": datetime(2026, 1, 1, tzinfo=UTC)},
        )
    old.dispose()
    store = Store(url)
    try:
        key = store.access_keys.get("STWOLDKEY")
        assert key is not None
        assert (key.user_name, key.status) == (ADMINISTRATOR_USER, "Active")
        assert store.access_keys.secret_of("STWOLDKEY") == "s3cret"
        iam = IdentityAccess(IamRecords(store.engine), store.access_keys, "123456789012", "x")
        assert iam.attached_policies(USER, ADMINISTRATOR_USER) == [
            ("AdministratorAccess", ADMINISTRATOR_POLICY_ARN)
        ]
        caller = iam.caller_of("STWOLDKEY")
        assert caller is not None
        assert iam.decide(caller, "kafka:DeleteCluster", "arn:aws:kafka:x", {}).allowed
    finally:
        store.close()


def test_every_route_has_an_action() -> None:
    table = RouteActions(msk_router(), MSK_ACTION_OVERRIDES).table()
    assert len(table) == len(msk_router().routes)
    actions = {(method, path): action for method, path, action, _ in table}
    assert actions[("DELETE", "/v1/clusters/{clusterArn}")] == "kafka:DeleteCluster"
    assert actions[("GET", "/api/v2/clusters")] == "kafka:ListClustersV2"
    assert actions[("GET", "/steward/v1/iam/audit")] == "iam:ListAuditRecords"
    assert all(a.startswith(("kafka:", "iam:")) for a in actions.values())


def test_the_docs_table_lists_every_route() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "iam.md").read_text()
    for method, path, action, _ in RouteActions(msk_router(), MSK_ACTION_OVERRIDES).table():
        assert f"| {method} | `{path}` | `{action}` |" in docs, (method, path)

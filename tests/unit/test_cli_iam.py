"""`steward iam ...` against the real API app: a user made, given a policy read from standard
input and a managed policy by name, a key (its secret shown once), a role from a trust file,
and the audit listed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from steward.api.app import build_app
from steward.api.auth.guard import AcceptAnyRequest
from steward.cli.main import cli
from steward.control.service import ClusterService
from steward.settings import Settings, Zone
from steward.store.store import Store
from tests.unit.serving import serving

ZONES = (Zone("az-a", "127.82.1"), Zone("az-b", "127.82.2"), Zone("az-c", "127.82.3"))
POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": {"Effect": "Allow", "Action": "kafka:List*", "Resource": "*"},
    }
)


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home: Path = tmp_path_factory.mktemp("cli-iam")
    settings = Settings(home=home, zones=ZONES)
    store = Store(settings.db_url)
    service = ClusterService(settings, store)
    service.iam.record_refusal(
        "arn:aws:iam::123456789012:user/app",
        "kafka-cluster:Connect",
        "arn:aws:kafka:us-east-1:123456789012:cluster/c/u-1",
        "the signature does not match",
    )
    with serving(build_app(service, AcceptAnyRequest())) as url:
        yield url
    store.close()


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")


def run(endpoint: str, *args: str, stdin: str | None = None) -> Result:
    result = CliRunner().invoke(cli, ["--endpoint-url", endpoint, *args], input=stdin)
    assert result.exit_code == 0, result.output
    return result


def test_users_policies_keys_and_roles(endpoint: str, tmp_path: Path) -> None:
    made = run(endpoint, "iam", "user", "create", "app")
    assert "arn:aws:iam::" in made.output
    run(endpoint, "iam", "user", "put-policy", "app", "list", "--file", "-", stdin=POLICY)
    run(endpoint, "iam", "policy", "create", "readers", "--file", "-", stdin=POLICY)
    run(endpoint, "iam", "user", "attach", "app", "readers")
    key = json.loads(run(endpoint, "-o", "json", "iam", "access-key", "create", "app").output)
    assert len(key["SecretAccessKey"]) == 40
    shown = json.loads(run(endpoint, "-o", "json", "iam", "user", "get", "app").output)
    assert shown["InlinePolicies"] == ["list"]
    assert shown["AttachedPolicies"][0]["PolicyName"] == "readers"
    assert shown["AccessKeys"][0]["AccessKeyId"] == key["AccessKeyId"]
    document = run(endpoint, "iam", "user", "get-policy", "app", "list").output
    assert json.loads(document)["Statement"]["Action"] == "kafka:List*"
    listed = run(endpoint, "iam", "policy", "list", "--scope", "Local").output
    assert "readers" in listed
    trust = tmp_path / "trust.json"
    trust.write_text(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": {
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": "sts:AssumeRole",
                },
            }
        )
    )
    run(endpoint, "iam", "role", "create", "ops", "--trust-file", str(trust))
    assert "ops" in run(endpoint, "iam", "role", "list").output


def test_the_audit_lists_sign_in_refusals_with_why(endpoint: str) -> None:
    records = json.loads(
        run(endpoint, "-o", "json", "iam", "audit", "--action", "kafka-cluster:connect").output
    )
    assert records["records"][0]["reason"] == "the signature does not match"
    assert records["records"][0]["source"] == "sign-in"
    table = run(endpoint, "iam", "audit").output
    assert "kafka-cluster:Connect" in table

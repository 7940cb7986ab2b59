"""`steward secret ...` against the real API app: a sign-in made with the password on standard
input (never an argument), listed without it, associated with a SCRAM cluster, and deleted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner, Result

from steward.api.app import build_app
from steward.api.auth.guard import AcceptAnyRequest
from steward.cli.main import cli
from steward.control.service import ClusterService
from steward.settings import Settings, Zone
from steward.store.store import Store
from tests.unit.serving import serving

ZONES = (Zone("az-a", "127.81.1"), Zone("az-b", "127.81.2"), Zone("az-c", "127.81.3"))
PASSWORD = "cli-password-0e7d41"


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home: Path = tmp_path_factory.mktemp("cli-secrets")
    settings = Settings(home=home, zones=ZONES)
    service = ClusterService(settings, Store(settings.db_url))
    with serving(build_app(service, AcceptAnyRequest())) as url:
        yield url


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")


def run(endpoint: str, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["--endpoint-url", endpoint, *args], input=stdin)


def test_a_sign_in_is_made_associated_and_deleted(endpoint: str) -> None:
    made = run(endpoint, "secret", "create", "AmazonMSK_cli", "--username", "cli", stdin=PASSWORD)
    assert made.exit_code == 0, made.output
    assert "AmazonMSK_cli" in made.output and PASSWORD not in made.output

    listed = run(endpoint, "-o", "json", "secret", "list")
    assert listed.exit_code == 0, listed.output
    assert "AmazonMSK_cli" in listed.output and PASSWORD not in listed.output

    kafka = boto3.client(
        "kafka",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    kafka.create_cluster_v2(
        ClusterName="cli-scram",
        Provisioned={
            "KafkaVersion": "4.3.1",
            "NumberOfBrokerNodes": 3,
            "BrokerNodeGroupInfo": {
                "InstanceType": "kafka.m5.large",
                "ClientSubnets": ["az-a", "az-b", "az-c"],
            },
            "EncryptionInfo": {
                "EncryptionInTransit": {"ClientBroker": "TLS_PLAINTEXT", "InCluster": False}
            },
            "ClientAuthentication": {
                "Sasl": {"Scram": {"Enabled": True}},
                "Unauthenticated": {"Enabled": True},
            },
        },
    )
    associated = run(endpoint, "secret", "associate", "cli-scram", "AmazonMSK_cli")
    assert associated.exit_code == 0, associated.output
    shown = run(endpoint, "secret", "associated", "cli-scram")
    assert "AmazonMSK_cli" in shown.output
    refused = run(endpoint, "secret", "associate", "cli-scram", "arn:aws:secretsmanager:x")
    assert refused.exit_code == 1 and "InvalidSecretArn" in refused.output
    assert run(endpoint, "secret", "disassociate", "cli-scram", "AmazonMSK_cli").exit_code == 0
    assert "AmazonMSK_cli" not in run(endpoint, "secret", "associated", "cli-scram").output

    deleted = run(endpoint, "secret", "delete", "AmazonMSK_cli", "--force")
    assert deleted.exit_code == 0, deleted.output
    assert "AmazonMSK_cli" not in run(endpoint, "secret", "list").output
    missing = run(endpoint, "secret", "delete", "AmazonMSK_gone", "--recovery-days", "7")
    assert missing.exit_code == 1 and "ResourceNotFoundException" in missing.output


def test_a_sign_in_gets_a_new_password_user_description_and_tags(endpoint: str) -> None:
    made = run(endpoint, "secret", "create", "AmazonMSK_cliup", "--username", "up", stdin=PASSWORD)
    assert made.exit_code == 0, made.output
    sm = boto3.client(
        "secretsmanager",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )

    new_password = "cli-password-2-91ac"
    changed = run(endpoint, "secret", "update", "AmazonMSK_cliup", "--password", stdin=new_password)
    assert changed.exit_code == 0, changed.output
    assert new_password not in changed.output and "VersionId" in changed.output
    value = json.loads(sm.get_secret_value(SecretId="AmazonMSK_cliup")["SecretString"])
    assert value == {"username": "up", "password": new_password}

    renamed = run(endpoint, "secret", "update", "AmazonMSK_cliup", "--username", "up2")
    assert renamed.exit_code == 0, renamed.output
    value = json.loads(sm.get_secret_value(SecretId="AmazonMSK_cliup")["SecretString"])
    assert value == {"username": "up2", "password": new_password}, "the password stays"

    described = run(endpoint, "secret", "update", "AmazonMSK_cliup", "--description", "ops")
    assert described.exit_code == 0 and "(unchanged)" in described.output
    assert sm.describe_secret(SecretId="AmazonMSK_cliup")["Description"] == "ops"
    assert run(endpoint, "secret", "update", "AmazonMSK_cliup").exit_code != 0

    tagged = run(endpoint, "secret", "tag", "AmazonMSK_cliup", "team=data", "env=prod")
    assert tagged.exit_code == 0, tagged.output
    assert "team" in tagged.output and "prod" in tagged.output
    untagged = run(endpoint, "-o", "json", "secret", "untag", "AmazonMSK_cliup", "team")
    assert json.loads(untagged.output) == {"Tags": [{"Key": "env", "Value": "prod"}]}
    assert run(endpoint, "secret", "tag", "AmazonMSK_cliup", "novalue").exit_code != 0

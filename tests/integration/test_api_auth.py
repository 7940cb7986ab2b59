"""Who may call a real Steward: boto3, the AWS CLI and the steward command sign with its access
keys and get in; a wrong secret, an unknown key or no signature at all are refused with MSK's
errors; `steward access-key` makes and revokes keys; the first start writes a key to the
credentials file; STEWARD_AUTH=off lets anything in; and no secret shows in the logs or the
process list. No cluster is needed, so the module is quick."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from tests.integration.harness import REGION, Steward

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent


def kafka(steward: Steward, key_id: str, secret: str) -> Any:
    return boto3.client(
        "kafka",
        endpoint_url=steward.endpoint,
        region_name=REGION,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
    )


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def aws(steward: Steward, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(BIN / "aws"), "kafka", *args, "--endpoint-url", steward.endpoint]
    return run([*command, "--region", REGION, "--output", "json"], env)


def steward_command(steward: Steward, *args: str) -> subprocess.CompletedProcess[str]:
    return run([str(BIN / "steward"), *args], steward.env)


def env_with_keys(steward: Steward, key_id: str, secret: str) -> dict[str, str]:
    return {**steward.env, "AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret}


@pytest.fixture(scope="module")
def open_steward(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Steward]:
    """A Steward with STEWARD_AUTH=off."""
    instance = Steward(tmp_path_factory.mktemp("open"), extra_env={"STEWARD_AUTH": "off"})
    try:
        instance.start()
        yield instance
    finally:
        instance.cleanup()


@pytest.fixture(scope="module")
def first_start(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Steward]:
    """A Steward started with no key given: it makes its own."""
    instance = Steward(tmp_path_factory.mktemp("first"), seed_access_key=False)
    try:
        instance.start()
        yield instance
    finally:
        instance.cleanup()


def test_boto3_with_the_right_keys_gets_in(steward: Steward) -> None:
    assert steward.client().list_clusters_v2()["ClusterInfoList"] == []


def test_boto3_with_a_wrong_secret_is_forbidden(steward: Steward) -> None:
    key_id, _ = steward.credentials()
    client = kafka(steward, key_id, "W" * 40)
    with pytest.raises(client.exceptions.ForbiddenException):
        client.list_clusters_v2()


def test_boto3_with_an_unknown_key_is_unauthorized(steward: Steward) -> None:
    _, secret = steward.credentials()
    client = kafka(steward, "STWNOSUCHKEY00000000", secret)
    with pytest.raises(client.exceptions.UnauthorizedException):
        client.list_clusters_v2()


def test_an_unsigned_request_is_unauthorized(steward: Steward) -> None:
    response = httpx.get(f"{steward.endpoint}/v1/clusters")
    assert response.status_code == 401
    assert response.headers["x-amzn-ErrorType"] == "UnauthorizedException"
    assert response.json()["message"]
    assert httpx.get(f"{steward.endpoint}/healthz").status_code == 200


def test_the_aws_cli_gets_in_with_the_right_keys_only(steward: Steward) -> None:
    listed = aws(steward, steward.env, "list-clusters-v2")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["ClusterInfoList"] == []
    key_id, _ = steward.credentials()
    refused = aws(steward, env_with_keys(steward, key_id, "W" * 40), "list-clusters-v2")
    assert refused.returncode != 0
    assert "ForbiddenException" in refused.stderr


def test_access_keys_made_and_deleted_with_the_steward_command(steward: Steward) -> None:
    created = steward_command(steward, "access-key", "create", "--name", "ci", "-o", "json")
    assert created.returncode == 0, created.stderr
    made = json.loads(created.stdout)
    client = kafka(steward, made["AccessKeyId"], made["SecretAccessKey"])
    assert client.list_clusters_v2()["ClusterInfoList"] == []

    listed = steward_command(steward, "access-key", "list")
    assert listed.returncode == 0, listed.stderr
    assert made["AccessKeyId"] in listed.stdout and "ci" in listed.stdout
    assert made["SecretAccessKey"] not in listed.stdout

    deleted = steward_command(steward, "access-key", "delete", made["AccessKeyId"])
    assert deleted.returncode == 0, deleted.stderr
    with pytest.raises(client.exceptions.UnauthorizedException):
        client.list_clusters_v2()


def test_the_steward_command_signs_its_requests(steward: Steward) -> None:
    listed = steward_command(steward, "cluster", "list")
    assert listed.returncode == 0, listed.stderr
    key_id, _ = steward.credentials()
    refused = run(
        [str(BIN / "steward"), "cluster", "list"], env_with_keys(steward, key_id, "W" * 40)
    )
    assert refused.returncode == 1
    assert "ForbiddenException" in refused.stderr


def test_with_auth_off_anything_gets_in(open_steward: Steward) -> None:
    assert httpx.get(f"{open_steward.endpoint}/v1/clusters").json() == {"clusterInfoList": []}
    client = kafka(open_steward, "anything", "goes")
    assert client.list_clusters_v2()["ClusterInfoList"] == []
    assert "STEWARD_AUTH=off" in open_steward.log_tail(200)


def test_the_first_start_writes_a_key_the_aws_cli_and_steward_command_use(
    first_start: Steward, tmp_path: Path
) -> None:
    path = first_start.home / "credentials"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key_id, secret = first_start.credentials()
    output = (first_start.home / "server.out").read_text()
    assert key_id in output  # announced, but its secret is not: server.out is no terminal
    assert secret not in output
    assert secret not in (first_start.home / "steward.log").read_text()

    nothing_configured = {
        k: v
        for k, v in first_start.env.items()
        if not k.startswith("AWS_") or k == "AWS_DEFAULT_REGION"
    }
    nothing_configured["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "none")
    nothing_configured["AWS_CONFIG_FILE"] = str(tmp_path / "none")
    profile = {
        **nothing_configured,
        "AWS_SHARED_CREDENTIALS_FILE": str(path),
        "AWS_PROFILE": "steward",
    }
    listed = aws(first_start, profile, "list-clusters-v2")
    assert listed.returncode == 0, listed.stderr
    by_itself = run([str(BIN / "steward"), "cluster", "list"], nothing_configured)
    assert by_itself.returncode == 0, by_itself.stderr


def test_no_secret_shows_in_logs_or_the_process_list(steward: Steward) -> None:
    _, secret = steward.credentials()
    for log in (steward.home / "server.out", steward.home / "steward.log"):
        assert secret not in log.read_text(errors="replace"), log
    processes = run(["ps", "-eo", "pid,args"], dict(os.environ))
    assert processes.returncode == 0
    assert secret not in processes.stdout

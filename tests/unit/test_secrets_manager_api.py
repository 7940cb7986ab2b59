"""The Secrets-Manager-compatible API, through boto3's `secretsmanager` client against the real API
app (the same endpoint as MSK's routes, SigV4 on): secrets are made, read, given new values,
described, listed, deleted with or without a recovery window, and restored; errors have Secrets
Manager's codes; values are sealed in the store and appear in no answer but GetSecretValue."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from steward.api.auth.keys import NewAccessKey
from steward.client.signing import SigV4HttpxAuth
from steward.crypto.master_key import KEY_FILE
from steward.settings import Zone
from tests.unit.serving import signed_client, signed_endpoint_fixtures

ZONES = (Zone("az-a", "127.79.1"), Zone("az-b", "127.79.2"), Zone("az-c", "127.79.3"))
PASSWORD = "correct-horse-battery-staple-7431"


home, store, key, endpoint = signed_endpoint_fixtures("secrets", ZONES)


def client(endpoint: str, key: NewAccessKey, service: str = "secretsmanager") -> Any:
    return signed_client(service, endpoint, key)


@pytest.fixture
def sm(endpoint: str, key: NewAccessKey) -> Any:
    return client(endpoint, key)


def error(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return dict(raised.value.response["Error"])


def credential(user: str, password: str = PASSWORD) -> str:
    return json.dumps({"username": user, "password": password})


def test_a_secret_is_made_read_changed_and_described(sm: Any) -> None:
    made = sm.create_secret(
        Name="AmazonMSK_alice",
        SecretString=credential("alice"),
        Description="Alice's sign-in",
        Tags=[{"Key": "team", "Value": "data"}],
    )
    assert made["Name"] == "AmazonMSK_alice"
    assert made["ARN"].startswith("arn:aws:secretsmanager:us-east-1:")
    assert made["ARN"].rsplit(":", 1)[1][: -len("-xxxxxx")] == "AmazonMSK_alice"
    assert len(made["VersionId"]) >= 32

    for secret_id in (made["ARN"], "AmazonMSK_alice", made["ARN"][: -len("-xxxxxx")]):
        value = sm.get_secret_value(SecretId=secret_id)
        assert json.loads(value["SecretString"]) == {"username": "alice", "password": PASSWORD}
        assert value["VersionStages"] == ["AWSCURRENT"]
        assert value["ARN"] == made["ARN"]

    changed = sm.put_secret_value(SecretId=made["ARN"], SecretString=credential("alice", "new-pw"))
    assert changed["VersionStages"] == ["AWSCURRENT"]
    assert json.loads(sm.get_secret_value(SecretId=made["ARN"])["SecretString"])["password"] == (
        "new-pw"
    )
    previous = sm.get_secret_value(SecretId=made["ARN"], VersionStage="AWSPREVIOUS")
    assert previous["VersionId"] == made["VersionId"]
    assert json.loads(previous["SecretString"])["password"] == PASSWORD

    described = sm.describe_secret(SecretId="AmazonMSK_alice")
    assert described["Description"] == "Alice's sign-in"
    assert described["Tags"] == [{"Key": "team", "Value": "data"}]
    assert described["VersionIdsToStages"] == {
        made["VersionId"]: ["AWSPREVIOUS"],
        changed["VersionId"]: ["AWSCURRENT"],
    }
    assert described["CreatedDate"].tzinfo is not None
    assert "LastAccessedDate" in described
    assert "DeletedDate" not in described


def test_a_retried_request_makes_no_second_version(sm: Any) -> None:
    token = "f" * 32
    first = sm.create_secret(Name="retried", SecretString="v1", ClientRequestToken=token)
    again = sm.create_secret(Name="retried", SecretString="v1", ClientRequestToken=token)
    assert again["ARN"] == first["ARN"] and again["VersionId"] == token
    other = error(sm.create_secret, Name="retried", SecretString="v1")
    assert other["Code"] == "ResourceExistsException"
    put_token = "e" * 32
    sm.put_secret_value(SecretId="retried", SecretString="v2", ClientRequestToken=put_token)
    sm.put_secret_value(SecretId="retried", SecretString="v2", ClientRequestToken=put_token)
    assert len(sm.describe_secret(SecretId="retried")["VersionIdsToStages"]) == 2
    clash = error(
        sm.put_secret_value, SecretId="retried", SecretString="v3", ClientRequestToken=put_token
    )
    assert clash["Code"] == "ResourceExistsException"


def test_binary_secrets_come_back_as_they_went_in(sm: Any) -> None:
    sm.create_secret(Name="blob", SecretBinary=b"\x00\x01\xfe\xff")
    value = sm.get_secret_value(SecretId="blob")
    assert value["SecretBinary"] == b"\x00\x01\xfe\xff"
    assert "SecretString" not in value


def test_a_secret_without_a_value_has_no_version_to_read(sm: Any) -> None:
    made = sm.create_secret(Name="empty-for-now")
    assert "VersionId" not in made
    assert error(sm.get_secret_value, SecretId="empty-for-now")["Code"] == (
        "ResourceNotFoundException"
    )
    sm.put_secret_value(SecretId="empty-for-now", SecretString="now")
    assert sm.get_secret_value(SecretId="empty-for-now")["SecretString"] == "now"


def test_errors_have_secrets_managers_codes(sm: Any) -> None:
    missing = error(sm.get_secret_value, SecretId="no-such-secret")
    assert missing["Code"] == "ResourceNotFoundException"
    assert missing["Message"] == "Secrets Manager can't find the specified secret."
    assert error(sm.describe_secret, SecretId="arn:aws:secretsmanager:us-east-1:1:secret:x-abcdef")[
        "Code"
    ] == ("ResourceNotFoundException")
    assert error(sm.create_secret, Name="bad name!", SecretString="x")["Code"] == (
        "InvalidParameterException"
    )
    sm.create_secret(Name="both", SecretString="x")
    assert error(
        sm.delete_secret, SecretId="both", RecoveryWindowInDays=7, ForceDeleteWithoutRecovery=True
    )["Code"] == ("InvalidParameterException")
    assert error(sm.delete_secret, SecretId="both", RecoveryWindowInDays=3)["Code"] == (
        "InvalidParameterException"
    )


def test_an_unknown_operation_or_a_bad_body_is_refused(endpoint: str, key: NewAccessKey) -> None:
    auth = SigV4HttpxAuth(Credentials(key.access_key_id, key.secret_access_key), "us-east-1")
    # Steward's CLI signer names the `kafka` service: the gate wants `secretsmanager` here.
    response = httpx.post(
        f"{endpoint}/",
        content=b"{}",
        headers={"X-Amz-Target": "secretsmanager.ListSecrets"},
        auth=auth,
    )
    assert response.status_code == 400
    assert response.json()["__type"] == "InvalidSignatureException"
    assert "secretsmanager" in response.json()["Message"]


def test_deletion_has_a_recovery_window_unless_forced(sm: Any) -> None:
    arn = sm.create_secret(Name="AmazonMSK_bob", SecretString=credential("bob"))["ARN"]
    deleted = sm.delete_secret(SecretId=arn, RecoveryWindowInDays=7)
    days = (deleted["DeletionDate"] - sm.describe_secret(SecretId=arn)["CreatedDate"]).days
    assert 6 <= days <= 7
    assert sm.describe_secret(SecretId=arn)["DeletedDate"] == deleted["DeletionDate"]
    assert error(sm.get_secret_value, SecretId=arn)["Code"] == "InvalidRequestException"
    assert error(sm.put_secret_value, SecretId=arn, SecretString="x")["Code"] == (
        "InvalidRequestException"
    )
    assert error(sm.create_secret, Name="AmazonMSK_bob", SecretString="x")["Code"] == (
        "InvalidRequestException"
    )
    names = [s["Name"] for s in sm.list_secrets()["SecretList"]]
    assert "AmazonMSK_bob" not in names
    planned = sm.list_secrets(IncludePlannedDeletion=True)["SecretList"]
    assert "AmazonMSK_bob" in [s["Name"] for s in planned]

    assert sm.restore_secret(SecretId=arn)["ARN"] == arn
    assert json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])["username"] == "bob"

    sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    assert error(sm.describe_secret, SecretId=arn)["Code"] == "ResourceNotFoundException"
    sm.create_secret(Name="AmazonMSK_bob", SecretString=credential("bob"))  # the name is free
    # Forcing the deletion of a secret that is not there succeeds, as in Secrets Manager.
    sm.delete_secret(SecretId="never-was", ForceDeleteWithoutRecovery=True)


def test_list_filters_sorts_and_pages(sm: Any) -> None:
    for i in range(5):
        sm.create_secret(
            Name=f"paged/{i}", SecretString="x", Tags=[{"Key": "batch", "Value": f"b{i % 2}"}]
        )
    filters = [{"Key": "name", "Values": ["paged/"]}]
    first = sm.list_secrets(Filters=filters, MaxResults=2, SortOrder="asc")
    assert [s["Name"] for s in first["SecretList"]] == ["paged/0", "paged/1"]
    names = [s["Name"] for s in first["SecretList"]]
    token = first["NextToken"]
    while token:
        page = sm.list_secrets(Filters=filters, MaxResults=2, SortOrder="asc", NextToken=token)
        names += [s["Name"] for s in page["SecretList"]]
        token = page.get("NextToken")
    assert names == [f"paged/{i}" for i in range(5)]
    tagged = sm.list_secrets(
        Filters=[{"Key": "name", "Values": ["paged/"]}, {"Key": "tag-value", "Values": ["b1"]}]
    )
    assert sorted(s["Name"] for s in tagged["SecretList"]) == ["paged/1", "paged/3"]
    negated = sm.list_secrets(Filters=[*filters, {"Key": "tag-value", "Values": ["!b1"]}])
    assert sorted(s["Name"] for s in negated["SecretList"]) == ["paged/0", "paged/2", "paged/4"]
    entry = first["SecretList"][0]
    assert list(entry["SecretVersionsToStages"].values()) == [["AWSCURRENT"]]
    paginated = sm.get_paginator("list_secrets").paginate(
        Filters=filters, PaginationConfig={"PageSize": 2}
    )
    assert sum(len(p["SecretList"]) for p in paginated) == 5
    assert error(sm.list_secrets, NextToken="not-a-token")["Code"] == "InvalidNextTokenException"


def test_values_are_sealed_in_the_store_and_in_no_other_answer(
    sm: Any, home: Path, endpoint: str, key: NewAccessKey
) -> None:
    secret = "sealed-password-5b1e0c"
    arn = sm.create_secret(Name="AmazonMSK_sealed", SecretString=credential("carol", secret))["ARN"]
    sm.put_secret_value(SecretId=arn, SecretString=credential("carol", secret + "-2"))
    described = sm.describe_secret(SecretId=arn)
    listed = sm.list_secrets()
    for answer in (described, listed):
        assert secret not in json.dumps(answer, default=str)
    stored = b"".join(p.read_bytes() for p in home.iterdir() if p.name.startswith("steward.db"))
    assert stored
    assert secret.encode() not in stored
    assert b"carol" not in stored  # the username is part of the sealed value too
    key_file = home / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])["password"] == (
        secret + "-2"
    )


def test_the_gate_answers_secrets_manager_clients_in_their_shape(
    endpoint: str, key: NewAccessKey
) -> None:
    stranger = boto3.client(
        "secretsmanager",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="AKIANOTKNOWNTOSTEWARD",
        aws_secret_access_key="x" * 40,
    )
    assert error(stranger.list_secrets)["Code"] == "UnrecognizedClientException"
    wrong = boto3.client(
        "secretsmanager",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key.access_key_id,
        aws_secret_access_key="y" * 40,
    )
    assert error(wrong.list_secrets)["Code"] == "InvalidSignatureException"
    # MSK's routes on the same endpoint still answer MSK's way.
    kafka = client(endpoint, key, "kafka")
    assert kafka.list_clusters_v2()["ClusterInfoList"] == []

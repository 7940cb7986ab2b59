"""What Terraform's aws_secretsmanager_secret and _secret_version resources (and the random
password data source) call, through boto3's `secretsmanager` client against the real API app:
UpdateSecret, version ids and their staging labels, tags, resource policies, GetRandomPassword,
and the model's other operations answered in Secrets Manager's shape."""

from __future__ import annotations

import json
import string
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import ClientError
from sqlalchemy import text

from steward.api.app import build_app
from steward.api.auth.guard import AcceptAnyRequest
from steward.control.service import ClusterService
from steward.secrets.api import SERVED
from steward.secrets.store import SealedVersion, SecretRecord
from steward.secrets.unsupported import UNSUPPORTED_OPERATIONS
from steward.settings import Settings, Zone
from steward.store.store import Store
from tests.unit.serving import serving

ZONES = (Zone("az-a", "127.82.1"), Zone("az-b", "127.82.2"), Zone("az-c", "127.82.3"))
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:role/reader"},
            "Action": "secretsmanager:GetSecretValue",
            "Resource": "*",
        }
    ],
}
PUBLIC_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}],
}


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home: Path = tmp_path_factory.mktemp("secrets-terraform")
    settings = Settings(home=home, zones=ZONES)
    service = ClusterService(settings, Store(settings.db_url))
    with serving(build_app(service, AcceptAnyRequest())) as url:
        yield url


def client(endpoint: str, **config: Any) -> Any:
    return boto3.client(
        "secretsmanager",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(**config),
    )


@pytest.fixture
def sm(endpoint: str) -> Any:
    return client(endpoint)


def error(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return dict(raised.value.response["Error"])


def test_update_secret_changes_details_and_makes_a_new_current_version(sm: Any) -> None:
    made = sm.create_secret(Name="tf/updated", SecretString="v1", Description="first")
    described = sm.describe_secret(SecretId="tf/updated")

    details = sm.update_secret(SecretId="tf/updated", Description="second", KmsKeyId="alias/mine")
    assert details["ARN"] == made["ARN"] and details["Name"] == "tf/updated"
    assert "VersionId" not in details, "no value, no new version"
    after = sm.describe_secret(SecretId=made["ARN"])
    assert after["Description"] == "second" and after["KmsKeyId"] == "alias/mine"
    assert after["LastChangedDate"] >= described["LastChangedDate"]
    assert after["VersionIdsToStages"] == {made["VersionId"]: ["AWSCURRENT"]}

    valued = sm.update_secret(SecretId="tf/updated", SecretString="v2")
    assert valued["VersionId"] != made["VersionId"]
    assert sm.get_secret_value(SecretId="tf/updated")["SecretString"] == "v2"
    assert sm.describe_secret(SecretId="tf/updated")["VersionIdsToStages"] == {
        made["VersionId"]: ["AWSPREVIOUS"],
        valued["VersionId"]: ["AWSCURRENT"],
    }
    binary = sm.update_secret(SecretId="tf/updated", SecretBinary=b"\x00\xff")
    assert sm.get_secret_value(SecretId="tf/updated")["SecretBinary"] == b"\x00\xff"
    assert (
        sm.get_secret_value(SecretId="tf/updated", VersionStage="AWSPREVIOUS")["VersionId"]
        == (valued["VersionId"])
    )
    assert binary["VersionId"] not in (made["VersionId"], valued["VersionId"])

    assert error(sm.update_secret, SecretId="tf/none", Description="x")["Code"] == (
        "ResourceNotFoundException"
    )
    both = error(sm.update_secret, SecretId="tf/updated", SecretString="a", SecretBinary=b"b")
    assert both["Code"] == "InvalidParameterException"
    external = error(sm.update_secret, SecretId="tf/updated", Type="SalesforceClientSecret")
    assert external["Code"] == "InvalidRequestException"
    sm.delete_secret(SecretId="tf/updated", RecoveryWindowInDays=7)
    assert error(sm.update_secret, SecretId="tf/updated", Description="x")["Code"] == (
        "InvalidRequestException"
    )


def test_versions_are_listed_with_their_labels_and_deprecated_ones_on_request(sm: Any) -> None:
    first = sm.create_secret(Name="tf/versions", SecretString="one")["VersionId"]
    second = sm.put_secret_value(SecretId="tf/versions", SecretString="two")["VersionId"]
    third = sm.put_secret_value(SecretId="tf/versions", SecretString="three")["VersionId"]
    sm.get_secret_value(SecretId="tf/versions")

    listed = sm.list_secret_version_ids(SecretId="tf/versions")
    assert listed["Name"] == "tf/versions" and listed["ARN"].startswith("arn:aws:secretsmanager:")
    stages = {v["VersionId"]: v["VersionStages"] for v in listed["Versions"]}
    assert stages == {second: ["AWSPREVIOUS"], third: ["AWSCURRENT"]}
    by_id = {v["VersionId"]: v for v in listed["Versions"]}
    assert by_id[third]["KmsKeyIds"] == ["DefaultEncryptionKey"]
    assert by_id[third]["CreatedDate"].tzinfo is not None
    assert "LastAccessedDate" in by_id[third], "read just now"
    assert "LastAccessedDate" not in by_id[second], "never read"

    # The version AWSPREVIOUS left is deprecated: kept, readable by id, shown when asked for.
    everything = sm.list_secret_version_ids(SecretId="tf/versions", IncludeDeprecated=True)
    assert [v["VersionId"] for v in everything["Versions"]] == [first, second, third]
    assert not everything["Versions"][0].get("VersionStages")
    assert sm.get_secret_value(SecretId="tf/versions", VersionId=first)["SecretString"] == "one"
    assert first not in sm.describe_secret(SecretId="tf/versions")["VersionIdsToStages"]

    paged = sm.list_secret_version_ids(SecretId="tf/versions", MaxResults=1, IncludeDeprecated=True)
    ids = [v["VersionId"] for v in paged["Versions"]]
    while "NextToken" in paged:
        paged = sm.list_secret_version_ids(
            SecretId="tf/versions",
            MaxResults=1,
            IncludeDeprecated=True,
            NextToken=paged["NextToken"],
        )
        ids += [v["VersionId"] for v in paged["Versions"]]
    assert ids == [first, second, third]
    assert error(sm.list_secret_version_ids, SecretId="tf/versions", NextToken="bad")["Code"] == (
        "InvalidNextTokenException"
    )
    assert error(sm.list_secret_version_ids, SecretId="tf/missing")["Code"] == (
        "ResourceNotFoundException"
    )
    assert sm.list_secret_version_ids(SecretId=sm.create_secret(Name="tf/novalue")["ARN"])[
        "Versions"
    ] == ([])


def test_staging_labels_move_as_secrets_manager_moves_them(sm: Any) -> None:
    old = sm.create_secret(Name="tf/stages", SecretString="old")["VersionId"]
    new = sm.put_secret_value(SecretId="tf/stages", SecretString="new")["VersionId"]

    # AWSCURRENT goes back to the old version: AWSPREVIOUS goes to the one it left.
    moved_without_naming_the_holder = error(
        sm.update_secret_version_stage,
        SecretId="tf/stages",
        VersionStage="AWSCURRENT",
        MoveToVersionId=old,
    )
    assert moved_without_naming_the_holder["Code"] == "InvalidParameterException"
    sm.update_secret_version_stage(
        SecretId="tf/stages",
        VersionStage="AWSCURRENT",
        MoveToVersionId=old,
        RemoveFromVersionId=new,
    )
    assert sm.get_secret_value(SecretId="tf/stages")["SecretString"] == "old"
    assert sm.describe_secret(SecretId="tf/stages")["VersionIdsToStages"] == {
        old: ["AWSCURRENT"],
        new: ["AWSPREVIOUS"],
    }

    # A label of one's own is added and removed; AWSCURRENT can only move.
    sm.update_secret_version_stage(SecretId="tf/stages", VersionStage="blue", MoveToVersionId=new)
    assert sm.get_secret_value(SecretId="tf/stages", VersionStage="blue")["SecretString"] == "new"
    sm.update_secret_version_stage(
        SecretId="tf/stages", VersionStage="blue", RemoveFromVersionId=new
    )
    assert error(sm.get_secret_value, SecretId="tf/stages", VersionStage="blue")["Code"] == (
        "ResourceNotFoundException"
    )
    removed_current = error(
        sm.update_secret_version_stage,
        SecretId="tf/stages",
        VersionStage="AWSCURRENT",
        RemoveFromVersionId=old,
    )
    assert removed_current["Code"] == "InvalidParameterException"
    unknown = error(
        sm.update_secret_version_stage,
        SecretId="tf/stages",
        VersionStage="blue",
        MoveToVersionId="0" * 32,
    )
    assert unknown["Code"] == "InvalidParameterException"

    # PutSecretValue with a label of its own leaves AWSCURRENT where it is.
    pending = sm.put_secret_value(
        SecretId="tf/stages", SecretString="pending", VersionStages=["AWSPENDING"]
    )
    assert pending["VersionStages"] == ["AWSPENDING"]
    assert sm.get_secret_value(SecretId="tf/stages")["SecretString"] == "old"


def test_tags_are_added_replaced_removed_and_listed(sm: Any) -> None:
    sm.create_secret(Name="tf/tagged", SecretString="x", Tags=[{"Key": "team", "Value": "data"}])
    assert (
        sm.tag_resource(
            SecretId="tf/tagged",
            Tags=[{"Key": "team", "Value": "platform"}, {"Key": "env", "Value": "prod"}],
        )["ResponseMetadata"]["HTTPStatusCode"]
        == 200
    )
    assert sm.describe_secret(SecretId="tf/tagged")["Tags"] == [
        {"Key": "team", "Value": "platform"},
        {"Key": "env", "Value": "prod"},
    ]
    listed = sm.list_secrets(Filters=[{"Key": "tag-key", "Values": ["env"]}])["SecretList"]
    assert [s["Name"] for s in listed] == ["tf/tagged"]
    assert listed[0]["Tags"] == [
        {"Key": "team", "Value": "platform"},
        {"Key": "env", "Value": "prod"},
    ]

    sm.untag_resource(SecretId="tf/tagged", TagKeys=["team", "not-there"])
    assert sm.describe_secret(SecretId="tf/tagged")["Tags"] == [{"Key": "env", "Value": "prod"}]
    sm.untag_resource(SecretId="tf/tagged", TagKeys=["env"])
    assert "Tags" not in sm.describe_secret(SecretId="tf/tagged")

    reserved = error(sm.tag_resource, SecretId="tf/tagged", Tags=[{"Key": "aws:x", "Value": "y"}])
    assert reserved["Code"] == "InvalidParameterException"
    too_many = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
    assert error(sm.tag_resource, SecretId="tf/tagged", Tags=too_many)["Code"] == (
        "InvalidParameterException"
    )
    assert error(sm.tag_resource, SecretId="tf/absent", Tags=[{"Key": "a", "Value": "b"}])[
        "Code"
    ] == ("ResourceNotFoundException")
    made = error(sm.create_secret, Name="tf/badtags", Tags=[{"Key": "a" * 129, "Value": "b"}])
    assert made["Code"] == "InvalidParameterException"


def test_a_resource_policy_is_checked_kept_read_and_removed(sm: Any) -> None:
    arn = sm.create_secret(Name="tf/policy", SecretString="x")["ARN"]
    none_yet = sm.get_resource_policy(SecretId=arn)
    assert none_yet["ARN"] == arn and none_yet["Name"] == "tf/policy"
    assert "ResourcePolicy" not in none_yet

    put = sm.put_resource_policy(SecretId="tf/policy", ResourcePolicy=json.dumps(POLICY))
    assert put["ARN"] == arn and put["PolicyName"] == "default"
    got = sm.get_resource_policy(SecretId="tf/policy")
    assert json.loads(got["ResourcePolicy"]) == POLICY and got["PolicyName"] == "default"

    malformed = error(sm.put_resource_policy, SecretId=arn, ResourcePolicy="{not json")
    assert malformed["Code"] == "MalformedPolicyDocumentException"
    no_statement = error(sm.put_resource_policy, SecretId=arn, ResourcePolicy='{"Version": "x"}')
    assert no_statement["Code"] == "MalformedPolicyDocumentException"
    blocked = error(
        sm.put_resource_policy,
        SecretId=arn,
        ResourcePolicy=json.dumps(PUBLIC_POLICY),
        BlockPublicPolicy=True,
    )
    assert blocked["Code"] == "PublicPolicyException"
    assert json.loads(sm.get_resource_policy(SecretId=arn)["ResourcePolicy"]) == POLICY
    other_name = error(
        sm.put_resource_policy, SecretId=arn, ResourcePolicy=json.dumps(POLICY), PolicyName="two"
    )
    assert other_name["Code"] == "InvalidParameterException"

    passed = sm.validate_resource_policy(SecretId=arn, ResourcePolicy=json.dumps(POLICY))
    assert passed["PolicyValidationPassed"] is True and passed["ValidationErrors"] == []
    failed = sm.validate_resource_policy(ResourcePolicy=json.dumps(PUBLIC_POLICY))
    assert failed["PolicyValidationPassed"] is False
    assert (
        failed["ValidationErrors"][0]["CheckName"] and failed["ValidationErrors"][0]["ErrorMessage"]
    )
    assert error(sm.validate_resource_policy, ResourcePolicy="[]")["Code"] == (
        "MalformedPolicyDocumentException"
    )

    deleted = sm.delete_resource_policy(SecretId=arn)
    assert deleted["ARN"] == arn and deleted["Name"] == "tf/policy"
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId=arn)
    assert error(sm.get_resource_policy, SecretId="tf/absent")["Code"] == (
        "ResourceNotFoundException"
    )


def test_random_passwords_follow_the_requested_rules(sm: Any) -> None:
    default = sm.get_random_password()["RandomPassword"]
    assert len(default) == 32
    for kind in (string.ascii_lowercase, string.ascii_uppercase, string.digits, string.punctuation):
        assert any(c in kind for c in default), "one of every type by default"
    assert " " not in default

    long = sm.get_random_password(PasswordLength=4096, IncludeSpace=True)["RandomPassword"]
    assert len(long) == 4096 and " " in long

    only_letters = sm.get_random_password(
        PasswordLength=200, ExcludeNumbers=True, ExcludePunctuation=True, ExcludeCharacters="aeiou"
    )["RandomPassword"]
    assert only_letters.isalpha() and not set("aeiou") & set(only_letters)
    digits = sm.get_random_password(
        PasswordLength=50, ExcludeLowercase=True, ExcludeUppercase=True, ExcludePunctuation=True
    )["RandomPassword"]
    assert digits.isdigit() and len(digits) == 50
    short = sm.get_random_password(PasswordLength=1, RequireEachIncludedType=False)
    assert len(short["RandomPassword"]) == 1

    for refused in (
        {"PasswordLength": 3},  # four types required, three characters
        {"PasswordLength": 4097},
        {
            "ExcludeLowercase": True,
            "ExcludeUppercase": True,
            "ExcludeNumbers": True,
            "ExcludePunctuation": True,
        },
        {"ExcludeCharacters": string.digits, "ExcludeLowercase": True, "ExcludeUppercase": True}
        | {"ExcludePunctuation": True},
    ):
        assert error(sm.get_random_password, **refused)["Code"] == "InvalidParameterException"


def test_every_operation_of_the_model_is_served_or_refused_in_secrets_managers_shape(
    endpoint: str, sm: Any
) -> None:
    model = sm.meta.service_model
    assert set(model.operation_names) == set(SERVED) | set(UNSUPPORTED_OPERATIONS)
    unchecked = client(endpoint, parameter_validation=False)
    for name in sorted(UNSUPPORTED_OPERATIONS):
        refused = error(getattr(unchecked, xform_name(name)))
        assert refused["Code"] == "InvalidRequestException", name
        assert "Steward" in refused["Message"], name

    response = httpx.post(
        f"{endpoint}/",
        content=b"{}",
        headers={
            "X-Amz-Target": "secretsmanager.NoSuchOperation",
            "Content-Type": "application/x-amz-json-1.1",
        },
    )
    assert response.status_code == 400
    assert response.json()["__type"] == "UnknownOperationException"
    assert "Secrets Manager" in response.json()["Message"]


def test_a_store_from_before_policies_and_version_access_gets_their_columns(
    tmp_path: Path,
) -> None:
    settings = Settings(home=tmp_path, zones=ZONES)
    store = Store(settings.db_url)
    service = ClusterService(settings, store)
    record, _ = service.secrets.create("tf/old", string_value="kept")
    with store.engine.begin() as conn:
        conn.execute(text("ALTER TABLE secrets DROP COLUMN resource_policy"))
        conn.execute(text("ALTER TABLE secret_versions DROP COLUMN last_accessed_time"))
        conn.execute(text("DROP TABLE alembic_version"))  # as a store of before Alembic
    store.close()

    reopened = Store(settings.db_url)
    secrets = ClusterService(settings, reopened).secrets
    assert secrets.get_value("tf/old").string == "kept"
    assert secrets.resource_policy("tf/old").resource_policy is None
    _, versions = secrets.list_versions(record.arn)
    assert versions[0].last_accessed_time is not None
    reopened.close()


def test_deprecated_versions_go_past_100_versions_but_none_younger_than_a_day(
    tmp_path: Path,
) -> None:
    settings = Settings(home=tmp_path, zones=ZONES)
    store = Store(settings.db_url)
    records = ClusterService(settings, store).secrets.records
    now = datetime.now(UTC)
    arn = "arn:aws:secretsmanager:us-east-1:000000000000:secret:pruned-abcdef"
    records.add(SecretRecord(arn, "pruned", now, now), None)

    def add(index: int, age: timedelta) -> None:
        made = now - age
        version = SealedVersion(arn, f"{index:032d}", b"sealed", False, ["AWSCURRENT"], made)
        records.add_version(version, now)

    for i in range(105):
        add(i, timedelta(days=3) - timedelta(minutes=i))
    versions = records.versions(arn)
    assert len(versions) == 100
    assert versions[0].version_id == f"{5:032d}", "the oldest deprecated versions went"
    assert [v.stages for v in versions[-2:]] == [["AWSPREVIOUS"], ["AWSCURRENT"]]

    for i in range(105, 110):
        add(i, timedelta(hours=1))
    assert len(records.versions(arn)) == 100, "old deprecated versions still go"
    young = SecretRecord(arn.replace("pruned", "young"), "young", now, now)
    records.add(young, None)
    for i in range(102):
        version = SealedVersion(young.arn, f"{i:032d}", b"sealed", False, ["AWSCURRENT"], now)
        records.add_version(version, now)
    assert len(records.versions(young.arn)) == 102, "none younger than a day goes"
    store.close()

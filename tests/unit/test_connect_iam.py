"""MSK Connect's routes under IAM: each request is `kafkaconnect:<Operation>` on the ARN its path
names, signed for `kafkaconnect`; a user whose policies do not allow it gets MSK Connect's
ForbiddenException naming the action, and its tags route is not mistaken for MSK's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from steward.api.app import build_app
from steward.api.auth.keys import NewAccessKey, create_access_key
from steward.api.auth.verifier import SigV4Verifier
from steward.connect.service import LOCAL_FILES_BUCKET_ARN, MskConnect
from steward.connect.store import ConnectRecords
from steward.control.service import ClusterService
from steward.settings import Settings, Zone
from steward.store.store import Store
from tests.unit.serving import serving

ZONES = (Zone("az-a", "127.85.1"), Zone("az-b", "127.85.2"), Zone("az-c", "127.85.3"))
ACCOUNT = "123456789012"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ClusterService]:
    settings = Settings(home=tmp_path, zones=ZONES, account_id=ACCOUNT)
    store = Store(settings.db_url)
    yield ClusterService(settings, store)
    store.close()


@pytest.fixture
def endpoint(service: ClusterService) -> Iterator[str]:
    connect = MskConnect(ConnectRecords(service.store.engine), "us-east-1", ACCOUNT)
    verifier = SigV4Verifier(service.settings.region, service.iam.signing_secret)
    with serving(build_app(service, verifier, connect=connect)) as url:
        yield url


def client(endpoint: str, name: str, key_id: str, secret: str) -> Any:
    return boto3.client(
        name,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
    )


def test_a_user_may_only_do_what_its_policies_allow_in_msk_connect(
    service: ClusterService, endpoint: str, tmp_path: Path
) -> None:
    admin_key: NewAccessKey = create_access_key(service.store.access_keys, "tests")
    iam = client(endpoint, "iam", admin_key.access_key_id, admin_key.secret_access_key)
    admin = client(endpoint, "kafkaconnect", admin_key.access_key_id, admin_key.secret_access_key)
    archive = tmp_path / "p.jar"
    archive.write_bytes(b"PK")
    plugin = admin.create_custom_plugin(
        name="p",
        contentType="JAR",
        location={"s3Location": {"bucketArn": LOCAL_FILES_BUCKET_ARN, "fileKey": str(archive)}},
        tags={"team": "data"},
    )["customPluginArn"]

    iam.create_user(UserName="reader")
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["kafkaconnect:Describe*", "kafkaconnect:List*"],
                "Resource": "*",
            }
        ],
    }
    iam.put_user_policy(UserName="reader", PolicyName="main", PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    reader = client(endpoint, "kafkaconnect", key["AccessKeyId"], key["SecretAccessKey"])

    assert reader.describe_custom_plugin(customPluginArn=plugin)["name"] == "p"
    assert reader.list_tags_for_resource(resourceArn=plugin)["tags"] == {"team": "data"}
    with pytest.raises(ClientError) as refused:
        reader.delete_custom_plugin(customPluginArn=plugin)
    error = refused.value.response["Error"]
    assert error["Code"] == "ForbiddenException"
    assert "kafkaconnect:DeleteCustomPlugin" in error["Message"] and plugin in error["Message"]
    with pytest.raises(ClientError) as untag:
        reader.untag_resource(resourceArn=plugin, tagKeys=["team"])
    assert "kafkaconnect:UntagResource" in untag.value.response["Error"]["Message"]
    assert admin.list_tags_for_resource(resourceArn=plugin)["tags"] == {"team": "data"}

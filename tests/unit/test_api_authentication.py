"""The API app with SigV4 on, through boto3 and raw HTTP: every route wants a signature by a
key of the store (MSK's, the ARN-in-path ones and Steward's own), `/healthz` does not, and a
refusal has MSK's shape."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import boto3
import httpx
import pytest
from botocore.credentials import Credentials

from steward.api.auth.keys import NewAccessKey, create_access_key
from steward.client.signing import SigV4HttpxAuth
from steward.settings import Zone
from steward.store.store import Store
from tests.unit.serving import signed_endpoint_fixtures

ZONES = (Zone("az-a", "127.78.1"), Zone("az-b", "127.78.2"), Zone("az-c", "127.78.3"))
UNKNOWN_ARN = "arn:aws:kafka:us-east-1:000000000000:cluster/ghost/0b0d1b4e-1c2a-4f7e-9a55-1-1"


home, store, key, endpoint = signed_endpoint_fixtures("auth", ZONES)


def kafka(endpoint: str, key_id: str, secret: str, region: str = "us-east-1") -> Any:
    return boto3.client(
        "kafka",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
    )


def error_code(call: Any, **kwargs: Any) -> str:
    with pytest.raises(Exception) as raised:
        call(**kwargs)
    return str(raised.value.response["Error"]["Code"])  # type: ignore[attr-defined]


def test_boto3_with_the_key_calls_every_kind_of_route(endpoint: str, key: NewAccessKey) -> None:
    client = kafka(endpoint, key.access_key_id, key.secret_access_key)
    assert (
        client.list_clusters_v2(ClusterNameFilter="a b:c/d", MaxResults=5)["ClusterInfoList"] == []
    )
    config = client.create_configuration(
        Name="signed", KafkaVersions=["4.3.1"], ServerProperties=b"num.partitions=3\n"
    )
    arn = config["Arn"]
    assert client.describe_configuration(Arn=arn)["Name"] == "signed"
    client.tag_resource(ResourceArn=arn, Tags={"team": "data", "env": "dev"})
    client.untag_resource(ResourceArn=arn, TagKeys=["team", "env"])
    assert client.list_tags_for_resource(ResourceArn=arn)["Tags"] == {}
    with pytest.raises(client.exceptions.NotFoundException):
        client.describe_cluster_v2(ClusterArn=UNKNOWN_ARN)


def test_a_wrong_secret_is_forbidden_and_an_unknown_key_unauthorized(
    endpoint: str, key: NewAccessKey
) -> None:
    wrong = kafka(endpoint, key.access_key_id, "x" * 40)
    assert error_code(wrong.list_clusters_v2) == "ForbiddenException"
    unknown = kafka(endpoint, "STWNOSUCHKEY00000000", key.secret_access_key)
    assert error_code(unknown.list_clusters_v2) == "UnauthorizedException"
    elsewhere = kafka(endpoint, key.access_key_id, key.secret_access_key, region="eu-west-1")
    assert error_code(elsewhere.list_clusters_v2) == "ForbiddenException"


def test_unsigned_requests_get_msk_unauthorized_on_any_path(endpoint: str) -> None:
    for method, path in (
        ("GET", "/v1/clusters"),
        ("POST", "/v1/configurations"),
        ("GET", f"/steward/v1/clusters/{quote(UNKNOWN_ARN, safe='')}/health"),
        ("GET", "/no/such/route"),
    ):
        response = httpx.request(method, f"{endpoint}{path}")
        assert response.status_code == 401, path
        assert response.headers["x-amzn-ErrorType"] == "UnauthorizedException"
        assert "steward access-key create" in response.json()["message"]


def test_healthz_needs_no_signature(endpoint: str) -> None:
    assert httpx.get(f"{endpoint}/healthz").json() == {"status": "ok"}


def test_httpx_signed_like_the_cli_reaches_stewards_own_routes(
    endpoint: str, key: NewAccessKey
) -> None:
    auth = SigV4HttpxAuth(Credentials(key.access_key_id, key.secret_access_key), "us-east-1")
    with httpx.Client(base_url=endpoint, auth=auth) as http:
        health = http.get(f"/steward/v1/clusters/{quote(UNKNOWN_ARN, safe='')}/health")
        assert health.status_code in (200, 404)
        assert health.headers.get("x-amzn-ErrorType") != "UnauthorizedException"
        listed = http.get("/v1/clusters", params={"clusterNameFilter": "a b:c/d+e"})
        assert listed.status_code == 200, listed.text
        created = http.post(
            "/v1/configurations",
            json={"name": "by-httpx", "serverProperties": "bnVtLnBhcnRpdGlvbnM9Mw=="},
        )
        assert created.status_code == 200, created.text
    wrong = SigV4HttpxAuth(Credentials(key.access_key_id, "y" * 40), "us-east-1")
    response = httpx.get(f"{endpoint}/v1/clusters", auth=wrong)
    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "ForbiddenException"


def test_a_deleted_key_is_refused_at_once(endpoint: str, store: Store) -> None:
    made = create_access_key(store.access_keys, "short-lived")
    client = kafka(endpoint, made.access_key_id, made.secret_access_key)
    client.list_clusters_v2()
    assert store.access_keys.remove(made.access_key_id)
    assert error_code(client.list_clusters_v2) == "UnauthorizedException"

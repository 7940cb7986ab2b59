"""The MSK wire format, checked with boto3 and raw HTTP against the real API app (no reconciler,
so clusters stay CREATING): encoded ARNs in paths, pagination, tags, configurations, and MSK's
error shapes for input botocore lets through."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError

from steward.api.app import build_app
from steward.api.auth.guard import AcceptAnyRequest
from steward.control.service import ClusterService
from steward.settings import Settings, Zone
from steward.store.store import Store
from tests.unit.serving import serving

ZONES = (Zone("az-a", "127.77.1"), Zone("az-b", "127.77.2"), Zone("az-c", "127.77.3"))


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home: Path = tmp_path_factory.mktemp("api")
    settings = Settings(home=home, zones=ZONES)
    service = ClusterService(settings, Store(settings.db_url))
    with serving(build_app(service, AcceptAnyRequest())) as url:
        yield url


@pytest.fixture
def kafka(endpoint: str) -> Any:
    return boto3.client(
        "kafka",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def provisioned(brokers: int = 3, **extra: Any) -> dict[str, Any]:
    return {
        "KafkaVersion": "4.3.1",
        "NumberOfBrokerNodes": brokers,
        "BrokerNodeGroupInfo": {
            "InstanceType": "kafka.m5.large",
            "ClientSubnets": ["az-a", "az-b", "az-c"],
            "StorageInfo": {"EbsStorageInfo": {"VolumeSize": 10}},
        },
        **extra,
    }


def error(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return raised.value.response


def test_a_created_cluster_is_described_through_its_encoded_arn(kafka: Any) -> None:
    created = kafka.create_cluster(ClusterName="described", Tags={"env": "dev"}, **provisioned())
    assert created["State"] == "CREATING"
    info = kafka.describe_cluster(ClusterArn=created["ClusterArn"])["ClusterInfo"]
    assert info["ClusterArn"] == created["ClusterArn"]
    assert info["BrokerNodeGroupInfo"]["StorageInfo"]["EbsStorageInfo"]["VolumeSize"] == 10
    # MSK's default when the request leaves encryption in transit out: TLS only, in-cluster too
    assert info["EncryptionInfo"]["EncryptionInTransit"] == {
        "ClientBroker": "TLS",
        "InCluster": True,
    }
    assert info["ClientAuthentication"]["Unauthenticated"]["Enabled"] is True
    assert info["Tags"] == {"env": "dev"}
    assert info["CreationTime"].tzinfo is not None
    v2 = kafka.describe_cluster_v2(ClusterArn=created["ClusterArn"])["ClusterInfo"]
    assert v2["ClusterType"] == "PROVISIONED"
    assert v2["Provisioned"]["NumberOfBrokerNodes"] == 3
    (operation,) = kafka.list_cluster_operations(ClusterArn=created["ClusterArn"])[
        "ClusterOperationInfoList"
    ]
    assert operation["OperationType"] == "CREATE"
    assert operation["OperationState"] == "PENDING"
    assert operation["TargetClusterInfo"]["NumberOfBrokerNodes"] == 3
    described = kafka.describe_cluster_operation(ClusterOperationArn=operation["OperationArn"])
    assert described["ClusterOperationInfo"]["OperationSteps"][0]["StepName"] == "INSTALL_KAFKA"


def test_listing_pages_through_every_cluster_once(kafka: Any) -> None:
    for i in range(7):
        kafka.create_cluster_v2(ClusterName=f"paged-{i}", Provisioned=provisioned())
    first = kafka.list_clusters_v2(ClusterNameFilter="paged-", MaxResults=3)
    assert len(first["ClusterInfoList"]) == 3 and first["NextToken"]
    pages = kafka.get_paginator("list_clusters").paginate(
        ClusterNameFilter="paged-", PaginationConfig={"PageSize": 3}
    )
    names = [c["ClusterName"] for p in pages for c in p["ClusterInfoList"]]
    assert names == [f"paged-{i}" for i in range(7)]
    last = kafka.list_clusters_v2(ClusterNameFilter="paged-", MaxResults=7)
    assert "NextToken" not in last


def test_a_bad_page_token_or_size_is_a_bad_request(kafka: Any) -> None:
    response = error(kafka.list_clusters, NextToken="not-a-token")
    assert response["Error"]["Code"] == "BadRequestException"
    assert response["InvalidParameter"] == "nextToken"
    response = error(kafka.list_clusters, MaxResults=101)
    assert response["Error"]["Code"] == "BadRequestException"
    assert response["InvalidParameter"] == "maxResults"


def test_tags_are_added_listed_and_removed(kafka: Any) -> None:
    arn = kafka.create_cluster_v2(ClusterName="tagged", Provisioned=provisioned())["ClusterArn"]
    kafka.tag_resource(ResourceArn=arn, Tags={"a": "1", "b": "2", "c": "3"})
    kafka.untag_resource(ResourceArn=arn, TagKeys=["a", "b"])
    assert kafka.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"c": "3"}
    missing = arn.replace("tagged", "ghost")
    assert error(kafka.list_tags_for_resource, ResourceArn=missing)["Error"]["Code"] == (
        "NotFoundException"
    )


def test_configuration_revisions_keep_their_properties(kafka: Any) -> None:
    config = kafka.create_configuration(
        Name="revised",
        Description="partitions",
        KafkaVersions=["4.3.1"],
        ServerProperties=b"num.partitions=2\n",
    )
    updated = kafka.update_configuration(
        Arn=config["Arn"], ServerProperties=b"num.partitions=4\n", Description="more"
    )
    assert updated["LatestRevision"]["Revision"] == 2
    first = kafka.describe_configuration_revision(Arn=config["Arn"], Revision=1)
    assert first["ServerProperties"] == b"num.partitions=2\n"
    revisions = kafka.list_configuration_revisions(Arn=config["Arn"])["Revisions"]
    assert [(r["Revision"], r["Description"]) for r in revisions] == [
        (1, "partitions"),
        (2, "more"),
    ]
    described = kafka.describe_configuration(Arn=config["Arn"])
    assert described["LatestRevision"]["Revision"] == 2
    # An update describes its revision; the configuration keeps its own description.
    assert described["Description"] == "partitions"
    response = error(kafka.describe_configuration_revision, Arn=config["Arn"], Revision=3)
    assert response["Error"]["Code"] == "NotFoundException"
    again = error(
        kafka.create_configuration, Name="revised", ServerProperties=b"num.partitions=1\n"
    )
    assert again["Error"]["Code"] == "ConflictException"


def test_a_stale_current_version_does_not_delete(kafka: Any) -> None:
    arn = kafka.create_cluster_v2(ClusterName="versioned", Provisioned=provisioned())["ClusterArn"]
    response = error(kafka.delete_cluster, ClusterArn=arn, CurrentVersion="KSTALE")
    assert response["Error"]["Code"] == "BadRequestException"
    assert response["InvalidParameter"] == "currentVersion"
    assert kafka.describe_cluster(ClusterArn=arn)["ClusterInfo"]["State"] == "CREATING"
    assert kafka.delete_cluster(ClusterArn=arn)["State"] == "DELETING"


def test_serverless_and_unavailable_features_are_refused(kafka: Any) -> None:
    response = error(
        kafka.create_cluster_v2,
        ClusterName="sl",
        Serverless={"VpcConfigs": [{"SubnetIds": ["az-a"]}]},
    )
    assert response["InvalidParameter"] == "serverless"
    response = error(
        kafka.create_cluster_v2,
        ClusterName="tiered",
        Provisioned=provisioned(StorageMode="TIERED"),
    )
    assert response["InvalidParameter"] == "storageMode"
    names = [c["ClusterName"] for c in kafka.list_clusters_v2()["ClusterInfoList"]]
    assert "sl" not in names and "tiered" not in names


def test_kafka_versions_are_listed(kafka: Any) -> None:
    versions = kafka.list_kafka_versions()["KafkaVersions"]
    assert {"Version": "4.3.1", "Status": "ACTIVE"} in versions


def msk_error(response: httpx.Response) -> tuple[int, str, dict[str, Any]]:
    return response.status_code, response.headers["x-amzn-ErrorType"], response.json()


def test_members_of_the_wrong_type_name_the_member(endpoint: str) -> None:
    """What the AWS CLI or a hand-written request may send, botocore's validation aside."""
    body: dict[str, Any] = {
        "clusterName": "typed",
        "kafkaVersion": "4.3.1",
        "numberOfBrokerNodes": "three",
        "brokerNodeGroupInfo": {"instanceType": "kafka.m5.large", "clientSubnets": ["az-a"]},
    }
    status, kind, payload = msk_error(httpx.post(f"{endpoint}/v1/clusters", json=body))
    assert (status, kind) == (400, "BadRequestException")
    assert payload["invalidParameter"] == "numberOfBrokerNodes"
    body["numberOfBrokerNodes"] = 1
    body["brokerNodeGroupInfo"]["clientSubnets"] = "az-a"
    _, _, payload = msk_error(httpx.post(f"{endpoint}/v1/clusters", json=body))
    assert payload["invalidParameter"] == "brokerNodeGroupInfo.clientSubnets"
    del body["brokerNodeGroupInfo"]
    _, _, payload = msk_error(httpx.post(f"{endpoint}/v1/clusters", json=body))
    assert payload["invalidParameter"] == "brokerNodeGroupInfo"
    assert "required" in payload["message"]


def test_a_body_that_is_not_json_is_a_bad_request(endpoint: str) -> None:
    response = httpx.post(
        f"{endpoint}/v1/configurations",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    status, kind, payload = msk_error(response)
    assert (status, kind) == (400, "BadRequestException")
    assert "JSON" in payload["message"]
    config = {"name": "b64", "serverProperties": "%%% not base64"}
    _, _, payload = msk_error(httpx.post(f"{endpoint}/v1/configurations", json=config))
    assert payload["invalidParameter"] == "serverProperties"


def test_an_unknown_route_is_not_found(endpoint: str) -> None:
    status, kind, _ = msk_error(httpx.get(f"{endpoint}/v1/no-such-thing"))
    assert (status, kind) == (404, "NotFoundException")


def test_an_arn_must_stay_one_path_segment(endpoint: str) -> None:
    """An ARN sent with its slashes unencoded does not reach the cluster routes by accident."""
    arn = "arn:aws:kafka:us-east-1:000000000000:cluster/x/0b0d1b4e-1c2a-4f7e-9a55-1e3f7a2c9d11-1"
    encoded = quote(arn, safe="")
    status, kind, payload = msk_error(httpx.get(f"{endpoint}/v1/clusters/{encoded}"))
    assert (status, kind) == (404, "NotFoundException")
    assert arn in payload["message"]
    status, _, _ = msk_error(httpx.get(f"{endpoint}/v1/clusters/{arn}"))
    assert status == 404


def test_every_response_carries_a_request_id(endpoint: str) -> None:
    response = httpx.get(f"{endpoint}/v1/kafka-versions")
    assert response.headers["x-amzn-RequestId"]

"""Every operation of botocore's `kafka` model has an answer in Steward (served, or MSK's
BadRequestException saying what is not built), never "no operation"; and the cluster policy
(Put/Get/DeleteClusterPolicy) through boto3."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import botocore.session
import httpx
import pytest
from botocore.exceptions import ClientError

from steward.api.app import build_app
from steward.api.auth.guard import AcceptAnyRequest
from steward.api.msk.app import msk_router
from steward.control.service import ClusterService
from steward.settings import Settings, Zone
from steward.store.store import Store
from tests.unit.clusters import ZONE_NAMES
from tests.unit.serving import kafka_client, serving

ZONES = (Zone("az-a", "127.85.1"), Zone("az-b", "127.85.2"), Zone("az-c", "127.85.3"))
MODEL = botocore.session.get_session().get_service_model("kafka")
OPERATIONS = sorted(MODEL.operation_names)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> ClusterService:
    home: Path = tmp_path_factory.mktemp("operations")
    settings = Settings(home=home, zones=ZONES)
    return ClusterService(settings, Store(settings.db_url))


@pytest.fixture(scope="module")
def endpoint(service: ClusterService) -> Iterator[str]:
    with serving(build_app(service, AcceptAnyRequest())) as url:
        yield url


@pytest.fixture(scope="module")
def kafka(endpoint: str) -> Any:
    return kafka_client(endpoint)


def created(kafka: Any, name: str) -> str:
    return kafka.create_cluster(
        ClusterName=name,
        KafkaVersion="4.3.1",
        NumberOfBrokerNodes=3,
        BrokerNodeGroupInfo={"InstanceType": "kafka.m7g.large", "ClientSubnets": ZONE_NAMES},
    )["ClusterArn"]


@pytest.fixture(scope="module")
def cluster_arn(kafka: Any) -> str:
    return created(kafka, "policed")


@pytest.fixture(scope="module")
def probed_arn(kafka: Any) -> str:
    """A cluster that every operation of the model is sent to (DeleteCluster among them)."""
    return created(kafka, "probed")


def uri_of(operation: str, cluster_arn: str) -> tuple[str, str]:
    """The operation's method and path, its placeholders filled as boto3 fills them."""
    http = MODEL.operation_model(operation).http
    path = http["requestUri"].split("?", 1)[0]

    def fill(match: re.Match[str]) -> str:
        name = match.group(1).rstrip("+")
        value = cluster_arn if name == "clusterArn" else f"{cluster_arn}/{name}"
        if name == "revision":
            value = "1"
        return quote(value, safe="")

    return http["method"], re.sub(r"\{([^}]+)\}", fill, path)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_operation_of_the_model_is_routed_to_itself(operation: str) -> None:
    method, path = uri_of(operation, "arn:aws:kafka:us-east-1:1:cluster/c/u-1")
    found = msk_router().resolve(method, path)
    assert found is not None, f"{operation}: {method} {path} has no route"
    assert found[0].operation == operation


@pytest.mark.parametrize("operation", OPERATIONS)
def test_no_operation_of_the_model_answers_no_operation(
    endpoint: str, probed_arn: str, operation: str
) -> None:
    method, path = uri_of(operation, probed_arn)
    response = httpx.request(method, endpoint + path, json={})
    if response.status_code == 404:
        assert response.headers["x-amzn-ErrorType"] == "NotFoundException"
        assert "no operation" not in response.json()["message"]


POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "123456789012"},
            "Action": ["kafka:CreateVpcConnection", "kafka:GetBootstrapBrokers"],
            "Resource": "*",
        }
    ],
}


def error(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return raised.value.response


def test_a_cluster_policy_is_put_got_replaced_and_deleted(kafka: Any, cluster_arn: str) -> None:
    document = json.dumps(POLICY, indent=2)
    first = kafka.put_cluster_policy(ClusterArn=cluster_arn, Policy=document)["CurrentVersion"]
    got = kafka.get_cluster_policy(ClusterArn=cluster_arn)
    assert (got["Policy"], got["CurrentVersion"]) == (document, first)
    # A change naming the current version replaces the policy and gives it a new version.
    second = kafka.put_cluster_policy(
        ClusterArn=cluster_arn, Policy=json.dumps(POLICY), CurrentVersion=first
    )["CurrentVersion"]
    assert second != first
    # A change naming a version that is no longer current is refused.
    stale = error(
        kafka.put_cluster_policy, ClusterArn=cluster_arn, Policy=document, CurrentVersion=first
    )
    assert stale["Error"]["Code"] == "BadRequestException"
    assert stale["InvalidParameter"] == "currentVersion"
    assert kafka.get_cluster_policy(ClusterArn=cluster_arn)["CurrentVersion"] == second
    kafka.delete_cluster_policy(ClusterArn=cluster_arn)
    gone = error(kafka.get_cluster_policy, ClusterArn=cluster_arn)
    assert gone["Error"]["Code"] == "NotFoundException"
    kafka.delete_cluster_policy(ClusterArn=cluster_arn)  # nothing left to delete: no error


@pytest.mark.parametrize(
    ("document", "says"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "JSON object"),
        (json.dumps({"Version": "2012-10-17"}), "Statement"),
        (json.dumps({"Statement": [{"Effect": "Maybe"}]}), "Effect"),
        (json.dumps({"Statement": [{"Effect": "Allow", "Action": "kafka:*"}]}), "Principal"),
        (json.dumps({**POLICY, "Version": "2020-01-01"}), "Version"),
        ("{" + " " * 20480 + "}", "at most"),
    ],
)
def test_a_document_that_is_no_policy_is_refused(
    kafka: Any, cluster_arn: str, document: str, says: str
) -> None:
    response = error(kafka.put_cluster_policy, ClusterArn=cluster_arn, Policy=document)
    assert response["Error"]["Code"] == "BadRequestException"
    assert response["InvalidParameter"] == "policy"
    assert says in response["Error"]["Message"]


def test_the_policy_of_an_unknown_cluster_is_not_found(kafka: Any, cluster_arn: str) -> None:
    ghost = cluster_arn.replace("policed", "ghost")
    for call, kwargs in (
        (kafka.put_cluster_policy, {"Policy": json.dumps(POLICY)}),
        (kafka.get_cluster_policy, {}),
        (kafka.delete_cluster_policy, {}),
    ):
        assert error(call, ClusterArn=ghost, **kwargs)["Error"]["Code"] == "NotFoundException"


def test_a_deleted_cluster_takes_its_policy_along(kafka: Any, service: ClusterService) -> None:
    arn = created(kafka, "short-lived")
    kafka.put_cluster_policy(ClusterArn=arn, Policy=json.dumps(POLICY))
    service.store.remove_cluster(arn)
    assert service.resource_policies.records.get(arn) is None


def test_unbuilt_features_are_refused_with_what_to_use_instead(
    kafka: Any, cluster_arn: str
) -> None:
    version = kafka.describe_cluster(ClusterArn=cluster_arn)["ClusterInfo"]["CurrentVersion"]
    refused = error(
        kafka.update_connectivity,
        ClusterArn=cluster_arn,
        CurrentVersion=version,
        ConnectivityInfo={"PublicAccess": {"Type": "SERVICE_PROVIDED_EIPS"}},
    )
    assert refused["Error"]["Code"] == "BadRequestException"
    assert "GetBootstrapBrokers" in refused["Error"]["Message"]
    refused = error(
        kafka.start_topic_reassignment,
        ClusterArn=cluster_arn,
        TopicsToInclude=[".*"],
        TargetInstanceType="express.m7g.large",
    )
    assert refused["Error"]["Code"] == "BadRequestException"
    assert "Express" in refused["Error"]["Message"]
    refused = error(
        kafka.create_replicator,
        ReplicatorName="copy",
        ServiceExecutionRoleArn="arn:aws:iam::1:role/r",
        KafkaClusters=[],
        ReplicationInfoList=[],
    )
    assert "MirrorMaker" in refused["Error"]["Message"]


def test_lists_of_unbuilt_things_are_empty(kafka: Any, cluster_arn: str) -> None:
    assert kafka.list_vpc_connections()["VpcConnections"] == []
    assert kafka.list_replicators()["Replicators"] == []
    assert kafka.list_client_vpc_connections(ClusterArn=cluster_arn)["ClientVpcConnections"] == []
    assert kafka.list_topic_reassignments(ClusterArn=cluster_arn)["Reassignments"] == []
    ghost = cluster_arn.replace("policed", "ghost")
    missing = error(kafka.list_topic_reassignments, ClusterArn=ghost)
    assert missing["Error"]["Code"] == "NotFoundException"

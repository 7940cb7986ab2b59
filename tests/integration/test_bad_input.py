"""Bad input gets MSK's error types and loses nothing; a create that Kafka rejects ends FAILED with
its reason, and DeleteCluster cleans it up."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.harness import Steward, provisioned

pytestmark = pytest.mark.integration

UNKNOWN_ARN = (
    "arn:aws:kafka:us-east-1:000000000000:cluster/ghost/0b0d1b4e-1c2a-4f7e-9a55-1e3f7a2c9d11-1"
)


def error_of(call: Any, **kwargs: Any) -> tuple[str, str, str | None]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    response = raised.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response.get("InvalidParameter")


def test_unknown_cluster_is_not_found(steward: Steward) -> None:
    client = steward.client()
    for call in (
        client.describe_cluster,
        client.describe_cluster_v2,
        client.get_bootstrap_brokers,
        client.list_nodes,
        client.delete_cluster,
    ):
        code, message, _ = error_of(call, ClusterArn=UNKNOWN_ARN)
        assert code == "NotFoundException"
        assert UNKNOWN_ARN in message


@pytest.mark.parametrize(
    ("overrides", "parameter"),
    [
        ({"NumberOfBrokerNodes": 4}, "numberOfBrokerNodes"),
        ({"NumberOfBrokerNodes": 18}, "numberOfBrokerNodes"),
        ({"KafkaVersion": "9.9.9"}, "kafkaVersion"),
        ({"KafkaVersion": "2.8.1"}, "kafkaVersion"),
    ],
)
def test_invalid_create_is_a_bad_request_naming_the_parameter(
    steward: Steward, overrides: dict[str, Any], parameter: str
) -> None:
    client = steward.client()
    code, message, invalid = error_of(
        client.create_cluster_v2, ClusterName="bad", Provisioned=provisioned(**overrides)
    )
    assert code == "BadRequestException"
    assert invalid == parameter, message
    assert client.list_clusters_v2()["ClusterInfoList"] == []


def test_unknown_zone_is_a_bad_request(steward: Steward) -> None:
    client = steward.client()
    code, message, invalid = error_of(
        client.create_cluster_v2,
        ClusterName="bad",
        Provisioned=provisioned(zones=("az-q",), brokers=1),
    )
    assert code == "BadRequestException"
    assert invalid == "brokerNodeGroupInfo.clientSubnets"
    assert "az-q" in message


def test_malformed_server_properties_are_refused(steward: Steward) -> None:
    client = steward.client()
    code, message, invalid = error_of(
        client.create_configuration, Name="broken", ServerProperties=b"num.partitions=lots\n"
    )
    assert code == "BadRequestException"
    assert invalid == "serverProperties"
    assert "num.partitions" in message
    code, _, _ = error_of(
        client.create_configuration, Name="reserved", ServerProperties=b"listeners=x://:1\n"
    )
    assert code == "BadRequestException"
    assert client.list_configurations()["Configurations"] == []


def test_duplicate_name_conflicts_and_a_failed_create_is_cleaned_up(steward: Steward) -> None:
    """A configuration Kafka refuses at start-up (a value of the right type that its validator
    rejects) makes the create fail with Kafka's reason; delete removes everything."""
    client = steward.client()
    config = client.create_configuration(
        Name="kafka-refuses", ServerProperties=b"num.io.threads=0\n", KafkaVersions=["4.3.1"]
    )
    arn = client.create_cluster_v2(
        ClusterName="doomed",
        Provisioned=provisioned(
            brokers=1,
            zones=("az-a",),
            ConfigurationInfo={"Arn": config["Arn"], "Revision": 1},
        ),
    )["ClusterArn"]
    code, _, invalid = error_of(
        client.create_cluster_v2, ClusterName="doomed", Provisioned=provisioned()
    )
    assert code == "ConflictException"
    assert invalid == "clusterName"

    info = steward.wait_for_state(arn, {"FAILED", "ACTIVE"}, timeout=180)
    assert info["State"] == "FAILED"
    assert "num.io.threads" in info["StateInfo"]["Message"]
    (op,) = client.list_cluster_operations_v2(ClusterArn=arn)["ClusterOperationInfoList"]
    assert op["OperationState"] == "UPDATE_FAILED"
    assert steward.kafka_pids() == [] or _eventually_no_kafka(steward)

    client.delete_cluster(ClusterArn=arn)
    steward.wait_until_gone(arn)
    assert steward.kafka_pids() == []
    assert list((steward.home / "agents").rglob("meta.properties")) == []


def _eventually_no_kafka(steward: Steward, timeout: float = 30) -> bool:
    deadline = time.time() + timeout
    while steward.kafka_pids() and time.time() < deadline:
        time.sleep(0.2)
    return steward.kafka_pids() == []

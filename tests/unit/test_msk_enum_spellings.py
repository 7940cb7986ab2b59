"""MSK's enum-like inputs as users write them: MSK's developer guide spells the storage keyword
`All`, Terraform passes `enhanced_monitoring` in any case, and the service takes them. Steward
takes every spelling of a value in any case, answers with MSK's spelling, and refuses anything
else with a BadRequestException naming the member and the values it takes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from steward.api.app import build_app
from steward.api.auth.guard import AcceptAnyRequest
from steward.control.service import ClusterService
from steward.settings import Settings, Zone
from steward.store.store import Store
from tests.unit.clusters import active_cluster
from tests.unit.serving import kafka_client, serving

ZONES = (Zone("az-a", "127.78.1"), Zone("az-b", "127.78.2"), Zone("az-c", "127.78.3"))


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> ClusterService:
    home: Path = tmp_path_factory.mktemp("enums")
    settings = Settings(home=home, zones=ZONES)
    return ClusterService(settings, Store(settings.db_url))


@pytest.fixture(scope="module")
def endpoint(service: ClusterService) -> Iterator[str]:
    with serving(build_app(service, AcceptAnyRequest())) as url:
        yield url


@pytest.fixture
def kafka(endpoint: str) -> Any:
    return kafka_client(endpoint)


def provisioned(**group: Any) -> dict[str, Any]:
    return {
        "KafkaVersion": "4.3.1",
        "NumberOfBrokerNodes": 3,
        "BrokerNodeGroupInfo": {
            "InstanceType": "kafka.m5.large",
            "ClientSubnets": ["az-a", "az-b", "az-c"],
            "StorageInfo": {"EbsStorageInfo": {"VolumeSize": 10}},
            **group,
        },
    }


def refusal(call: Any, **kwargs: Any) -> tuple[str, str, str]:
    """(error code, message, invalid parameter) of a refused call."""
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    response = raised.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["InvalidParameter"]


def test_storage_grows_for_the_keyword_all_as_the_developer_guide_spells_it(
    kafka: Any, service: ClusterService
) -> None:
    cluster = active_cluster(service, "grown-all")
    started = kafka.update_broker_storage(
        ClusterArn=cluster.arn,
        CurrentVersion=cluster.current_version,
        TargetBrokerEBSVolumeInfo=[{"KafkaBrokerNodeId": "All", "VolumeSizeGB": 20}],
    )
    operation = kafka.describe_cluster_operation(
        ClusterOperationArn=started["ClusterOperationArn"]
    )["ClusterOperationInfo"]
    assert operation["TargetClusterInfo"]["BrokerEBSVolumeInfo"] == [
        {"KafkaBrokerNodeId": "ALL", "VolumeSizeGB": 20}
    ]


@pytest.mark.parametrize("keyword", ["all", "ALL"])
def test_storage_takes_all_in_any_case(kafka: Any, service: ClusterService, keyword: str) -> None:
    cluster = active_cluster(service, f"grown-{keyword}-keyword")
    kafka.update_broker_storage(
        ClusterArn=cluster.arn,
        CurrentVersion=cluster.current_version,
        TargetBrokerEBSVolumeInfo=[{"KafkaBrokerNodeId": keyword, "VolumeSizeGB": 20}],
    )
    assert service.describe_cluster(cluster.arn).spec.broker_node_group.volume_size_gb == 20


def test_storage_for_an_unknown_broker_keyword_is_refused(
    kafka: Any, service: ClusterService
) -> None:
    cluster = active_cluster(service, "grown-bad")
    code, message, parameter = refusal(
        kafka.update_broker_storage,
        ClusterArn=cluster.arn,
        CurrentVersion=cluster.current_version,
        TargetBrokerEBSVolumeInfo=[{"KafkaBrokerNodeId": "every", "VolumeSizeGB": 20}],
    )
    assert code == "BadRequestException"
    assert "ALL" in message
    assert parameter == "targetBrokerEBSVolumeInfo"


def test_enum_values_of_a_new_cluster_are_read_in_any_case(kafka: Any) -> None:
    created = kafka.create_cluster(
        ClusterName="lower-case",
        EnhancedMonitoring="per_topic_per_broker",
        StorageMode="local",
        EncryptionInfo={"EncryptionInTransit": {"ClientBroker": "tls_plaintext"}},
        **provisioned(
            BrokerAZDistribution="default",
            ConnectivityInfo={"PublicAccess": {"Type": "disabled"}, "NetworkType": "ipv4"},
        ),
    )
    info = kafka.describe_cluster(ClusterArn=created["ClusterArn"])["ClusterInfo"]
    assert info["EnhancedMonitoring"] == "PER_TOPIC_PER_BROKER"
    assert info["StorageMode"] == "LOCAL"
    assert info["EncryptionInfo"]["EncryptionInTransit"]["ClientBroker"] == "TLS_PLAINTEXT"
    assert info["BrokerNodeGroupInfo"]["BrokerAZDistribution"] == "DEFAULT"


@pytest.mark.parametrize(
    ("request_members", "parameter", "allowed"),
    [
        ({"EnhancedMonitoring": "PER_EVERYTHING"}, "enhancedMonitoring", "PER_BROKER"),
        ({"StorageMode": "REMOTE"}, "storageMode", "LOCAL, TIERED"),
        (
            {"EncryptionInfo": {"EncryptionInTransit": {"ClientBroker": "SSL"}}},
            "encryptionInfo.encryptionInTransit.clientBroker",
            "TLS, TLS_PLAINTEXT, PLAINTEXT",
        ),
        ({"Rebalancing": {"Status": "ON"}}, "rebalancing.status", "PAUSED, ACTIVE"),
    ],
)
def test_garbage_in_an_enum_of_a_new_cluster_is_refused_naming_what_it_takes(
    kafka: Any, request_members: dict[str, Any], parameter: str, allowed: str
) -> None:
    code, message, invalid = refusal(
        kafka.create_cluster, ClusterName="garbage", **request_members, **provisioned()
    )
    assert (code, invalid) == ("BadRequestException", parameter)
    assert message.startswith(f"{parameter} must be one of ")
    assert allowed in message


@pytest.mark.parametrize(
    ("group", "parameter"),
    [
        ({"BrokerAZDistribution": "SPREAD"}, "brokerNodeGroupInfo.brokerAZDistribution"),
        (
            {"ConnectivityInfo": {"PublicAccess": {"Type": "OPEN"}}},
            "brokerNodeGroupInfo.connectivityInfo.publicAccess.type",
        ),
        (
            {"ConnectivityInfo": {"NetworkType": "IPV5"}},
            "brokerNodeGroupInfo.connectivityInfo.networkType",
        ),
    ],
)
def test_garbage_in_an_enum_of_the_broker_group_is_refused(
    kafka: Any, group: dict[str, Any], parameter: str
) -> None:
    code, message, invalid = refusal(
        kafka.create_cluster, ClusterName="garbage", **provisioned(**group)
    )
    assert (code, invalid) == ("BadRequestException", parameter)
    assert message.startswith(f"{parameter} must be one of ")


@pytest.mark.parametrize(
    ("group", "parameter", "words"),
    [
        (
            {"ConnectivityInfo": {"PublicAccess": {"Type": "service_provided_eips"}}},
            "brokerNodeGroupInfo.connectivityInfo.publicAccess.type",
            "Public access is not available",
        ),
        (
            {"ConnectivityInfo": {"NetworkType": "dual"}},
            "brokerNodeGroupInfo.connectivityInfo.networkType",
            "use networkType IPV4",
        ),
    ],
)
def test_a_known_value_steward_does_not_offer_is_refused_as_such(
    kafka: Any, group: dict[str, Any], parameter: str, words: str
) -> None:
    code, message, invalid = refusal(
        kafka.create_cluster, ClusterName="not-offered", **provisioned(**group)
    )
    assert (code, invalid) == ("BadRequestException", parameter)
    assert words in message


def test_monitoring_and_security_updates_read_enums_in_any_case(
    kafka: Any, service: ClusterService
) -> None:
    cluster = active_cluster(service, "monitored")
    kafka.update_monitoring(
        ClusterArn=cluster.arn,
        CurrentVersion=cluster.current_version,
        EnhancedMonitoring="Per_Broker",
    )
    spec = service.describe_cluster(cluster.arn).spec
    assert spec.enhanced_monitoring == "PER_BROKER"

    other = active_cluster(service, "secured")
    kafka.update_security(
        ClusterArn=other.arn,
        CurrentVersion=other.current_version,
        EncryptionInfo={"EncryptionInTransit": {"ClientBroker": "Tls_Plaintext"}},
    )
    transit = service.describe_cluster(other.arn).spec.encryption_in_transit
    assert transit.client_broker == "TLS_PLAINTEXT"


def test_update_storage_reads_the_storage_mode_in_any_case(
    kafka: Any, service: ClusterService
) -> None:
    cluster = active_cluster(service, "stored")
    kafka.update_storage(
        ClusterArn=cluster.arn,
        CurrentVersion=cluster.current_version,
        StorageMode="Local",
        VolumeSizeGB=30,
    )
    assert service.describe_cluster(cluster.arn).spec.broker_node_group.volume_size_gb == 30
    code, message, invalid = refusal(
        kafka.update_storage,
        ClusterArn=cluster.arn,
        CurrentVersion=cluster.current_version,
        StorageMode="tiered",
        VolumeSizeGB=40,
    )
    assert (code, invalid) == ("BadRequestException", "storageMode")
    assert "Tiered storage is not available" in message


def test_the_cluster_type_filter_is_read_in_any_case(endpoint: str, kafka: Any) -> None:
    kafka.create_cluster(ClusterName="typed", **provisioned())
    listed = kafka.list_clusters_v2(ClusterTypeFilter="provisioned")["ClusterInfoList"]
    assert "typed" in {c["ClusterName"] for c in listed}
    assert kafka.list_clusters_v2(ClusterTypeFilter="Serverless")["ClusterInfoList"] == []
    answer = httpx.get(f"{endpoint}/api/v2/clusters", params={"clusterTypeFilter": "BIG"})
    assert answer.status_code == 400
    assert answer.headers["x-amzn-ErrorType"] == "BadRequestException"
    assert answer.json() == {
        "message": "clusterTypeFilter must be one of PROVISIONED, SERVERLESS.",
        "invalidParameter": "clusterTypeFilter",
    }

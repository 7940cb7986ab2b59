"""MSK's names of Kafka versions through boto3: `4.1.x.kraft` is taken and runs the newest 4.1
release, DescribeCluster shows the name as given, and MSK's 3.x names are refused with a message
that says what Steward runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from steward.control.node_specs import desired_node
from steward.control.placement import Placer
from steward.control.service import ClusterService
from steward.domain.model import ClusterState, OperationState
from steward.domain.versions import release_for
from steward.kafka.distribution import RELEASED_KAFKA_VERSIONS
from steward.settings import Settings, Zone
from steward.store.store import Store
from tests.unit.clusters import ZONE_NAMES
from tests.unit.serving import serving_msk

ZONES = (Zone("az-a", "127.83.1"), Zone("az-b", "127.83.2"), Zone("az-c", "127.83.3"))


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> ClusterService:
    home: Path = tmp_path_factory.mktemp("versions")
    settings = Settings(home=home, zones=ZONES)
    return ClusterService(settings, Store(settings.db_url))


@pytest.fixture(scope="module")
def kafka(service: ClusterService) -> Iterator[Any]:
    with serving_msk(service) as client:
        yield client


def create(kafka: Any, name: str, version: str) -> Any:
    return kafka.create_cluster(
        ClusterName=name,
        KafkaVersion=version,
        NumberOfBrokerNodes=3,
        BrokerNodeGroupInfo={
            "InstanceType": "kafka.m7g.large",
            "ClientSubnets": ["az-a", "az-b", "az-c"],
        },
    )


def finish_create(service: ClusterService, arn: str) -> str:
    """The cluster as its create leaves it: ACTIVE; its current version."""
    cluster = service.describe_cluster(arn)
    (operation,) = service.list_operations(arn)
    operation.state = OperationState.UPDATE_COMPLETE
    cluster.state, cluster.active_operation_arn = ClusterState.ACTIVE, None
    service.store.save_operation(operation, cluster)
    return cluster.current_version


def newest(line: str) -> str:
    return max(
        (v for v in RELEASED_KAFKA_VERSIONS if v.startswith(line + ".")),
        key=lambda v: tuple(map(int, v.split("."))),
    )


def test_kafka_versions_list_msk_names_of_the_lines_steward_runs(kafka: Any) -> None:
    versions = {v["Version"]: v["Status"] for v in kafka.list_kafka_versions()["KafkaVersions"]}
    for name in ("4.0.x.kraft", "4.1.x.kraft", "4.2.x.kraft", "4.3.x.kraft"):
        assert name in versions
    assert versions["4.3.x.kraft"] == "ACTIVE"
    assert versions["4.0.x.kraft"] == "DEPRECATED"
    assert "4.3.1" in versions
    assert not any(v.startswith("3.") for v in versions)


def test_a_line_name_is_shown_as_given_and_runs_the_newest_release_of_its_line(
    kafka: Any, service: ClusterService
) -> None:
    arn = create(kafka, "lined", "4.1.x.kraft")["ClusterArn"]
    info = kafka.describe_cluster(ClusterArn=arn)["ClusterInfo"]
    assert info["CurrentBrokerSoftwareInfo"]["KafkaVersion"] == "4.1.x.kraft"
    v2 = kafka.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]["Provisioned"]
    assert v2["CurrentBrokerSoftwareInfo"]["KafkaVersion"] == "4.1.x.kraft"
    cluster = service.describe_cluster(arn)
    assert cluster.spec.release == newest("4.1")
    # A node the control plane places for the cluster is brought to the release, not the name.
    (node,) = Placer(service.settings.zones, service.store.used_hosts()).place(
        arn, list(ZONE_NAMES), [1], [], "4.0.0", "kafka.m7g.large"
    )
    assert desired_node(cluster, node).kafka_version == newest("4.1")


@pytest.mark.parametrize("version", ["3.8.x", "3.9.x", "3.7.x.kraft", "3.9.x.kraft", "2.8.1"])
def test_msk_3x_names_are_refused_naming_what_steward_runs(kafka: Any, version: str) -> None:
    with pytest.raises(ClientError) as raised:
        create(kafka, "old-" + version.replace(".", "-"), version)
    response = raised.value.response
    assert response["Error"]["Code"] == "BadRequestException"
    assert response["InvalidParameter"] == "kafkaVersion"
    message = response["Error"]["Message"]
    assert "KRaft" in message and "4.0.x.kraft" in message and "4.3.x.kraft" in message


def test_an_unknown_version_is_refused_with_the_supported_ones(kafka: Any) -> None:
    with pytest.raises(ClientError) as raised:
        create(kafka, "future", "9.9.x.kraft")
    message = raised.value.response["Error"]["Message"]
    assert "Supported versions:" in message and "4.1.x.kraft" in message


def test_a_line_name_upgrades_to_a_newer_line(kafka: Any, service: ClusterService) -> None:
    arn = create(kafka, "upgraded", "4.1.x.kraft")["ClusterArn"]
    current = finish_create(service, arn)
    (compatible,) = kafka.get_compatible_kafka_versions(ClusterArn=arn)["CompatibleKafkaVersions"]
    assert compatible["SourceVersion"] == "4.1.x.kraft"
    assert "4.2.x.kraft" in compatible["TargetVersions"]
    assert "4.0.x.kraft" not in compatible["TargetVersions"]
    kafka.update_cluster_kafka_version(
        ClusterArn=arn, CurrentVersion=current, TargetKafkaVersion="4.2.x.kraft"
    )
    spec = service.describe_cluster(arn).spec
    assert (spec.kafka_version, spec.release) == ("4.2.x.kraft", newest("4.2"))


def test_a_configuration_for_a_line_name_serves_its_clusters(kafka: Any) -> None:
    config = kafka.create_configuration(
        Name="for-4-1", KafkaVersions=["4.1.x.kraft"], ServerProperties=b"num.partitions=2\n"
    )
    created = kafka.create_cluster(
        ClusterName="configured",
        KafkaVersion="4.1.x.kraft",
        NumberOfBrokerNodes=3,
        BrokerNodeGroupInfo={
            "InstanceType": "kafka.m7g.large",
            "ClientSubnets": ["az-a", "az-b", "az-c"],
        },
        ConfigurationInfo={"Arn": config["Arn"], "Revision": 1},
    )
    assert created["State"] == "CREATING"
    with pytest.raises(ClientError) as raised:
        kafka.create_configuration(
            Name="for-3-8", KafkaVersions=["3.8.x"], ServerProperties=b"num.partitions=2\n"
        )
    assert raised.value.response["InvalidParameter"] == "kafkaVersions"


def test_release_for_maps_only_kraft_line_names() -> None:
    known = ["4.1.0", "4.1.2", "4.2.0"]
    assert release_for("4.1.x.kraft", known) == "4.1.2"
    assert release_for("4.1.0", known) == "4.1.0"
    assert release_for("4.1.x", known) is None
    assert release_for("4.4.x.kraft", known) is None

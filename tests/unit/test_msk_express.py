"""MSK's Express brokers through boto3: `express.m7g.*` types are taken, with what Express means
that Steward honours: no EBS storage in the request or in the answers (storage is managed), the
brokers shown as EXPRESS, and a cluster that stays Express."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from steward.control.placement import Placer
from steward.control.service import ClusterService
from steward.domain.model import ClusterState, OperationState
from steward.kafka.instance_types import INSTANCE_TYPES
from steward.settings import Settings, Zone
from steward.store.store import Store
from tests.unit.clusters import ZONE_NAMES
from tests.unit.serving import serving_msk

ZONES = (Zone("az-a", "127.84.1"), Zone("az-b", "127.84.2"), Zone("az-c", "127.84.3"))
EXPRESS_TYPES = [t for t in INSTANCE_TYPES if t.startswith("express.")]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> ClusterService:
    home: Path = tmp_path_factory.mktemp("express")
    settings = Settings(home=home, zones=ZONES)
    return ClusterService(settings, Store(settings.db_url))


@pytest.fixture(scope="module")
def kafka(service: ClusterService) -> Iterator[Any]:
    with serving_msk(service) as client:
        yield client


def group(instance_type: str = "express.m7g.large", **extra: Any) -> dict[str, Any]:
    return {"InstanceType": instance_type, "ClientSubnets": list(ZONE_NAMES), **extra}


def active_express(kafka: Any, service: ClusterService, name: str) -> tuple[str, str]:
    """An Express cluster as its create leaves it (ACTIVE, brokers placed): arn, current
    version."""
    arn = kafka.create_cluster_v2(
        ClusterName=name,
        Provisioned={
            "KafkaVersion": "4.3.x.kraft",
            "NumberOfBrokerNodes": 3,
            "BrokerNodeGroupInfo": group(),
        },
    )["ClusterArn"]
    cluster = service.describe_cluster(arn)
    (operation,) = service.list_operations(arn)
    operation.state = OperationState.UPDATE_COMPLETE
    cluster.state, cluster.active_operation_arn = ClusterState.ACTIVE, None
    service.store.save_operation(operation, cluster)
    nodes = Placer(service.settings.zones, service.store.used_hosts()).place(
        arn, list(ZONE_NAMES), [1, 2, 3], [1001, 1002, 1003], "4.3.1", "express.m7g.large"
    )
    service.store.add_nodes(nodes)
    return arn, cluster.current_version


def bad_request(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    response = raised.value.response
    assert response["Error"]["Code"] == "BadRequestException"
    return response


@pytest.mark.parametrize("instance_type", EXPRESS_TYPES)
def test_every_express_type_makes_a_cluster(kafka: Any, instance_type: str) -> None:
    created = kafka.create_cluster(
        ClusterName=instance_type.replace(".", "-"),
        KafkaVersion="4.3.x.kraft",
        NumberOfBrokerNodes=3,
        BrokerNodeGroupInfo=group(instance_type),
    )
    assert created["State"] == "CREATING"


def test_express_types_are_msk_s() -> None:
    assert {"express.m7g.large", "express.m7g.xlarge", "express.m7g.16xlarge"} <= set(EXPRESS_TYPES)


def test_an_express_cluster_shows_no_ebs_storage_and_express_brokers(
    kafka: Any, service: ClusterService
) -> None:
    arn, _ = active_express(kafka, service, "shown")
    info = kafka.describe_cluster(ClusterArn=arn)["ClusterInfo"]
    assert info["BrokerNodeGroupInfo"]["InstanceType"] == "express.m7g.large"
    assert "StorageInfo" not in info["BrokerNodeGroupInfo"]
    assert info["Rebalancing"] == {"Status": "ACTIVE"}
    nodes = kafka.list_nodes(ClusterArn=arn)["NodeInfoList"]
    brokers = [n["BrokerNodeInfo"] for n in nodes if "BrokerNodeInfo" in n]
    assert [b["BrokerNodeType"] for b in brokers] == ["EXPRESS"] * 3


def test_a_standard_cluster_keeps_its_ebs_storage_and_standard_brokers(kafka: Any) -> None:
    arn = kafka.create_cluster(
        ClusterName="standard",
        KafkaVersion="4.3.1",
        NumberOfBrokerNodes=3,
        BrokerNodeGroupInfo=group("kafka.m7g.large"),
    )["ClusterArn"]
    info = kafka.describe_cluster(ClusterArn=arn)["ClusterInfo"]
    assert info["BrokerNodeGroupInfo"]["StorageInfo"]["EbsStorageInfo"]["VolumeSize"] == 1000
    assert "Rebalancing" not in info


def test_ebs_storage_in_an_express_request_is_refused(kafka: Any) -> None:
    response = bad_request(
        kafka.create_cluster,
        ClusterName="express-ebs",
        KafkaVersion="4.3.x.kraft",
        NumberOfBrokerNodes=3,
        BrokerNodeGroupInfo=group(StorageInfo={"EbsStorageInfo": {"VolumeSize": 100}}),
    )
    assert response["InvalidParameter"] == "brokerNodeGroupInfo.storageInfo"
    assert "Express" in response["Error"]["Message"]


def test_an_express_cluster_s_storage_cannot_be_set(kafka: Any, service: ClusterService) -> None:
    arn, current = active_express(kafka, service, "managed")
    response = bad_request(
        kafka.update_broker_storage,
        ClusterArn=arn,
        CurrentVersion=current,
        TargetBrokerEBSVolumeInfo=[{"KafkaBrokerNodeId": "ALL", "VolumeSizeGB": 2000}],
    )
    assert "managed" in response["Error"]["Message"]
    response = bad_request(
        kafka.update_storage, ClusterArn=arn, CurrentVersion=current, VolumeSizeGB=2000
    )
    assert response["InvalidParameter"] == "volumeSizeGB"


def test_an_express_cluster_changes_only_to_another_express_type(
    kafka: Any, service: ClusterService
) -> None:
    arn, current = active_express(kafka, service, "resized")
    response = bad_request(
        kafka.update_broker_type,
        ClusterArn=arn,
        CurrentVersion=current,
        TargetInstanceType="kafka.m7g.large",
    )
    assert response["InvalidParameter"] == "targetInstanceType"
    kafka.update_broker_type(
        ClusterArn=arn, CurrentVersion=current, TargetInstanceType="express.m7g.xlarge"
    )
    spec = service.describe_cluster(arn).spec
    assert spec.broker_node_group.instance_type == "express.m7g.xlarge"

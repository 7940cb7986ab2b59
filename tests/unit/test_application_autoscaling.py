"""Storage autoscaling the way MSK users set it up, through boto3's `application-autoscaling`
client: a scalable target on the cluster's broker storage, a target tracking policy on
KafkaBrokerStorageUtilization, and the activities the autoscaler records as it grows volumes
before they fill (with its cooldown, and never past the target's max capacity)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from steward.api.app import build_app
from steward.api.auth.guard import AcceptAnyRequest
from steward.autoscaling.service import (
    ApplicationAutoScaling,
    StorageAutoscaler,
    next_size,
)
from steward.autoscaling.store import AutoscalingRecords
from steward.control.scaling import ControlPlaneClusters
from steward.control.service import ClusterService
from steward.domain.model import Cluster, ClusterState, OperationState
from steward.settings import Settings, Zone
from steward.store.store import Store
from tests.unit.clusters import ZONE_NAMES
from tests.unit.serving import kafka_client, serving

ZONES = (Zone("az-a", "127.86.1"), Zone("az-b", "127.86.2"), Zone("az-c", "127.86.3"))
STORAGE = "kafka:broker-storage:VolumeSize"


class FillingDisks(ControlPlaneClusters):
    """The control plane, with disks as full as the test says (no Kafka to ask)."""

    used: float | None = 50.0

    def storage_utilization(self, arn: str) -> float | None:
        return self.used


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> ClusterService:
    home: Path = tmp_path_factory.mktemp("autoscaling")
    settings = Settings(home=home, zones=ZONES)
    return ClusterService(settings, Store(settings.db_url))


@pytest.fixture(scope="module")
def disks(service: ClusterService) -> FillingDisks:
    return FillingDisks(service)


@pytest.fixture(scope="module")
def scaling(service: ClusterService, disks: FillingDisks) -> ApplicationAutoScaling:
    settings = service.settings
    return ApplicationAutoScaling(
        AutoscalingRecords(service.store.engine), disks, settings.region, settings.account_id
    )


@pytest.fixture(scope="module")
def clients(service: ClusterService, scaling: ApplicationAutoScaling) -> Iterator[Any]:
    with serving(build_app(service, AcceptAnyRequest(), autoscaling=scaling)) as url:
        autoscaling = boto3.client(
            "application-autoscaling",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        yield kafka_client(url), autoscaling


def active_cluster(kafka: Any, service: ClusterService, name: str, size: int = 100) -> Cluster:
    arn = kafka.create_cluster(
        ClusterName=name,
        KafkaVersion="4.3.1",
        NumberOfBrokerNodes=3,
        BrokerNodeGroupInfo={
            "InstanceType": "kafka.m7g.large",
            "ClientSubnets": list(ZONE_NAMES),
            "StorageInfo": {"EbsStorageInfo": {"VolumeSize": size}},
        },
    )["ClusterArn"]
    return finish(service, arn)


def finish(service: ClusterService, arn: str) -> Cluster:
    """The cluster's operation done, as the reconciler would leave it."""
    cluster = service.describe_cluster(arn)
    for operation in service.list_operations(arn):
        if not operation.state.finished:
            operation.state = OperationState.UPDATE_COMPLETE
            service.store.save_operation(operation)
    cluster.state, cluster.active_operation_arn = ClusterState.ACTIVE, None
    service.store.save_cluster(cluster)
    return service.describe_cluster(arn)


def storage_policy(autoscaling: Any, arn: str, target: float = 60.0, **extra: Any) -> str:
    answer = autoscaling.put_scaling_policy(
        PolicyName="grow",
        ServiceNamespace="kafka",
        ResourceId=arn,
        ScalableDimension=STORAGE,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": target,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "KafkaBrokerStorageUtilization"
            },
            **extra,
        },
    )
    return str(answer["PolicyARN"])


def error_code(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return str(raised.value.response["Error"]["Code"])


def test_a_cluster_s_storage_is_registered_described_and_deregistered(
    clients: Any, service: ClusterService
) -> None:
    kafka, autoscaling = clients
    cluster = active_cluster(kafka, service, "registered")
    answer = autoscaling.register_scalable_target(
        ServiceNamespace="kafka",
        ResourceId=cluster.arn,
        ScalableDimension=STORAGE,
        MinCapacity=100,
        MaxCapacity=400,
    )
    assert answer["ScalableTargetARN"].startswith("arn:aws:application-autoscaling:")
    (target,) = autoscaling.describe_scalable_targets(
        ServiceNamespace="kafka", ResourceIds=[cluster.arn]
    )["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (100, 400)
    assert target["ScalableDimension"] == STORAGE
    assert "RoleARN" in target
    autoscaling.deregister_scalable_target(
        ServiceNamespace="kafka", ResourceId=cluster.arn, ScalableDimension=STORAGE
    )
    assert (
        autoscaling.describe_scalable_targets(ServiceNamespace="kafka", ResourceIds=[cluster.arn])[
            "ScalableTargets"
        ]
        == []
    )
    assert (
        error_code(
            autoscaling.deregister_scalable_target,
            ServiceNamespace="kafka",
            ResourceId=cluster.arn,
            ScalableDimension=STORAGE,
        )
        == "ObjectNotFoundException"
    )


def test_what_cannot_be_scaled_is_refused(clients: Any, service: ClusterService) -> None:
    kafka, autoscaling = clients
    cluster = active_cluster(kafka, service, "refusals")
    unknown = cluster.arn.replace("refusals", "nowhere")
    for kwargs in (
        {"ResourceId": unknown, "ScalableDimension": STORAGE},
        {"ResourceId": cluster.arn, "ScalableDimension": "kafka:broker-storage:Iops"},
        {"ResourceId": cluster.arn, "ScalableDimension": STORAGE, "MaxCapacity": 50},
    ):
        call = {"ServiceNamespace": "kafka", "MinCapacity": 10, "MaxCapacity": 200, **kwargs}
        assert error_code(autoscaling.register_scalable_target, **call) == "ValidationException"
    assert error_code(storage_policy, autoscaling=autoscaling, arn=cluster.arn) == (
        "ObjectNotFoundException"
    )


def test_a_target_tracking_policy_on_storage_utilization(
    clients: Any, service: ClusterService
) -> None:
    kafka, autoscaling = clients
    cluster = active_cluster(kafka, service, "policy")
    autoscaling.register_scalable_target(
        ServiceNamespace="kafka",
        ResourceId=cluster.arn,
        ScalableDimension=STORAGE,
        MinCapacity=100,
        MaxCapacity=400,
    )
    arn = storage_policy(autoscaling, cluster.arn, 70.0)
    (policy,) = autoscaling.describe_scaling_policies(
        ServiceNamespace="kafka", ResourceId=cluster.arn
    )["ScalingPolicies"]
    assert policy["PolicyARN"] == arn
    assert policy["PolicyType"] == "TargetTrackingScaling"
    config = policy["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == 70.0
    assert config["DisableScaleIn"] is True
    assert error_code(storage_policy, autoscaling=autoscaling, arn=cluster.arn, target=95.0) == (
        "ValidationException"
    )
    step = {
        "PolicyName": "steps",
        "ServiceNamespace": "kafka",
        "ResourceId": cluster.arn,
        "ScalableDimension": STORAGE,
        "PolicyType": "StepScaling",
    }
    assert error_code(autoscaling.put_scaling_policy, **step) == "ValidationException"
    autoscaling.delete_scaling_policy(
        PolicyName="grow",
        ServiceNamespace="kafka",
        ResourceId=cluster.arn,
        ScalableDimension=STORAGE,
    )
    assert (
        autoscaling.describe_scaling_policies(ServiceNamespace="kafka", ResourceId=cluster.arn)[
            "ScalingPolicies"
        ]
        == []
    )


def test_volumes_grow_before_they_fill_with_a_cooldown_and_up_to_max_capacity(
    clients: Any, service: ClusterService, scaling: ApplicationAutoScaling, disks: FillingDisks
) -> None:
    kafka, autoscaling = clients
    cluster = active_cluster(kafka, service, "filling", size=100)
    autoscaling.register_scalable_target(
        ServiceNamespace="kafka",
        ResourceId=cluster.arn,
        ScalableDimension=STORAGE,
        MinCapacity=100,
        MaxCapacity=160,
    )
    storage_policy(autoscaling, cluster.arn, 60.0, ScaleOutCooldown=0)
    autoscaler = StorageAutoscaler(scaling)

    disks.used = 50.0
    assert autoscaler.pass_once() == []  # below the target: nothing to do

    disks.used = 90.0
    (activity,) = autoscaler.pass_once()
    assert activity.description == "Setting volume size to 150."
    assert "KafkaBrokerStorageUtilization 90.0" in activity.cause
    grown = service.describe_cluster(cluster.arn)
    assert grown.state is ClusterState.UPDATING
    assert grown.spec.broker_node_group.volume_size_gb == 150
    assert autoscaler.pass_once() == []  # the cluster is busy growing

    finish(service, cluster.arn)
    autoscaler.settle_activities()
    (shown,) = autoscaling.describe_scaling_activities(
        ServiceNamespace="kafka", ResourceId=cluster.arn
    )["ScalingActivities"]
    assert shown["StatusCode"] == "Successful"
    assert shown["Description"] == "Setting volume size to 150."

    (second,) = autoscaler.pass_once()  # still 90 % full: the max capacity caps the growth
    assert second.description == "Setting volume size to 160."
    finish(service, cluster.arn)
    assert autoscaler.pass_once() == []  # at max capacity


def test_the_cooldown_holds_the_next_scale_out(
    clients: Any, service: ClusterService, scaling: ApplicationAutoScaling, disks: FillingDisks
) -> None:
    kafka, autoscaling = clients
    cluster = active_cluster(kafka, service, "cooling", size=100)
    autoscaling.register_scalable_target(
        ServiceNamespace="kafka",
        ResourceId=cluster.arn,
        ScalableDimension=STORAGE,
        MinCapacity=100,
        MaxCapacity=1000,
    )
    storage_policy(autoscaling, cluster.arn, 60.0, ScaleOutCooldown=3600)
    autoscaler = StorageAutoscaler(scaling)
    disks.used = 90.0
    assert len(autoscaler.pass_once()) == 1
    finish(service, cluster.arn)
    autoscaler.settle_activities()
    assert autoscaler.pass_once() == []


def test_a_volume_grows_at_least_a_tenth() -> None:
    assert next_size(100, 90.0, 60.0) == 150
    assert next_size(100, 61.0, 60.0) == 110
    assert next_size(5, 61.0, 60.0) == 6

"""MSK's UpdateRebalancing through boto3 turns continuous balancing on and off, DescribeCluster
shows it, and continuous balancing starts a REBALANCE operation only on a cluster that is
ACTIVE, idle, out of balance and past its cooldown."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from steward.balancer.model import ClusterModel
from steward.control.pipeline import steps_of
from steward.control.rebalancing import ContinuousBalancer
from steward.control.service import ClusterService
from steward.domain.model import Cluster, ClusterState, OperationState, OperationType
from steward.settings import Settings, Zone
from steward.store.store import Store
from tests.unit.clusters import ZONE_NAMES
from tests.unit.serving import serving_msk

ZONES = (Zone("az-a", "127.85.1"), Zone("az-b", "127.85.2"), Zone("az-c", "127.85.3"))


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> ClusterService:
    home: Path = tmp_path_factory.mktemp("rebalancing")
    settings = Settings(home=home, zones=ZONES)
    return ClusterService(settings, Store(settings.db_url))


@pytest.fixture(scope="module")
def kafka(service: ClusterService) -> Iterator[Any]:
    with serving_msk(service) as client:
        yield client


def active_cluster(kafka: Any, service: ClusterService, name: str) -> Cluster:
    arn = kafka.create_cluster(
        ClusterName=name,
        KafkaVersion="4.3.1",
        NumberOfBrokerNodes=3,
        BrokerNodeGroupInfo={"InstanceType": "kafka.m7g.large", "ClientSubnets": list(ZONE_NAMES)},
    )["ClusterArn"]
    cluster = service.describe_cluster(arn)
    (operation,) = service.list_operations(arn)
    operation.state = OperationState.UPDATE_COMPLETE
    cluster.state, cluster.active_operation_arn = ClusterState.ACTIVE, None
    service.store.save_operation(operation, cluster)
    return cluster


def test_update_rebalancing_turns_continuous_balancing_on_and_off(
    kafka: Any, service: ClusterService
) -> None:
    cluster = active_cluster(kafka, service, "balanced")
    assert "Rebalancing" not in kafka.describe_cluster(ClusterArn=cluster.arn)["ClusterInfo"]
    answer = kafka.update_rebalancing(
        ClusterArn=cluster.arn,
        CurrentVersion=cluster.current_version,
        Rebalancing={"Status": "ACTIVE"},
    )
    assert answer["ClusterArn"] == cluster.arn
    info = kafka.describe_cluster(ClusterArn=cluster.arn)["ClusterInfo"]
    assert info["Rebalancing"] == {"Status": "ACTIVE"}
    kafka.update_rebalancing(
        ClusterArn=cluster.arn,
        CurrentVersion=cluster.current_version,
        Rebalancing={"Status": "PAUSED"},
    )
    v2 = kafka.describe_cluster_v2(ClusterArn=cluster.arn)["ClusterInfo"]
    assert v2["Provisioned"]["Rebalancing"] == {"Status": "PAUSED"}


def test_update_rebalancing_needs_the_current_version(kafka: Any, service: ClusterService) -> None:
    cluster = active_cluster(kafka, service, "stale")
    with pytest.raises(ClientError) as raised:
        kafka.update_rebalancing(
            ClusterArn=cluster.arn, CurrentVersion="K0", Rebalancing={"Status": "ACTIVE"}
        )
    assert raised.value.response["Error"]["Code"] == "BadRequestException"


def test_a_rebalance_runs_the_balancing_steps() -> None:
    assert steps_of(OperationType.REBALANCE) == (
        "PLAN_BALANCE",
        "MOVE_IN_BATCHES",
        "ELECT_PREFERRED_LEADERS",
        "FINALIZE",
    )


class _Skewed(ContinuousBalancer):
    """Continuous balancing with a model given, instead of one read from Kafka."""

    def __init__(self, service: ClusterService, model: ClusterModel) -> None:
        super().__init__(service.store, service.rebalancing)
        service.rebalancing.model_of = lambda cluster: model  # type: ignore[method-assign]


def test_continuous_balancing_rebalances_a_skewed_cluster_once(
    kafka: Any, service: ClusterService
) -> None:
    cluster = active_cluster(kafka, service, "skewed")
    skewed = ClusterModel.build(
        {("t", p): [1, 2] for p in range(12)}, {1: "a", 2: "b", 3: "c", 4: "a"}
    )
    balancer = _Skewed(service, skewed)
    assert cluster.arn not in str(balancer.pass_once())  # not turned on
    service.rebalancing.update_rebalancing(cluster.arn, cluster.current_version, "ACTIVE")
    started = balancer.pass_once()
    assert len(started) == 1
    operation = service.describe_operation(started[0])
    assert operation.type is OperationType.REBALANCE
    assert balancer.pass_once() == []  # the cluster is busy with it


def test_continuous_balancing_leaves_a_balanced_cluster_alone(
    kafka: Any, service: ClusterService
) -> None:
    cluster = active_cluster(kafka, service, "even")
    even = ClusterModel.build(
        {("t", p): [1 + p % 3, 1 + (p + 1) % 3] for p in range(12)}, {1: "a", 2: "b", 3: "c"}
    )
    service.rebalancing.update_rebalancing(cluster.arn, cluster.current_version, "ACTIVE")
    assert _Skewed(service, even).check(service.describe_cluster(cluster.arn)) is None

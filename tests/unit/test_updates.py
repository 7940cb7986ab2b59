"""Update requests against the store, without Kafka: what is accepted, what is refused and why,
and that a cluster takes one change at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

from steward.control.pipeline import start_operation
from steward.control.service import ClusterService
from steward.domain.errors import BadRequestException, ConflictException
from steward.domain.model import (
    Cluster,
    ClusterState,
    ConfigurationRef,
    OperationType,
)
from steward.domain.versions import compatible_targets
from steward.settings import Settings, Zone
from steward.store.store import Store
from tests.unit.clusters import active_cluster, desired_spec

ZONES = (Zone("az-a", "127.69.1"), Zone("az-b", "127.69.2"), Zone("az-c", "127.69.3"))


@pytest.fixture
def service(tmp_path: Path) -> ClusterService:
    settings = Settings(home=tmp_path, zones=ZONES)
    return ClusterService(settings, Store(settings.db_url))


@pytest.fixture
def cluster(service: ClusterService) -> Cluster:
    return active_cluster(service)


def test_scaling_out_records_the_target_and_puts_the_cluster_in_updating(
    service: ClusterService, cluster: Cluster
) -> None:
    op = service.updates.update_broker_count(cluster.arn, cluster.current_version, 6)
    assert op.type is OperationType.INCREASE_BROKER_COUNT
    assert op.source == {**op.source, "numberOfBrokerNodes": 3}  # type: ignore[dict-item]
    assert op.target and op.target["numberOfBrokerNodes"] == 6
    assert desired_spec(service, op).number_of_broker_nodes == 6
    after = service.describe_cluster(cluster.arn)
    assert after.state is ClusterState.UPDATING
    assert after.active_operation_arn == op.arn
    assert after.current_version != cluster.current_version
    assert after.observed_spec.number_of_broker_nodes == 3  # until the operation completes


def test_scaling_in_is_its_own_operation_type(service: ClusterService, cluster: Cluster) -> None:
    spec = cluster.spec
    # 3 -> 3 is no change; a 3-zone cluster can only go to multiples of 3.
    with pytest.raises(BadRequestException) as same:
        service.updates.update_broker_count(cluster.arn, cluster.current_version, 3)
    assert same.value.invalid_parameter == "targetNumberOfBrokerNodes"
    with pytest.raises(BadRequestException) as uneven:
        service.updates.update_broker_count(cluster.arn, cluster.current_version, 4)
    assert uneven.value.invalid_parameter == "targetNumberOfBrokerNodes"
    assert spec == service.describe_cluster(cluster.arn).spec


def test_a_second_update_conflicts(service: ClusterService, cluster: Cluster) -> None:
    service.updates.update_broker_type(cluster.arn, cluster.current_version, "kafka.m5.xlarge")
    current = service.describe_cluster(cluster.arn).current_version
    with pytest.raises(ConflictException):
        service.updates.update_broker_count(cluster.arn, current, 6)
    with pytest.raises(ConflictException):
        service.updates.reboot_broker(cluster.arn, ["1"])


def test_a_repair_and_an_update_never_both_start(service: ClusterService, cluster: Cluster) -> None:
    repair = start_operation(service.arns.operation(cluster.arn), cluster.arn, OperationType.HEAL)
    healing = service.describe_cluster(cluster.arn)
    healing.state, healing.active_operation_arn = ClusterState.HEALING, repair.arn
    assert service.store.begin_healing(healing, repair)
    with pytest.raises(ConflictException, match="HEALING"):
        service.updates.update_broker_count(cluster.arn, cluster.current_version, 6)
    # and the other way round: no repair starts while a repair (or an update) runs
    second = start_operation(service.arns.operation(cluster.arn), cluster.arn, OperationType.HEAL)
    assert not service.store.begin_healing(healing, second)


def test_a_stale_current_version_is_refused(service: ClusterService, cluster: Cluster) -> None:
    with pytest.raises(BadRequestException) as raised:
        service.updates.update_broker_count(cluster.arn, "KSTALE", 6)
    assert raised.value.invalid_parameter == "currentVersion"
    assert service.describe_cluster(cluster.arn).state is ClusterState.ACTIVE


def test_storage_only_grows(service: ClusterService, cluster: Cluster) -> None:
    version = cluster.current_version
    with pytest.raises(BadRequestException, match="only grow"):
        service.updates.update_storage(cluster.arn, version, 10)
    with pytest.raises(BadRequestException, match="same storage"):
        service.updates.update_broker_storage(cluster.arn, version, [("1", 20)])
    op = service.updates.update_broker_storage(cluster.arn, version, [("ALL", 20)])
    assert desired_spec(service, op).broker_node_group.volume_size_gb == 20


def test_reboot_names_one_known_broker(service: ClusterService, cluster: Cluster) -> None:
    with pytest.raises(BadRequestException, match="one broker at a time"):
        service.updates.reboot_broker(cluster.arn, ["1", "2"])
    with pytest.raises(BadRequestException, match="no broker 9"):
        service.updates.reboot_broker(cluster.arn, ["9"])
    op = service.updates.reboot_broker(cluster.arn, ["2"])
    assert op.progress["broker_ids"] == [2]
    assert service.describe_cluster(cluster.arn).state is ClusterState.REBOOTING_BROKER


def test_broker_type_must_be_known_and_different(service: ClusterService, cluster: Cluster) -> None:
    version = cluster.current_version
    with pytest.raises(BadRequestException, match="not supported"):
        service.updates.update_broker_type(cluster.arn, version, "kafka.q9.huge")
    with pytest.raises(BadRequestException, match="already"):
        service.updates.update_broker_type(cluster.arn, version, "kafka.m5.large")


def test_configuration_must_exist(service: ClusterService, cluster: Cluster) -> None:
    with pytest.raises(BadRequestException) as raised:
        service.updates.update_cluster_configuration(
            cluster.arn, cluster.current_version, ConfigurationRef("arn:nope", 1)
        )
    assert raised.value.invalid_parameter == "configurationInfo.arn"


def test_kafka_versions_only_move_forward(service: ClusterService, cluster: Cluster) -> None:
    with pytest.raises(BadRequestException, match=r"cannot be updated to 4\.2\.1"):
        service.updates.update_cluster_kafka_version(cluster.arn, cluster.current_version, "4.2.1")
    (compatible,) = service.updates.compatible_kafka_versions(cluster.arn)
    assert compatible.source == "4.3.1"
    assert "4.2.1" not in compatible.targets


def test_compatible_targets_are_upgrades_or_patch_downgrades() -> None:
    known = ["4.1.0", "4.1.1", "4.2.0", "4.2.1", "4.3.0", "4.3.1"]
    assert compatible_targets("4.2.0", known) == ["4.2.1", "4.3.0", "4.3.1"]
    assert compatible_targets("4.3.1", known) == ["4.3.0"]

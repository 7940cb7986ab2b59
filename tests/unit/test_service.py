"""Use cases without Kafka: validation, conflicts, configurations, deletes superseding creates."""

from pathlib import Path

import pytest

from steward.control.service import ClusterService
from steward.domain.errors import BadRequestException, ConflictException, NotFoundException
from steward.domain.model import (
    BrokerNodeGroup,
    ClientAuthentication,
    ClientBroker,
    ClusterSpec,
    ClusterState,
    ConfigurationRef,
    EncryptionInTransit,
    OperationState,
    OperationType,
)
from steward.settings import Settings, Zone
from steward.store.store import Store

ZONES = (Zone("az-a", "127.66.1"), Zone("az-b", "127.66.2"), Zone("az-c", "127.66.3"))


@pytest.fixture
def service(tmp_path: Path) -> ClusterService:
    settings = Settings(home=tmp_path, zones=ZONES, max_broker_nodes=15)
    return ClusterService(settings, Store(settings.db_url))


def spec(brokers: int = 3, zones: tuple[str, ...] = ("az-a", "az-b", "az-c"), **kw) -> ClusterSpec:
    group = BrokerNodeGroup(kw.pop("instance_type", "kafka.m5.large"), zones, 10)
    return ClusterSpec(kw.pop("kafka_version", "4.3.1"), brokers, group, **kw)


def test_create_records_cluster_and_operation(service: ClusterService) -> None:
    cluster = service.create_cluster("orders", spec(), {"team": "a"})
    assert cluster.state is ClusterState.CREATING
    assert cluster.arn.startswith("arn:aws:kafka:us-east-1:000000000000:cluster/orders/")
    described = service.describe_cluster(cluster.arn)
    assert described.tags == {"team": "a"}
    (op,) = service.list_operations(cluster.arn)
    assert op.type is OperationType.CREATE and op.state is OperationState.PENDING
    assert described.active_operation_arn == op.arn


def test_duplicate_name_conflicts(service: ClusterService) -> None:
    service.create_cluster("orders", spec(), {})
    with pytest.raises(ConflictException):
        service.create_cluster("orders", spec(), {})


@pytest.mark.parametrize(
    ("bad", "param"),
    [
        (spec(brokers=4), "numberOfBrokerNodes"),
        (spec(brokers=18), "numberOfBrokerNodes"),
        (spec(brokers=0), "numberOfBrokerNodes"),
        (spec(kafka_version="9.9.9"), "kafkaVersion"),
        (spec(kafka_version="2.8.1"), "kafkaVersion"),
        (spec(zones=("az-a", "az-x", "az-c")), "brokerNodeGroupInfo.clientSubnets"),
        (spec(zones=("az-a", "az-a", "az-c")), "brokerNodeGroupInfo.clientSubnets"),
        (spec(instance_type="kafka.q1.huge"), "brokerNodeGroupInfo.instanceType"),
        (spec(configuration=ConfigurationRef("arn:nope", 1)), "configurationInfo.arn"),
        (
            spec(
                client_authentication=ClientAuthentication(unauthenticated=False, sasl_iam=True),
                encryption_in_transit=EncryptionInTransit(ClientBroker.PLAINTEXT, in_cluster=True),
            ),
            "encryptionInfo.encryptionInTransit.clientBroker",
        ),
        (
            spec(client_authentication=ClientAuthentication(unauthenticated=False)),
            "clientAuthentication",
        ),
        (
            spec(
                client_authentication=ClientAuthentication(
                    tls=True, tls_certificate_authority_arns=("arn:aws:acm-pca:nope",)
                ),
                encryption_in_transit=EncryptionInTransit(ClientBroker.TLS, in_cluster=True),
            ),
            "certificateAuthorityArnList",
        ),
    ],
)
def test_bad_input_names_the_parameter(
    service: ClusterService, bad: ClusterSpec, param: str
) -> None:
    with pytest.raises(BadRequestException) as error:
        service.create_cluster("bad", bad, {})
    assert error.value.invalid_parameter == param
    assert service.list_clusters() == []


def test_unknown_cluster_is_not_found(service: ClusterService) -> None:
    with pytest.raises(NotFoundException):
        service.describe_cluster("arn:aws:kafka:us-east-1:000000000000:cluster/x/y-1")


def test_delete_supersedes_create(service: ClusterService) -> None:
    cluster = service.create_cluster("orders", spec(), {})
    deleting = service.delete_cluster(cluster.arn)
    assert deleting.state is ClusterState.DELETING
    ops = {op.type: op for op in service.list_operations(cluster.arn)}
    assert ops[OperationType.CREATE].state is OperationState.UPDATE_FAILED
    assert ops[OperationType.DELETE].state is OperationState.PENDING


def test_delete_checks_current_version(service: ClusterService) -> None:
    cluster = service.create_cluster("orders", spec(), {})
    with pytest.raises(BadRequestException):
        service.delete_cluster(cluster.arn, current_version="KWRONG")


def test_configuration_revisions(service: ClusterService) -> None:
    config = service.create_configuration("c", "first", ["4.3.1"], b"num.partitions=3\n")
    assert config.latest_revision.revision == 1
    updated = service.update_configuration(config.arn, "second", b"num.partitions=6\n")
    assert updated.latest_revision.revision == 2
    _, rev1 = service.describe_configuration_revision(config.arn, 1)
    assert rev1.server_properties == b"num.partitions=3\n"
    with pytest.raises(BadRequestException) as error:
        service.update_configuration(config.arn, None, b"num.partitions=x\n")
    assert error.value.invalid_parameter == "serverProperties"
    assert service.describe_configuration(config.arn).latest_revision.revision == 2
    with pytest.raises(ConflictException):
        service.create_configuration("c", None, [], b"")


def test_configuration_must_fit_the_cluster(service: ClusterService) -> None:
    config = service.create_configuration("c", None, ["4.2.0"], b"num.partitions=3\n")
    with pytest.raises(BadRequestException) as error:
        service.create_cluster("x", spec(configuration=ConfigurationRef(config.arn, 1)), {})
    assert error.value.invalid_parameter == "configurationInfo.arn"
    with pytest.raises(BadRequestException) as error:
        service.create_cluster("x", spec(configuration=ConfigurationRef(config.arn, 7)), {})
    assert error.value.invalid_parameter == "configurationInfo.revision"


def test_a_cluster_is_encrypted_at_rest_when_steward_encrypts(tmp_path: Path) -> None:
    on = Settings(home=tmp_path / "on", zones=ZONES, encryption_at_rest="on")
    cluster = ClusterService(on, Store(on.db_url)).create_cluster(
        "sealed", spec(data_volume_kms_key_id="alias/mine"), {}
    )
    assert cluster.spec.encrypted_at_rest


def test_asking_for_encryption_at_rest_where_steward_does_not_encrypt_is_refused(
    service: ClusterService,
) -> None:
    assert not service.create_cluster("plain", spec(), {}).spec.encrypted_at_rest
    with pytest.raises(BadRequestException) as refused:
        service.create_cluster("sealed", spec(data_volume_kms_key_id="alias/mine"), {})
    assert refused.value.invalid_parameter == "encryptionInfo"
    assert service.store.cluster_by_name("sealed") is None

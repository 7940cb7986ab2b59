"""UpdateSecurity and what client authentication makes of a cluster's nodes, without Kafka: which
changes are accepted and which refused (and why), which listeners a broker opens, and where the
authorizer and the internal identities are."""

from __future__ import annotations

from pathlib import Path

import pytest

from steward.api.msk.fields import Fields
from steward.api.msk.requests import client_authentication_changes
from steward.control.service import ClusterService
from steward.domain.errors import BadRequestException
from steward.domain.model import (
    ClientAuthentication,
    ClientBroker,
    Cluster,
    ClusterState,
    EncryptionInTransit,
    Node,
    OperationType,
)
from steward.kafka.instance_types import INSTANCE_TYPES
from steward.kafka.node_config import (
    INTERNAL_PRINCIPAL,
    STANDARD_AUTHORIZER,
    render_broker_properties,
    render_controller_properties,
)
from steward.kafka.plugins import (
    IAM_SECURITY_PROVIDER,
    IAM_SIGN_IN_VERIFIER,
    PRINCIPAL_BUILDER,
    needs_plugins,
)
from steward.settings import Settings, Zone
from steward.store.store import Store
from tests.unit.clusters import active_cluster, desired_spec
from tests.unit.test_node_config import nodes as placed

ZONES = (Zone("az-a", "127.71.1"), Zone("az-b", "127.71.2"), Zone("az-c", "127.71.3"))
TLS_IN_CLUSTER = EncryptionInTransit(ClientBroker.TLS, in_cluster=True)
SCRAM_ONLY = ClientAuthentication(unauthenticated=False, sasl_scram=True)


@pytest.fixture
def service(tmp_path: Path) -> ClusterService:
    settings = Settings(home=tmp_path, zones=ZONES)
    return ClusterService(settings, Store(settings.db_url))


def in_cluster_tls(service: ClusterService) -> Cluster:
    return active_cluster(service, encryption_in_transit=TLS_IN_CLUSTER)


def test_turning_unauthenticated_access_off_is_a_security_update(
    service: ClusterService,
) -> None:
    cluster = in_cluster_tls(service)
    operation = service.updates.update_security(
        cluster.arn,
        cluster.current_version,
        client_authentication={"sasl_scram": True, "unauthenticated": False},
    )
    assert operation.type is OperationType.UPDATE_SECURITY
    assert desired_spec(service, operation).client_authentication == SCRAM_ONLY
    after = service.describe_cluster(cluster.arn)
    assert after.state is ClusterState.UPDATING
    assert after.observed_spec.client_authentication == ClientAuthentication()  # until done


def test_what_a_security_update_leaves_out_stays(service: ClusterService) -> None:
    cluster = active_cluster(
        service,
        encryption_in_transit=TLS_IN_CLUSTER,
        client_authentication=ClientAuthentication(sasl_scram=True),
    )
    operation = service.updates.update_security(
        cluster.arn, cluster.current_version, client_broker=ClientBroker.TLS_PLAINTEXT
    )
    target = desired_spec(service, operation)
    assert target.client_authentication == ClientAuthentication(sasl_scram=True)
    assert target.encryption_in_transit == EncryptionInTransit(
        ClientBroker.TLS_PLAINTEXT, in_cluster=True
    )


@pytest.mark.parametrize(
    ("changes", "param"),
    [
        ({"in_cluster": False}, "encryptionInfo.encryptionInTransit.inCluster"),
        ({"client_authentication": {}}, "clientAuthentication"),  # no change at all
        (
            {"client_authentication": {"unauthenticated": False}},
            "clientAuthentication",  # no way in would be left
        ),
        (
            {"client_authentication": {"sasl_iam": True}, "client_broker": ClientBroker.PLAINTEXT},
            "encryptionInfo.encryptionInTransit.clientBroker",  # IAM signs in over TLS only
        ),
        (
            {
                "client_authentication": {
                    "tls": True,
                    "tls_certificate_authority_arns": (
                        "arn:aws:acm-pca:us-east-1:000000000000:certificate-authority/"
                        "00000000-0000-0000-0000-000000000000",
                    ),
                }
            },
            "certificateAuthorityArnList",  # no such CA
        ),
    ],
)
def test_refused_security_updates_name_the_parameter_and_change_nothing(
    service: ClusterService, changes: dict[str, object], param: str
) -> None:
    cluster = in_cluster_tls(service)
    with pytest.raises(BadRequestException) as refused:
        service.updates.update_security(cluster.arn, cluster.current_version, **changes)  # type: ignore[arg-type]
    assert refused.value.invalid_parameter == param
    assert service.describe_cluster(cluster.arn).state is ClusterState.ACTIVE


def test_a_cluster_without_in_cluster_tls_keeps_its_unauthenticated_access(
    service: ClusterService,
) -> None:
    cluster = active_cluster(
        service,
        encryption_in_transit=EncryptionInTransit(ClientBroker.TLS, in_cluster=False),
        client_authentication=ClientAuthentication(sasl_scram=True),
    )
    with pytest.raises(BadRequestException) as refused:
        service.updates.update_security(
            cluster.arn, cluster.current_version, client_authentication={"unauthenticated": False}
        )
    assert refused.value.invalid_parameter == "clientAuthentication.unauthenticated"
    assert "in-cluster" in refused.value.message.lower() or "inCluster" in refused.value.message


def test_update_security_requests_name_only_what_changes() -> None:
    body = Fields(
        {
            "sasl": {"scram": {"enabled": True}},
            "tls": {"certificateAuthorityArnList": ["arn:a"]},
            "unauthenticated": {"enabled": False},
        },
        "clientAuthentication",
    )
    assert client_authentication_changes(body) == {
        "sasl_scram": True,
        "tls": True,
        "tls_certificate_authority_arns": ("arn:a",),
        "unauthenticated": False,
    }
    assert client_authentication_changes(None) == {}


# --- what the nodes run with -------------------------------------------------------------------
def nodes() -> tuple[Node, list[Node]]:
    brokers, controllers = placed(3)
    return brokers[0], controllers


def broker_properties(auth: ClientAuthentication) -> dict[str, str]:
    broker, controllers = nodes()
    m5 = INSTANCE_TYPES["kafka.m5.large"]
    return render_broker_properties(broker, controllers, 3, m5, {}, TLS_IN_CLUSTER, auth)


def protocols(properties: dict[str, str]) -> dict[str, str]:
    entries = properties["listener.security.protocol.map"].split(",")
    return dict(entry.split(":") for entry in entries)


def test_without_authentication_there_is_no_authorizer_but_internal_mutual_tls() -> None:
    properties = broker_properties(ClientAuthentication())
    assert "authorizer.class.name" not in properties
    assert protocols(properties) == {"CLIENT_TLS": "SSL", "REPLICATION": "SSL", "CONTROLLER": "SSL"}
    assert properties["listener.name.replication.ssl.client.auth"] == "required"
    assert properties["listener.name.controller.ssl.client.auth"] == "required"
    assert "steward-internal" in properties["listener.name.replication.ssl.principal.mapping.rules"]


def test_with_unauthenticated_access_off_every_node_denies_by_default() -> None:
    properties = broker_properties(SCRAM_ONLY)
    assert properties["authorizer.class.name"] == STANDARD_AUTHORIZER
    assert properties["allow.everyone.if.no.acl.found"] == "false"
    assert properties["super.users"] == INTERNAL_PRINCIPAL
    # only the SCRAM listener is open to clients: no anonymous way in
    assert set(protocols(properties)) == {"CLIENT_SASL_SCRAM", "REPLICATION", "CONTROLLER"}
    _, controllers = nodes()
    controller = render_controller_properties(
        controllers[0], controllers, 3, {}, TLS_IN_CLUSTER, SCRAM_ONLY
    )
    assert controller["authorizer.class.name"] == STANDARD_AUTHORIZER
    assert controller["super.users"] == INTERNAL_PRINCIPAL


def test_client_certificates_are_required_only_without_unauthenticated_access() -> None:
    prefix = "listener.name.client_tls."
    mutual = broker_properties(
        ClientAuthentication(unauthenticated=False, tls=True, tls_certificate_authority_arns=("a",))
    )
    assert mutual[f"{prefix}ssl.client.auth"] == "required"
    assert mutual[f"{prefix}principal.builder.class"] == PRINCIPAL_BUILDER
    assert mutual[f"{prefix}ssl.truststore.type"] == "PEM"
    mixed = broker_properties(ClientAuthentication(tls=True, tls_certificate_authority_arns=("a",)))
    assert mixed[f"{prefix}ssl.client.auth"] == "requested"
    assert "authorizer.class.name" not in mixed


IAM_ONLY = ClientAuthentication(unauthenticated=False, sasl_iam=True)


def test_with_iam_a_broker_opens_the_iam_listener_and_denies_by_default() -> None:
    properties = broker_properties(IAM_ONLY)
    assert set(protocols(properties)) == {"CLIENT_SASL_IAM", "REPLICATION", "CONTROLLER"}
    assert protocols(properties)["CLIENT_SASL_IAM"] == "SASL_SSL"
    assert ":9098" in properties["listeners"]
    assert properties["authorizer.class.name"] == STANDARD_AUTHORIZER
    prefix = "listener.name.client_sasl_iam."
    assert properties[f"{prefix}sasl.enabled.mechanisms"] == "AWS_MSK_IAM,OAUTHBEARER"
    assert properties[f"{prefix}oauthbearer.sasl.server.callback.handler.class"] == (
        IAM_SIGN_IN_VERIFIER
    )
    assert properties[f"{prefix}aws_msk_iam.sasl.server.callback.handler.class"] == (
        IAM_SIGN_IN_VERIFIER
    )
    assert int(properties[f"{prefix}connections.max.reauth.ms"]) > 0
    assert properties["security.providers"] == IAM_SECURITY_PROVIDER
    assert needs_plugins(properties)


def test_iam_and_scram_side_by_side_each_have_their_listener() -> None:
    properties = broker_properties(
        ClientAuthentication(unauthenticated=False, sasl_scram=True, sasl_iam=True)
    )
    assert {"CLIENT_SASL_IAM", "CLIENT_SASL_SCRAM"} <= set(protocols(properties))
    assert properties["listener.name.client_sasl_scram.sasl.enabled.mechanisms"] == "SCRAM-SHA-512"


def test_turning_iam_on_is_a_rolling_security_update(service: ClusterService) -> None:
    cluster = active_cluster(
        service, encryption_in_transit=TLS_IN_CLUSTER, client_authentication=SCRAM_ONLY
    )
    operation = service.updates.update_security(
        cluster.arn, cluster.current_version, client_authentication={"sasl_iam": True}
    )
    assert operation.type is OperationType.UPDATE_SECURITY
    assert desired_spec(service, operation).client_authentication == ClientAuthentication(
        unauthenticated=False, sasl_scram=True, sasl_iam=True
    )

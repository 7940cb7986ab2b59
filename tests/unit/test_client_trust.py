"""Client trust on its way to the brokers, without Kafka: a broker's spec gets the certificates
and revocation lists of the private CAs its cluster trusts, and a push re-applies the specs of the
brokers of ACTIVE clusters with client certificates, and of no other nodes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from steward.agent.spec import NodeSpec
from steward.control.node_specs import NodeSpecRenderer, build_node_spec, user_properties
from steward.control.service import ClusterService
from steward.crypto.certificates import make_certificate_authority
from steward.domain.model import ClientAuthentication, ClientBroker, EncryptionInTransit
from steward.security.client_trust import ClientTrust
from steward.settings import Settings, Zone
from steward.store.store import Store
from tests.unit.clusters import active_cluster

ZONES = (Zone("az-a", "127.72.1"), Zone("az-b", "127.72.2"), Zone("az-c", "127.72.3"))
CONFIGURATION = {
    "KeyAlgorithm": "EC_prime256v1",
    "SigningAlgorithm": "SHA256WITHECDSA",
    "Subject": {"CommonName": "clients"},
}


@pytest.fixture
def service(tmp_path: Path) -> ClusterService:
    settings = Settings(home=tmp_path, zones=ZONES)
    return ClusterService(settings, Store(settings.db_url))


class Agent:
    """Records what it is given (the renderer has added the client trust)."""

    def __init__(self) -> None:
        self.applied: list[NodeSpec] = []

    def apply(self, spec: NodeSpec) -> Any:
        self.applied.append(spec)


def test_a_push_gives_the_brokers_the_cas_and_their_revocation_lists(
    service: ClusterService,
) -> None:
    cas = service.private_cas
    ca = cas.create(CONFIGURATION, "ROOT").arn
    auth = ClientAuthentication(tls=True, tls_certificate_authority_arns=(ca,))
    mutual = active_cluster(
        service,
        encryption_in_transit=EncryptionInTransit(ClientBroker.TLS, in_cluster=True),
        client_authentication=auth,
    )
    active_cluster(service, name="plain")  # no client certificates: nothing to push
    trust = ClientTrust(service.store, cas, lambda _cluster_id: "unused")
    agent = Agent()
    trust.agents = lambda _name: agent  # type: ignore[assignment,return-value]
    trust.render = NodeSpecRenderer(service.store, client_trust=trust.with_client_trust).render

    assert trust.push() == 3  # the three brokers of `mutual`, not its controllers
    assert {s.role for s in agent.applied} == {"broker"}
    first = agent.applied[0]
    assert first.client_certificate_authorities == [ca]
    assert first.client_trusted_certificates == cas.trust_bundle([ca])
    assert first.revocation_lists is not None
    crl = x509.load_pem_x509_crl(first.revocation_lists.encode())
    assert list(crl) == []  # nothing revoked yet

    nodes = service.store.nodes(mutual.arn)
    broker = next(n for n in nodes if n.role.value == "BROKER")
    spec = build_node_spec(mutual, broker, nodes, user_properties(service.store, mutual))
    assert trust.with_client_trust(spec).spec_hash == spec.spec_hash  # lists restart nothing


def test_a_cluster_whose_cas_are_all_disabled_still_has_a_trust_store(
    service: ClusterService,
) -> None:
    cas = service.private_cas
    ca = cas.create(CONFIGURATION, "ROOT").arn
    cas.update(ca, status="DISABLED")
    cluster_ca = make_certificate_authority("the cluster's own").certificate_pem
    trust = ClientTrust(service.store, cas, lambda _cluster_id: cluster_ca)
    spec = NodeSpec.from_dict(
        {
            "key": "b1",
            "kafka_version": "4.3.1",
            "role": "broker",
            "node_id": 1,
            "cluster_id": "AAAAAAAAAAAAAAAAAAAAAA",
            "directory_id": "BBBBBBBBBBBBBBBBBBBBBB",
            "properties": {},
            "client_certificate_authorities": [ca],
        }
    )
    assert trust.with_client_trust(spec).client_trusted_certificates == cluster_ca

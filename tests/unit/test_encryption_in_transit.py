"""Encryption in transit: a cluster's CA and its nodes' certificates, the listeners each setting
renders, the TLS material that travels in a node's spec, and where Steward connects."""

from __future__ import annotations

import base64
import ipaddress
import os
import secrets
import stat
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec

from steward.agent.spec import NodeSpec
from steward.agent.tls import write_tls_files
from steward.cli.clusters import _in_transit
from steward.crypto.certificates import issue_node_certificate, make_certificate_authority
from steward.crypto.master_key import MasterKey
from steward.domain.model import (
    BrokerNodeGroup,
    ClientBroker,
    Cluster,
    ClusterSpec,
    ClusterState,
    EncryptionInTransit,
    Node,
)
from steward.kafka.admin import (
    TlsBootstrap,
    java_client_security,
    java_tool_security,
    librdkafka_security,
)
from steward.kafka.instance_types import INSTANCE_TYPES
from steward.kafka.node_config import (
    render_broker_properties,
    render_controller_properties,
    tls_bootstrap,
)
from steward.kafka.properties import parse_properties
from steward.security.certificates import (
    ClusterCertificates,
    advertised_hosts,
    ca_certificate,
    steward_bootstrap,
)
from steward.store.store import Store
from tests.unit.test_node_config import nodes

TLS_ONLY = EncryptionInTransit(ClientBroker.TLS, in_cluster=True)
BOTH = EncryptionInTransit(ClientBroker.TLS_PLAINTEXT, in_cluster=False)
PLAIN = EncryptionInTransit(ClientBroker.PLAINTEXT, in_cluster=False)
M5 = INSTANCE_TYPES["kafka.m5.large"]


def _verifies(issuer_pem: str, certificate_pem: str) -> bool:
    issuer = x509.load_pem_x509_certificate(issuer_pem.encode())
    certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, InvalidSignature):
        return False
    return True


def test_a_node_certificate_names_its_hosts_and_is_signed_by_the_cluster_ca() -> None:
    ca = make_certificate_authority("orders CA")
    node = issue_node_certificate(ca, "broker-1", ["127.67.1.2", "broker-1.orders.internal"])
    certificate = x509.load_pem_x509_certificate(node.certificate_pem.encode())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.67.1.2")]
    assert names.get_values_for_type(x509.DNSName) == ["broker-1.orders.internal"]
    assert _verifies(ca.certificate_pem, node.certificate_pem)
    assert not _verifies(make_certificate_authority("other").certificate_pem, node.certificate_pem)
    basic = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert basic.ca is False
    assert certificate.not_valid_before_utc <= datetime.now(UTC) < certificate.not_valid_after_utc
    assert node.key_pem.startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8, as Kafka reads it


def test_the_ca_is_a_ca_and_its_key_is_hidden_from_repr() -> None:
    ca = make_certificate_authority("orders CA")
    certificate = x509.load_pem_x509_certificate(ca.certificate_pem.encode())
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert isinstance(certificate.public_key(), ec.EllipticCurvePublicKey)
    assert "PRIVATE" not in repr(ca)
    with pytest.raises(ValueError):
        issue_node_certificate(ca, "nobody", [])


def test_tls_only_with_in_cluster_encryption_renders_ssl_listeners_only() -> None:
    brokers, controllers = nodes(3)
    broker = render_broker_properties(brokers[0], controllers, 3, M5, {}, TLS_ONLY)
    host = brokers[0].host
    assert broker["listeners"] == f"CLIENT_TLS://{host}:9094,REPLICATION://{host}:9091"
    assert broker["advertised.listeners"] == broker["listeners"]
    assert broker["listener.security.protocol.map"] == (
        "CLIENT_TLS:SSL,REPLICATION:SSL,CONTROLLER:SSL"
    )
    assert broker["ssl.keystore.type"] == broker["ssl.truststore.type"] == "PEM"
    assert "9092" not in broker["listeners"]
    controller = render_controller_properties(controllers[0], controllers, 3, {}, TLS_ONLY)
    assert controller["listener.security.protocol.map"] == "CONTROLLER:SSL"
    assert controller["ssl.keystore.type"] == "PEM"


def test_tls_plaintext_opens_both_client_ports_and_keeps_the_cluster_plain() -> None:
    brokers, controllers = nodes(3)
    broker = render_broker_properties(brokers[0], controllers, 3, M5, {}, BOTH)
    host = brokers[0].host
    assert broker["listeners"] == (
        f"CLIENT://{host}:9092,CLIENT_TLS://{host}:9094,REPLICATION://{host}:9091"
    )
    assert broker["listener.security.protocol.map"] == (
        "CLIENT:PLAINTEXT,CLIENT_TLS:SSL,REPLICATION:PLAINTEXT,CONTROLLER:PLAINTEXT"
    )
    controller = render_controller_properties(controllers[0], controllers, 3, {}, BOTH)
    assert controller["listener.security.protocol.map"] == "CONTROLLER:PLAINTEXT"
    assert "ssl.keystore.type" not in controller  # controllers need no key store


def test_plaintext_renders_what_steward_always_rendered() -> None:
    brokers, controllers = nodes(3)
    broker = render_broker_properties(brokers[0], controllers, 3, M5, {}, PLAIN)
    host = brokers[0].host
    assert broker["listeners"] == f"CLIENT://{host}:9092,REPLICATION://{host}:9091"
    assert not any(key.startswith("ssl.") for key in broker)
    assert broker == render_broker_properties(brokers[0], controllers, 3, M5, {})


def test_users_cannot_turn_tls_listeners_off() -> None:
    brokers, controllers = nodes(3)
    user = {"listeners": "CLIENT://0.0.0.0:9092", "ssl.keystore.type": "JKS"}
    broker = render_broker_properties(brokers[0], controllers, 3, M5, user, TLS_ONLY)
    assert "CLIENT_TLS" in broker["listeners"] and broker["ssl.keystore.type"] == "PEM"


def _spec(properties: dict[str, str], **extra: object) -> NodeSpec:
    return NodeSpec(
        key="orders-1234abcd-b1",
        kafka_version="4.3.1",
        role="broker",
        node_id=1,
        cluster_id=base64.urlsafe_b64encode(secrets.token_bytes(16)).decode()[:22],
        directory_id=base64.urlsafe_b64encode(secrets.token_bytes(16)).decode()[:22],
        properties=properties,
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture
def certificates(tmp_path: Path) -> ClusterCertificates:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    return ClusterCertificates(store.engine, MasterKey(secrets.token_bytes(32)))


def test_a_tls_node_gets_a_key_and_certificate_for_its_advertised_hosts(
    certificates: ClusterCertificates,
) -> None:
    brokers, controllers = nodes(3)
    properties = render_broker_properties(brokers[0], controllers, 3, M5, {}, TLS_ONLY)
    spec = _spec(properties)
    assert advertised_hosts(spec) == [brokers[0].host]
    sent = certificates.with_node_tls(spec)
    assert sent.tls_key is not None and sent.tls_certificate_chain is not None
    ca = ca_certificate(certificates.engine, spec.cluster_id)
    assert ca is not None and sent.tls_trusted_certificates == ca
    leaf = sent.tls_certificate_chain.split("-----END CERTIFICATE-----")[0]
    assert _verifies(ca, leaf + "-----END CERTIFICATE-----\n")
    again = certificates.with_node_tls(spec)
    assert again.tls_certificate_chain == sent.tls_certificate_chain  # kept, not reissued
    assert spec.spec_hash == sent.spec_hash  # the material restarts nothing
    assert "PRIVATE" not in repr(sent)
    assert '"tls_key": null' in sent.to_json()  # the agent stores no key in its spec
    plain = _spec(render_broker_properties(brokers[0], controllers, 3, M5, {}, PLAIN))
    assert certificates.with_node_tls(plain) is plain


def test_the_store_keeps_no_private_key_in_clear(
    certificates: ClusterCertificates, tmp_path: Path
) -> None:
    brokers, controllers = nodes(3)
    spec = _spec(render_broker_properties(brokers[0], controllers, 3, M5, {}, TLS_ONLY))
    sent = certificates.with_node_tls(spec)
    assert sent.tls_key is not None
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert b"PRIVATE KEY" not in data
    assert sent.tls_key.split("\n")[1].encode() not in data


def test_the_agent_writes_the_key_store_for_the_owner_only(
    certificates: ClusterCertificates, tmp_path: Path
) -> None:
    brokers, controllers = nodes(3)
    spec = certificates.with_node_tls(
        _spec(render_broker_properties(brokers[0], controllers, 3, M5, {}, TLS_ONLY))
    )
    directory = tmp_path / "node" / "tls"
    added = write_tls_files(spec, directory)
    keystore = Path(added["ssl.keystore.location"])
    truststore = Path(added["ssl.truststore.location"])
    assert stat.S_IMODE(keystore.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    text = keystore.read_text()
    assert text.startswith("-----BEGIN PRIVATE KEY-----") and text.count("CERTIFICATE-----") == 4
    assert truststore.read_text().strip() == (spec.tls_trusted_certificates or "").strip()
    stored = NodeSpec.from_json(spec.to_json())  # a spec read back: the files stay as they are
    assert write_tls_files(stored, directory) == added
    assert keystore.read_text() == text
    os.chmod(directory, 0o755)
    plain = _spec(render_broker_properties(brokers[0], controllers, 3, M5, {}, PLAIN))
    assert write_tls_files(plain, tmp_path / "plain") == {}


def _cluster(transit: EncryptionInTransit) -> Cluster:
    spec = ClusterSpec(
        "4.3.1", 3, BrokerNodeGroup("kafka.m5.large", ("az-a",)), encryption_in_transit=transit
    )
    return Cluster(
        "arn:aws:kafka:r:1:cluster/x/u-1",
        "x",
        spec,
        ClusterState.ACTIVE,
        datetime.now(UTC),
        "K1",
        "AAAAAAAAAAAAAAAAAAAAAA",
    )


def test_steward_connects_plainly_where_allowed_else_over_tls(
    certificates: ClusterCertificates,
) -> None:
    brokers, _ = nodes(3)
    store = SimpleNamespace(engine=certificates.engine, master_key=certificates.master_key)
    both = steward_bootstrap(store, _cluster(BOTH), brokers)  # type: ignore[arg-type]
    assert not isinstance(both, TlsBootstrap) and both.endswith(":9092")
    certificates.authority("AAAAAAAAAAAAAAAAAAAAAA")
    tls_clients = EncryptionInTransit(ClientBroker.TLS, in_cluster=False)
    tls = steward_bootstrap(store, _cluster(tls_clients), brokers)  # type: ignore[arg-type]
    assert isinstance(tls, TlsBootstrap) and tls.client is None
    assert [e.rsplit(":", 1)[1] for e in tls.split(",")] == ["9094"] * 3
    assert librdkafka_security(tls) == {"security.protocol": "SSL", "ssl.ca.pem": tls.ca_pem}
    assert java_client_security(tls)["ssl.truststore.type"] == "PEM"
    assert librdkafka_security(both) == java_client_security(both) == {}
    # With TLS inside the cluster: the brokers' REPLICATION listeners, with Steward's certificate.
    internal = steward_bootstrap(store, _cluster(TLS_ONLY), brokers)  # type: ignore[arg-type]
    assert isinstance(internal, TlsBootstrap) and internal.client is not None
    assert [e.rsplit(":", 1)[1] for e in internal.split(",")] == ["9091"] * 3
    assert librdkafka_security(internal)["ssl.certificate.pem"] == internal.client.certificate_pem


def test_brokers_placed_before_tls_existed_have_a_tls_endpoint_too() -> None:
    brokers, _ = nodes(1)
    old = Node(**{**brokers[0].__dict__, "ports": {"CLIENT": 9092, "REPLICATION": 9091}})
    assert tls_bootstrap([old]) == f"{old.host}:9094"


def test_kafka_tools_get_a_command_config_that_trusts_the_ca() -> None:
    ca = make_certificate_authority("orders CA").certificate_pem
    tls = TlsBootstrap("127.67.1.2:9094", ca)
    with java_tool_security(tls) as arguments:
        flag, path = arguments
        config = parse_properties(Path(path).read_text())
        assert flag == "--command-config"
        assert config["security.protocol"] == "SSL" and config["ssl.truststore.type"] == "PEM"
        assert Path(config["ssl.truststore.location"]).read_text() == ca
        assert Path(path).stat().st_mode & 0o077 == 0
    assert not Path(path).exists()
    with java_tool_security("127.67.1.2:9092") as plain:
        assert plain == []


def test_steward_cluster_describe_says_how_traffic_is_encrypted() -> None:
    tls = {"EncryptionInfo": {"EncryptionInTransit": {"ClientBroker": "TLS", "InCluster": True}}}
    assert _in_transit(tls) == "TLS between clients and brokers, in cluster too"
    assert _in_transit({}) is None


def test_a_cluster_without_a_ca_yet_gets_clients_that_trust_nothing() -> None:
    """Before its first node starts a TLS-only cluster has no CA: Steward's clients are still
    made (and fail to connect) rather than raise on an empty certificate."""
    early = TlsBootstrap("127.67.1.2:9094", "")
    assert librdkafka_security(early) == java_client_security(early) == {"security.protocol": "SSL"}

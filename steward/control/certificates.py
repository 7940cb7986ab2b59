"""Each cluster's certificate authority and its nodes' TLS certificates, kept in the store.

The CA is made with the cluster's first node that needs TLS; its private key, like every node's,
is sealed by the master key and opens only in the control plane, to sign. Agents get a node's key
and certificate chain with the node's spec (`AgentClient.apply`), write them into the node's key
store file (`steward.agent.tls`), and never store or log the key elsewhere. The CA's certificate
is public: clients need it to trust the brokers (`GET /steward/v1/clusters/{arn}/ca-certificate`).
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from steward.agent.spec import NodeSpec
from steward.agent.tls import uses_tls
from steward.control.model import Cluster, Node, NodeRole, utcnow
from steward.crypto.certificates import (
    KeyAndCertificate,
    issue_node_certificate,
    make_certificate_authority,
)
from steward.crypto.master_key import MasterKey
from steward.kafka.admin import TlsBootstrap
from steward.kafka.node_config import (
    CLIENT_TLS,
    PLAINTEXT_ALLOWED,
    client_bootstrap,
    client_listener,
    tls_bootstrap,
)
from steward.store import schema

CA = "ca"


def ca_certificate(engine: Engine, kafka_cluster_id: str) -> str | None:
    """The cluster's CA certificate (PEM), or None while the cluster has none yet."""
    with engine.connect() as conn:
        row = conn.execute(
            select(schema.certificates.c.certificate_pem).where(
                schema.certificates.c.kafka_cluster_id == kafka_cluster_id,
                schema.certificates.c.name == CA,
            )
        ).first()
    return None if row is None else str(row[0])


def advertised_hosts(spec: NodeSpec) -> list[str]:
    """The host names and addresses a node advertises (a controller: listens on)."""
    listeners = spec.properties.get("advertised.listeners") or spec.properties.get("listeners", "")
    hosts = [entry.split("://", 1)[-1].rsplit(":", 1)[0] for entry in listeners.split(",") if entry]
    return list(dict.fromkeys(h.strip("[]") for h in hosts if h))


class ClusterCertificates:
    def __init__(self, engine: Engine, master_key: MasterKey) -> None:
        self.engine = engine
        self.master_key = master_key
        self._lock = threading.Lock()

    def authority(self, kafka_cluster_id: str) -> KeyAndCertificate:
        """The cluster's CA, made on first use."""
        with self._lock:
            return self._get_or_make(
                kafka_cluster_id, CA, lambda: make_certificate_authority(f"{kafka_cluster_id} CA")
            )

    def with_node_tls(self, spec: NodeSpec) -> NodeSpec:
        """`spec` with its node's key, certificate chain and trusted CA, when the node has TLS
        listeners (else `spec` itself)."""
        if not uses_tls(spec) or spec.tls_key is not None:
            return spec
        hosts = advertised_hosts(spec)
        ca = self.authority(spec.cluster_id)
        name = f"node-{spec.node_id}@{','.join(hosts)}"
        with self._lock:
            node = self._get_or_make(
                spec.cluster_id,
                name,
                lambda: issue_node_certificate(ca, f"{spec.role}-{spec.node_id}", hosts),
            )
        return replace(
            spec,
            tls_certificate_chain=node.certificate_pem.strip() + "\n" + ca.certificate_pem,
            tls_key=node.key_pem,
            tls_trusted_certificates=ca.certificate_pem,
        )

    def _get_or_make(
        self, kafka_cluster_id: str, name: str, make: Callable[[], KeyAndCertificate]
    ) -> KeyAndCertificate:
        context = f"certificate/{kafka_cluster_id}/{name}"
        found = self._read(kafka_cluster_id, name)
        if found is None:
            made = make()
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        insert(schema.certificates).values(
                            kafka_cluster_id=kafka_cluster_id,
                            name=name,
                            certificate_pem=made.certificate_pem,
                            sealed_key=self.master_key.seal(made.key_pem.encode(), context),
                            creation_time=utcnow(),
                        )
                    )
            except IntegrityError:  # another process made it first: theirs counts
                pass
            found = self._read(kafka_cluster_id, name)
            assert found is not None
        certificate_pem, sealed = found
        key_pem = self.master_key.open(sealed, context).decode()
        return KeyAndCertificate(certificate_pem, key_pem)

    def _read(self, kafka_cluster_id: str, name: str) -> tuple[str, bytes] | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(
                    schema.certificates.c.certificate_pem, schema.certificates.c.sealed_key
                ).where(
                    schema.certificates.c.kafka_cluster_id == kafka_cluster_id,
                    schema.certificates.c.name == name,
                )
            ).first()
        return None if row is None else (str(row[0]), bytes(row[1]))


def steward_bootstrap(engine: Engine, cluster: Cluster, brokers: Iterable[Node]) -> str:
    """How Steward itself reaches the cluster's brokers: their plaintext listeners where the
    cluster allows plaintext, else their TLS listeners, trusting the cluster's CA."""
    transit = cluster.spec.encryption_in_transit
    if transit.client_broker in PLAINTEXT_ALLOWED:
        return client_bootstrap(brokers)
    return TlsBootstrap(
        tls_bootstrap(brokers), ca_certificate(engine, cluster.kafka_cluster_id) or ""
    )


def probe_tls(engine: Engine, cluster: Cluster, node: Node) -> ssl.SSLContext | None:
    """How Steward's probes reach the listener it checks on `node` (`steward.kafka.probe`): over
    TLS trusting the cluster's CA where that listener is TLS, else plainly (None)."""
    transit = cluster.spec.encryption_in_transit
    if node.role is NodeRole.CONTROLLER:
        encrypted = transit.in_cluster
    else:
        encrypted = client_listener(transit) == CLIENT_TLS
    if not encrypted:
        return None
    context = ssl.create_default_context()
    ca = ca_certificate(engine, cluster.kafka_cluster_id)
    if ca is not None:
        context.load_verify_locations(cadata=ca)
    return context

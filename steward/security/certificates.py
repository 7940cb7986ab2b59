"""Each cluster's certificate authority and its nodes' TLS certificates, kept in the store.

The CA is made with the cluster's first node that needs TLS; its private key, like every node's,
is sealed by the master key and opens only in the control plane, to sign. Agents get a node's key
and certificate chain with the node's spec (`AgentClient.apply`), write them into the node's key
store file (`steward.agent.tls`), and never store or log the key elsewhere. The CA's certificate
is public: clients need it to trust the brokers (`GET /steward/v1/clusters/{arn}/ca-certificate`).

Steward has a certificate of each cluster's CA too, its identity on the nodes' internal listeners
(`steward.kafka.node_config`: the super user of a cluster with an authorizer). Its key is sealed
like the others and opened only where Steward connects: `steward_bootstrap` and `probe_tls`.
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
from steward.crypto.certificates import (
    KeyAndCertificate,
    issue_node_certificate,
    make_certificate_authority,
)
from steward.crypto.master_key import MasterKey
from steward.domain.errors import BadRequestException
from steward.domain.model import SERVING_STATES, Cluster, ClusterState, Node, NodeRole, utcnow
from steward.kafka.admin import TlsBootstrap, client_ssl_context
from steward.kafka.node_config import (
    CLIENT,
    CONTROLLER,
    INTERNAL_USER,
    REPLICATION,
    internal_tls,
    replication_bootstrap,
    steward_listener,
    tls_bootstrap,
)
from steward.store import schema
from steward.store.store import Store

CA = "ca"
STEWARD = "steward"
"""The name of Steward's own certificate among a cluster's."""


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

    def steward_identity(self, kafka_cluster_id: str) -> KeyAndCertificate:
        """Steward's key and certificate for the cluster's internal listeners, made on first
        use."""
        ca = self.authority(kafka_cluster_id)
        with self._lock:
            return self._get_or_make(
                kafka_cluster_id,
                STEWARD,
                lambda: issue_node_certificate(ca, f"{INTERNAL_USER} (Steward)", [STEWARD]),
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


def _identity(store: Store, cluster: Cluster) -> KeyAndCertificate | None:
    if store.master_key is None:
        return None
    return ClusterCertificates(store.engine, store.master_key).steward_identity(
        cluster.kafka_cluster_id
    )


def steward_bootstrap(store: Store, cluster: Cluster, brokers: Iterable[Node]) -> str:
    """How Steward itself reaches the cluster's brokers (`steward_listener`): where an authorizer
    runs, their REPLICATION listeners with Steward's certificate; else their plaintext listeners
    where the cluster allows plaintext, or their TLS listeners trusting the cluster's CA."""
    auth = cluster.spec.client_authentication
    listener = steward_listener(cluster.spec.encryption_in_transit, auth)
    if listener == CLIENT:
        return ",".join(b.endpoint(CLIENT) for b in brokers)
    ca = ca_certificate(store.engine, cluster.kafka_cluster_id) or ""
    if listener == REPLICATION:
        return TlsBootstrap(replication_bootstrap(brokers), ca, _identity(store, cluster))
    return TlsBootstrap(tls_bootstrap(brokers), ca)


def serving_bootstrap(store: Store, cluster: Cluster, managed: str) -> str:
    """The bootstrap string of the cluster's brokers when they serve; else a BadRequestException
    that says `managed` ("its topics") can be managed once, or while, the cluster is ACTIVE."""
    brokers = [n for n in store.nodes(cluster.arn) if n.role is NodeRole.BROKER]
    if cluster.state not in SERVING_STATES or not brokers:
        when = (
            "once it is ACTIVE" if cluster.state is ClusterState.CREATING else "while it is ACTIVE"
        )
        raise BadRequestException(
            f"Cluster {cluster.name} is {cluster.state.value}; {managed} can be managed {when}.",
            "clusterArn",
        )
    return steward_bootstrap(store, cluster, brokers)


def probe_listener(cluster: Cluster, node: Node) -> str:
    """The listener Steward's probes ask on `node`: a controller's CONTROLLER, a broker's
    `steward_listener`."""
    if node.role is NodeRole.CONTROLLER:
        return CONTROLLER
    return steward_listener(cluster.spec.encryption_in_transit, cluster.spec.client_authentication)


def probe_tls(store: Store, cluster: Cluster, node: Node) -> ssl.SSLContext | None:
    """How Steward's probes reach `probe_listener` on `node`: over TLS trusting the cluster's CA
    where that listener is TLS, with Steward's certificate where it demands one; else plainly
    (None)."""
    transit, auth = cluster.spec.encryption_in_transit, cluster.spec.client_authentication
    listener = probe_listener(cluster, node)
    internal = listener in (CONTROLLER, REPLICATION)
    if internal and not internal_tls(transit, auth):
        return None
    if listener == CLIENT:
        return None
    ca = ca_certificate(store.engine, cluster.kafka_cluster_id)
    return client_ssl_context(ca, _identity(store, cluster) if internal else None)

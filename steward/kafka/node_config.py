"""Render the `server.properties` of a cluster's brokers and KRaft controllers.

Listener layout of every node (the ports follow MSK's conventions):
- brokers: CLIENT on 9092 (plaintext, `BootstrapBrokerString`) and CLIENT_TLS on 9094 (TLS,
  `BootstrapBrokerStringTls`), each where the cluster's `clientBroker` allows it;
  CLIENT_SASL_SCRAM on 9096 (SASL_SSL with SCRAM-SHA-512, `BootstrapBrokerStringSaslScram`) in a
  cluster with SASL/SCRAM on; CLIENT_SASL_IAM on 9098 (SASL_SSL with AWS_MSK_IAM and OAUTHBEARER,
  `BootstrapBrokerStringSaslIam`) in a cluster with IAM on (`steward.kafka.iam_signin`);
  REPLICATION on 9091 for inter-broker traffic, all on the broker's
  own address;
- controllers: CONTROLLER on 9093. Controllers are dedicated processes (never combined with a
  broker), one per zone, so brokers can be added, removed and rolled without touching the quorum.

With `inCluster` encryption, REPLICATION and CONTROLLER speak TLS too. Every TLS listener uses the
node's PEM key store and trust store, which the agent writes (`steward.agent.tls`): a key and
certificate issued by the cluster's own CA (`steward.security.certificates`).

Identities and authorization. Where REPLICATION and CONTROLLER speak TLS they demand a client
certificate from the cluster's CA (mutual TLS), which only the cluster's nodes and Steward itself
hold; every such certificate is the principal `User:steward-internal`. Once a cluster's
unauthenticated access is off, every node runs Kafka's StandardAuthorizer, deny by default, with
that principal as its one super user: the nodes among themselves and Steward (its admin clients,
probes and tools, over REPLICATION wherever it is mutual TLS) are allowed everything, every client
only what the ACLs compiled from its access policy allow (`steward.domain.access_policies`).
Such a cluster's REPLICATION and CONTROLLER speak TLS whatever `inCluster` says, since that is
where the nodes' identities come from. Client listeners open for the client authentication the
cluster has:
CLIENT (plaintext) and CLIENT_TLS without a client certificate only with unauthenticated access;
CLIENT_TLS with a client certificate (`Tls`), trusting the certificate authorities the cluster
names and honouring their revocation lists (`steward.kafka.plugins`); CLIENT_SASL_SCRAM with SCRAM;
CLIENT_SASL_IAM with IAM, each principal `User:<principal ARN>`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from steward.domain.model import (
    ClientAuthentication,
    ClientBroker,
    EncryptionInTransit,
    Node,
    NodeRole,
)
from steward.kafka.iam_signin import CLIENT_SASL_IAM, CLIENT_SASL_IAM_PORT, iam_listener_settings
from steward.kafka.instance_types import InstanceType
from steward.kafka.plugins import PRINCIPAL_BUILDER

CLIENT_PORT = 9092
CLIENT_TLS_PORT = 9094
CLIENT_SASL_SCRAM_PORT = 9096
REPLICATION_PORT = 9091
CONTROLLER_PORT = 9093

CLIENT = "CLIENT"
CLIENT_TLS = "CLIENT_TLS"
CLIENT_SASL_SCRAM = "CLIENT_SASL_SCRAM"
REPLICATION = "REPLICATION"
CONTROLLER = "CONTROLLER"

PLAINTEXT_ALLOWED = (ClientBroker.PLAINTEXT, ClientBroker.TLS_PLAINTEXT)
TLS_ALLOWED = (ClientBroker.TLS, ClientBroker.TLS_PLAINTEXT)
PLAINTEXT_ONLY = EncryptionInTransit(ClientBroker.PLAINTEXT, in_cluster=False)
UNAUTHENTICATED = ClientAuthentication()

INTERNAL_USER = "steward-internal"
INTERNAL_PRINCIPAL = f"User:{INTERNAL_USER}"
"""Who the cluster's nodes and Steward are to Kafka: any certificate of the cluster's CA."""
STANDARD_AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
CLIENT_TRUSTSTORE_PREFIX = f"listener.name.{CLIENT_TLS.lower()}."


def client_bootstrap(brokers: Iterable[Node]) -> str:
    """The plaintext bootstrap string: every broker's CLIENT listener, `host:port,...`."""
    return ",".join(b.endpoint(CLIENT) for b in brokers)


def tls_bootstrap(brokers: Iterable[Node]) -> str:
    """The TLS bootstrap string: every broker's CLIENT_TLS listener, `host:port,...`."""
    return ",".join(f"{b.host}:{b.ports.get(CLIENT_TLS, CLIENT_TLS_PORT)}" for b in brokers)


def replication_bootstrap(brokers: Iterable[Node]) -> str:
    """Every broker's REPLICATION listener, `host:port,...`: where Steward and the brokers' agents
    connect as the cluster's own (`steward_listener`)."""
    return ",".join(f"{b.host}:{b.ports.get(REPLICATION, REPLICATION_PORT)}" for b in brokers)


def sasl_scram_bootstrap(brokers: Iterable[Node]) -> str:
    """The SASL/SCRAM bootstrap string: every broker's CLIENT_SASL_SCRAM listener (SASL_SSL)."""
    return ",".join(
        f"{b.host}:{b.ports.get(CLIENT_SASL_SCRAM, CLIENT_SASL_SCRAM_PORT)}" for b in brokers
    )


def sasl_iam_bootstrap(brokers: Iterable[Node]) -> str:
    """The IAM bootstrap string: every broker's CLIENT_SASL_IAM listener (SASL_SSL)."""
    return ",".join(
        f"{b.host}:{b.ports.get(CLIENT_SASL_IAM, CLIENT_SASL_IAM_PORT)}" for b in brokers
    )


def sasl_scram_settings() -> dict[str, str]:
    """What a broker's SASL/SCRAM listener needs: SCRAM-SHA-512 only (as MSK), checked against
    the credentials in the cluster's metadata (written by `steward.kafka.scram`)."""
    prefix = f"listener.name.{CLIENT_SASL_SCRAM.lower()}"
    return {
        "sasl.enabled.mechanisms": "SCRAM-SHA-512",
        f"{prefix}.sasl.enabled.mechanisms": "SCRAM-SHA-512",
        f"{prefix}.scram-sha-512.sasl.jaas.config": (
            "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        ),
    }


def has_authorizer(auth: ClientAuthentication) -> bool:
    """Kafka's authorizer runs, denying what no ACL allows, once unauthenticated access is off."""
    return not auth.unauthenticated


def internal_tls(
    transit: EncryptionInTransit, auth: ClientAuthentication = UNAUTHENTICATED
) -> bool:
    """Whether REPLICATION and CONTROLLER speak mutual TLS: with `inCluster` encryption, and
    wherever the authorizer runs (the nodes' identities are their certificates)."""
    return transit.in_cluster or has_authorizer(auth)


def client_protocols(
    transit: EncryptionInTransit, auth: ClientAuthentication = UNAUTHENTICATED
) -> dict[str, str]:
    """The client listeners a broker opens, with their security protocols."""
    protocols: dict[str, str] = {}
    if transit.client_broker in PLAINTEXT_ALLOWED and auth.unauthenticated:
        protocols[CLIENT] = "PLAINTEXT"
    if transit.client_broker in TLS_ALLOWED and (auth.unauthenticated or auth.tls):
        protocols[CLIENT_TLS] = "SSL"
    if auth.sasl_scram:
        protocols[CLIENT_SASL_SCRAM] = "SASL_SSL"
    if auth.sasl_iam:
        protocols[CLIENT_SASL_IAM] = "SASL_SSL"
    return protocols


def client_listener(transit: EncryptionInTransit) -> str:
    """The listener unauthenticated clients reach a broker on: plaintext where the cluster allows
    it."""
    return CLIENT if transit.client_broker in PLAINTEXT_ALLOWED else CLIENT_TLS


def steward_listener(
    transit: EncryptionInTransit, auth: ClientAuthentication = UNAUTHENTICATED
) -> str:
    """The broker listener Steward's own clients use: REPLICATION, with Steward's certificate,
    wherever it speaks mutual TLS (the same whatever client authentication the cluster has, so
    that Steward keeps its way in while UpdateSecurity rolls the brokers); else the plaintext or
    TLS listener unauthenticated clients use."""
    return REPLICATION if internal_tls(transit, auth) else client_listener(transit)


def uses_tls(
    role: NodeRole, transit: EncryptionInTransit, auth: ClientAuthentication = UNAUTHENTICATED
) -> bool:
    """Whether a node of `role` has a TLS listener (and so a key store) in such a cluster."""
    if internal_tls(transit, auth):
        return True
    return role is NodeRole.BROKER and any(
        protocol != "PLAINTEXT" for protocol in client_protocols(transit, auth).values()
    )


def internal_identity_settings(listener: str) -> dict[str, str]:
    """An internal listener demands a certificate of the cluster's CA, and any such certificate is
    the principal `INTERNAL_PRINCIPAL`."""
    prefix = f"listener.name.{listener.lower()}."
    return {
        f"{prefix}ssl.client.auth": "required",
        f"{prefix}ssl.principal.mapping.rules": f"RULE:^.*$/{INTERNAL_USER}/",
    }


def authorizer_settings() -> dict[str, str]:
    return {
        "authorizer.class.name": STANDARD_AUTHORIZER,
        "allow.everyone.if.no.acl.found": "false",
        "super.users": INTERNAL_PRINCIPAL,
    }


def client_tls_settings(auth: ClientAuthentication) -> dict[str, str]:
    """CLIENT_TLS with client certificates: required without unauthenticated access, else asked
    for; trusted when the certificate authorities the cluster names signed them (the agent writes
    their trust store, `steward.agent.tls`); a revoked one becomes a principal no ACL allows."""
    if not auth.tls:
        return {}
    return {
        f"{CLIENT_TRUSTSTORE_PREFIX}ssl.client.auth": (
            "requested" if auth.unauthenticated else "required"
        ),
        f"{CLIENT_TRUSTSTORE_PREFIX}ssl.truststore.type": "PEM",
        f"{CLIENT_TRUSTSTORE_PREFIX}principal.builder.class": PRINCIPAL_BUILDER,
    }


def broker_ports() -> dict[str, int]:
    """Every port a broker may listen on; which listeners it opens depends on the cluster's
    encryption in transit (`render_broker_properties`)."""
    return {
        CLIENT: CLIENT_PORT,
        CLIENT_TLS: CLIENT_TLS_PORT,
        CLIENT_SASL_SCRAM: CLIENT_SASL_SCRAM_PORT,
        CLIENT_SASL_IAM: CLIENT_SASL_IAM_PORT,
        REPLICATION: REPLICATION_PORT,
    }


def controller_ports() -> dict[str, int]:
    return {CONTROLLER: CONTROLLER_PORT}


def quorum_voters(controllers: Sequence[Node]) -> str:
    """`controller.quorum.voters`, `id@host:port,...`: a static quorum (kraft.version 0).

    Not a dynamic (KIP-853) quorum with `controller.quorum.bootstrap.servers`: there a broker
    knows the controllers' endpoints only from the voter records of the metadata log it has
    replicated. Seen with Kafka 4.3.1: a broker that fetched from a controller that was leader for
    a moment at start-up, then truncated its log when another took over, kept following the new
    leader but could no longer resolve its endpoint. Its heartbeats went on over the connection
    they had; but once its forwarding channel lost its connection, every request a broker
    forwards to the controller (CreateTopics, IncrementalAlterConfigs, reassignments,
    DescribeQuorum) timed out until the broker restarted. With static voters the endpoints come
    from this setting and are always known."""
    return ",".join(
        f"{c.node_id}@{c.endpoint(CONTROLLER)}"
        for c in sorted(controllers, key=lambda n: n.node_id)
    )


def replication_defaults(broker_count: int) -> dict[str, str]:
    """Durable defaults: RF 3 where there are enough brokers, min ISR 2, no unclean elections,
    no topics created by accident."""
    rf = min(3, broker_count)
    min_isr = min(2, rf) if rf > 1 else 1
    return {
        "default.replication.factor": str(rf),
        "min.insync.replicas": str(min_isr),
        "offsets.topic.replication.factor": str(rf),
        "transaction.state.log.replication.factor": str(rf),
        "transaction.state.log.min.isr": str(min_isr),
        "share.coordinator.state.topic.replication.factor": str(rf),
        "share.coordinator.state.topic.min.isr": str(min_isr),
        "unclean.leader.election.enable": "false",
        "auto.create.topics.enable": "false",
        "num.partitions": "1",
        "auto.leader.rebalance.enable": "true",
    }


CONTROLLER_SHARED_SETTINGS = (
    "default.replication.factor",
    "num.partitions",
    "min.insync.replicas",
    "unclean.leader.election.enable",
)
"""Cluster-wide topic defaults that KRaft controllers apply, so they must hold the brokers' values:
the active controller fills in the partition count and replication factor of a CreateTopics
request that leaves them out, elects leaders (unclean or not), and with eligible leader replicas
(KIP-966, on by default in Kafka 4.x) writes its own `min.insync.replicas` into the metadata as the
cluster default, which overrides every broker's static value."""


def tls_stores() -> dict[str, str]:
    """The key store and trust store settings of a node with TLS listeners; the agent adds their
    locations (`steward.agent.tls`)."""
    return {"ssl.keystore.type": "PEM", "ssl.truststore.type": "PEM"}


def _in_cluster_protocol(transit: EncryptionInTransit, auth: ClientAuthentication) -> str:
    return "SSL" if internal_tls(transit, auth) else "PLAINTEXT"


def _security_settings(
    role: NodeRole, transit: EncryptionInTransit, auth: ClientAuthentication
) -> dict[str, str]:
    """The settings Steward owns for a node's TLS, identities, authorizer and client
    authentication."""
    settings: dict[str, str] = {}
    if uses_tls(role, transit, auth):
        settings.update(tls_stores())
    if internal_tls(transit, auth):
        settings.update(internal_identity_settings(CONTROLLER))
        if role is NodeRole.BROKER:
            settings.update(internal_identity_settings(REPLICATION))
    if has_authorizer(auth):
        settings.update(authorizer_settings())
    if role is NodeRole.BROKER:
        settings.update(client_tls_settings(auth))
        if auth.sasl_scram:
            settings.update(sasl_scram_settings())
        if auth.sasl_iam:
            settings.update(iam_listener_settings())
    return settings


def render_controller_properties(
    node: Node,
    controllers: Sequence[Node],
    broker_count: int,
    user_properties: dict[str, str],
    transit: EncryptionInTransit = PLAINTEXT_ONLY,
    auth: ClientAuthentication = UNAUTHENTICATED,
) -> dict[str, str]:
    assert node.role is NodeRole.CONTROLLER
    endpoint = f"{CONTROLLER}://{node.endpoint(CONTROLLER)}"
    broker_settings = {**replication_defaults(broker_count), **user_properties}
    shared = {k: broker_settings[k] for k in CONTROLLER_SHARED_SETTINGS if k in broker_settings}
    return {
        **shared,
        "process.roles": "controller",
        "node.id": str(node.node_id),
        "listeners": endpoint,
        "advertised.listeners": endpoint,
        "controller.listener.names": CONTROLLER,
        "listener.security.protocol.map": f"{CONTROLLER}:{_in_cluster_protocol(transit, auth)}",
        "controller.quorum.voters": quorum_voters(controllers),
        **_security_settings(NodeRole.CONTROLLER, transit, auth),
    }


def render_broker_properties(
    node: Node,
    controllers: Sequence[Node],
    broker_count: int,
    sizing: InstanceType,
    user_properties: dict[str, str],
    transit: EncryptionInTransit = PLAINTEXT_ONLY,
    auth: ClientAuthentication = UNAUTHENTICATED,
) -> dict[str, str]:
    """A broker's properties: Steward's defaults, then the user's configuration revision on top,
    then the settings Steward owns (identity, listeners, quorum, TLS), which users cannot
    override."""
    assert node.role is NodeRole.BROKER
    properties = replication_defaults(broker_count)
    properties.update(
        {
            "num.network.threads": str(sizing.num_network_threads),
            "num.io.threads": str(sizing.num_io_threads),
            "num.replica.fetchers": str(sizing.num_replica_fetchers),
        }
    )
    properties.update(user_properties)
    protocols = client_protocols(transit, auth)
    protocols[REPLICATION] = _in_cluster_protocol(transit, auth)
    listeners = ",".join(
        f"{name}://{node.host}:{node.ports.get(name, broker_ports()[name])}" for name in protocols
    )
    protocols[CONTROLLER] = _in_cluster_protocol(transit, auth)
    properties.update(
        {
            "process.roles": "broker",
            "node.id": str(node.node_id),
            "broker.rack": node.zone,
            "listeners": listeners,
            "advertised.listeners": listeners,
            "listener.security.protocol.map": ",".join(f"{k}:{v}" for k, v in protocols.items()),
            "inter.broker.listener.name": REPLICATION,
            "controller.listener.names": CONTROLLER,
            "controller.quorum.voters": quorum_voters(controllers),
            **_security_settings(NodeRole.BROKER, transit, auth),
        }
    )
    return properties

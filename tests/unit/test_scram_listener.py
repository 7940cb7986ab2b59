"""A SCRAM cluster's brokers: a SASL_SSL listener on 9096 (MSK's port) that takes SCRAM-SHA-512
only, next to the TLS and plaintext listeners the cluster's encryption in transit allows."""

from steward.control.placement import Placer
from steward.domain.model import (
    ClientAuthentication,
    ClientBroker,
    EncryptionInTransit,
    Node,
    NodeRole,
)
from steward.kafka.instance_types import INSTANCE_TYPES
from steward.kafka.node_config import (
    CLIENT_SASL_SCRAM,
    render_broker_properties,
    sasl_scram_bootstrap,
)
from steward.settings import Zone

ZONES = (Zone("az-a", "127.82.1"), Zone("az-b", "127.82.2"), Zone("az-c", "127.82.3"))
TLS_PLAINTEXT = EncryptionInTransit(ClientBroker.TLS_PLAINTEXT, in_cluster=False)


def placed() -> list[Node]:
    return Placer(ZONES, set()).place(
        "arn:aws:kafka:r:1:cluster/x/u-1",
        ["az-a", "az-b", "az-c"],
        broker_ids=range(1, 4),
        controller_ids=range(1001, 1004),
        kafka_version="4.3.1",
        instance_type="kafka.m5.large",
    )


def broker_properties(sasl_scram: bool) -> tuple[Node, dict[str, str]]:
    nodes = placed()
    broker = next(n for n in nodes if n.role is NodeRole.BROKER)
    controllers = [n for n in nodes if n.role is NodeRole.CONTROLLER]
    sizing = INSTANCE_TYPES["kafka.m5.large"]
    properties = render_broker_properties(
        broker,
        controllers,
        3,
        sizing,
        {},
        TLS_PLAINTEXT,
        ClientAuthentication(sasl_scram=sasl_scram),
    )
    return broker, properties


def test_a_scram_cluster_has_a_sasl_ssl_listener_on_9096_for_scram_sha_512() -> None:
    broker, properties = broker_properties(sasl_scram=True)
    listeners = properties["listeners"].split(",")
    assert f"{CLIENT_SASL_SCRAM}://{broker.host}:9096" in listeners
    assert properties["advertised.listeners"] == properties["listeners"]
    protocols = dict(p.split(":") for p in properties["listener.security.protocol.map"].split(","))
    assert protocols[CLIENT_SASL_SCRAM] == "SASL_SSL"
    assert protocols["CLIENT_TLS"] == "SSL" and protocols["CLIENT"] == "PLAINTEXT"
    assert properties["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    prefix = "listener.name.client_sasl_scram"
    assert properties[f"{prefix}.sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert "ScramLoginModule required" in properties[f"{prefix}.scram-sha-512.sasl.jaas.config"]
    assert properties["inter.broker.listener.name"] == "REPLICATION"
    assert properties["ssl.keystore.type"] == "PEM"


def test_a_cluster_without_scram_has_no_sasl_listener() -> None:
    _, properties = broker_properties(sasl_scram=False)
    assert CLIENT_SASL_SCRAM not in properties["listeners"]
    assert not any(key.startswith("sasl.") or "scram" in key for key in properties)


def test_the_scram_bootstrap_string_names_every_broker_on_9096() -> None:
    brokers = [n for n in placed() if n.role is NodeRole.BROKER]
    assert sasl_scram_bootstrap(brokers) == ",".join(f"{b.host}:9096" for b in brokers)

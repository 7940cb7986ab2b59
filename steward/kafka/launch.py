"""How a Kafka node is launched: `java <jvm options> -cp <libs>/* kafka.Kafka <properties>`, the
files it is launched with, and the properties that say where its files are on its host."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from steward.kafka.iam_signin import CREDENTIALS_LOCATION, HOSTS, REFUSALS_LOCATION
from steward.kafka.java import SERVER_JVM_OPTIONS, heap_options, operator_jvm_options
from steward.kafka.log4j import log4j_jvm_options
from steward.kafka.node_config import CLIENT_TRUSTSTORE_PREFIX
from steward.kafka.plugins import REVOCATION_LISTS_LOCATION

KAFKA_MAIN = "kafka.Kafka"

PROPERTIES_FILE = "server.properties"
"""The node's configuration, the one argument of `kafka.Kafka`."""
LOG4J_FILE = "log4j2.properties"
"""The node's logging configuration (`steward.kafka.log4j`)."""

KEYSTORE_LOCATION = "ssl.keystore.location"
TRUSTSTORE_LOCATION = "ssl.truststore.location"
CLIENT_TRUSTSTORE_LOCATION = f"{CLIENT_TRUSTSTORE_PREFIX}{TRUSTSTORE_LOCATION}"
"""The CLIENT_TLS listener's own trust store: the CAs of clients' certificates."""

LOCATION_PROPERTIES: frozenset[str] = frozenset(
    {
        "log.dirs",
        "log.dir",
        "metadata.log.dir",
        KEYSTORE_LOCATION,
        TRUSTSTORE_LOCATION,
        CLIENT_TRUSTSTORE_LOCATION,
        REVOCATION_LISTS_LOCATION,
        CREDENTIALS_LOCATION,
        REFUSALS_LOCATION,
        HOSTS,
    }
)
"""The properties that name files on the node's host: set by whoever lays out the node's files,
never part of the node's configuration as the control plane renders it."""


class JvmSettings(Protocol):
    """What a node's own JVM settings are: its heap and its extra options."""

    @property
    def heap_mb(self) -> int: ...

    @property
    def jvm_options(self) -> Sequence[str]: ...


def server_properties(
    properties: Mapping[str, str], role: str, node_id: int, data_dir: str
) -> dict[str, str]:
    """The properties a node runs with: its configuration, plus identity and storage."""
    return {
        **properties,
        "process.roles": role,
        "node.id": str(node_id),
        "log.dirs": data_dir,
    }


def uses_pem_stores(properties: Mapping[str, str]) -> bool:
    """The node has a listener (or talks to one) that needs its PEM key store and trust store."""
    return properties.get("ssl.keystore.type") == "PEM"


def store_locations(keystore: Path, truststore: Path) -> dict[str, str]:
    """The properties that point Kafka at the node's key store and trust store."""
    return {KEYSTORE_LOCATION: str(keystore), TRUSTSTORE_LOCATION: str(truststore)}


def client_trust_locations(truststore: Path, revocation_lists: Path) -> dict[str, str]:
    """The properties that point the CLIENT_TLS listener at the clients' CAs and at the
    revocation lists that Steward's principal builder reads."""
    return {
        CLIENT_TRUSTSTORE_LOCATION: str(truststore),
        REVOCATION_LISTS_LOCATION: str(revocation_lists),
    }


def kafka_server_command(
    spec: JvmSettings,
    *,
    java: str,
    classpath: str,
    properties_file: Path,
    log4j_file: Path,
    logs_dir: Path,
    extra_options: Sequence[str] = (),
) -> list[str]:
    """The node's command line: Kafka's server options, then `extra_options`, then the
    operator's (STEWARD_KAFKA_JVM_OPTIONS), then the node's own."""
    return [
        java,
        *heap_options(spec.heap_mb),
        *SERVER_JVM_OPTIONS,
        *extra_options,
        *operator_jvm_options(),
        *spec.jvm_options,
        *log4j_jvm_options(str(log4j_file), str(logs_dir)),
        "-cp",
        classpath,
        KAFKA_MAIN,
        str(properties_file),
    ]

"""Questions the control plane asks a running Kafka cluster, through its client listener.

A cluster that allows plaintext is reached on its plaintext listener; a TLS-only cluster on its TLS
listener, trusting the cluster's CA: its bootstrap string is then a `TlsBootstrap`, which every
client made here (confluent-kafka, kafka-python, Kafka's Java Admin) connects to with TLS.
"""

from __future__ import annotations

import logging
import ssl
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry
from kafka import KafkaAdminClient

_quiet = logging.getLogger("steward.kafka.librdkafka")
_quiet.setLevel(logging.CRITICAL)


class TlsBootstrap(str):
    """A bootstrap string of TLS listeners, with the CA certificate (PEM) that signed the brokers'
    certificates. A `str`, so it goes wherever a bootstrap string goes."""

    ca_pem: str

    def __new__(cls, servers: str, ca_pem: str) -> TlsBootstrap:
        bootstrap = super().__new__(cls, servers)
        bootstrap.ca_pem = ca_pem
        return bootstrap


def librdkafka_security(bootstrap: str) -> dict[str, str]:
    """confluent-kafka settings for reaching `bootstrap` (nothing for a plaintext listener)."""
    if not isinstance(bootstrap, TlsBootstrap):
        return {}
    if not bootstrap.ca_pem:  # no CA yet: nothing is trusted, and connecting fails as it should
        return {"security.protocol": "SSL"}
    return {"security.protocol": "SSL", "ssl.ca.pem": bootstrap.ca_pem}


def java_client_security(bootstrap: str) -> dict[str, str]:
    """Kafka's Java client settings for reaching `bootstrap` (nothing for plaintext)."""
    if not isinstance(bootstrap, TlsBootstrap):
        return {}
    if not bootstrap.ca_pem:
        return {"security.protocol": "SSL"}
    return {
        "security.protocol": "SSL",
        "ssl.truststore.type": "PEM",
        "ssl.truststore.certificates": bootstrap.ca_pem,
    }


@contextmanager
def java_tool_security(bootstrap: str) -> Iterator[list[str]]:
    """The arguments that let one of Kafka's command-line tools reach `bootstrap`: for TLS, a
    `--command-config` file that trusts the cluster's CA (both files public, removed after)."""
    if not isinstance(bootstrap, TlsBootstrap):
        yield []
        return
    with tempfile.TemporaryDirectory(prefix="steward-tool-") as directory:
        ca = Path(directory) / "ca.pem"
        ca.write_text(bootstrap.ca_pem)
        config = Path(directory) / "client.properties"
        config.write_text(
            f"security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location={ca}\n"
        )
        yield ["--command-config", str(config)]


def admin_client(bootstrap: str, **extra: str) -> AdminClient:
    config = {
        "bootstrap.servers": str(bootstrap),
        "socket.timeout.ms": 5000,
        "socket.connection.setup.timeout.ms": 3000,
        "reconnect.backoff.max.ms": 500,
        **librdkafka_security(bootstrap),
        **extra,
    }
    return AdminClient(config, logger=_quiet)


def incremental_config_ops(entries: Mapping[str, str | None]) -> list[ConfigEntry]:
    """An IncrementalAlterConfigs request's entries: SET each key with a value, DELETE each key
    given None (back to the value it inherits)."""
    return [
        ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET)
        if value is not None
        else ConfigEntry(key, None, incremental_operation=AlterConfigOpType.DELETE)
        for key, value in entries.items()
    ]


def serving_brokers(bootstrap: str, timeout: float = 3.0) -> set[int]:
    """Ids of the brokers the cluster reports as alive (registered and unfenced)."""
    metadata = admin_client(bootstrap).list_topics(timeout=timeout)
    return set(metadata.brokers)


# kafka-python logs every refused connection; its failures reach Steward as exceptions instead.
logging.getLogger("kafka").setLevel(logging.CRITICAL)


@contextmanager
def kafka_python_admin(bootstrap: str, timeout: float = 10.0) -> Iterator[KafkaAdminClient]:
    """kafka-python's admin client, for what confluent-kafka lacks (reassignments, log dirs,
    quorum, features). It connects when created (a KafkaTimeoutError when no broker answers within
    `timeout`) and is closed when the block ends."""
    timeout_ms = int(timeout * 1000)
    security: dict[str, object] = {}
    if isinstance(bootstrap, TlsBootstrap):
        security = {
            "security_protocol": "SSL",
            "ssl_context": ssl.create_default_context(cadata=bootstrap.ca_pem or None),
        }
    client = KafkaAdminClient(
        bootstrap_servers=bootstrap.split(","),
        client_id="steward",
        request_timeout_ms=timeout_ms,
        bootstrap_timeout_ms=timeout_ms,
        reconnect_backoff_max_ms=1000,
        **security,
    )
    try:
        yield client
    finally:
        client.close()

"""Questions the control plane asks a running Kafka cluster, through its client listener.

A cluster that allows plaintext is reached on its plaintext listener; a TLS-only cluster on its TLS
listener, trusting the cluster's CA: its bootstrap string is then a `TlsBootstrap`, which every
client made here (confluent-kafka, kafka-python, Kafka's Java Admin) connects to with TLS.
"""

from __future__ import annotations

import logging
import os
import ssl
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry
from kafka import KafkaAdminClient

from steward.crypto.certificates import KeyAndCertificate
from steward.kafka.bounded import BoundedAdmin
from steward.kafka.properties import render_properties

_quiet = logging.getLogger("steward.kafka.librdkafka")
_quiet.setLevel(logging.CRITICAL)


class TlsBootstrap(str):
    """A bootstrap string of TLS listeners, with the CA certificate (PEM) that signed the brokers'
    certificates, and, for a listener that wants one, the client certificate (and key) to present.
    A `str`, so it goes wherever a bootstrap string goes."""

    ca_pem: str
    client: KeyAndCertificate | None

    def __new__(
        cls, servers: str, ca_pem: str, client: KeyAndCertificate | None = None
    ) -> TlsBootstrap:
        bootstrap = super().__new__(cls, servers)
        bootstrap.ca_pem = ca_pem
        bootstrap.client = client
        return bootstrap


@lru_cache(maxsize=64)
def client_ssl_context(ca_pem: str | None, client: KeyAndCertificate | None) -> ssl.SSLContext:
    """A Python TLS context trusting `ca_pem` that presents `client` when it is given. Python
    loads a certificate and key only from files: they are written into a private temporary
    directory and removed as soon as they are loaded. Kept for the next caller with the same
    material (the health monitor probes every node every few seconds)."""
    context = ssl.create_default_context(cadata=ca_pem or None)
    if client is not None:
        with tempfile.TemporaryDirectory(prefix="steward-tls-") as directory:
            chain = Path(directory) / "client.pem"
            fd = os.open(chain, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(client.key_pem.strip() + "\n" + client.certificate_pem.strip() + "\n")
            context.load_cert_chain(chain)
    return context


def librdkafka_security(bootstrap: str) -> dict[str, str]:
    """confluent-kafka settings for reaching `bootstrap` (nothing for a plaintext listener)."""
    if not isinstance(bootstrap, TlsBootstrap):
        return {}
    settings = {"security.protocol": "SSL"}
    if bootstrap.ca_pem:  # no CA yet: nothing is trusted, and connecting fails as it should
        settings["ssl.ca.pem"] = bootstrap.ca_pem
    if bootstrap.client is not None:
        settings["ssl.certificate.pem"] = bootstrap.client.certificate_pem
        settings["ssl.key.pem"] = bootstrap.client.key_pem
    return settings


def java_client_security(bootstrap: str) -> dict[str, str]:
    """Kafka's Java client settings for reaching `bootstrap` (nothing for plaintext)."""
    if not isinstance(bootstrap, TlsBootstrap):
        return {}
    settings = {"security.protocol": "SSL"}
    if bootstrap.ca_pem:
        settings["ssl.truststore.type"] = "PEM"
        settings["ssl.truststore.certificates"] = bootstrap.ca_pem
    if bootstrap.client is not None:
        settings["ssl.keystore.type"] = "PEM"
        settings["ssl.keystore.certificate.chain"] = bootstrap.client.certificate_pem
        settings["ssl.keystore.key"] = bootstrap.client.key_pem
    return settings


@contextmanager
def java_tool_security(bootstrap: str) -> Iterator[list[str]]:
    """The arguments that let one of Kafka's command-line tools reach `bootstrap`: for TLS, a
    `--command-config` file pointing at PEM trust and key stores, all readable by this user only
    (the key store holds Steward's client key), in a temporary directory removed after."""
    if not isinstance(bootstrap, TlsBootstrap):
        yield []
        return
    with tempfile.TemporaryDirectory(prefix="steward-tool-") as directory:
        where = Path(directory)
        settings = {"security.protocol": "SSL"}
        if bootstrap.ca_pem:
            settings["ssl.truststore.type"] = "PEM"
            settings["ssl.truststore.location"] = _write_private(where / "ca.pem", bootstrap.ca_pem)
        if bootstrap.client is not None:
            client = bootstrap.client.key_pem.strip() + "\n" + bootstrap.client.certificate_pem
            settings["ssl.keystore.type"] = "PEM"
            settings["ssl.keystore.location"] = _write_private(where / "client.pem", client)
        config = _write_private(where / "client.properties", render_properties(settings))
        yield ["--command-config", config]


def _write_private(path: Path, text: str) -> str:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    return str(path)


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
def kafka_python_admin(bootstrap: str, timeout: float = 10.0) -> Iterator[BoundedAdmin]:
    """kafka-python's admin client, for what confluent-kafka lacks (reassignments, log dirs,
    quorum, features). It connects when created and is closed when the block ends; connecting and
    every call each take at most `timeout` seconds (a KafkaTimeoutError after that, also when a
    broker it reaches is stopped and never answers: `steward.kafka.bounded`)."""
    timeout_ms = int(timeout * 1000)
    security: dict[str, object] = {}
    if isinstance(bootstrap, TlsBootstrap):
        security = {
            "security_protocol": "SSL",
            "ssl_context": client_ssl_context(bootstrap.ca_pem, bootstrap.client),
        }
    client = BoundedAdmin(
        lambda: KafkaAdminClient(
            bootstrap_servers=bootstrap.split(","),
            client_id="steward",
            request_timeout_ms=timeout_ms,
            bootstrap_timeout_ms=timeout_ms,
            reconnect_backoff_max_ms=1000,
            **security,
        ),
        timeout,
    )
    try:
        yield client
    finally:
        client.close()

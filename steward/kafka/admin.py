"""Questions the control plane asks a running Kafka cluster, through its client listener."""

from __future__ import annotations

import logging

from confluent_kafka.admin import AdminClient

_quiet = logging.getLogger("steward.kafka.librdkafka")
_quiet.setLevel(logging.CRITICAL)


def admin_client(bootstrap: str, **extra: str) -> AdminClient:
    config = {
        "bootstrap.servers": bootstrap,
        "socket.timeout.ms": 5000,
        "socket.connection.setup.timeout.ms": 3000,
        "reconnect.backoff.max.ms": 500,
        **extra,
    }
    return AdminClient(config, logger=_quiet)


def serving_brokers(bootstrap: str, timeout: float = 3.0) -> set[int]:
    """Ids of the brokers the cluster reports as alive (registered and unfenced)."""
    metadata = admin_client(bootstrap).list_topics(timeout=timeout)
    return set(metadata.brokers)

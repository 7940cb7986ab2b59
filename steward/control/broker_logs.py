"""Broker log delivery on the control plane's side: a cluster's `LoggingInfo` (kept in MSK's
shape, `steward.api.msk.logging_info`) becomes each broker's `LogDelivery`, which travels in its
`NodeSpec`; the broker's agent delivers the log (`steward.agent.log_shipper`).

The delivery is part of the node spec but not of its launch settings (`NodeSpec.spec_hash`):
applying a spec whose only change is its delivery restarts nothing. A cluster's new
`LoggingInfo` therefore takes effect by applying every broker's spec again, as UpdateMonitoring
does (`steward.control.operations.monitoring`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from steward.agent.log_delivery import LogDelivery
from steward.control.arns import cluster_parts
from steward.domain.model import Cluster, Node, NodeRole
from steward.kafka.node_config import (
    CLIENT,
    REPLICATION,
    client_bootstrap,
    replication_bootstrap,
    steward_listener,
    tls_bootstrap,
)


def _enabled(broker_logs: dict[str, Any], member: str) -> dict[str, Any] | None:
    destination = broker_logs.get(member)
    if isinstance(destination, dict) and destination.get("enabled") is True:
        return destination
    return None


def broker_log_delivery(cluster: Cluster, nodes: Sequence[Node]) -> LogDelivery | None:
    """Where the brokers of `cluster` deliver their logs, or None when nowhere. `nodes`: the
    cluster's nodes: the topic destination is reached through the brokers' client listeners,
    plaintext where the cluster has them, else TLS (trusting the cluster's CA, which each broker's
    spec carries)."""
    info = cluster.spec.logging_info
    broker_logs = info.get("brokerLogs") if isinstance(info, dict) else None
    if not isinstance(broker_logs, dict):
        return None
    log_group = _enabled(broker_logs, "cloudWatchLogs")
    stream = _enabled(broker_logs, "firehose")
    bucket = _enabled(broker_logs, "s3")
    if log_group is None and stream is None and bucket is None:
        return None
    name, cluster_uuid = cluster_parts(cluster.arn)
    _, _, _, region, account_id, _ = cluster.arn.split(":", 5)
    brokers = [n for n in nodes if n.role is NodeRole.BROKER]
    listener = steward_listener(
        cluster.spec.encryption_in_transit, cluster.spec.client_authentication
    )
    plaintext = listener == CLIENT
    if listener == REPLICATION:
        bootstrap = replication_bootstrap(brokers)
    else:
        bootstrap = client_bootstrap(brokers) if plaintext else tls_bootstrap(brokers)
    return LogDelivery(
        cluster_name=name,
        cluster_uuid=cluster_uuid,
        account_id=account_id,
        region=region,
        log_group=log_group["logGroup"] if log_group else None,
        bucket=bucket["bucket"] if bucket else None,
        prefix=(bucket.get("prefix") or "") if bucket else "",
        topic=stream["deliveryStream"] if stream else None,
        bootstrap=bootstrap if stream else None,
        security_protocol="PLAINTEXT" if plaintext else "SSL",
        node_identity=listener == REPLICATION,
    )


def log_delivery_spec(cluster: Cluster, nodes: Sequence[Node]) -> dict[str, Any] | None:
    """A broker's `NodeSpec.log_delivery`."""
    delivery = broker_log_delivery(cluster, nodes)
    return delivery.to_dict() if delivery is not None else None

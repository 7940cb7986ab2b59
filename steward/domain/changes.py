"""What changed between two specs of a cluster, in words: why its nodes restart."""

from __future__ import annotations

from steward.domain.model import ClusterSpec


def describe_changes(old: ClusterSpec, new: ClusterSpec) -> str:
    """E.g. "Kafka 4.2.1 -> 4.3.1; instance type kafka.m5.large -> kafka.m5.xlarge"; empty when
    nothing that restarts a node changed."""
    parts = []
    if old.kafka_version != new.kafka_version:
        parts.append(f"Kafka {old.kafka_version} -> {new.kafka_version}")
    old_type, new_type = old.broker_node_group.instance_type, new.broker_node_group.instance_type
    if old_type != new_type:
        parts.append(f"instance type {old_type} -> {new_type}")
    if old.configuration != new.configuration:
        parts.append(f"configuration {_revision(old)} -> {_revision(new)}")
    if old.client_authentication != new.client_authentication:
        parts.append("client authentication")
    if old.encryption_in_transit != new.encryption_in_transit:
        parts.append("encryption in transit")
    if old.open_monitoring != new.open_monitoring:
        parts.append("open monitoring")
    return "; ".join(parts)


def _revision(spec: ClusterSpec) -> str:
    ref = spec.configuration
    return "none" if ref is None else f"{ref.arn.rsplit('/', 2)[-2]} revision {ref.revision}"

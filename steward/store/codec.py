"""Domain objects <-> the JSON columns of the store."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from steward.domain.model import (
    BrokerNodeGroup,
    ClientAuthentication,
    ClientBroker,
    ClusterSpec,
    ConfigurationRef,
    EncryptionInTransit,
    EnhancedMonitoring,
    OpenMonitoring,
    OperationStep,
    StepStatus,
)


def spec_to_json(spec: ClusterSpec) -> dict[str, Any]:
    return dataclasses.asdict(spec)


def spec_from_json(data: dict[str, Any]) -> ClusterSpec:
    group = data["broker_node_group"]
    configuration = data.get("configuration")
    transit = data.get("encryption_in_transit") or {}
    auth = data.get("client_authentication") or {}
    monitoring = data.get("open_monitoring") or {}
    return ClusterSpec(
        kafka_version=data["kafka_version"],
        number_of_broker_nodes=data["number_of_broker_nodes"],
        broker_node_group=BrokerNodeGroup(
            instance_type=group["instance_type"],
            zones=tuple(group["zones"]),
            volume_size_gb=group["volume_size_gb"],
            security_groups=tuple(group.get("security_groups", ())),
        ),
        configuration=ConfigurationRef(**configuration) if configuration else None,
        encryption_in_transit=EncryptionInTransit(
            client_broker=ClientBroker(transit.get("client_broker", "PLAINTEXT")),
            in_cluster=transit.get("in_cluster", False),
        ),
        data_volume_kms_key_id=data.get("data_volume_kms_key_id"),
        encrypted_at_rest=data.get("encrypted_at_rest", False),
        client_authentication=ClientAuthentication(
            unauthenticated=auth.get("unauthenticated", True),
            sasl_scram=auth.get("sasl_scram", False),
            sasl_iam=auth.get("sasl_iam", False),
            tls=auth.get("tls", False),
            tls_certificate_authority_arns=tuple(auth.get("tls_certificate_authority_arns", ())),
        ),
        enhanced_monitoring=EnhancedMonitoring(data.get("enhanced_monitoring", "DEFAULT")),
        open_monitoring=OpenMonitoring(
            jmx_exporter=monitoring.get("jmx_exporter", False),
            node_exporter=monitoring.get("node_exporter", False),
        ),
        logging_info=data.get("logging_info"),
        storage_mode=data.get("storage_mode", "LOCAL"),
    )


def steps_to_json(steps: list[OperationStep]) -> list[dict[str, str]]:
    return [{"name": s.name, "status": s.status.value, "detail": s.detail} for s in steps]


def steps_from_json(data: list[dict[str, str]]) -> list[OperationStep]:
    return [OperationStep(d["name"], StepStatus(d["status"]), d.get("detail", "")) for d in data]


def aware(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; every time in Steward is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)

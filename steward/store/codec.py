"""Domain objects <-> the JSON columns of the store."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from steward.domain.health import Finding
from steward.domain.model import (
    BrokerNodeGroup,
    ClientAuthentication,
    ClientBroker,
    ClusterSpec,
    ClusterStatus,
    Condition,
    ConfigurationRef,
    EncryptionInTransit,
    EnhancedMonitoring,
    NodeRestart,
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
            client_subnets=tuple(group.get("client_subnets", ())),
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
        kafka_release=data.get("kafka_release"),
    )


def steps_to_json(steps: list[OperationStep]) -> list[dict[str, Any]]:
    return [
        {
            "name": s.name,
            "status": s.status.value,
            "detail": s.detail,
            "started_at": s.started_at.isoformat() if s.started_at else None,
            "attempts": s.attempts,
        }
        for s in steps
    ]


def steps_from_json(data: list[dict[str, Any]]) -> list[OperationStep]:
    return [
        OperationStep(
            d["name"],
            StepStatus(d["status"]),
            d.get("detail", ""),
            _time(d.get("started_at")),
            int(d.get("attempts", 0)),
        )
        for d in data
    ]


def _time(value: object) -> datetime | None:
    return aware(datetime.fromisoformat(value)) if isinstance(value, str) else None


def status_to_json(status: ClusterStatus) -> dict[str, Any]:
    return {
        "observed_generation": status.observed_generation,
        "applied_spec": spec_to_json(status.applied_spec) if status.applied_spec else None,
        "node_spec_hashes": {str(k): v for k, v in status.node_spec_hashes.items()},
        "findings": [f.to_json() for f in status.findings],
        "conditions": [
            {
                "type": c.type,
                "status": c.status,
                "reason": c.reason,
                "message": c.message,
                "since": c.since.isoformat() if c.since else None,
            }
            for c in status.conditions
        ],
        "restarts": [
            {"node_id": r.node_id, "reason": r.reason, "at": r.at.isoformat()}
            for r in status.restarts
        ],
    }


def status_from_json(data: dict[str, Any] | None) -> ClusterStatus:
    if not data:
        return ClusterStatus()
    applied = data.get("applied_spec")
    return ClusterStatus(
        observed_generation=int(data.get("observed_generation", 0)),
        applied_spec=spec_from_json(applied) if isinstance(applied, dict) else None,
        node_spec_hashes={int(k): str(v) for k, v in (data.get("node_spec_hashes") or {}).items()},
        findings=[Finding.from_json(f) for f in data.get("findings") or []],
        conditions=[
            Condition(c["type"], bool(c["status"]), c["reason"], c["message"], _time(c["since"]))
            for c in data.get("conditions") or []
        ],
        restarts=[
            NodeRestart(int(r["node_id"]), str(r["reason"]), _time(r["at"]) or datetime.now(UTC))
            for r in data.get("restarts") or []
        ],
    )


def aware(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; every time in Steward is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)

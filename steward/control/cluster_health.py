"""What the health monitor last saw of a cluster, for its users (`GET
/steward/v1/clusters/{arn}/health`, `steward cluster health`): each node as its agent and a probe
see it, Kafka's own view (live brokers, partitions out of sync, the controller quorum, disk use)
and the faults found."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from steward.control.diagnosis import NodeObservation
from steward.domain.health import Finding
from steward.kafka import admin, health, membership
from steward.kafka.reassignment import broker_disk_usage


@dataclass(frozen=True)
class KafkaHealth:
    """Kafka's view of the cluster; fields it could not tell are None, with the reason in
    `error`."""

    serving_brokers: frozenset[int] | None = None
    """Brokers registered and unfenced."""
    partitions: int | None = None
    under_replicated: int | None = None
    offline: int | None = None
    """Partitions without a leader."""
    under_min_isr: int | None = None
    """Partitions whose in-sync set is smaller than their min.insync.replicas: acks=all writes
    to them fail."""
    quorum_leader: int | None = None
    quorum_max_lag: int | None = None
    """Records of the metadata log the furthest-behind controller trails the leader by."""
    disk_used_bytes: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "servingBrokers": sorted(self.serving_brokers)
            if self.serving_brokers is not None
            else None,
            "partitions": self.partitions,
            "underReplicatedPartitions": self.under_replicated,
            "offlinePartitions": self.offline,
            "underMinIsrPartitions": self.under_min_isr,
            "quorumLeader": self.quorum_leader,
            "quorumMaxLag": self.quorum_max_lag,
            "diskUsedBytes": {str(b): used for b, used in sorted(self.disk_used_bytes.items())},
            "errors": self.errors,
        }


def read_kafka_health(bootstrap: str, timeout: float = 3.0) -> KafkaHealth:
    """Ask the cluster; each question that fails leaves its fields None and adds a reason."""
    errors: list[str] = []
    serving: frozenset[int] | None = None
    counts: dict[str, int | None] = {
        "partitions": None,
        "under_replicated": None,
        "offline": None,
        "under_min_isr": None,
    }
    leader: int | None = None
    max_lag: int | None = None
    disk: dict[int, int] = {}
    try:
        serving = frozenset(admin.serving_brokers(bootstrap, timeout))
    except Exception as error:
        errors.append(f"live brokers: {error}")
    try:
        states = health.partition_states(bootstrap, timeout)
        min_isr = health.min_insync_replicas(bootstrap, {s.topic for s in states}, timeout)
        counts = {
            "partitions": len(states),
            "under_replicated": len(health.under_replicated(states)),
            "offline": sum(1 for s in states if s.leader is None),
            "under_min_isr": sum(1 for s in states if len(s.isr) < min_isr.get(s.topic, 1)),
        }
    except Exception as error:
        errors.append(f"partitions: {error}")
    try:
        quorum = membership.quorum(bootstrap, timeout)
        leader = quorum.leader_id
        lags = [quorum.high_watermark - v.log_end_offset for v in quorum.voters]
        max_lag = max(lags, default=0)
    except Exception as error:
        errors.append(f"controller quorum: {error}")
    try:
        disk = broker_disk_usage(bootstrap, timeout=timeout)
    except Exception as error:
        errors.append(f"disk use: {error}")
    return KafkaHealth(
        serving_brokers=serving,
        partitions=counts["partitions"],
        under_replicated=counts["under_replicated"],
        offline=counts["offline"],
        under_min_isr=counts["under_min_isr"],
        quorum_leader=leader,
        quorum_max_lag=max_lag,
        disk_used_bytes=disk,
        errors=errors,
    )


@dataclass(frozen=True)
class ClusterHealth:
    cluster_arn: str
    checked_at: float = field(default_factory=time.time)
    nodes: list[NodeObservation] = field(default_factory=list)
    kafka: KafkaHealth | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def status(self) -> str:
        """HEALTHY, or IMPAIRED when a fault was found or Kafka shows partitions out of sync."""
        kafka = self.kafka
        lagging = kafka is not None and any(
            (n or 0) > 0 for n in (kafka.under_replicated, kafka.offline, kafka.under_min_isr)
        )
        return "IMPAIRED" if self.findings or lagging else "HEALTHY"

    def to_json(self) -> dict[str, object]:
        return {
            "clusterArn": self.cluster_arn,
            "status": self.status,
            "checkedAt": self.checked_at,
            "nodes": [
                {
                    "nodeId": o.node_id,
                    "role": o.role.value,
                    "zone": o.agent,
                    "agentReachable": o.agent_reachable,
                    "state": o.status.state if o.status else None,
                    "pid": o.status.pid if o.status else None,
                    "restarts": o.status.restarts if o.status else None,
                    "answers": o.answers,
                    "volumeSizeBytes": o.status.volume_size_bytes if o.status else None,
                    "volumeUsedBytes": o.status.volume_used_bytes if o.status else None,
                }
                for o in self.nodes
            ],
            "kafka": self.kafka.to_json() if self.kafka else None,
            "findings": [
                {"kind": f.kind, "zone": f.agent, "nodeId": f.node_id, "reason": f.reason}
                for f in self.findings
            ],
        }

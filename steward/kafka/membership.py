"""Who belongs to a KRaft cluster: the brokers registered with the controllers, and the quorum of
controllers itself.

A broker registers itself when it starts and stays registered, fenced, after it stops; scale-in
therefore ends with `unregister_broker` once the broker's replicas have moved and it is stopped.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from typing import Any

from steward.kafka.admin import java_tool_security, kafka_python_admin
from steward.kafka.errors import KafkaAdminError, client_errors
from steward.kafka.tools import run_tool

CLUSTER_TOOL = "org.apache.kafka.tools.ClusterTool"


class MembershipError(KafkaAdminError):
    """Brokers or the quorum could not be described, or a broker could not be unregistered."""


@dataclass(frozen=True)
class BrokerRegistration:
    broker_id: int
    host: str
    port: int
    rack: str | None
    fenced: bool
    """A registered broker is fenced while it is stopped or has not caught up with metadata."""


@dataclass(frozen=True)
class QuorumReplica:
    node_id: int
    directory_id: str
    """As Kafka prints it (22 characters of base64url), like a node's `directory.id`."""
    log_end_offset: int
    last_caught_up_ms: int | None
    """Epoch milliseconds when the replica last had the leader's log end; None when unknown."""


@dataclass(frozen=True)
class Quorum:
    """The KRaft quorum of `__cluster_metadata`: the active controller (its leader), the voting
    controllers, and the observers (brokers, and controllers that are not voters)."""

    leader_id: int
    leader_epoch: int
    high_watermark: int
    voters: tuple[QuorumReplica, ...]
    observers: tuple[QuorumReplica, ...]

    @property
    def voter_ids(self) -> list[int]:
        return sorted(voter.node_id for voter in self.voters)

    @property
    def observer_ids(self) -> list[int]:
        return sorted(observer.node_id for observer in self.observers)


def registered_brokers(bootstrap: str, timeout: float = 10.0) -> dict[int, BrokerRegistration]:
    """Every registered broker, fenced ones included (DescribeCluster with fenced brokers)."""
    with (
        client_errors(MembershipError, "describing the cluster"),
        kafka_python_admin(bootstrap, timeout) as client,
    ):
        described = client.describe_cluster()
    return {
        broker["broker_id"]: BrokerRegistration(
            broker_id=broker["broker_id"],
            host=broker["host"],
            port=broker["port"],
            rack=broker.get("rack"),
            fenced=bool(broker.get("is_fenced", False)),
        )
        for broker in described["brokers"]
    }


def unregister_broker(
    bootstrap: str, broker_id: int, kafka_version: str, timeout: float = 60.0
) -> bool:
    """Remove a stopped broker's registration, so the cluster no longer lists it (the last step
    of scale-in). True when it was removed, False when it was not registered (already done).

    Refused while the broker is registered and unfenced: Kafka would unregister a running broker,
    which then keeps running outside the cluster until it is restarted.
    Uses Kafka `kafka_version`'s `ClusterTool unregister` (no Python client has the call)."""
    registration = registered_brokers(bootstrap, min(timeout, 10.0)).get(broker_id)
    if registration is None:
        return False
    if not registration.fenced:
        raise MembershipError(
            f"broker {broker_id} is running (registered and unfenced); stop it before "
            "unregistering it"
        )
    with java_tool_security(bootstrap) as security:
        run = run_tool(
            kafka_version,
            CLUSTER_TOOL,
            ["unregister", "--bootstrap-server", bootstrap, "--id", str(broker_id), *security],
            timeout=timeout,
            error_type=MembershipError,
        )
    if run.returncode == 0:
        return True
    if "BrokerIdNotRegisteredException" in run.stderr:
        return False
    raise MembershipError(f"unregistering broker {broker_id} failed: {run.output}")


def quorum(bootstrap: str, timeout: float = 10.0) -> Quorum:
    """The metadata quorum as its leader describes it (DescribeQuorum, forwarded by a broker)."""
    with (
        client_errors(MembershipError, "describing the metadata quorum"),
        kafka_python_admin(bootstrap, timeout) as client,
    ):
        described = client.describe_metadata_quorum()
    partition = described["topics"][0]["partitions"][0]
    if partition.get("error"):
        raise MembershipError(f"describing the metadata quorum: {partition['error']}")
    return Quorum(
        leader_id=partition["leader_id"],
        leader_epoch=partition["leader_epoch"],
        high_watermark=partition["high_watermark"],
        voters=tuple(_replica(r) for r in partition["current_voters"]),
        observers=tuple(_replica(r) for r in partition["observers"]),
    )


def _replica(described: dict[str, Any]) -> QuorumReplica:
    caught_up = described.get("last_caught_up_timestamp", -1)
    return QuorumReplica(
        node_id=described["replica_id"],
        directory_id=kafka_uuid(described.get("replica_directory_id")),
        log_end_offset=described["log_end_offset"],
        last_caught_up_ms=caught_up if caught_up is not None and caught_up >= 0 else None,
    )


def kafka_uuid(value: uuid.UUID | str | None) -> str:
    """A UUID the way Kafka prints it (`Uuid.toString`: base64url of its 16 bytes, unpadded);
    kafka-python reports directory ids in the dashed form."""
    if value is None:
        return ""
    parsed = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    return base64.urlsafe_b64encode(parsed.bytes).decode("ascii").rstrip("=")

"""A connector's workers: where each runs (a host of a zone, an address and REST port of its
own) and the node spec its agent runs it from (`role="connect"`, ConnectDistributed).

Workers are spread in turn over the zones of the connector's subnets (`vpc.subnets`, as MSK
Connect spreads them over the subnets' Availability Zones), on the least busy host of each zone,
at an address no broker or other worker holds.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from steward.agent.spec import NodeSpec
from steward.connect.store import ConnectorRecord, WorkerPlacement
from steward.control.placement import Placer, zone_for
from steward.functions.iam_token import RoleCredentials
from steward.kafka.connect_worker import WorkerIdentity, worker_properties
from steward.settings import Settings, Zone

REST_PORT = 8083
HEAP_MB_PER_MCU = 256
"""Heap per MCU. MSK's MCU is 1 vCPU and 4 GiB; Steward's hosts are small, so a worker's heap is
a quarter of a GiB per MCU (a JVM's heap, not a machine's memory)."""


class ConnectorFailed(Exception):
    """The connector cannot run as asked; the message is its stateDescription."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class NotReadyYet(Exception):
    """What the connector needs is not there yet (its cluster is still being created): the next
    pass looks again."""


@dataclass(frozen=True)
class ClusterEndpoint:
    """How the workers reach the connector's Kafka cluster."""

    bootstrap_servers: str
    kafka_version: str
    ca_certificate: str | None = None
    """PEM of the cluster's CA (a Steward cluster over TLS); None trusts the JVM's CAs."""


def signs_in_with_iam(connector: ConnectorRecord) -> bool:
    authentication = connector.spec.get("kafkaClusterClientAuthentication") or {}
    return bool(authentication.get("authenticationType") == "IAM")


def worker_key(connector: ConnectorRecord, index: int) -> str:
    return f"connect-{connector.connector_id[:8].lower()}-{index}"


def _kafka_uuid(seed: str) -> str:
    """A 22-character base64url id, fixed for a seed (the agent's spec wants Kafka UUIDs)."""
    raw = uuid.uuid5(uuid.NAMESPACE_URL, seed).bytes
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def worker_zones(connector: ConnectorRecord, zones: Sequence[Zone]) -> list[str]:
    """The zones of the connector's subnets (a zone's name or a subnet id STEWARD_ZONES gave
    it), in the order given, each once; every zone when the subnets name none of them."""
    zone_of = {zone.name: zone.name for zone in zones}
    zone_of |= {subnet: zone.name for zone in zones for subnet in zone.subnets}
    vpc = connector.spec.get("kafkaCluster", {}).get("apacheKafkaCluster", {}).get("vpc", {})
    chosen: list[str] = []
    for subnet in vpc.get("subnets", []):
        zone = zone_of.get(subnet)
        if zone is not None and zone not in chosen:
            chosen.append(zone)
    return chosen or [zone.name for zone in zones]


def place_workers(
    connector: ConnectorRecord,
    count: int,
    settings: Settings,
    used_addresses: set[str],
    load: dict[str, int],
) -> list[WorkerPlacement]:
    """The connector's workers for `count`: the ones it has (the first `count`), then new ones,
    worker k in zone k mod n."""
    kept = connector.workers[:count]
    zones = worker_zones(connector, settings.zones)
    placer = Placer(
        settings.zones,
        used_hosts=used_addresses | {w.address for w in kept},
        hosts=settings.hosts,
        load=load,
    )
    placed = list(kept)
    taken = {w.key for w in kept}
    index = 0
    while len(placed) < count:
        key = worker_key(connector, index)
        index += 1
        if key in taken:
            continue
        zone = zone_for(len(placed), zones)
        host = placer.host_for(zone)
        address = placer.address_on(host, [REST_PORT])
        placed.append(WorkerPlacement(key, host.name, zone, address, REST_PORT))
        taken.add(key)
    return placed


def worker_spec(
    connector: ConnectorRecord,
    worker: WorkerPlacement,
    index: int,
    endpoint: ClusterEndpoint,
    plugin_path: str,
    worker_configuration: dict[str, str],
    mcu_count: int,
    role_credentials: RoleCredentials | None = None,
    region: str | None = None,
    log_delivery: dict[str, Any] | None = None,
) -> NodeSpec:
    """The worker's node spec. An IAM connector's carries its role session (`role_credentials`)
    and the region its sign-ins are signed for."""
    tls = connector.spec["kafkaClusterEncryptionInTransit"]["encryptionType"] == "TLS"
    iam = signs_in_with_iam(connector)
    if iam and (role_credentials is None or region is None):
        raise ValueError("an IAM connector's worker needs its role's credentials and region")
    identity = WorkerIdentity(
        connector_name=connector.name,
        connector_id=connector.connector_id,
        bootstrap_servers=endpoint.bootstrap_servers,
        host=worker.address,
        port=worker.port,
        plugin_path=plugin_path,
        tls=tls,
        trust_cluster_ca=tls and endpoint.ca_certificate is not None,
        iam=iam,
    )
    return NodeSpec(
        key=worker.key,
        kafka_version=endpoint.kafka_version,
        role="connect",
        node_id=index,
        cluster_id=_kafka_uuid(connector.arn),
        directory_id=_kafka_uuid(worker.key),
        properties=worker_properties(identity, worker_configuration),
        heap_mb=HEAP_MB_PER_MCU * mcu_count,
        jvm_options=[f"-Daws.region={region}"] if iam else [],
        tls_trusted_certificates=endpoint.ca_certificate if identity.trust_cluster_ca else None,
        aws_credentials=dict(role_credentials.to_json()) if role_credentials else None,
        log_delivery=log_delivery,
    )


def desired_worker_count(connector: ConnectorRecord) -> int:
    capacity = connector.spec["capacity"]
    if "provisionedCapacity" in capacity:
        return int(capacity["provisionedCapacity"]["workerCount"])
    auto = capacity["autoScaling"]
    low, high = int(auto["minWorkerCount"]), int(auto["maxWorkerCount"])
    wanted = connector.worker_count if connector.worker_count is not None else low
    return max(low, min(high, wanted))


def mcu_count(connector: ConnectorRecord) -> int:
    capacity = connector.spec["capacity"]
    group = capacity.get("provisionedCapacity") or capacity["autoScaling"]
    return int(group["mcuCount"])


def worker_keys(workers: Sequence[WorkerPlacement]) -> list[str]:
    return [w.key for w in workers]

"""Where a cluster's nodes run: zones, addresses and node ids."""

from __future__ import annotations

import errno
import socket
from collections.abc import Sequence

from steward.control.model import Node, NodeRole, utcnow
from steward.kafka.ids import random_kafka_uuid
from steward.kafka.node_config import broker_ports, controller_ports
from steward.network.zones import run_in_namespace
from steward.settings import Zone

FIRST_CONTROLLER_ID = 1001
MAX_HOSTS_PER_ZONE = 253


class PlacementError(Exception):
    pass


def new_directory_id() -> str:
    """A KRaft directory id: a random uuid, base64url without padding."""
    return random_kafka_uuid()


def controller_count(zone_count: int) -> int:
    """A quorum of three spread over the zones; a single-zone cluster has one controller."""
    return 1 if zone_count == 1 else 3


def zone_for(index: int, zones: Sequence[str]) -> str:
    """Round-robin: the i-th node (0-based) goes to zone i mod n."""
    return zones[index % len(zones)]


def ports_free(host: str, ports: Sequence[int]) -> bool:
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as error:
                if error.errno in (errno.EADDRINUSE, errno.EADDRNOTAVAIL):
                    return False
                raise
    return True


def zone_ports_free(zone: Zone, host: str, ports: Sequence[int]) -> bool:
    """`ports_free` where the zone's nodes run: inside its network namespace when it has one (its
    addresses are not local to the control plane's)."""
    if zone.namespace is None:
        return ports_free(host, ports)
    return run_in_namespace(zone.namespace, lambda: ports_free(host, ports))


class Placer:
    """Allocates a fresh loopback address per node inside its zone's range (127.x.<zone>.<host>),
    skipping addresses held by other nodes or whose ports something else already uses."""

    def __init__(self, zones: Sequence[Zone], used_hosts: set[str]) -> None:
        self._zones = {z.name: z for z in zones}
        self._used = set(used_hosts)

    def _address(self, zone: str, ports: Sequence[int]) -> str:
        where = self._zones[zone]
        for host_number in range(1, MAX_HOSTS_PER_ZONE + 1):
            host = f"{where.address_prefix}.{host_number}"
            if host not in self._used and zone_ports_free(where, host, ports):
                self._used.add(host)
                return host
        raise PlacementError(f"zone {zone} has no free address left")

    def place(
        self,
        cluster_arn: str,
        zones: Sequence[str],
        broker_ids: Sequence[int],
        controller_ids: Sequence[int],
        kafka_version: str,
        instance_type: str,
        first_index: int = 0,
    ) -> list[Node]:
        """Nodes for the given ids. Broker k (0-based from `first_index`) lands in zone k mod n;
        controllers likewise from the first zone."""
        now = utcnow()
        nodes: list[Node] = []
        for i, node_id in enumerate(controller_ids):
            zone = zone_for(i, zones)
            ports = controller_ports()
            host = self._address(zone, list(ports.values()))
            nodes.append(
                Node(
                    cluster_arn,
                    node_id,
                    NodeRole.CONTROLLER,
                    zone,
                    host,
                    zone,
                    ports,
                    new_directory_id(),
                    now,
                    kafka_version,
                    instance_type,
                )
            )
        for i, node_id in enumerate(broker_ids, start=first_index):
            zone = zone_for(i, zones)
            ports = broker_ports()
            host = self._address(zone, list(ports.values()))
            nodes.append(
                Node(
                    cluster_arn,
                    node_id,
                    NodeRole.BROKER,
                    zone,
                    host,
                    zone,
                    ports,
                    new_directory_id(),
                    now,
                    kafka_version,
                    instance_type,
                )
            )
        return nodes

"""Where a cluster's nodes run: zones, addresses and node ids."""

from __future__ import annotations

import errno
import socket
from collections import Counter
from collections.abc import Mapping, Sequence

from steward.domain.model import Node, NodeRole, utcnow
from steward.kafka.ids import random_kafka_uuid
from steward.kafka.node_config import broker_ports, controller_ports
from steward.network.zones import run_in_namespace
from steward.settings import Host, Zone

FIRST_CONTROLLER_ID = 1001


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
    """Puts each node on a host of its zone: first one that runs the fewest nodes of the same
    cluster and role (no two brokers of a cluster share a host while another host of the zone
    has none), then the one that runs the fewest nodes of every cluster; on a fresh address of
    that host's share of the zone's range (127.x.<zone>.<host>), skipping addresses held by other
    nodes or whose ports something else already uses."""

    def __init__(
        self,
        zones: Sequence[Zone],
        used_hosts: set[str],
        hosts: Sequence[Host] | None = None,
        load: Mapping[str, int] | None = None,
    ) -> None:
        """`hosts`: the zones' hosts (one per zone when not given); `load`: how many nodes each
        host's agent runs now, by agent name."""
        self._zones = {z.name: z for z in zones}
        self._hosts = list(hosts) if hosts is not None else [Host(z, 1) for z in zones]
        self._used = set(used_hosts)
        self._load = dict(load or {})

    def host_for(
        self, zone: str, exclude: Sequence[str] = (), siblings: Mapping[str, int] | None = None
    ) -> Host:
        """The host of `zone` with the fewest `siblings` (nodes of the same cluster and role, by
        agent), then the fewest nodes (the first of equals), but none named in `exclude`."""
        candidates = [h for h in self._hosts if h.zone.name == zone and h.name not in exclude]
        if not candidates:
            raise PlacementError(f"zone {zone} has no host to place a node on")
        mine = siblings or {}
        return min(
            candidates,
            key=lambda h: (mine.get(h.name, 0), self._load.get(h.name, 0), h.number),
        )

    def address_on(self, host: Host, ports: Sequence[int]) -> str:
        """A free address of `host` for a node with `ports`, taken from now on."""
        for address in host.node_addresses():
            if address not in self._used and zone_ports_free(host.zone, address, ports):
                self._used.add(address)
                self._load[host.name] = self._load.get(host.name, 0) + 1
                return address
        raise PlacementError(f"host {host.name} has no free address left")

    def _place(self, zone: str, ports: Sequence[int], siblings: Counter[str]) -> tuple[str, str]:
        """(agent, address) of a new node of `zone`, counted among its `siblings`."""
        host = self.host_for(zone, siblings=siblings)
        siblings[host.name] += 1
        return host.name, self.address_on(host, ports)

    def place(
        self,
        cluster_arn: str,
        zones: Sequence[str],
        broker_ids: Sequence[int],
        controller_ids: Sequence[int],
        kafka_version: str,
        instance_type: str,
        first_index: int = 0,
        existing: Sequence[Node] = (),
    ) -> list[Node]:
        """Nodes for the given ids. Broker k (0-based from `first_index`) lands in zone k mod n;
        controllers likewise from the first zone. `existing`: the cluster's nodes already placed,
        which new ones of the same role keep away from."""
        now = utcnow()
        nodes: list[Node] = []
        siblings = {role: Counter(n.agent for n in existing if n.role is role) for role in NodeRole}
        for i, node_id in enumerate(controller_ids):
            zone = zone_for(i, zones)
            ports = controller_ports()
            agent, host = self._place(zone, list(ports.values()), siblings[NodeRole.CONTROLLER])
            nodes.append(
                Node(
                    cluster_arn,
                    node_id,
                    NodeRole.CONTROLLER,
                    zone,
                    host,
                    agent,
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
            agent, host = self._place(zone, list(ports.values()), siblings[NodeRole.BROKER])
            nodes.append(
                Node(
                    cluster_arn,
                    node_id,
                    NodeRole.BROKER,
                    zone,
                    host,
                    agent,
                    ports,
                    new_directory_id(),
                    now,
                    kafka_version,
                    instance_type,
                )
            )
        return nodes

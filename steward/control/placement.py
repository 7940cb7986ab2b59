"""Where a cluster's nodes run: zones, hosts by their free capacity, addresses and node ids."""

from __future__ import annotations

import errno
import socket
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from steward.control.host_registry import HostEntry
from steward.domain.hosts import Capacity, HostRecord, Resources
from steward.domain.model import Node, NodeRole, utcnow
from steward.kafka.ids import random_kafka_uuid
from steward.kafka.instance_types import CONTROLLER_RESERVATION, broker_reservation
from steward.kafka.node_config import broker_ports, controller_ports
from steward.network.zones import run_in_namespace
from steward.settings import Host, Zone

if TYPE_CHECKING:
    from steward.control.context import ReconcileContext

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


PlacedHost = HostEntry | Host
"""A host placement may pick: a registered host, or an embedded host as the settings give it
(tools without a store), which counts as ACTIVE with no limit of capacity."""


def _entry(host: PlacedHost) -> HostEntry:
    if isinstance(host, HostEntry):
        return host
    record = HostRecord(host.name, host.zone.name, host.agent_address, UNLIMITED)
    return HostEntry(record, host.zone, host)


UNLIMITED = Capacity(0.0, 0)
"""The capacity of a host that offers no figures: placement does not count what it holds."""


def reservation(node: Node) -> Resources:
    """What `node` reserves on its host: its instance type's share for a broker, a small fixed
    share for a controller."""
    if node.role is NodeRole.CONTROLLER:
        return CONTROLLER_RESERVATION
    return broker_reservation(node.instance_type)


def reserved_by_host(nodes: Iterable[Node]) -> dict[str, Resources]:
    """What the given nodes (of every cluster) reserve, by host (agent) name."""
    reserved: dict[str, Resources] = {}
    for node in nodes:
        reserved[node.agent] = reserved.get(node.agent, Resources()) + reservation(node)
    return reserved


def _describe(amount: Resources) -> str:
    return (
        f"{amount.cores:g} cores, {amount.memory_bytes // 2**20} MiB memory, "
        f"{amount.disk_bytes / 2**30:.1f} GiB disk"
    )


class Placer:
    """Puts each node on an ACTIVE host of its zone: first one that runs the fewest nodes of the
    same cluster and role (no two brokers of a cluster share a host while another host of the
    zone has room), then the one with the most capacity free (the larger of its free shares of
    cores and memory, the scarcer one), then the one that runs the fewest nodes of every
    cluster. A host without room for the node's reservation (`reservation`) is passed over; a
    zone none of whose hosts has room is a PlacementError that says so. A node gets a fresh
    address of its host (an embedded host's share of the zone's range, 127.x.<zone>.<host>; a
    joined host's registered node addresses), skipping addresses held by other nodes or, on this
    machine, whose ports something else already uses."""

    def __init__(
        self,
        zones: Sequence[Zone],
        used_hosts: set[str],
        hosts: Sequence[PlacedHost] | None = None,
        load: Mapping[str, int] | None = None,
        reserved: Mapping[str, Resources] | None = None,
    ) -> None:
        """`hosts`: the zones' hosts (one per zone when not given); `load`: how many nodes each
        host's agent runs now, by agent name; `reserved`: what the nodes placed on each host
        reserve (`reserved_by_host`)."""
        self._zones = {z.name: z for z in zones}
        given = list(hosts) if hosts is not None else [Host(z, 1) for z in zones]
        self._hosts = [_entry(h) for h in given]
        self._used = set(used_hosts)
        self._load = dict(load or {})
        self._reserved = dict(reserved or {})

    def free(self, host: HostEntry) -> Resources | None:
        """What `host` has free, or None when it offers no figures (no limit)."""
        if host.capacity.memory_bytes <= 0:
            return None
        return host.capacity.resources - self._reserved.get(host.name, Resources())

    def _free_share(self, host: HostEntry) -> float:
        free = self.free(host)
        if free is None:
            return 1.0
        offered = host.capacity.resources
        cores = free.cores / offered.cores if offered.cores > 0 else 1.0
        return min(cores, free.memory_bytes / offered.memory_bytes)

    def has_room(self, host: HostEntry, need: Resources | None) -> bool:
        free = self.free(host)
        return need is None or free is None or free.holds(need)

    def host_for(
        self,
        zone: str,
        exclude: Sequence[str] = (),
        siblings: Mapping[str, int] | None = None,
        need: Resources | None = None,
    ) -> HostEntry:
        """The ACTIVE host of `zone` with room for `need` with the fewest `siblings` (nodes of
        the same cluster and role, by agent), then the most capacity free, then the fewest
        nodes (the first of equals), but none named in `exclude`."""
        candidates = [
            h
            for h in self._hosts
            if h.zone.name == zone and h.name not in exclude and h.accepts_nodes
        ]
        if not candidates:
            raise PlacementError(f"zone {zone} has no active host to place a node on")
        roomy = [h for h in candidates if self.has_room(h, need)]
        if not roomy:
            assert need is not None
            best = max(candidates, key=self._free_share)
            raise PlacementError(
                f"no host of zone {zone} has room for a node that reserves {_describe(need)}: "
                f"the most free is host {best.name} with {_describe(self.free(best) or need)}"
            )
        mine = siblings or {}
        return min(
            roomy,
            key=lambda h: (
                mine.get(h.name, 0),
                -round(self._free_share(h), 6),
                self._load.get(h.name, 0),
                h.number,
                h.name,
            ),
        )

    def address_on(
        self, host: PlacedHost, ports: Sequence[int], need: Resources | None = None
    ) -> str:
        """A free address of `host` for a node with `ports` (reserving `need`), taken from now
        on."""
        entry = _entry(host)
        for address in entry.node_addresses():
            if address in self._used:
                continue
            if entry.local is not None and not zone_ports_free(entry.zone, address, ports):
                continue
            self._used.add(address)
            self._load[entry.name] = self._load.get(entry.name, 0) + 1
            if need is not None:
                self._reserved[entry.name] = self._reserved.get(entry.name, Resources()) + need
            return address
        raise PlacementError(f"host {entry.name} has no free address left")

    def _place(
        self, zone: str, ports: Sequence[int], siblings: Counter[str], need: Resources
    ) -> tuple[str, str]:
        """(agent, address) of a new node of `zone`, counted among its `siblings`."""
        host = self.host_for(zone, siblings=siblings, need=need)
        siblings[host.name] += 1
        return host.name, self.address_on(host, ports, need)

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
        broker_need = broker_reservation(instance_type)
        nodes: list[Node] = []
        siblings = {role: Counter(n.agent for n in existing if n.role is role) for role in NodeRole}
        for i, node_id in enumerate(controller_ids):
            zone = zone_for(i, zones)
            ports = controller_ports()
            agent, host = self._place(
                zone, list(ports.values()), siblings[NodeRole.CONTROLLER], CONTROLLER_RESERVATION
            )
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
            agent, host = self._place(
                zone, list(ports.values()), siblings[NodeRole.BROKER], broker_need
            )
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


def placer_for(ctx: ReconcileContext, hosts: Sequence[PlacedHost] | None = None) -> Placer:
    """A placer over the registered hosts (or those given), with what every node of every
    cluster holds now: its address, its share of its host's capacity."""
    nodes = ctx.store.all_nodes()
    load: Counter[str] = Counter(n.agent for n in nodes)
    return Placer(
        ctx.settings.zones,
        {n.host for n in nodes},
        list(hosts) if hosts is not None else list(ctx.agents.hosts),
        load,
        reserved_by_host(nodes),
    )

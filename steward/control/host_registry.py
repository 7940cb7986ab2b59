"""The hosts the control plane drives, as rows of the store: registered (idempotent by name; a
new registration updates address, zone, capacity and labels), listed, drained and removed.

The embedded default's hosts (STEWARD_ZONES x STEWARD_HOSTS_PER_ZONE on this machine) are
registered at every server start with this machine's capacity, so that a Steward that never had
another host works as before. Hosts that join from other machines register with their own
address, capacity and node addresses, and are then driven the same way; only an embedded host's
agent is started by the control plane.

`HostEntry` is a registered host as placement and the agent directory use it: its record with
the zone it belongs to, and for an embedded host the layout of its addresses on this machine."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from steward.domain.errors import BadRequestException, ConflictException, NotFoundException
from steward.domain.hosts import Capacity, Disk, HostOrigin, HostRecord, HostState, Resources
from steward.domain.model import Node, NodeRole, utcnow
from steward.settings import Host, Settings, Zone
from steward.store.hosts import HostRecords
from steward.store.store import Store


def this_machine_capacity(home: Path) -> Capacity:
    """This machine's cores, memory and the disk of the Steward home: what embedded hosts offer
    (every embedded host is this machine, so each offers all of it)."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    home.mkdir(parents=True, exist_ok=True)
    disk = shutil.disk_usage(home).total
    return Capacity(float(os.cpu_count() or 1), int(memory), (Disk(str(home), int(disk)),))


@dataclass(frozen=True)
class HostEntry:
    """A registered host with its zone, as placement and the agents are given it."""

    record: HostRecord
    zone: Zone
    local: Host | None = None
    """The embedded host's layout on this machine (addresses, namespace), or None (joined)."""

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def state(self) -> HostState:
        return self.record.state

    @property
    def capacity(self) -> Capacity:
        return self.record.capacity

    @property
    def number(self) -> int:
        """The host's position in its zone (embedded), what equal hosts are ordered by."""
        return self.local.number if self.local is not None else 1_000

    @property
    def agent_url(self) -> str:
        return self.record.agent_url

    @property
    def agent_address(self) -> str:
        """The address (no port) the host's agent listens on."""
        if self.local is not None:
            return self.local.agent_address
        address = self.record.agent_address.split("://", 1)[-1]
        return address.rsplit(":", 1)[0] if ":" in address else address

    @property
    def accepts_nodes(self) -> bool:
        return self.state is HostState.ACTIVE

    def node_addresses(self) -> list[str]:
        if self.local is not None:
            return self.local.node_addresses()
        return list(self.record.node_addresses)

    def owns(self, address: str) -> bool:
        return address in self.node_addresses()


def embedded_record(settings: Settings, host: Host, capacity: Capacity) -> HostRecord:
    return HostRecord(
        name=host.name,
        zone=host.zone.name,
        agent_address=f"{host.agent_address}:{settings.agent_port}",
        capacity=capacity,
        origin=HostOrigin.EMBEDDED,
    )


def settings_entries(settings: Settings) -> list[HostEntry]:
    """The embedded hosts as the settings alone give them (no store): every one ACTIVE."""
    capacity = Capacity(float(os.cpu_count() or 1), 0)
    return [HostEntry(embedded_record(settings, h, capacity), h.zone, h) for h in settings.hosts]


class HostRegistry:
    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.records = HostRecords(store.engine)

    # --- registering ----------------------------------------------------------------------------
    def register(
        self,
        name: str,
        zone: str,
        agent_address: str,
        capacity: Capacity,
        node_addresses: Sequence[str] = (),
        labels: dict[str, str] | None = None,
        origin: HostOrigin = HostOrigin.JOINED,
    ) -> HostRecord:
        """Register a host, or update the one of that name (its state stays; a REMOVED host
        that joins again is ACTIVE again)."""
        if not name or "/" in name:
            raise BadRequestException(f"{name!r} is not a host name")
        if zone not in {z.name for z in self.settings.zones}:
            known = ", ".join(z.name for z in self.settings.zones)
            raise BadRequestException(f"zone {zone!r} is not one of this Steward's zones ({known})")
        if capacity.cores <= 0 or capacity.memory_bytes <= 0:
            raise BadRequestException("a host's capacity needs cores and memory")
        if origin is HostOrigin.JOINED and not node_addresses:
            raise BadRequestException(f"host {name} names no address for its nodes")
        taken = self._addresses_of_others(name)
        clash = sorted(set(node_addresses) & taken)
        if clash:
            raise BadRequestException(f"addresses {', '.join(clash)} belong to another host")
        existing = self.records.get(name)
        if existing is not None and existing.origin is not origin:
            raise BadRequestException(f"host {name} is already registered as {existing.origin}")
        record = HostRecord(
            name=name,
            zone=zone,
            agent_address=agent_address,
            capacity=capacity,
            origin=origin,
            node_addresses=tuple(node_addresses),
            labels=dict(labels or {}),
        )
        return self.records.upsert(record, utcnow(), revive=origin is HostOrigin.JOINED)

    def register_embedded(self, capacity: Capacity | None = None) -> list[HostRecord]:
        """The embedded hosts, with this machine's capacity (at server start). A host removed by
        its operator stays removed."""
        offered = capacity or this_machine_capacity(self.settings.home)
        return [
            self.records.upsert(
                embedded_record(self.settings, host, offered), utcnow(), revive=False
            )
            for host in self.settings.hosts
        ]

    def _addresses_of_others(self, name: str) -> set[str]:
        return {
            address
            for entry in self.entries()
            if entry.name != name
            for address in entry.node_addresses()
        }

    # --- reading --------------------------------------------------------------------------------
    def list(self, include_removed: bool = False) -> list[HostRecord]:
        records = self.records.list()
        if include_removed:
            return records
        return [r for r in records if r.state is not HostState.REMOVED]

    def get(self, name: str) -> HostRecord:
        record = self.records.get(name)
        if record is None or record.state is HostState.REMOVED:
            raise NotFoundException(f"no host {name}")
        return record

    def entries(self) -> list[HostEntry]:
        """Every host not removed, with its zone (a host of a zone this Steward no longer has is
        left out)."""
        zones = {z.name: z for z in self.settings.zones}
        local = {h.name: h for h in self.settings.hosts}
        entries = []
        for record in self.list():
            zone = zones.get(record.zone)
            if zone is None:
                continue
            layout = local.get(record.name) if record.embedded else None
            if record.embedded and layout is None:
                continue  # an embedded host of a larger STEWARD_HOSTS_PER_ZONE than now
            entries.append(HostEntry(record, zone, layout))
        return entries

    # --- changing -------------------------------------------------------------------------------
    def set_state(self, name: str, state: HostState) -> HostRecord:
        self.get(name)
        self.records.set_state(name, state)
        return self.get(name) if state is not HostState.REMOVED else self._removed(name)

    def drain(self, name: str) -> HostRecord:
        """No new node goes to the host from now on; the health monitor moves its brokers away,
        one at a time, through the repair that replaces dead hosts."""
        return self.set_state(name, HostState.DRAINING)

    def activate(self, name: str) -> HostRecord:
        return self.set_state(name, HostState.ACTIVE)

    def remove(self, name: str) -> HostRecord:
        """Forget the host: it is driven no more and placement never picks it. Refused while
        any node of a cluster is still placed on it."""
        self.get(name)
        remaining = self.nodes_on(name)
        if remaining:
            shown = ", ".join(remaining[:5]) + (" ..." if len(remaining) > 5 else "")
            raise ConflictException(
                f"host {name} still runs {len(remaining)} node(s) ({shown}): "
                "drain it and wait for its brokers to move (controllers are not moved)"
            )
        return self.set_state(name, HostState.REMOVED)

    def nodes_on(self, name: str) -> list[str]:
        """The nodes placed on host `name`, as `<cluster> <role> <id>`."""
        found = []
        for cluster in self.store.list_clusters():
            for node in self.store.nodes(cluster.arn):
                if node.agent == name:
                    found.append(f"{cluster.name} {node.role.value.lower()} {node.node_id}")
        return found

    def _removed(self, name: str) -> HostRecord:
        record = self.records.get(name)
        assert record is not None
        return record


@dataclass(frozen=True)
class HostUsage:
    """What the nodes placed on a host take of it."""

    nodes: tuple[str, ...]
    """`<cluster> <role> <id>` of each node placed on it."""
    reserved: Resources
    """What those nodes reserve (`steward.control.placement.reservation`)."""
    volume_bytes: int
    """The sizes of its brokers' data volumes (thin: what they hold is less)."""


def host_usage(store: Store, reserve: Callable[[Node], Resources]) -> dict[str, HostUsage]:
    """Every host's usage, by host name (hosts that run nothing are left out)."""
    nodes: dict[str, list[str]] = {}
    reserved: dict[str, Resources] = {}
    volumes: dict[str, int] = {}
    for cluster in store.list_clusters():
        volume = cluster.spec.broker_node_group.volume_size_gb * 1024**3
        for node in store.nodes(cluster.arn):
            nodes.setdefault(node.agent, []).append(
                f"{cluster.name} {node.role.value.lower()} {node.node_id}"
            )
            reserved[node.agent] = reserved.get(node.agent, Resources()) + reserve(node)
            if node.role is NodeRole.BROKER:
                volumes[node.agent] = volumes.get(node.agent, 0) + volume
    return {
        name: HostUsage(tuple(found), reserved[name], volumes.get(name, 0))
        for name, found in nodes.items()
    }

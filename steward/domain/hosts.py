"""Hosts as the control plane knows them: machines of a zone, each with one agent, a capacity
of cores, memory and disks, and a state that says whether it may take new nodes.

A host is either *embedded* (one of the hosts Steward runs on its own machine, from
STEWARD_ZONES and STEWARD_HOSTS_PER_ZONE) or *joined* (a machine whose agent registered itself
with the control plane). Both are rows of the store's host registry and are driven the same way;
only embedded agents are started by the control plane."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class HostState(StrEnum):
    ACTIVE = "ACTIVE"
    """Takes new nodes."""
    DRAINING = "DRAINING"
    """Takes no new node; its brokers move to other hosts of its zone."""
    REMOVED = "REMOVED"
    """Forgotten: runs nothing, is driven no more, and is not listed."""


class HostOrigin(StrEnum):
    EMBEDDED = "embedded"
    JOINED = "joined"


@dataclass(frozen=True)
class Disk:
    path: str
    bytes: int


@dataclass(frozen=True)
class Resources:
    """An amount of cores, memory and disk: what a host offers, or what its nodes reserve."""

    cores: float = 0.0
    memory_bytes: int = 0
    disk_bytes: int = 0

    def __add__(self, other: Resources) -> Resources:
        return Resources(
            self.cores + other.cores,
            self.memory_bytes + other.memory_bytes,
            self.disk_bytes + other.disk_bytes,
        )

    def __sub__(self, other: Resources) -> Resources:
        return Resources(
            self.cores - other.cores,
            self.memory_bytes - other.memory_bytes,
            self.disk_bytes - other.disk_bytes,
        )

    def holds(self, wanted: Resources) -> bool:
        """Whether `wanted` fits into this amount (a tiny tolerance for sums of fractions)."""
        return (
            wanted.cores <= self.cores + 1e-9
            and wanted.memory_bytes <= self.memory_bytes
            and wanted.disk_bytes <= self.disk_bytes
        )


@dataclass(frozen=True)
class Capacity:
    """What a host offers its nodes."""

    cores: float
    memory_bytes: int
    disks: tuple[Disk, ...] = ()

    @property
    def disk_bytes(self) -> int:
        return sum(d.bytes for d in self.disks)

    @property
    def resources(self) -> Resources:
        return Resources(self.cores, self.memory_bytes, self.disk_bytes)


@dataclass(frozen=True)
class HostRecord:
    """One host of the registry."""

    name: str
    zone: str
    agent_address: str
    """Where its agent answers: `host:port`, or a URL (`https://10.0.2.15:9781`)."""
    capacity: Capacity
    state: HostState = HostState.ACTIVE
    origin: HostOrigin = HostOrigin.JOINED
    node_addresses: tuple[str, ...] = ()
    """The addresses the host's nodes may listen on, one node each (a joined host's; an
    embedded host's come from its zone's range)."""
    labels: dict[str, str] = field(default_factory=dict)
    registered_at: datetime | None = None
    last_seen: datetime | None = None

    @property
    def agent_url(self) -> str:
        if "://" in self.agent_address:
            return self.agent_address.rstrip("/")
        return f"http://{self.agent_address}"

    @property
    def embedded(self) -> bool:
        return self.origin is HostOrigin.EMBEDDED

"""What the balancer knows of a cluster: each partition's replicas (preferred leader first), its
size and traffic, each broker's zone and capacity.

Load per broker, for each resource the goals look at:

- replicas: one per replica the broker holds;
- disk: the partition's size, on every replica;
- network in: the partition's bytes in, on every replica (the leader takes them from producers,
  each follower fetches the same bytes from the leader);
- network out: on the leader only, what consumers read plus one copy per follower;
- leaders: one per partition the broker is preferred leader of.

Utilization is load over capacity, so brokers of different sizes are compared fairly; counts
(replicas, leaders) have a capacity of one per broker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

PartitionKey = tuple[str, int]


class Resource(StrEnum):
    """The goals, from the most important to the least (zone spread is a hard rule, not one of
    them: no move may lower a partition's spread)."""

    REPLICAS = "replicas"
    DISK = "disk"
    NETWORK_IN = "network_in"
    NETWORK_OUT = "network_out"
    LEADERS = "leaders"


GOALS: tuple[Resource, ...] = tuple(Resource)
"""The goals in the order the planner meets them."""


@dataclass(frozen=True)
class BrokerCapacity:
    """What one broker can take: bytes of disk, bytes per second in and out."""

    disk_bytes: float = 1.0
    network_in_bytes_per_s: float = 1.0
    network_out_bytes_per_s: float = 1.0

    def of(self, resource: Resource) -> float:
        if resource is Resource.DISK:
            return self.disk_bytes
        if resource is Resource.NETWORK_IN:
            return self.network_in_bytes_per_s
        if resource is Resource.NETWORK_OUT:
            return self.network_out_bytes_per_s
        return 1.0


@dataclass(frozen=True)
class Broker:
    broker_id: int
    zone: str
    capacity: BrokerCapacity = BrokerCapacity()


@dataclass(frozen=True)
class PartitionLoad:
    """A partition's replicas (preferred leader first) and what it costs a broker."""

    key: PartitionKey
    replicas: tuple[int, ...]
    size_bytes: int = 0
    bytes_in_per_s: float = 0.0
    bytes_out_per_s: float = 0.0

    def replica_load(self, resource: Resource, leader: bool) -> float:
        """What one replica of this partition puts on its broker."""
        if resource is Resource.REPLICAS:
            return 1.0
        if resource is Resource.DISK:
            return float(self.size_bytes)
        if resource is Resource.NETWORK_IN:
            return self.bytes_in_per_s
        if resource is Resource.NETWORK_OUT:
            if not leader:
                return 0.0
            return self.bytes_out_per_s + self.bytes_in_per_s * (len(self.replicas) - 1)
        return 1.0 if leader else 0.0


@dataclass
class ClusterModel:
    """Brokers that may hold replicas and every partition. A broker named in a partition's
    replicas but missing from `brokers` is leaving: the planner moves its replicas off first."""

    brokers: dict[int, Broker]
    partitions: dict[PartitionKey, PartitionLoad] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        assignment: Mapping[PartitionKey, Sequence[int]],
        zones: Mapping[int, str],
        *,
        sizes: Mapping[PartitionKey, int] | None = None,
        bytes_in: Mapping[PartitionKey, float] | None = None,
        bytes_out: Mapping[PartitionKey, float] | None = None,
        capacity: BrokerCapacity | Mapping[int, BrokerCapacity] = BrokerCapacity(),
    ) -> ClusterModel:
        """A model from an assignment, the brokers' zones and whatever sizes and rates are known
        (missing ones count as zero)."""

        def capacity_of(broker: int) -> BrokerCapacity:
            if isinstance(capacity, BrokerCapacity):
                return capacity
            return capacity.get(broker, BrokerCapacity())

        brokers = {b: Broker(b, zone, capacity_of(b)) for b, zone in sorted(zones.items())}
        partitions = {
            key: PartitionLoad(
                key,
                tuple(replicas),
                (sizes or {}).get(key, 0),
                (bytes_in or {}).get(key, 0.0),
                (bytes_out or {}).get(key, 0.0),
            )
            for key, replicas in sorted(assignment.items())
        }
        return cls(brokers, partitions)

    @property
    def assignment(self) -> dict[PartitionKey, list[int]]:
        return {key: list(p.replicas) for key, p in self.partitions.items()}

    def zones(self) -> list[str]:
        return sorted({b.zone for b in self.brokers.values()})

    def loads(
        self, assignment: Mapping[PartitionKey, Sequence[int]] | None = None
    ) -> dict[Resource, dict[int, float]]:
        """Each resource's load per broker under `assignment` (the model's own by default)."""
        placed = assignment if assignment is not None else self.assignment
        totals = {r: dict.fromkeys(self.brokers, 0.0) for r in GOALS}
        for key, replicas in placed.items():
            partition = self.partitions[key]
            for position, broker in enumerate(replicas):
                if broker not in self.brokers:
                    continue
                for resource in GOALS:
                    totals[resource][broker] += partition.replica_load(resource, position == 0)
        return totals


def zone_spread(replicas: Iterable[int], zones: Mapping[int, str]) -> int:
    """How many zones the replicas cover (brokers of unknown zone do not count)."""
    return len({zones[b] for b in replicas if b in zones})

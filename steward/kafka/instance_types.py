"""Broker instance types: MSK's names, sized for processes that share a host.

A type sets the broker's JVM heap and its thread pools. The table is published in
docs/instance-types.md.

MSK's Express types (`express.m7g.large` ...) are sized as the Standard m7g type of the same size.
What Express means that Steward honours: the brokers' storage is managed (a request names no EBS
volume; volumes grow as they fill), and an Express cluster stays Express (`is_express`).
"""

from __future__ import annotations

from dataclasses import dataclass

from steward.domain.hosts import Resources


@dataclass(frozen=True)
class InstanceType:
    name: str
    heap_mb: int
    num_network_threads: int
    num_io_threads: int
    num_replica_fetchers: int
    cpu_weight: int
    """Relative CPU share (cgroup cpu.weight) when the host enforces it."""


INSTANCE_TYPES: dict[str, InstanceType] = {
    t.name: t
    for t in (
        InstanceType("kafka.t3.small", 384, 2, 4, 1, 50),
        InstanceType("kafka.m5.large", 512, 3, 8, 2, 100),
        InstanceType("kafka.m7g.large", 512, 3, 8, 2, 100),
        InstanceType("kafka.m5.xlarge", 1024, 5, 8, 2, 200),
        InstanceType("kafka.m7g.xlarge", 1024, 5, 8, 2, 200),
        InstanceType("kafka.m5.2xlarge", 2048, 5, 16, 4, 400),
        InstanceType("kafka.m7g.2xlarge", 2048, 5, 16, 4, 400),
        InstanceType("kafka.m5.4xlarge", 4096, 8, 16, 4, 800),
        InstanceType("kafka.m7g.4xlarge", 4096, 8, 16, 4, 800),
        InstanceType("kafka.m5.8xlarge", 6144, 8, 32, 8, 1600),
        InstanceType("kafka.m5.12xlarge", 8192, 12, 32, 8, 2400),
        InstanceType("kafka.m5.16xlarge", 8192, 16, 48, 8, 3200),
        InstanceType("kafka.m5.24xlarge", 8192, 16, 64, 8, 4800),
        InstanceType("express.m7g.large", 512, 3, 8, 2, 100),
        InstanceType("express.m7g.xlarge", 1024, 5, 8, 2, 200),
        InstanceType("express.m7g.2xlarge", 2048, 5, 16, 4, 400),
        InstanceType("express.m7g.4xlarge", 4096, 8, 16, 4, 800),
        InstanceType("express.m7g.8xlarge", 6144, 8, 32, 8, 1600),
        InstanceType("express.m7g.12xlarge", 8192, 12, 32, 8, 2400),
        InstanceType("express.m7g.16xlarge", 8192, 16, 48, 8, 3200),
    )
}

EXPRESS_PREFIX = "express."

CONTROLLER_HEAP_MB = 384


def instance_type(name: str) -> InstanceType | None:
    return INSTANCE_TYPES.get(name)


def is_express(name: str) -> bool:
    """An MSK Express broker type (`express.m7g.large`), as against a Standard one."""
    return name.startswith(EXPRESS_PREFIX)


NETWORK_BYTES_PER_CPU_WEIGHT = 800_000
"""Bytes per second in (and out) a broker is sized for per unit of CPU weight: 80 MB/s for a
`kafka.m5.large`, about the sustained throughput MSK's sizing guide gives that type."""


def network_bytes_per_s(name: str) -> float:
    """The network a broker of this type is sized for, each way; what the balancer divides a
    broker's bytes in and out by (unknown types count as the smallest)."""
    found = INSTANCE_TYPES.get(name)
    weight = found.cpu_weight if found is not None else 50
    return float(weight * NETWORK_BYTES_PER_CPU_WEIGHT)


MIB = 1024**2
GIB = 1024**3
JVM_OVERHEAD_MB = 256
"""Memory a Kafka JVM takes beyond its heap (metaspace, thread stacks, direct buffers)."""
CORES_PER_CPU_WEIGHT = 1 / 400
"""Cores a node reserves per unit of CPU weight: a `kafka.m5.large` (weight 100) reserves a
quarter of a core. Brokers that share a host take turns on its cores; the reservation keeps a
host from taking more of them than it can serve."""
NODE_DISK_BYTES = GIB
"""Disk a broker reserves on its host besides its volume: its logs, its files, a heap dump. Its
data volume is thin (a sparse image, or a directory): what it holds is reported, not reserved."""
CONTROLLER_RESERVATION = Resources(0.125, (CONTROLLER_HEAP_MB + JVM_OVERHEAD_MB) * MIB, GIB // 2)
"""What a KRaft controller reserves on its host: a small, fixed share."""


def broker_reservation(name: str) -> Resources:
    """What a broker of instance type `name` reserves on its host (an unknown type as the
    smallest)."""
    found = INSTANCE_TYPES.get(name) or INSTANCE_TYPES["kafka.t3.small"]
    return Resources(
        found.cpu_weight * CORES_PER_CPU_WEIGHT,
        (found.heap_mb + JVM_OVERHEAD_MB) * MIB,
        NODE_DISK_BYTES,
    )

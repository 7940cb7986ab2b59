"""What a rolling restart checks before and after it stops a broker.

The rule (Strimzi's KafkaRoller, and what MSK promises while patching): never stop a broker whose
partitions would drop below `min.insync.replicas`, and before the next broker wait until the last
one serves again and every partition has its full ISR.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import ConfigResource

from steward.kafka.admin import admin_client
from steward.kafka.errors import KafkaAdminError, client_errors

MIN_INSYNC_REPLICAS = "min.insync.replicas"


class HealthError(KafkaAdminError):
    """The cluster could not be asked about its partitions or brokers."""


@dataclass(frozen=True)
class PartitionState:
    topic: str
    partition: int
    leader: int | None
    """None while the partition has no leader (offline)."""
    replicas: tuple[int, ...]
    isr: tuple[int, ...]

    @property
    def key(self) -> tuple[str, int]:
        return (self.topic, self.partition)


def partition_states(bootstrap: str, timeout: float = 10.0) -> list[PartitionState]:
    """Leader, replicas and ISR of every partition, internal topics (`__consumer_offsets`, ...)
    included, as the metadata of one broker reports them."""
    with client_errors(HealthError, "describing partitions"):
        metadata = admin_client(bootstrap).list_topics(timeout=timeout)
    states = [
        PartitionState(
            topic=name,
            partition=partition.id,
            leader=partition.leader if partition.leader >= 0 else None,
            replicas=tuple(partition.replicas),
            isr=tuple(partition.isrs),
        )
        for name, topic in metadata.topics.items()
        for partition in topic.partitions.values()
    ]
    return sorted(states, key=lambda state: state.key)


def under_replicated(states: Iterable[PartitionState]) -> list[PartitionState]:
    """Partitions with a replica outside the ISR."""
    return [state for state in states if len(state.isr) < len(state.replicas)]


def min_insync_replicas(
    bootstrap: str, topics: Iterable[str], timeout: float = 10.0
) -> dict[str, int]:
    """Each topic's effective `min.insync.replicas` (its own setting, else the cluster's). A topic
    that no broker knows yet, or any more, gets the cluster's value."""
    wanted = sorted(set(topics))
    if not wanted:
        return {}
    client = admin_client(bootstrap)
    resources = [ConfigResource(ConfigResource.Type.TOPIC, topic) for topic in wanted]
    found: dict[str, int] = {}
    unknown: list[str] = []
    with client_errors(HealthError, "describing topic configurations"):
        futures = client.describe_configs(resources, request_timeout=timeout)
        for resource, future in futures.items():
            try:
                entries = future.result(timeout)
            except KafkaException as error:
                if error.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                    raise
                unknown.append(resource.name)
                continue
            found[resource.name] = int(entries[MIN_INSYNC_REPLICAS].value)
    if unknown:
        cluster_value = _cluster_min_insync_replicas(bootstrap, timeout)
        found.update({topic: cluster_value for topic in unknown})
    return found


def _cluster_min_insync_replicas(bootstrap: str, timeout: float) -> int:
    """The value a broker applies to topics without their own setting."""
    client = admin_client(bootstrap)
    with client_errors(HealthError, "describing the cluster's min.insync.replicas"):
        alive = client.list_topics(timeout=timeout).brokers
        if not alive:
            raise HealthError("no broker is serving to describe the cluster's min.insync.replicas")
        resource = ConfigResource(ConfigResource.Type.BROKER, str(min(alive)))
        entries = client.describe_configs([resource], request_timeout=timeout)[resource]
        return int(entries.result(timeout)[MIN_INSYNC_REPLICAS].value)


def unsafe_to_stop(
    states: Iterable[PartitionState], broker_id: int, min_isr: Mapping[str, int]
) -> list[PartitionState]:
    """Partitions whose ISR would drop below their topic's `min.insync.replicas` if `broker_id`
    stopped now. A broker outside a partition's ISR does not count: stopping it changes nothing.

    Partitions that can never survive a stop (replication factor <= min ISR, e.g. RF 1) are
    included too; whether to roll anyway is the caller's policy."""
    unsafe = []
    for state in states:
        if broker_id not in state.isr:
            continue
        if state.topic not in min_isr:
            raise HealthError(f"no min.insync.replicas given for topic {state.topic!r}")
        if len(state.isr) - 1 < min_isr[state.topic]:
            unsafe.append(state)
    return unsafe


def broker_serving(bootstrap: str, broker_id: int, timeout: float = 5.0) -> bool:
    """True when `broker_id` is registered and unfenced (the cluster lists it as alive) and
    answers a request sent to it (its configuration, served by its own request handlers).
    HealthError when the cluster itself cannot be asked."""
    client = admin_client(bootstrap)
    with client_errors(HealthError, "describing the cluster"):
        described = client.describe_cluster(request_timeout=timeout).result(timeout)
    alive = {node.id for node in described.nodes}
    if broker_id not in alive:
        return False
    resource = ConfigResource(ConfigResource.Type.BROKER, str(broker_id))
    try:
        client.describe_configs([resource], request_timeout=timeout)[resource].result(timeout)
    except (KafkaException, TimeoutError):
        return False
    return True

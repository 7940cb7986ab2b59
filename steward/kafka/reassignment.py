"""Moving replicas between brokers with Kafka's own reassignment API, throttled the way
`kafka-reassign-partitions --throttle` throttles it, and the sizes that tell what a move costs.

A move, as scale-out and scale-in use it:
    throttle = start_reassignment(bootstrap, target, throttle_bytes_per_s=50_000_000)
    ... until not reassignments_in_progress(bootstrap)
    clear_replication_throttle(bootstrap, throttle.brokers, throttle.topics)
    elect_preferred_leaders(bootstrap)
(or `set_replication_throttle` on the brokers first, then `start_reassignment` without a rate).

Kafka's throttle has two halves that only work together: the rate, the dynamic broker configs
`leader.replication.throttled.rate` / `follower.replication.throttled.rate` on each broker
involved; and which replicas it applies to, the topic configs
`leader.replication.throttled.replicas` (a moving partition's current replicas, which send) and
`follower.replication.throttled.replicas` (the replicas being added, which fetch), as
`partition:broker` lists. Every change here is an incremental alter (SET or DELETE of exactly
these keys), never the legacy AlterConfigs that resets every other key of the resource.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import kafka.errors
from confluent_kafka import ElectionType, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import ConfigResource
from kafka import TopicPartition as KafkaPythonTopicPartition

from steward.kafka.admin import admin_client, incremental_config_ops, kafka_python_admin
from steward.kafka.errors import KafkaAdminError, client_errors, describe_client_error

Partition = tuple[str, int]
"""(topic, partition)"""

LEADER_RATE = "leader.replication.throttled.rate"
FOLLOWER_RATE = "follower.replication.throttled.rate"
LEADER_REPLICAS = "leader.replication.throttled.replicas"
FOLLOWER_REPLICAS = "follower.replication.throttled.replicas"


class ReassignmentError(KafkaAdminError):
    """A reassignment, throttle, election or size query failed or was refused."""


@dataclass(frozen=True)
class Reassignment:
    """A partition's move in progress: `replicas` is the union of old and new while it runs."""

    replicas: tuple[int, ...]
    adding: tuple[int, ...]
    removing: tuple[int, ...]

    @property
    def original(self) -> tuple[int, ...]:
        """The replicas it started from (Kafka's union does not keep their preference order)."""
        return tuple(r for r in self.replicas if r not in self.adding)

    @property
    def target(self) -> tuple[int, ...]:
        return tuple(r for r in self.replicas if r not in self.removing)


@dataclass(frozen=True)
class ReplicationThrottle:
    """What a throttled reassignment configured, i.e. what to clear when it is done."""

    brokers: frozenset[int]
    topics: frozenset[str]


def current_assignment(bootstrap: str, timeout: float = 10.0) -> dict[Partition, list[int]]:
    """Every partition's replicas, in preference order (the first is the preferred leader)."""
    with client_errors(ReassignmentError, "describing partitions"):
        metadata = admin_client(bootstrap).list_topics(timeout=timeout)
    return {
        (name, partition.id): list(partition.replicas)
        for name, topic in metadata.topics.items()
        for partition in topic.partitions.values()
    }


def reassignments_in_progress(
    bootstrap: str, timeout: float = 10.0
) -> dict[Partition, Reassignment]:
    with (
        client_errors(ReassignmentError, "listing reassignments"),
        kafka_python_admin(bootstrap, timeout) as client,
    ):
        listed = client.list_partition_reassignments(timeout_ms=int(timeout * 1000))
    return {
        (tp.topic, tp.partition): Reassignment(
            replicas=tuple(state["replicas"]),
            adding=tuple(state["adding_replicas"]),
            removing=tuple(state["removing_replicas"]),
        )
        for tp, state in listed.items()
    }


def throttled_replicas(
    current: Mapping[Partition, Sequence[int]], target: Mapping[Partition, Sequence[int]]
) -> dict[str, tuple[str, str]]:
    """Per topic, the (`leader...replicas`, `follower...replicas`) values that throttle exactly
    the partitions that move, as kafka-reassign-partitions computes them: a moving partition's
    current replicas send (leader side), the replicas it gains fetch (follower side)."""
    leaders: dict[str, list[str]] = defaultdict(list)
    followers: dict[str, list[str]] = defaultdict(list)
    for (topic, partition), replicas in sorted(target.items()):
        existing = list(current.get((topic, partition), ()))
        if list(replicas) == existing:
            continue
        leaders[topic].extend(f"{partition}:{broker}" for broker in existing)
        followers[topic].extend(
            f"{partition}:{broker}" for broker in replicas if broker not in existing
        )
    return {topic: (",".join(leaders[topic]), ",".join(followers[topic])) for topic in leaders}


def start_reassignment(
    bootstrap: str,
    target: Mapping[Partition, Sequence[int]],
    throttle_bytes_per_s: int | None = None,
    timeout: float = 30.0,
) -> ReplicationThrottle:
    """Ask the controller to move each partition of `target` to its replicas (in preference
    order). First the replicas that move are marked as throttled (the topic configs), so that a
    rate set on the brokers, now with `throttle_bytes_per_s` or earlier with
    `set_replication_throttle`, applies to them. Safe to repeat, and to call again for more
    partitions while others move: their throttle entries are kept.

    Returns the brokers and topics involved, for `clear_replication_throttle` once done."""
    current: dict[Partition, Sequence[int]] = dict(current_assignment(bootstrap, timeout))
    # Unknown partitions get no throttle entries: the controller refuses them below, by name.
    throttled: dict[Partition, Sequence[int]] = {k: r for k, r in target.items() if k in current}
    topics = {topic for topic, _ in throttled}
    for key, moving in reassignments_in_progress(bootstrap, timeout).items():
        current[key] = moving.original  # where it started, not the union it shows while moving
        if key[0] in topics:
            throttled.setdefault(key, moving.target)
    per_topic = throttled_replicas(current, throttled)
    brokers = {
        broker
        for key, replicas in throttled.items()
        if list(replicas) != list(current.get(key, ()))
        for broker in (*replicas, *current.get(key, ()))
    }
    _alter_topic_configs(
        bootstrap,
        {
            topic: {LEADER_REPLICAS: leader, FOLLOWER_REPLICAS: follower}
            for topic, (leader, follower) in per_topic.items()
        },
        timeout,
    )
    if throttle_bytes_per_s is not None:
        set_replication_throttle(bootstrap, brokers, throttle_bytes_per_s, timeout)
    request = {
        KafkaPythonTopicPartition(topic, partition): [int(b) for b in replicas]
        for (topic, partition), replicas in target.items()
    }
    if request:
        with (
            client_errors(ReassignmentError, "starting the reassignment"),
            kafka_python_admin(bootstrap, timeout) as client,
        ):
            results = client.alter_partition_reassignments(request, timeout_ms=int(timeout * 1000))
        refused = {tp: error for tp, error in results.items() if error is not None}
        if refused:
            details = ", ".join(
                f"{tp.topic}-{tp.partition}: {error.__name__}"
                for tp, error in sorted(refused.items())
            )
            raise ReassignmentError(f"the controller refused to move {details}")
    return ReplicationThrottle(frozenset(brokers), frozenset(per_topic))


def cancel_reassignment(
    bootstrap: str, partitions: Iterable[Partition], timeout: float = 30.0
) -> None:
    """Stop moving `partitions`: each goes back to the brokers it started on, not necessarily in
    the same preference order (Kafka keeps the order of the move's union, e.g. [2, 1] after
    cancelling [1, 2] -> [3, 2]). Partitions that are not moving are ignored."""
    request = {KafkaPythonTopicPartition(t, p): None for t, p in partitions}
    if not request:
        return
    with (
        client_errors(ReassignmentError, "cancelling the reassignment"),
        kafka_python_admin(bootstrap, timeout) as client,
    ):
        results = client.alter_partition_reassignments(request, timeout_ms=int(timeout * 1000))
    refused = {
        tp: error
        for tp, error in results.items()
        if error is not None and error is not kafka.errors.NoReassignmentInProgressError
    }
    if refused:
        details = ", ".join(f"{tp.topic}-{tp.partition}: {e.__name__}" for tp, e in refused.items())
        raise ReassignmentError(f"the controller refused to cancel {details}")


def set_replication_throttle(
    bootstrap: str, brokers: Iterable[int], rate_bytes_per_s: int, timeout: float = 30.0
) -> None:
    """Limit the replication traffic of throttled replicas on each of `brokers` to
    `rate_bytes_per_s` in each direction (leader side and follower side). Also how a running
    reassignment's rate is changed."""
    if rate_bytes_per_s <= 0:
        raise ReassignmentError(f"a throttle rate must be positive, not {rate_bytes_per_s}")
    rate = str(int(rate_bytes_per_s))
    _alter_broker_configs(
        bootstrap,
        {broker: {LEADER_RATE: rate, FOLLOWER_RATE: rate} for broker in brokers},
        timeout,
    )


def clear_replication_throttle(
    bootstrap: str, brokers: Iterable[int], topics: Iterable[str], timeout: float = 30.0
) -> None:
    """Remove the throttle rates from `brokers` and the throttled replica lists from `topics`
    (only those keys). Topics deleted meanwhile are skipped."""
    _alter_broker_configs(
        bootstrap, {broker: {LEADER_RATE: None, FOLLOWER_RATE: None} for broker in brokers}, timeout
    )
    _alter_topic_configs(
        bootstrap,
        {topic: {LEADER_REPLICAS: None, FOLLOWER_REPLICAS: None} for topic in topics},
        timeout,
        missing_ok=True,
    )


def elect_preferred_leaders(
    bootstrap: str, partitions: Iterable[Partition] | None = None, timeout: float = 30.0
) -> dict[Partition, str]:
    """Make each partition's first replica its leader again (after a restart or a move); all
    partitions when `partitions` is None. Returns the partitions that could not be elected and
    why (e.g. the preferred replica is not in the ISR yet); "election not needed" is success."""
    wanted = None if partitions is None else [TopicPartition(t, p) for t, p in partitions]
    if wanted == []:
        return {}
    # confluent-kafka 2.16.1's elect_leaders raises SystemError when given request_timeout or
    # operation_timeout; both default to socket.timeout.ms, so the timeout goes there. The client
    # stays referenced until the future is done (a collected client fails its futures).
    client = admin_client(bootstrap, **{"socket.timeout.ms": str(int(timeout * 1000))})
    with client_errors(ReassignmentError, "electing preferred leaders"):
        results = client.elect_leaders(ElectionType.PREFERRED, wanted).result(timeout + 5)
    failed = {}
    for tp, error in results.items():
        if error is None:
            continue
        detail = error.args[0] if isinstance(error, KafkaException) else error
        if detail.code() == KafkaError.ELECTION_NOT_NEEDED:
            continue
        failed[(tp.topic, tp.partition)] = f"{detail.name()}: {detail.str()}"
    return failed


def partition_sizes(bootstrap: str, timeout: float = 30.0) -> dict[Partition, int]:
    """Bytes on disk of each partition's leader replica (what a move of it copies). Partitions
    without a leader are left out."""
    every = _leaders(bootstrap, timeout)
    leaders = {key: broker for key, broker in every.items() if broker is not None}
    topics: dict[str, list[int]] = {}
    for topic, partition in sorted(every):
        topics.setdefault(topic, []).append(partition)
    sizes: dict[Partition, int] = {}
    replicas = _replica_sizes(bootstrap, set(leaders.values()), topics, timeout)
    for broker, key, size, is_future in replicas:
        if not is_future and leaders.get(key) == broker:
            sizes[key] = size
    return sizes


def broker_disk_usage(bootstrap: str, timeout: float = 30.0) -> dict[int, int]:
    """Bytes of partition data in each serving broker's log directories (replicas being moved
    between a broker's directories count twice, as they take that space)."""
    with client_errors(ReassignmentError, "describing the cluster"):
        metadata = admin_client(bootstrap).list_topics(timeout=timeout)
    brokers = set(metadata.brokers)
    usage = dict.fromkeys(brokers, 0)
    topics = {name: sorted(topic.partitions) for name, topic in metadata.topics.items()}
    for broker, _key, size, _is_future in _replica_sizes(bootstrap, brokers, topics, timeout):
        usage[broker] += size
    return usage


def _leaders(bootstrap: str, timeout: float) -> dict[Partition, int | None]:
    with client_errors(ReassignmentError, "describing partitions"):
        metadata = admin_client(bootstrap).list_topics(timeout=timeout)
    return {
        (name, partition.id): partition.leader if partition.leader >= 0 else None
        for name, topic in metadata.topics.items()
        for partition in topic.partitions.values()
    }


def _replica_sizes(
    bootstrap: str, brokers: Iterable[int], topics: Mapping[str, list[int]], timeout: float
) -> list[tuple[int, Partition, int, bool]]:
    """(broker, partition, bytes, is_future) of every replica of `topics` (name -> partition
    ids, as the cluster's metadata lists them) in the log dirs of `brokers`. The topics are named:
    left to itself, kafka-python would first ask the cluster for its topics again."""
    wanted = sorted(brokers)
    if not wanted or not topics:
        return []
    with (
        client_errors(ReassignmentError, "describing log directories"),
        kafka_python_admin(bootstrap, timeout) as client,
    ):
        described = client.describe_log_dirs(
            topic_partitions={name: list(ids) for name, ids in topics.items()}, brokers=wanted
        )
    found = []
    for answer in described:
        for log_dir in answer["log_dirs"]:
            if log_dir["error_code"] != 0:
                raise ReassignmentError(
                    f"broker {answer['broker']} could not describe {log_dir['log_dir']}: "
                    f"error {log_dir['error_code']}"
                )
            for topic in log_dir["topics"]:
                for partition in topic["partitions"]:
                    found.append(
                        (
                            answer["broker"],
                            (topic["name"], partition["partition_index"]),
                            partition["partition_size"],
                            partition["is_future_key"],
                        )
                    )
    return found


def _alter_broker_configs(
    bootstrap: str, changes: Mapping[int, Mapping[str, str | None]], timeout: float
) -> None:
    """SET (a value) or DELETE (None) keys of each broker's own dynamic configuration."""
    client = admin_client(bootstrap)
    for broker, entries in sorted(changes.items()):
        # librdkafka sends a broker's resource to that broker, one broker per request.
        resource = ConfigResource(
            ConfigResource.Type.BROKER,
            str(broker),
            incremental_configs=incremental_config_ops(entries),
        )
        with client_errors(ReassignmentError, f"altering the configuration of broker {broker}"):
            futures = client.incremental_alter_configs([resource], request_timeout=timeout)
            futures[resource].result(timeout)


def _alter_topic_configs(
    bootstrap: str,
    changes: Mapping[str, Mapping[str, str | None]],
    timeout: float,
    missing_ok: bool = False,
) -> None:
    if not changes:
        return
    resources = [
        ConfigResource(
            ConfigResource.Type.TOPIC, topic, incremental_configs=incremental_config_ops(entries)
        )
        for topic, entries in sorted(changes.items())
    ]
    client = admin_client(bootstrap)  # referenced until the futures are done
    futures = client.incremental_alter_configs(resources, request_timeout=timeout)
    for resource, future in futures.items():
        try:
            future.result(timeout)
        except KafkaException as error:
            if missing_ok and error.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                continue
            raise ReassignmentError(
                f"altering the configuration of topic {resource.name}: "
                f"{describe_client_error(error)}"
            ) from error
        except TimeoutError as error:
            raise ReassignmentError(
                f"altering the configuration of topic {resource.name}: timed out"
            ) from error

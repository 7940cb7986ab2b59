"""A cluster's topics through Kafka's Admin API (confluent-kafka): list, describe, create, grow,
reconfigure and delete them, with Kafka's refusals as errors a caller can tell apart.

Every change is Kafka's own request (CreateTopics, CreatePartitions, IncrementalAlterConfigs,
DeleteTopics), answered once the controller has committed it; brokers learn of it a moment later,
so `wait_until_led` is there for callers that want the change to be visible before they answer.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException, TopicCollection
from confluent_kafka.admin import ConfigResource, ConfigSource, NewPartitions, NewTopic

from steward.kafka.admin import admin_client, incremental_config_ops
from steward.kafka.errors import KafkaAdminError, describe_client_error
from steward.kafka.health import PartitionState, partition_states
from steward.kafka.reassignment import FOLLOWER_REPLICAS, LEADER_REPLICAS

MAX_TOPIC_NAME_LENGTH = 249
REQUEST_MARGIN = 5.0
"""Seconds a client waits for an answer beyond the time the broker may take for the change."""
_TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]+$")

STEWARD_TOPIC_CONFIGS = frozenset({LEADER_REPLICAS, FOLLOWER_REPLICAS})
"""Topic configs Steward itself sets while it moves replicas (the throttled replicas); replacing a
topic's configs keeps them."""


class TopicError(KafkaAdminError):
    """A topic could not be listed, described, created, changed or deleted."""


class UnknownTopicError(TopicError):
    """Kafka does not know the topic."""


class TopicExistsError(TopicError):
    """A topic of that name exists already."""


class ReassignmentInProgressError(TopicError):
    """Kafka is moving replicas of the topic and refuses new partitions meanwhile."""


class InvalidTopicRequestError(TopicError):
    """Kafka refused the request as invalid. `subject` says what it refused: "name",
    "partitions", "replication_factor", "config" or "request" (anything else)."""

    def __init__(self, message: str, subject: str) -> None:
        super().__init__(message)
        self.subject = subject


_UNKNOWN = (
    KafkaError.UNKNOWN_TOPIC_OR_PART,
    KafkaError.UNKNOWN_TOPIC_ID,
    KafkaError._UNKNOWN_TOPIC,
)

_INVALID: dict[int, str] = {
    KafkaError.TOPIC_EXCEPTION: "name",
    KafkaError.INVALID_PARTITIONS: "partitions",
    KafkaError.INVALID_REPLICATION_FACTOR: "replication_factor",
    KafkaError.INVALID_REPLICA_ASSIGNMENT: "replication_factor",
    KafkaError.INVALID_CONFIG: "config",
    KafkaError.POLICY_VIOLATION: "request",
    KafkaError.INVALID_REQUEST: "request",
    KafkaError.TOPIC_DELETION_DISABLED: "request",
}


@dataclass(frozen=True)
class TopicDescription:
    name: str
    partitions: tuple[PartitionState, ...]
    """By partition id."""


@dataclass(frozen=True)
class TopicConfig:
    value: str | None
    """None for a sensitive value, which Kafka does not return."""
    explicit: bool
    """Set on the topic itself, not inherited from the brokers' settings or Kafka's default."""


def topic_name_problem(name: str) -> str | None:
    """Why Kafka would refuse `name` as a topic name, or None when it would not."""
    if not name or len(name) > MAX_TOPIC_NAME_LENGTH:
        return f"a topic name has 1 to {MAX_TOPIC_NAME_LENGTH} characters"
    if name in (".", ".."):
        return "a topic name cannot be '.' or '..'"
    if not _TOPIC_NAME.match(name):
        return "a topic name has only ASCII letters, digits, '.', '_' and '-'"
    return None


# --- reading ------------------------------------------------------------------------------------
def list_topics(bootstrap: str, timeout: float = 10.0) -> list[TopicDescription]:
    """Every topic, internal ones (`__consumer_offsets`, ...) included, by name. A
    `HealthError` (a KafkaAdminError) when the cluster cannot be asked."""
    states = partition_states(bootstrap, timeout)  # sorted by (topic, partition)
    return [
        TopicDescription(name, tuple(partitions))
        for name, partitions in itertools.groupby(states, key=lambda state: state.topic)
    ]


def describe_topic(bootstrap: str, name: str, timeout: float = 10.0) -> TopicDescription:
    """Leader, replicas and ISR of each partition of one topic (DescribeTopics never creates a
    topic, whatever `auto.create.topics.enable` says)."""
    client = admin_client(bootstrap)  # referenced until the future is done
    futures = client.describe_topics(TopicCollection([name]), request_timeout=timeout)
    described: Any = _result(futures[name], name, f"describing topic {name}", timeout)
    partitions = [
        PartitionState(
            topic=name,
            partition=info.id,
            leader=info.leader.id if info.leader is not None and info.leader.id >= 0 else None,
            replicas=tuple(node.id for node in info.replicas),
            isr=tuple(node.id for node in info.isr),
        )
        for info in described.partitions
    ]
    return TopicDescription(name, tuple(sorted(partitions, key=lambda p: p.partition)))


def topic_configs(bootstrap: str, name: str, timeout: float = 10.0) -> dict[str, TopicConfig]:
    """Every config of the topic with the value it has, by key."""
    resource = ConfigResource(ConfigResource.Type.TOPIC, name)
    client = admin_client(bootstrap)
    futures = client.describe_configs([resource], request_timeout=timeout)
    entries: Any = _result(futures[resource], name, f"describing topic {name}'s configs", timeout)
    explicit = ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    return {
        key: TopicConfig(None if entry.is_sensitive else entry.value, entry.source == explicit)
        for key, entry in sorted(entries.items())
    }


def wait_until_led(
    bootstrap: str, name: str, partitions: int, timeout: float = 10.0
) -> TopicDescription | None:
    """The topic once a broker reports at least `partitions` partitions for it, each with a
    leader; None if that takes longer than `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            described = describe_topic(bootstrap, name, timeout=min(5.0, timeout))
        except TopicError:
            described = None
        if (
            described is not None
            and len(described.partitions) >= partitions
            and all(p.leader is not None for p in described.partitions)
        ):
            return described
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.1)


# --- changing -----------------------------------------------------------------------------------
def create_topic(
    bootstrap: str,
    name: str,
    partitions: int,
    replication_factor: int = -1,
    configs: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    attempts: int = 3,
) -> None:
    """Create a topic, asking again (with a new client) when a CreateTopics request gets no
    answer in time. A topic that exists by the time of a retry counts as created by the first
    attempt. A replication factor of -1 is the cluster's default."""
    topic = NewTopic(
        name,
        num_partitions=partitions,
        replication_factor=replication_factor,
        config=dict(configs or {}),
    )
    for attempt in range(1, attempts + 1):
        client = admin_client(bootstrap)
        futures = client.create_topics([topic], **_waits(timeout))
        try:
            _result(futures[name], name, f"creating topic {name}", timeout + REQUEST_MARGIN)
            return
        except TopicExistsError:
            if attempt > 1:
                return
            raise
        except TopicError as error:
            if not _timed_out(error) or attempt == attempts:
                raise


def add_partitions(bootstrap: str, name: str, total: int, timeout: float = 30.0) -> None:
    """Grow the topic to `total` partitions (Kafka never shrinks one)."""
    client = admin_client(bootstrap)
    futures = client.create_partitions([NewPartitions(name, total)], **_waits(timeout))
    doing = f"adding partitions to topic {name}"
    _result(futures[name], name, doing, timeout + REQUEST_MARGIN)


def replace_topic_configs(
    bootstrap: str,
    name: str,
    configs: Mapping[str, str],
    keep: Iterable[str] = STEWARD_TOPIC_CONFIGS,
    timeout: float = 30.0,
) -> None:
    """Make `configs` the topic's own settings: set each of them, and remove every other key set
    on the topic (it inherits the cluster's value again), except those in `keep`. One
    IncrementalAlterConfigs request: Kafka applies all of it or none."""
    current = topic_configs(bootstrap, name, timeout)
    kept = set(keep)
    changes: dict[str, str | None] = {
        key: None
        for key, config in current.items()
        if config.explicit and key not in configs and key not in kept
    }
    changes.update(configs)
    if not changes:
        return
    resource = ConfigResource(
        ConfigResource.Type.TOPIC, name, incremental_configs=incremental_config_ops(changes)
    )
    client = admin_client(bootstrap)
    futures = client.incremental_alter_configs([resource], request_timeout=timeout)
    _result(futures[resource], name, f"changing topic {name}'s configs", timeout)


def delete_topic(bootstrap: str, name: str, timeout: float = 30.0) -> None:
    client = admin_client(bootstrap)
    futures = client.delete_topics([name], **_waits(timeout))
    _result(futures[name], name, f"deleting topic {name}", timeout + REQUEST_MARGIN)


def _waits(timeout: float) -> dict[str, float]:
    """The broker waits up to `timeout` for the controller to commit the change; the client waits
    a little longer for the broker's answer, which says whether the broker gave up."""
    return {"operation_timeout": timeout, "request_timeout": timeout + REQUEST_MARGIN}


# --- Kafka's answers ----------------------------------------------------------------------------
def _result(future: Future[Any], topic: str, doing: str, timeout: float) -> Any:
    """The future's result; its failure as the TopicError that says what Kafka refused."""
    try:
        return future.result(timeout)
    except KafkaException as error:
        raise _refusal(error, topic, doing) from error
    except TimeoutError as error:
        raise TopicError(f"{doing}: timed out") from error


def _refusal(error: KafkaException, topic: str, doing: str) -> TopicError:
    detail = error.args[0] if error.args and isinstance(error.args[0], KafkaError) else None
    code = detail.code() if detail is not None else None
    reason = detail.str() if detail is not None else describe_client_error(error)
    if code in _UNKNOWN:
        return UnknownTopicError(f"Topic {topic} does not exist.")
    if code == KafkaError.TOPIC_ALREADY_EXISTS:
        return TopicExistsError(f"Topic {topic} already exists.")
    if code == KafkaError.REASSIGNMENT_IN_PROGRESS:
        return ReassignmentInProgressError(f"{doing}: {reason}")
    if code in _INVALID:
        return InvalidTopicRequestError(reason, _INVALID[code])
    return TopicError(f"{doing}: {describe_client_error(error)}")


def _timed_out(error: TopicError) -> bool:
    cause = error.__cause__
    if isinstance(cause, TimeoutError):
        return True
    if isinstance(cause, KafkaException) and cause.args and isinstance(cause.args[0], KafkaError):
        return cause.args[0].code() in (KafkaError._TIMED_OUT, KafkaError.REQUEST_TIMED_OUT)
    return False

"""The consumer group use cases: a cluster's consumer groups, their lag, and changes of their
committed offsets, through Kafka itself (what `kafka-consumer-groups` does; MSK has no API for
it).

Like topics, groups are Kafka's: Steward keeps no record of them, and calls need the brokers
serving. Lag is Kafka's arithmetic: a partition's log end offset minus the group's committed
offset, for the partitions the group has committed. Offsets change, and groups are deleted, only
while a group has no members (Kafka's rule: members commit their own offsets); a request that
breaks it is a ConflictException naming `groupId`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from steward.domain.errors import (
    BadRequestException,
    ClusterConnectivityException,
    ConflictException,
    NotFoundException,
    UnknownTopicOrPartitionException,
)
from steward.domain.model import Cluster
from steward.kafka import consumer_groups as kafka_groups
from steward.kafka import topics as kafka_topics
from steward.kafka.consumer_groups import Partition
from steward.kafka.errors import KafkaAdminError
from steward.kafka.group_lag import ConsumerGroup, PartitionLag
from steward.security.certificates import serving_bootstrap
from steward.store.store import Store

READ_TIMEOUT = 10.0
CHANGE_TIMEOUT = 30.0

RESET_TARGETS = ("earliest", "latest", "timestamp", "offset")
"""Where `reset_offsets` moves a group: the first offset Kafka still has, the log end, the first
message at or after a time, or a given offset (kept within the first and the log end, as
`kafka-consumer-groups --to-offset` does)."""

CONSUMER_PROTOCOL = "consumer"


@dataclass(frozen=True)
class OffsetChange:
    topic: str
    partition: int
    previous_offset: int | None
    """What the group had committed; None when nothing."""
    new_offset: int


@dataclass(frozen=True)
class OffsetReset:
    group_id: str
    topic: str
    dry_run: bool
    """Nothing was changed: `partitions` says what would have been."""
    partitions: tuple[OffsetChange, ...]


@dataclass(frozen=True)
class ResetTarget:
    to: str
    """One of RESET_TARGETS."""
    timestamp: int | None = None
    """Epoch milliseconds, for `timestamp`."""
    offset: int | None = None
    """For `offset`."""


class ClusterConsumerGroups:
    def __init__(self, store: Store, describe: Callable[[str], Cluster]) -> None:
        self.store = store
        self._describe = describe

    # --- reading --------------------------------------------------------------------------------
    def group_ids(self, cluster_arn: str, prefix: str | None = None) -> list[str]:
        """The ids of the cluster's consumer groups that start with `prefix`, sorted."""
        cluster, bootstrap = self._serving(cluster_arn)
        with self._kafka_answers(cluster, ""):
            listed = kafka_groups.list_groups(bootstrap, READ_TIMEOUT)
        return [g.group_id for g in listed if not prefix or g.group_id.startswith(prefix)]

    def groups(self, cluster_arn: str, group_ids: Sequence[str]) -> list[ConsumerGroup]:
        """The groups of `group_ids` (as `group_ids` lists them) with their committed partitions
        and lag; a group gone meanwhile is left out."""
        cluster, bootstrap = self._serving(cluster_arn)
        with self._kafka_answers(cluster, ""):
            described = kafka_groups.describe_groups(bootstrap, group_ids, READ_TIMEOUT)
            committed = kafka_groups.committed_offsets(bootstrap, list(described), READ_TIMEOUT)
            ends = kafka_groups.partition_offsets(
                bootstrap,
                {key for offsets in committed.values() for key in offsets},
                timeout=READ_TIMEOUT,
            )
        return [
            _group(described[group_id], committed.get(group_id, {}), ends)
            for group_id in group_ids
            if group_id in described
        ]

    def describe_group(self, cluster_arn: str, group_id: str) -> ConsumerGroup:
        """The group's members and, per partition it has committed or been assigned, the
        committed offset, the log end offset and the lag."""
        cluster, bootstrap = self._serving(cluster_arn)
        with self._kafka_answers(cluster, group_id):
            description = kafka_groups.describe_group(bootstrap, group_id, READ_TIMEOUT)
            committed = kafka_groups.committed_offsets(bootstrap, [group_id], READ_TIMEOUT)
            offsets = committed.get(group_id, {})
            assigned = {key for m in description.members for key in m.assignment}
            ends = kafka_groups.partition_offsets(
                bootstrap, set(offsets) | assigned, timeout=READ_TIMEOUT
            )
        return _group(description, offsets, ends)

    # --- changing -------------------------------------------------------------------------------
    def reset_offsets(
        self,
        cluster_arn: str,
        group_id: str,
        topic: str,
        target: ResetTarget,
        partitions: Sequence[int] | None = None,
        dry_run: bool = False,
    ) -> OffsetReset:
        """Move the group's committed offsets of `topic` (all its partitions, or `partitions`)
        to `target`, as `kafka-consumer-groups --reset-offsets` does; with `dry_run` only say
        where. The group must have no members; a group that does not exist yet gets the offsets
        (and so comes to exist, as with Kafka's tool)."""
        _check_target(target)
        if partitions is not None:
            _check_partitions(partitions)
        cluster, bootstrap = self._serving(cluster_arn)
        if kafka_topics.topic_name_problem(topic) is not None:
            raise _unknown_topic(topic)
        with self._kafka_answers(cluster, group_id, topic):
            described = kafka_topics.describe_topic(bootstrap, topic, READ_TIMEOUT)
            existing = [p.partition for p in described.partitions]
            chosen = _chosen_partitions(topic, existing, partitions)
            group = kafka_groups.describe_groups(bootstrap, [group_id], READ_TIMEOUT).get(group_id)
            if group is not None and group.members:
                raise _not_empty(group_id, len(group.members))
            previous = kafka_groups.committed_offsets(bootstrap, [group_id], READ_TIMEOUT)
            keys = [(topic, p) for p in chosen]
            new = _target_offsets(bootstrap, keys, target)
            if not dry_run:
                kafka_groups.alter_group_offsets(bootstrap, group_id, new, CHANGE_TIMEOUT)
        committed = previous.get(group_id, {})
        return OffsetReset(
            group_id,
            topic,
            dry_run,
            tuple(OffsetChange(t, p, committed.get((t, p)), new[(t, p)]) for t, p in keys),
        )

    def delete_group(self, cluster_arn: str, group_id: str) -> None:
        """Delete the group and its committed offsets; only an empty group can be deleted."""
        cluster, bootstrap = self._serving(cluster_arn)
        with self._kafka_answers(cluster, group_id):
            kafka_groups.delete_group(bootstrap, group_id, CHANGE_TIMEOUT)

    # --- shared ---------------------------------------------------------------------------------
    def _serving(self, cluster_arn: str) -> tuple[Cluster, str]:
        cluster = self._describe(cluster_arn)
        return cluster, serving_bootstrap(self.store, cluster, "its consumer groups")

    @contextmanager
    def _kafka_answers(self, cluster: Cluster, group_id: str, topic: str = "") -> Iterator[None]:
        """Kafka's errors inside the block as MSK's."""
        try:
            yield
        except kafka_groups.UnknownGroupError as error:
            raise NotFoundException(
                f"Consumer group {group_id} does not exist.", "groupId"
            ) from error
        except kafka_groups.GroupNotEmptyError as error:
            raise _not_empty(group_id, None) from error
        except kafka_groups.InvalidGroupIdError as error:
            raise BadRequestException(str(error), "groupId") from error
        except (kafka_groups.UnknownPartitionError, kafka_topics.UnknownTopicError) as error:
            raise _unknown_topic(topic) from error
        except KafkaAdminError as error:
            raise ClusterConnectivityException(
                f"Kafka in cluster {cluster.name} did not answer: {error}", "clusterArn"
            ) from error


def _group(
    description: kafka_groups.GroupDescription,
    committed: Mapping[Partition, int],
    ends: Mapping[Partition, int | None],
) -> ConsumerGroup:
    owners = {key: m.member_id for m in description.members for key in m.assignment}
    keys = sorted(set(committed) | set(owners))
    return ConsumerGroup(
        group_id=description.group_id,
        state=description.state,
        protocol_type="" if description.simple else CONSUMER_PROTOCOL,
        group_type=description.group_type,
        coordinator=description.coordinator,
        partition_assignor=description.partition_assignor,
        members=description.members,
        partitions=tuple(
            PartitionLag(key[0], key[1], committed.get(key), ends.get(key), owners.get(key))
            for key in keys
        ),
    )


def _target_offsets(
    bootstrap: str, keys: Sequence[Partition], target: ResetTarget
) -> dict[Partition, int]:
    """The offset each partition moves to."""
    latest = kafka_groups.partition_offsets(
        bootstrap, keys, kafka_groups.LATEST, READ_TIMEOUT, strict=True
    )
    if target.to == "latest":
        return {key: _known(latest, key) for key in keys}
    earliest = kafka_groups.partition_offsets(
        bootstrap, keys, kafka_groups.EARLIEST, READ_TIMEOUT, strict=True
    )
    if target.to == "earliest":
        return {key: _known(earliest, key) for key in keys}
    if target.to == "offset":
        assert target.offset is not None
        return {
            key: min(max(target.offset, _known(earliest, key)), _known(latest, key)) for key in keys
        }
    query = kafka_groups.OffsetQuery("timestamp", target.timestamp)
    by_time = kafka_groups.partition_offsets(bootstrap, keys, query, READ_TIMEOUT, strict=True)
    # No message at or after the time: the log end, where the next message will be.
    return {
        key: by_time[key] if by_time.get(key) is not None else _known(latest, key) for key in keys
    }


def _known(offsets: Mapping[Partition, int | None], key: Partition) -> int:
    offset = offsets.get(key)
    if offset is None:
        raise kafka_groups.GroupError(f"Kafka did not tell the offsets of {key[0]}/{key[1]}")
    return offset


def _check_target(target: ResetTarget) -> None:
    if target.to not in RESET_TARGETS:
        raise BadRequestException(f"to must be one of {', '.join(RESET_TARGETS)}.", "to")
    for member, value in (("timestamp", target.timestamp), ("offset", target.offset)):
        if target.to == member and value is None:
            raise BadRequestException(f"to={member} needs {member}.", member)
        if target.to != member and value is not None:
            raise BadRequestException(f"{member} goes only with to={member}.", member)
        if value is not None and value < 0:
            raise BadRequestException(f"{member} must be at least 0.", member)


def _check_partitions(partitions: Sequence[int]) -> None:
    if not partitions:
        raise BadRequestException(
            "partitions names at least one partition; leave it out for all.", "partitions"
        )
    if len(set(partitions)) != len(partitions):
        raise BadRequestException("partitions names a partition twice.", "partitions")


def _chosen_partitions(
    topic: str, existing: Sequence[int], wanted: Sequence[int] | None
) -> list[int]:
    if wanted is None:
        return sorted(existing)
    missing = sorted(set(wanted) - set(existing))
    if missing:
        raise BadRequestException(
            f"Topic {topic} has {len(existing)} partitions; it has no partition "
            f"{', '.join(str(p) for p in missing)}.",
            "partitions",
        )
    return sorted(wanted)


def _unknown_topic(topic: str) -> UnknownTopicOrPartitionException:
    return UnknownTopicOrPartitionException(f"Topic {topic} does not exist.", "topic")


def _not_empty(group_id: str, members: int | None) -> ConflictException:
    has = "has members" if members is None else f"has {members} active member(s)"
    return ConflictException(
        f"Consumer group {group_id} {has}; Kafka changes the offsets of, or deletes, only an "
        f"empty group. Stop its consumers and try again.",
        "groupId",
    )

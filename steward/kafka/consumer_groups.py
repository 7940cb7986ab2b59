"""A cluster's consumer groups through Kafka's Admin API (confluent-kafka): list and describe
them, read their committed offsets and the partitions' offsets (earliest, log end, by time),
change committed offsets and delete groups, with Kafka's refusals as errors a caller can tell
apart.

Kafka changes a group's offsets, or deletes the group, only while it has no members: a group
with members commits its own offsets and would overwrite any change. Kafka's refusal of that is a
`GroupNotEmptyError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from confluent_kafka import (
    ConsumerGroupState,
    ConsumerGroupTopicPartitions,
    ConsumerGroupType,
    KafkaError,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import OffsetSpec

from steward.kafka.admin import admin_client
from steward.kafka.errors import KafkaAdminError, describe_client_error

Partition = tuple[str, int]
"""(topic, partition)."""

LISTED_TYPES = frozenset({ConsumerGroupType.CLASSIC, ConsumerGroupType.CONSUMER})
"""Groups of Kafka's consumer protocols, classic and KIP-848's; share and streams groups are not
consumer groups."""

_STATES = {
    ConsumerGroupState.STABLE: "STABLE",
    ConsumerGroupState.EMPTY: "EMPTY",
    ConsumerGroupState.PREPARING_REBALANCING: "PREPARING_REBALANCE",
    ConsumerGroupState.COMPLETING_REBALANCING: "COMPLETING_REBALANCE",
    ConsumerGroupState.DEAD: "DEAD",
}
"""Kafka's group states (`Stable`, `PreparingRebalance`, ...) as MSK writes its enums. A state
the client cannot name (KIP-848's `Assigning`, `Reconciling`) is UNKNOWN."""

_NOT_EMPTY = (
    KafkaError.NON_EMPTY_GROUP,
    KafkaError.UNKNOWN_MEMBER_ID,
    KafkaError.REBALANCE_IN_PROGRESS,
    KafkaError.ILLEGAL_GENERATION,
    KafkaError.FENCED_MEMBER_EPOCH,
    KafkaError.STALE_MEMBER_EPOCH,
)
"""What Kafka answers an offset commit or a deletion that comes from outside a group with
members (a commit of the admin client has no member id and no generation)."""

_UNKNOWN_PARTITION = (
    KafkaError.UNKNOWN_TOPIC_OR_PART,
    KafkaError.UNKNOWN_TOPIC_ID,
    KafkaError._UNKNOWN_TOPIC,
    KafkaError._UNKNOWN_PARTITION,
)


class GroupError(KafkaAdminError):
    """A consumer group, or the offsets of partitions, could not be read or changed."""


class UnknownGroupError(GroupError):
    """Kafka knows no group of that id."""


class GroupNotEmptyError(GroupError):
    """The group has members, so Kafka refuses to change its offsets or to delete it."""


class InvalidGroupIdError(GroupError):
    """Kafka refuses the group id itself."""


class UnknownPartitionError(GroupError):
    """A topic or partition named in the request does not exist."""


@dataclass(frozen=True)
class GroupListing:
    group_id: str
    state: str
    simple: bool
    """The group has committed offsets but no membership protocol (offsets committed by a tool,
    or by consumers that assign partitions themselves)."""
    group_type: str
    """CLASSIC or CONSUMER (KIP-848's protocol)."""


@dataclass(frozen=True)
class GroupMember:
    member_id: str
    client_id: str
    host: str
    group_instance_id: str | None
    assignment: tuple[Partition, ...]
    """The partitions the member has been assigned, sorted."""


@dataclass(frozen=True)
class GroupDescription:
    group_id: str
    state: str
    simple: bool
    group_type: str
    coordinator: int | None
    """The broker coordinating the group."""
    partition_assignor: str
    members: tuple[GroupMember, ...]


# --- reading ------------------------------------------------------------------------------------
def list_groups(bootstrap: str, timeout: float = 10.0) -> list[GroupListing]:
    """Every consumer group of the cluster (Kafka asks every broker for the groups it
    coordinates), by id. A broker that does not answer fails the whole listing."""
    client = admin_client(bootstrap)
    future = client.list_consumer_groups(request_timeout=timeout, types=set(LISTED_TYPES))
    found: Any = _result(future, "listing consumer groups", timeout)
    if found.errors:
        reasons = "; ".join(describe_client_error(e) for e in found.errors)
        raise GroupError(f"listing consumer groups: {reasons}")
    listings = [
        GroupListing(
            group_id=listing.group_id,
            state=_state(getattr(listing, "state", None)),
            simple=bool(listing.is_simple_consumer_group),
            group_type=_type(getattr(listing, "type", None)),
        )
        for listing in found.valid or []
    ]
    return sorted(listings, key=lambda listing: listing.group_id)


def describe_groups(
    bootstrap: str, group_ids: Iterable[str], timeout: float = 10.0
) -> dict[str, GroupDescription]:
    """The description of each group Kafka knows, by id; unknown ids are left out."""
    wanted = sorted(set(group_ids))
    if not wanted:
        return {}
    client = admin_client(bootstrap)
    futures = client.describe_consumer_groups(wanted, request_timeout=timeout)
    described: dict[str, GroupDescription] = {}
    for group_id in wanted:
        try:
            description = _result(
                futures[group_id], f"describing consumer group {group_id}", timeout, group_id
            )
        except UnknownGroupError:
            continue
        converted = _description(description)
        if converted.state != "DEAD":
            described[group_id] = converted
    return described


def describe_group(bootstrap: str, group_id: str, timeout: float = 10.0) -> GroupDescription:
    """The group's state, coordinator and members; `UnknownGroupError` when Kafka knows no such
    group (classic groups that do not exist are described as DEAD)."""
    found = describe_groups(bootstrap, [group_id], timeout)
    if group_id not in found:
        raise UnknownGroupError(f"Consumer group {group_id} does not exist.")
    return found[group_id]


def committed_offsets(
    bootstrap: str, group_ids: Iterable[str], timeout: float = 10.0
) -> dict[str, dict[Partition, int]]:
    """Each group's committed offset of every partition it has committed, by group id. The
    client asks about one group per request; the requests go out together."""
    wanted = sorted(set(group_ids))
    if not wanted:
        return {}
    client = admin_client(bootstrap)
    futures = {
        group_id: client.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group_id)], request_timeout=timeout
        )[group_id]
        for group_id in wanted
    }
    committed: dict[str, dict[Partition, int]] = {}
    for group_id, future in futures.items():
        try:
            answer = _result(future, f"reading the offsets of group {group_id}", timeout, group_id)
        except UnknownGroupError:
            committed[group_id] = {}
            continue
        committed[group_id] = {
            (tp.topic, tp.partition): tp.offset
            for tp in answer.topic_partitions or []
            if tp.error is None and tp.offset >= 0
        }
    return committed


@dataclass(frozen=True)
class OffsetQuery:
    """Which offset of a partition to look up: `earliest`, `latest` (the log end offset) or
    `timestamp`: the first offset whose message is at or after `timestamp` (epoch ms)."""

    kind: str
    timestamp: int | None = None

    def spec(self) -> OffsetSpec:
        if self.kind == "earliest":
            return OffsetSpec.earliest()
        if self.kind == "latest":
            return OffsetSpec.latest()
        if self.kind == "timestamp" and self.timestamp is not None:
            return OffsetSpec.for_timestamp(self.timestamp)
        raise ValueError(f"no offset query {self.kind!r} (timestamp {self.timestamp})")


EARLIEST = OffsetQuery("earliest")
LATEST = OffsetQuery("latest")


def partition_offsets(
    bootstrap: str,
    partitions: Iterable[Partition],
    query: OffsetQuery = LATEST,
    timeout: float = 10.0,
    strict: bool = False,
) -> dict[Partition, int | None]:
    """The offset `query` asks for of each partition (ListOffsets, sent to each partition's
    leader). A partition that does not exist, or has no message at or after a timestamp, is
    None; with `strict` an unknown partition is an `UnknownPartitionError` instead."""
    wanted = sorted(set(partitions))
    if not wanted:
        return {}
    spec = query.spec()
    client = admin_client(bootstrap)
    futures = client.list_offsets(
        {TopicPartition(topic, partition): spec for topic, partition in wanted},
        request_timeout=timeout,
    )
    found: dict[Partition, int | None] = {}
    for tp, future in futures.items():
        key = (tp.topic, tp.partition)
        try:
            doing = f"listing the {query.kind} offset of {tp.topic}/{tp.partition}"
            info = _result(future, doing, timeout)
        except UnknownPartitionError:
            if strict:
                raise
            found[key] = None
            continue
        found[key] = info.offset if info.offset >= 0 else None
    return found


# --- changing -----------------------------------------------------------------------------------
def alter_group_offsets(
    bootstrap: str, group_id: str, offsets: Mapping[Partition, int], timeout: float = 30.0
) -> None:
    """Commit `offsets` for the group (OffsetCommit from outside the group, which Kafka accepts
    only while the group has no members; a group that does not exist yet is made)."""
    if not offsets:
        return
    request = ConsumerGroupTopicPartitions(
        group_id,
        [
            TopicPartition(topic, partition, offset)
            for (topic, partition), offset in offsets.items()
        ],
    )
    client = admin_client(bootstrap)
    futures = client.alter_consumer_group_offsets([request], request_timeout=timeout)
    doing = f"changing the offsets of group {group_id}"
    answer: Any = _result(futures[group_id], doing, timeout, group_id)
    for tp in answer.topic_partitions or []:
        if tp.error is not None:
            raise _refusal(KafkaException(tp.error), doing, group_id)


def delete_group(bootstrap: str, group_id: str, timeout: float = 30.0) -> None:
    """Delete the group and its committed offsets (only while it has no members)."""
    client = admin_client(bootstrap)
    futures = client.delete_consumer_groups([group_id], request_timeout=timeout)
    _result(futures[group_id], f"deleting consumer group {group_id}", timeout, group_id)


# --- Kafka's answers ----------------------------------------------------------------------------
def _state(state: ConsumerGroupState | None) -> str:
    return _STATES.get(state, "UNKNOWN") if state is not None else "UNKNOWN"


def _type(group_type: ConsumerGroupType | None) -> str:
    if group_type is None or group_type is ConsumerGroupType.UNKNOWN:
        return "UNKNOWN"
    return group_type.name


def _description(description: Any) -> GroupDescription:
    coordinator = description.coordinator
    return GroupDescription(
        group_id=description.group_id,
        state=_state(getattr(description, "state", None)),
        simple=bool(description.is_simple_consumer_group),
        group_type=_type(getattr(description, "type", None)),
        coordinator=coordinator.id if coordinator is not None and coordinator.id >= 0 else None,
        partition_assignor=description.partition_assignor or "",
        members=tuple(
            sorted(
                (
                    GroupMember(
                        member_id=member.member_id,
                        client_id=member.client_id,
                        host=member.host,
                        group_instance_id=member.group_instance_id,
                        assignment=tuple(
                            sorted(
                                (tp.topic, tp.partition)
                                for tp in (
                                    member.assignment.topic_partitions if member.assignment else []
                                )
                            )
                        ),
                    )
                    for member in description.members or []
                ),
                key=lambda member: member.member_id,
            )
        ),
    )


def _result(future: Future[Any], doing: str, timeout: float, group_id: str = "") -> Any:
    """The future's result; its failure as the GroupError that says what Kafka refused."""
    try:
        return future.result(timeout)
    except KafkaException as error:
        raise _refusal(error, doing, group_id) from error
    except TimeoutError as error:
        raise GroupError(f"{doing}: timed out") from error


def _refusal(error: KafkaException, doing: str, group_id: str) -> GroupError:
    detail = error.args[0] if error.args and isinstance(error.args[0], KafkaError) else None
    code = detail.code() if detail is not None else None
    if code == KafkaError.GROUP_ID_NOT_FOUND:
        return UnknownGroupError(f"Consumer group {group_id} does not exist.")
    if code in _NOT_EMPTY:
        return GroupNotEmptyError(f"Consumer group {group_id} has members.")
    if code == KafkaError.INVALID_GROUP_ID:
        return InvalidGroupIdError(f"Kafka refuses the group id {group_id!r}.")
    if code in _UNKNOWN_PARTITION:
        return UnknownPartitionError(f"{doing}: {describe_client_error(error)}")
    return GroupError(f"{doing}: {describe_client_error(error)}")

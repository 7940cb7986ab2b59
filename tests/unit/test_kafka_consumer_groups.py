"""steward.kafka.consumer_groups against a stand-in for confluent-kafka's AdminClient: what it
makes of Kafka's answers, and which error each refusal becomes."""

from __future__ import annotations

from concurrent.futures import Future
from types import SimpleNamespace
from typing import Any

import pytest
from confluent_kafka import (
    ConsumerGroupState,
    ConsumerGroupType,
    KafkaError,
    KafkaException,
    TopicPartition,
)

from steward.kafka import consumer_groups as kafka_groups
from steward.kafka.consumer_groups import GroupMember, OffsetQuery


def done(value: Any = None, error: KafkaError | None = None) -> Future[Any]:
    future: Future[Any] = Future()
    if error is not None:
        future.set_exception(KafkaException(error))
    else:
        future.set_result(value)
    return future


class FakeAdminClient:
    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args))
            answer = self.answers[name]
            return answer(*args) if callable(answer) else answer

        return call


@pytest.fixture
def admin(monkeypatch: pytest.MonkeyPatch) -> Any:
    def install(**answers: Any) -> FakeAdminClient:
        client = FakeAdminClient(answers)
        monkeypatch.setattr(kafka_groups, "admin_client", lambda *_, **__: client)
        return client

    return install


def description(group_id: str, state: ConsumerGroupState, *members: Any) -> Any:
    return SimpleNamespace(
        group_id=group_id,
        state=state,
        is_simple_consumer_group=False,
        type=ConsumerGroupType.CONSUMER,
        coordinator=SimpleNamespace(id=3),
        partition_assignor="uniform",
        members=list(members),
    )


def test_groups_are_listed_sorted_and_a_broker_error_fails_the_listing(admin: Any) -> None:
    listing = [
        SimpleNamespace(
            group_id="b",
            is_simple_consumer_group=False,
            state=ConsumerGroupState.STABLE,
            type=ConsumerGroupType.CLASSIC,
        ),
        SimpleNamespace(
            group_id="a",
            is_simple_consumer_group=True,
            state=ConsumerGroupState.EMPTY,
            type=ConsumerGroupType.CONSUMER,
        ),
    ]
    admin(list_consumer_groups=done(SimpleNamespace(valid=listing, errors=[])))
    assert kafka_groups.list_groups("b:9092") == [
        kafka_groups.GroupListing("a", "EMPTY", True, "CONSUMER"),
        kafka_groups.GroupListing("b", "STABLE", False, "CLASSIC"),
    ]
    broken = KafkaException(KafkaError(KafkaError._TRANSPORT, "broker 2 down"))
    admin(list_consumer_groups=done(SimpleNamespace(valid=listing, errors=[broken])))
    with pytest.raises(kafka_groups.GroupError, match="broker 2 down"):
        kafka_groups.list_groups("b:9092")


def test_descriptions_leave_out_groups_kafka_does_not_know(admin: Any) -> None:
    assignment = SimpleNamespace(topic_partitions=[TopicPartition("t", 1), TopicPartition("t", 0)])
    joined = SimpleNamespace(
        member_id="m", client_id="c", host="/h", group_instance_id=None, assignment=assignment
    )
    admin(
        describe_consumer_groups={
            "live": done(description("live", ConsumerGroupState.STABLE, joined)),
            "dead": done(description("dead", ConsumerGroupState.DEAD)),
            "gone": done(error=KafkaError(KafkaError.GROUP_ID_NOT_FOUND)),
        }
    )
    found = kafka_groups.describe_groups("b:9092", ["live", "dead", "gone"])
    assert found == {
        "live": kafka_groups.GroupDescription(
            "live",
            "STABLE",
            False,
            "CONSUMER",
            3,
            "uniform",
            (GroupMember("m", "c", "/h", None, (("t", 0), ("t", 1))),),
        )
    }
    with pytest.raises(kafka_groups.UnknownGroupError):
        kafka_groups.describe_group("b:9092", "dead")


def test_committed_offsets_skip_partitions_without_one(admin: Any) -> None:
    committed = [TopicPartition("t", 0, 5), TopicPartition("t", 1, -1001)]

    def offsets(requests: list[Any], **_: Any) -> dict[str, Future[Any]]:
        (request,) = requests
        if request.group_id == "none":
            return {"none": done(error=KafkaError(KafkaError.GROUP_ID_NOT_FOUND))}
        return {request.group_id: done(SimpleNamespace(topic_partitions=committed))}

    admin(list_consumer_group_offsets=offsets)
    assert kafka_groups.committed_offsets("b:9092", ["g", "none"]) == {
        "g": {("t", 0): 5},
        "none": {},
    }


def test_partition_offsets_are_none_for_unknown_partitions_unless_strict(admin: Any) -> None:
    def listed(specs: dict[TopicPartition, Any], **_: Any) -> dict[TopicPartition, Future[Any]]:
        answers = {}
        for tp in specs:
            if tp.topic == "gone":
                answers[tp] = done(error=KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART))
            elif tp.partition == 1:
                answers[tp] = done(SimpleNamespace(offset=-1))  # nothing at or after the time
            else:
                answers[tp] = done(SimpleNamespace(offset=42))
        return answers

    admin(list_offsets=listed)
    query = OffsetQuery("timestamp", 5)
    assert kafka_groups.partition_offsets("b:9092", [("t", 0), ("t", 1), ("gone", 0)], query) == {
        ("t", 0): 42,
        ("t", 1): None,
        ("gone", 0): None,
    }
    with pytest.raises(kafka_groups.UnknownPartitionError):
        kafka_groups.partition_offsets("b:9092", [("gone", 0)], strict=True)
    assert kafka_groups.partition_offsets("b:9092", []) == {}


def test_a_refused_partition_of_an_offset_change_fails_it(admin: Any) -> None:
    refused = SimpleNamespace(
        topic="t", partition=0, offset=5, error=KafkaError(KafkaError.UNKNOWN_MEMBER_ID)
    )
    admin(alter_consumer_group_offsets={"g": done(SimpleNamespace(topic_partitions=[refused]))})
    with pytest.raises(kafka_groups.GroupNotEmptyError):
        kafka_groups.alter_group_offsets("b:9092", "g", {("t", 0): 5})


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (KafkaError.GROUP_ID_NOT_FOUND, kafka_groups.UnknownGroupError),
        (KafkaError.NON_EMPTY_GROUP, kafka_groups.GroupNotEmptyError),
        (KafkaError.UNKNOWN_MEMBER_ID, kafka_groups.GroupNotEmptyError),
        (KafkaError.REBALANCE_IN_PROGRESS, kafka_groups.GroupNotEmptyError),
        (KafkaError.STALE_MEMBER_EPOCH, kafka_groups.GroupNotEmptyError),
        (KafkaError.INVALID_GROUP_ID, kafka_groups.InvalidGroupIdError),
        (KafkaError.UNKNOWN_TOPIC_OR_PART, kafka_groups.UnknownPartitionError),
        (KafkaError._TRANSPORT, kafka_groups.GroupError),
    ],
)
def test_kafka_refusals_become_errors_a_caller_can_tell_apart(
    code: int, kind: type[Exception]
) -> None:
    refusal = kafka_groups._refusal(KafkaException(KafkaError(code, "because")), "doing", "g")
    assert type(refusal) is kind

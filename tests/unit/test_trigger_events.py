"""What a function triggered by a topic sees: Lambda's MSK event (records grouped by
topic-partition, base64 key and value, headers as lists of bytes), and which records Lambda's
filter patterns let through to it."""

from __future__ import annotations

import base64
import json

import pytest

from steward.functions.errors import InvalidParameterValueException
from steward.functions.event import KafkaRecord, msk_event, record_json
from steward.functions.filters import matches_any, parse_patterns, record_fields
from steward.functions.service import failure_topic

CLUSTER = "arn:aws:kafka:us-east-1:123456789012:cluster/orders/0b1c-2d3e"


def record(value: bytes | None, partition: int = 0, offset: int = 0) -> KafkaRecord:
    return KafkaRecord(
        topic="orders",
        partition=partition,
        offset=offset,
        timestamp=1700000000123,
        timestamp_type=1,
        key=b"k1",
        value=value,
        headers=(("source", b"web"),),
    )


def test_the_event_is_lambdas_msk_event() -> None:
    event = msk_event(
        CLUSTER,
        "b-1:9092,b-2:9092",
        [record(b"a", 0, 5), record(b"b", 1, 7), record(b"c", 0, 6)],
    )
    assert event["eventSource"] == "aws:kafka"
    assert event["eventSourceArn"] == CLUSTER
    assert event["bootstrapServers"] == "b-1:9092,b-2:9092"
    assert list(event["records"]) == ["orders-0", "orders-1"]
    first = event["records"]["orders-0"][0]
    assert first == {
        "topic": "orders",
        "partition": 0,
        "offset": 5,
        "timestamp": 1700000000123,
        "timestampType": "CREATE_TIME",
        "key": base64.b64encode(b"k1").decode(),
        "value": base64.b64encode(b"a").decode(),
        "headers": [{"source": list(b"web")}],
    }
    assert [r["offset"] for r in event["records"]["orders-0"]] == [5, 6]
    json.dumps(event)  # all JSON


def test_a_record_without_value_has_no_value_member() -> None:
    assert "value" not in record_json(record(None))


def patterns(*texts: object) -> list[dict[str, object]]:
    return parse_patterns({"Filters": [{"Pattern": json.dumps(t)} for t in texts]})


def passes(chosen: list[dict[str, object]], value: object) -> bool:
    raw = json.dumps(value).encode() if not isinstance(value, bytes) else value
    one = record(raw)
    return matches_any(chosen, record_fields(record_json(one), one.value))


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ({"value": {"kind": ["order"]}}, {"kind": "order"}, True),
        ({"value": {"kind": ["order"]}}, {"kind": "refund"}, False),
        ({"value": {"kind": ["order", "refund"]}}, {"kind": "refund"}, True),
        ({"value": {"amount": [{"numeric": [">", 10, "<=", 20]}]}}, {"amount": 15}, True),
        ({"value": {"amount": [{"numeric": [">", 10]}]}}, {"amount": 5}, False),
        ({"value": {"sku": [{"prefix": "ab"}]}}, {"sku": "abc"}, True),
        ({"value": {"sku": [{"suffix": "yz"}]}}, {"sku": "abc"}, False),
        ({"value": {"kind": [{"anything-but": ["test"]}]}}, {"kind": "real"}, True),
        ({"value": {"kind": [{"anything-but": ["test"]}]}}, {"kind": "test"}, False),
        ({"value": {"note": [{"exists": False}]}}, {"kind": "x"}, True),
        ({"value": {"note": [{"exists": True}]}}, {"kind": "x"}, False),
        ({"value": {"kind": [{"equals-ignore-case": "ORDER"}]}}, {"kind": "order"}, True),
        ({"value": {"a": {"b": [1]}}}, {"a": {"b": 1}}, True),
        ({"value": {"tags": ["red"]}}, {"tags": ["blue", "red"]}, True),
        ({"value": {"gone": [None]}}, {"gone": None}, True),
        ({"value": {"kind": ["order"]}}, b"not json", False),
        ({"partition": [0]}, b"not json", True),
    ],
)
def test_filter_patterns_follow_lambdas_grammar(
    pattern: dict[str, object], value: object, expected: bool
) -> None:
    assert passes(patterns(pattern), value) is expected


def test_any_filter_may_match_and_none_means_everything() -> None:
    either = patterns({"value": {"kind": ["a"]}}, {"value": {"kind": ["b"]}})
    assert passes(either, {"kind": "b"})
    assert not passes(either, {"kind": "c"})
    assert passes([], {"kind": "c"})


@pytest.mark.parametrize(
    "pattern",
    ["not json", json.dumps({"value": {"kind": "order"}}), json.dumps({"v": [{"wat": 1}]})],
)
def test_a_pattern_lambda_would_refuse_is_refused(pattern: str) -> None:
    with pytest.raises(InvalidParameterValueException):
        parse_patterns({"Filters": [{"Pattern": pattern}]})


def test_the_failure_destination_is_a_topic() -> None:
    assert failure_topic({"DestinationConfig": {"OnFailure": {"Destination": "kafka://dlq"}}}) == (
        "dlq"
    )
    arn = "arn:aws:kafka:us-east-1:123456789012:topic/orders/0b1c-2d3e/dead-letters"
    assert failure_topic({"DestinationConfig": {"OnFailure": {"Destination": arn}}}) == (
        "dead-letters"
    )
    assert failure_topic({}) is None
    with pytest.raises(InvalidParameterValueException):
        failure_topic({"DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sqs:x"}}})

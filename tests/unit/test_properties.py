"""Server properties of MSK configurations: what users may write and the errors they get."""

import pytest

from steward.kafka.properties import (
    PropertiesError,
    parse_properties,
    render_properties,
    validate_server_properties,
)


def test_parses_java_properties_forms() -> None:
    text = (
        "# a comment\n! another\n\nauto.create.topics.enable = true\n"
        "num.partitions: 6\nlog.retention.hours 48\n"
        "log.cleaner.enable=\\\n  false\n"
    )
    assert parse_properties(text) == {
        "auto.create.topics.enable": "true",
        "num.partitions": "6",
        "log.retention.hours": "48",
        "log.cleaner.enable": "false",
    }


def test_render_round_trips() -> None:
    props = {"a.b": "1", "c": "x y"}
    assert parse_properties(render_properties(props)) == props


def test_accepts_real_broker_settings() -> None:
    props = validate_server_properties("auto.create.topics.enable=true\nnum.partitions=3\n")
    assert props["num.partitions"] == "3"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("num.partitions=three\n", "num.partitions"),
        ("auto.create.topics.enable=yes\n", "auto.create.topics.enable"),
        ("no.such.setting=1\n", "no.such.setting"),
        ("listeners=PLAINTEXT://:9092\n", "listeners"),
        ("node.id=5\n", "node.id"),
        ("log.dirs=/tmp/x\n", "log.dirs"),
        ("ssl.keystore.location=/x\n", "ssl.keystore.location"),
        ("num.partitions\n", "num.partitions"),
    ],
)
def test_rejects_bad_or_reserved_settings(text: str, key: str) -> None:
    with pytest.raises(PropertiesError) as error:
        validate_server_properties(text)
    assert error.value.key == key

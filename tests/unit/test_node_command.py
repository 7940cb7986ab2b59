"""The Kafka node's command line: Kafka's server options, then the operator's, then the spec's."""

from __future__ import annotations

from pathlib import Path

import pytest

from steward.agent.spec import NodeSpec
from steward.kafka.java import JVM_OPTIONS_ENV
from steward.kafka.launch import KAFKA_MAIN, kafka_server_command


def spec() -> NodeSpec:
    return NodeSpec(
        key="demo-b1",
        kafka_version="4.3.1",
        role="broker",
        node_id=1,
        cluster_id="c" * 22,
        directory_id="d" * 22,
        properties={},
        heap_mb=512,
        jvm_options=["-Dfrom.spec=1"],
    )


def command(tmp_path: Path) -> list[str]:
    return kafka_server_command(
        spec(),
        java="/usr/bin/java",
        classpath="/kafka/libs/*",
        properties_file=tmp_path / "server.properties",
        log4j_file=tmp_path / "log4j2.yaml",
        logs_dir=tmp_path / "logs",
    )


def test_the_operators_options_come_after_kafkas_and_before_the_specs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(JVM_OPTIONS_ENV, "-XX:TieredStopAtLevel=1  -Dquoted='a b'")
    line = command(tmp_path)
    assert line[:3] == ["/usr/bin/java", "-Xms512m", "-Xmx512m"]
    assert line.index("-XX:+UseG1GC") < line.index("-XX:TieredStopAtLevel=1")
    assert line.index("-Dquoted=a b") < line.index("-Dfrom.spec=1")
    assert line[-2:] == [KAFKA_MAIN, str(tmp_path / "server.properties")]


def test_without_the_setting_the_jvm_runs_as_kafka_ships_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(JVM_OPTIONS_ENV, raising=False)
    assert not any("TieredStopAtLevel" in option for option in command(tmp_path))

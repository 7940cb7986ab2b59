"""The steward command without a running Steward: help, local Kafka versions, clean errors."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from steward.cli.main import cli


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += all_commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


@pytest.mark.parametrize("command", all_commands(cli), ids=lambda c: " ".join(c) or "steward")
def test_every_command_has_help(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: steward" in result.output


def test_groups_list_their_commands() -> None:
    runner = CliRunner()
    assert {"server", "cluster", "config", "kafka"} <= set(cli.commands)
    cluster_help = runner.invoke(cli, ["cluster", "--help"]).output
    for command in ("create", "list", "describe", "delete", "bootstrap-brokers", "nodes"):
        assert command in cluster_help
    for command in ("scale", "reboot", "set-type", "set-storage", "set-config", "upgrade"):
        assert command in cluster_help
    assert "compatible-versions" in cluster_help and "operation " in cluster_help
    config_help = runner.invoke(cli, ["config", "-h"]).output
    for command in ("create", "list", "describe", "revisions", "update", "delete"):
        assert command in config_help


def test_kafka_versions_shows_the_installed_default() -> None:
    result = CliRunner().invoke(cli, ["kafka", "versions"])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[2:]}
    assert rows["4.3.1"][:4] == ["4.3.1", "ACTIVE", "yes", "maven"] or rows["4.3.1"][2] == "yes"
    assert rows["4.0.0"][:2] == ["4.0.0", "DEPRECATED"]


@pytest.mark.parametrize(
    "args", [["-o", "json", "kafka", "versions"], ["kafka", "versions", "--output", "json"]]
)
def test_kafka_versions_as_json(args: list[str]) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    versions = {v["Version"]: v for v in json.loads(result.stdout)["KafkaVersions"]}
    assert versions["4.3.1"]["Status"] == "ACTIVE"
    assert versions["4.3.1"]["Installed"] is True
    assert versions["4.0.0"]["Status"] == "DEPRECATED"


def test_kafka_install_is_quick_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_HOME", raising=False)
    result = CliRunner().invoke(cli, ["kafka", "install", "4.3.1"])
    assert result.exit_code == 0, result.output
    assert "4.3.1 already installed" in result.stdout


def test_kafka_install_rejects_a_bogus_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_HOME", raising=False)
    result = CliRunner().invoke(cli, ["kafka", "install", "bogus"])
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: 'bogus' is not a Kafka version (expected X.Y.Z)"
    assert "Traceback" not in result.output


def test_kafka_install_refuses_a_kafka_home_that_is_not_kafka(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["kafka", "install", "--kafka-home", str(tmp_path)])
    assert result.exit_code == 1
    assert "is not an Apache Kafka install" in result.stderr


@pytest.mark.parametrize(
    "command",
    [["cluster", "list"], ["cluster", "describe", "orders"], ["config", "list"]],
)
def test_unreachable_endpoint_is_one_clean_line(command: list[str]) -> None:
    url = f"http://127.0.0.1:{unused_port()}"
    result = CliRunner().invoke(cli, ["--endpoint-url", url, *command])
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: Steward is not reachable at {url}.")
    assert "steward server" in line and "make run" in line
    assert result.stdout == ""


def test_endpoint_comes_from_the_environment() -> None:
    url = f"http://127.0.0.1:{unused_port()}"
    result = CliRunner().invoke(cli, ["cluster", "list"], env={"STEWARD_ENDPOINT_URL": url})
    assert result.exit_code == 1
    assert f"not reachable at {url}." in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["cluster", "scale", "orders"],
        ["cluster", "scale", "orders", "--brokers", "0"],
        ["cluster", "reboot", "orders"],
        ["cluster", "set-storage", "orders", "--volume-size", "big"],
        [
            "cluster",
            "upgrade",
            "orders",
            "--kafka-version",
            "4.3.1",
            "--configuration-revision",
            "2",
        ],
    ],
)
def test_update_options_are_checked_before_calling_steward(args: list[str]) -> None:
    url = f"http://127.0.0.1:{unused_port()}"
    result = CliRunner().invoke(cli, ["--endpoint-url", url, *args])
    assert result.exit_code == 2, result.output
    assert "not reachable" not in result.stderr


def test_bad_tag_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["cluster", "create", "c", "--tag", "novalue"])
    assert result.exit_code == 2
    assert "KEY=VALUE" in result.stderr

"""Formatting node storage: idempotent, and never over another cluster's or node's data."""

from __future__ import annotations

from pathlib import Path

import pytest

from steward.kafka.log4j import KafkaLogging, render_log4j2_properties
from steward.kafka.properties import parse_properties
from steward.kafka.storage import (
    NodeIdentity,
    StorageError,
    format_broker_storage,
    format_controller_storage,
    initial_controller_directory_id,
    read_meta_properties,
)

CLUSTER = "MkU3OEVBNTcwNTJENDM2Qg"
OTHER_CLUSTER = "TUriVXBKRKC_smzGApfHTA"
DIRECTORY = "rK8_u1GNRGeYM9hzj2zYMQ"


def test_broker_storage_is_meta_properties_in_storage_tools_format(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = format_broker_storage(data, NodeIdentity(CLUSTER, 1, DIRECTORY))
    assert result.formatted
    assert read_meta_properties(data) == {
        "version": "1",
        "cluster.id": CLUSTER,
        "node.id": "1",
        "directory.id": DIRECTORY,
    }
    assert sorted(p.name for p in data.iterdir()) == ["meta.properties"]


def test_formatting_twice_is_a_no_op(tmp_path: Path) -> None:
    data = tmp_path / "data"
    identity = NodeIdentity(CLUSTER, 1, DIRECTORY)
    format_broker_storage(data, identity)
    (data / "orders-0").mkdir()  # the broker has written data since
    assert not format_broker_storage(data, identity).formatted
    assert (data / "orders-0").is_dir()


@pytest.mark.parametrize(
    ("identity", "complaint"),
    [
        (NodeIdentity(OTHER_CLUSTER, 1, DIRECTORY), "belongs to cluster"),
        (NodeIdentity(CLUSTER, 2, DIRECTORY), "belongs to node"),
        (NodeIdentity(CLUSTER, 1, "AAAAAAAAAAAAAAAAAAAAAA"), "directory.id"),
    ],
)
def test_another_nodes_directory_is_refused(
    tmp_path: Path, identity: NodeIdentity, complaint: str
) -> None:
    data = tmp_path / "data"
    format_broker_storage(data, NodeIdentity(CLUSTER, 1, DIRECTORY))
    with pytest.raises(StorageError, match=complaint):
        format_broker_storage(data, identity)
    with pytest.raises(StorageError, match=complaint):
        format_controller_storage(data, identity, {}, None, java="java", classpath="x")


def test_a_directory_with_data_but_no_meta_properties_is_left_alone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "orders-0").mkdir(parents=True)
    with pytest.raises(StorageError, match=r"no meta\.properties"):
        format_broker_storage(data, NodeIdentity(CLUSTER, 1, DIRECTORY))


def test_initial_controllers_name_each_voters_directory() -> None:
    value = f"1001@127.0.1.101:9093:{DIRECTORY},1002@[::1]:9093:AAAAAAAAAAAAAAAAAAAAAA"
    assert initial_controller_directory_id(value, 1001) == DIRECTORY
    assert initial_controller_directory_id(value, 1002) == "AAAAAAAAAAAAAAAAAAAAAA"
    assert initial_controller_directory_id(value, 1003) is None
    with pytest.raises(StorageError, match="no directory id"):
        initial_controller_directory_id("1001@127.0.1.101:9093", 1001)


def test_a_voter_entry_with_another_directory_id_is_refused_before_formatting(
    tmp_path: Path,
) -> None:
    voters = "1001@127.0.1.101:9093:AAAAAAAAAAAAAAAAAAAAAA"
    with pytest.raises(StorageError, match="directory id"):
        format_controller_storage(
            tmp_path / "data",
            NodeIdentity(CLUSTER, 1001, DIRECTORY),
            {"process.roles": "controller"},
            voters,
            java="/nonexistent/java",
            classpath="x",
        )
    assert not (tmp_path / "data").exists()


def test_a_failed_storage_tool_leaves_no_half_formatted_directory(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="StorageTool"):
        format_controller_storage(
            tmp_path / "data",
            NodeIdentity(CLUSTER, 1001, DIRECTORY),
            {"process.roles": "controller"},
            f"1001@127.0.1.101:9093:{DIRECTORY}",
            java="/nonexistent/java",
            classpath="x",
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_log4j2_config_rolls_server_log_by_size() -> None:
    config = parse_properties(render_log4j2_properties(KafkaLogging(max_file_mb=7, backups=3)))
    assert config["appender.server.fileName"] == "${logDir}/server.log"
    assert config["property.logDir"] == "${sys:kafka.logs.dir}"
    assert config["appender.server.policies.size.size"] == "7MB"
    assert config["appender.server.strategy.max"] == "3"
    assert config["rootLogger.level"] == "INFO"
    assert config["logger.controller.appenderRef.controller.ref"] == "controller"


def test_log4j2_config_without_separate_controller_logs() -> None:
    settings = KafkaLogging(controller_log=False, state_change_log=False)
    config = parse_properties(render_log4j2_properties(settings))
    assert not any(key.startswith(("appender.controller", "logger.controller")) for key in config)
    assert not any("stateChange" in key for key in config)

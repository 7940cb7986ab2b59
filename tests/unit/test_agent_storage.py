"""Formatting node storage: idempotent, and never over another cluster's or node's data."""

from __future__ import annotations

from pathlib import Path

import pytest

from steward.kafka.log4j import KafkaLogging, render_log4j2_properties
from steward.kafka.properties import parse_properties
from steward.kafka.storage import (
    NodeIdentity,
    StorageError,
    bootstrap_checkpoint_file,
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


def _fake_storage_tool(tmp_path: Path) -> tuple[str, Path]:
    """A `java` that does what StorageTool's format does to the configured log directory, and
    counts its runs."""
    runs = tmp_path / "tool-runs"
    java = tmp_path / "java"
    java.write_text(
        "#!/usr/bin/env python3\n"
        "import sys, pathlib\n"
        "args = sys.argv[1:]\n"
        "config = dict(line.split('=', 1) for line in"
        " pathlib.Path(args[args.index('-c') + 1]).read_text().splitlines()"
        " if '=' in line and not line.startswith('#'))\n"
        "log_dir = pathlib.Path(config['log.dirs'].strip())\n"
        "(log_dir / 'bootstrap.checkpoint').write_bytes(b'feature levels of this version')\n"
        "(log_dir / 'meta.properties').write_text('version=1\\ncluster.id=%s\\nnode.id=%s\\n'"
        " % (args[args.index('-t') + 1], config['node.id'].strip()))\n"
        f"with open({str(runs)!r}, 'a') as f: f.write('run\\n')\n"
    )
    java.chmod(0o755)
    return str(java), runs


def _static_controller(node_id: int) -> dict[str, str]:
    return {
        "process.roles": "controller",
        "node.id": str(node_id),
        "controller.quorum.voters": "1001@127.0.1.101:9093,1002@127.0.1.102:9093",
    }


def test_a_static_controller_is_formatted_from_the_kept_checkpoint_without_storage_tool(
    tmp_path: Path,
) -> None:
    java, runs = _fake_storage_tool(tmp_path)
    cache = bootstrap_checkpoint_file(tmp_path / "cache", "4.3.1", _static_controller(1001))
    for node_id in (1001, 1002):
        result = format_controller_storage(
            tmp_path / f"c{node_id}",
            NodeIdentity(CLUSTER, node_id, DIRECTORY),
            _static_controller(node_id),
            None,
            java=java,
            classpath="x",
            bootstrap_cache=cache,
        )
        assert result.formatted
    assert runs.read_text().count("run") == 1  # the second controller needed no StorageTool
    second = tmp_path / "c1002"
    assert (second / "bootstrap.checkpoint").read_bytes() == b"feature levels of this version"
    assert read_meta_properties(second) == {
        "version": "1",
        "cluster.id": CLUSTER,
        "node.id": "1002",
        "directory.id": DIRECTORY,
    }
    assert sorted(p.name for p in second.iterdir()) == ["bootstrap.checkpoint", "meta.properties"]


def test_a_dynamic_quorum_always_goes_through_storage_tool(tmp_path: Path) -> None:
    cache = tmp_path / "kept.checkpoint"
    cache.write_bytes(b"feature levels of this version")
    with pytest.raises(StorageError, match="StorageTool"):  # the tool ran, and could not
        format_controller_storage(
            tmp_path / "data",
            NodeIdentity(CLUSTER, 1001, DIRECTORY),
            {"process.roles": "controller"},
            f"1001@127.0.1.101:9093:{DIRECTORY}",
            java="/nonexistent/java",
            classpath="x",
            bootstrap_cache=cache,
        )


def test_the_kept_checkpoint_depends_on_the_version_and_the_unstable_features(
    tmp_path: Path,
) -> None:
    plain = _static_controller(1001)
    assert bootstrap_checkpoint_file(tmp_path, "4.3.1", plain) == bootstrap_checkpoint_file(
        tmp_path, "4.3.1", _static_controller(1002)
    )
    assert bootstrap_checkpoint_file(tmp_path, "4.3.1", plain) != bootstrap_checkpoint_file(
        tmp_path, "4.2.0", plain
    )
    unstable = {**plain, "unstable.feature.versions.enable": "true"}
    assert bootstrap_checkpoint_file(tmp_path, "4.3.1", plain) != bootstrap_checkpoint_file(
        tmp_path, "4.3.1", unstable
    )

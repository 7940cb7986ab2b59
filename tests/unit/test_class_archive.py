"""Kafka's JVMs share one class archive per Kafka version and Java: the first nodes write it when
they exit, a later start puts one in place, and every node then starts with it."""

from __future__ import annotations

import time
from pathlib import Path

from steward.kafka.class_archive import WRITTEN_AFTER, archive_path, jvm_options, use_options
from steward.kafka.storage import storage_tool_command


def test_without_an_archive_a_node_writes_one_of_its_own_at_exit(tmp_path: Path) -> None:
    archive = archive_path(tmp_path, "4.3.1", "/usr/bin/java")
    assert jvm_options(archive, "b1") == [f"-XX:ArchiveClassesAtExit={archive}.b1.tmp"]
    assert jvm_options(archive, "b2") == [f"-XX:ArchiveClassesAtExit={archive}.b2.tmp"]


def test_what_a_node_wrote_becomes_the_archive_once_it_is_surely_complete(tmp_path: Path) -> None:
    archive = archive_path(tmp_path, "4.3.1", "/usr/bin/java")
    Path(f"{archive}.b1.tmp").write_bytes(b"classes")
    Path(f"{archive}.b2.tmp").write_bytes(b"other classes")
    written = time.time()
    # just written: its JVM may not be done, so the next node writes one of its own
    assert jvm_options(archive, "c1", now=written) == [f"-XX:ArchiveClassesAtExit={archive}.c1.tmp"]
    later = written + WRITTEN_AFTER + 1
    assert jvm_options(archive, "c1", now=later) == [f"-XX:SharedArchiveFile={archive}"]
    assert archive.read_bytes() == b"classes"
    assert list(tmp_path.glob("*.tmp")) == []  # the other writer's file is dropped


def test_an_empty_file_from_a_failed_write_is_not_used(tmp_path: Path) -> None:
    archive = archive_path(tmp_path, "4.3.1", "/usr/bin/java")
    Path(f"{archive}.b1.tmp").write_bytes(b"")
    later = time.time() + WRITTEN_AFTER + 1
    assert jvm_options(archive, "b1", now=later) == [f"-XX:ArchiveClassesAtExit={archive}.b1.tmp"]
    assert not archive.exists()


def test_each_kafka_version_and_java_has_an_archive_of_its_own(tmp_path: Path) -> None:
    java = tmp_path / "java"
    java.write_text("")
    other = tmp_path / "other-java"
    other.write_text("")
    names = {
        archive_path(tmp_path, "4.3.1", str(java)),
        archive_path(tmp_path, "4.2.1", str(java)),
        archive_path(tmp_path, "4.3.1", str(other)),
    }
    assert len(names) == 3


def test_a_short_lived_tool_maps_the_archive_but_never_writes_one(tmp_path: Path) -> None:
    archive = archive_path(tmp_path, "4.3.1", "/usr/bin/java")
    assert use_options(archive) == []
    assert list(tmp_path.iterdir()) == []
    archive.write_bytes(b"classes")
    assert use_options(archive) == [f"-XX:SharedArchiveFile={archive}"]


def test_storage_tool_runs_with_the_options_it_is_given_before_its_class_path() -> None:
    command = storage_tool_command(
        "java", "libs/*", Path("c.properties"), "K0", [], ["-XX:SharedArchiveFile=a.jsa"]
    )
    assert command.index("-XX:SharedArchiveFile=a.jsa") < command.index("-cp")
    assert command[command.index("-cp") + 3 :][:2] == ["format", "-t"]

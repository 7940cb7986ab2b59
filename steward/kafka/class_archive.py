"""Class data sharing for Kafka's JVMs: start faster by mapping classes loaded once before.

A Kafka node's JVM loads and verifies thousands of classes on every start; on a small host, with
several JVMs starting at once (a cluster's creation, a roll, a repair), that is CPU every other
JVM waits for. Java's class data sharing keeps those classes, parsed and verified, in an archive
that later JVMs map instead. The archive is made by Kafka itself: a node started while there is
none for its Kafka version and Java writes one when it exits (`-XX:ArchiveClassesAtExit`, JDK 13+;
a controlled shutdown, not a kill), under a name of its own; a later start of any node puts it in
place, and from then on every node of that version starts with it (`-XX:SharedArchiveFile`).

An archive holds nothing of a node's data or configuration, only classes. One that does not fit
(another Java build, another class path) is refused by the JVM, which then starts without it, as
it would with none. `STEWARD_CLASS_ARCHIVES=off` leaves the options out.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)

ARCHIVES_ENV = "STEWARD_CLASS_ARCHIVES"
WRITTEN_AFTER = 30.0
"""Seconds after its last change from which a written archive counts as complete (a JVM writes
it in a second or two as it exits)."""


def enabled() -> bool:
    return os.environ.get(ARCHIVES_ENV, "on").strip().lower() not in ("off", "0", "false", "no")


def archive_path(directory: Path, kafka_version: str, java: str) -> Path:
    """The archive for Kafka `kafka_version` on the Java at `java`: named after both, since an
    archive only fits the Java build that made it."""
    real = Path(java).resolve()
    try:
        stamp = f"{real}:{real.stat().st_mtime_ns}"
    except OSError:
        stamp = str(real)
    java_id = hashlib.sha256(stamp.encode()).hexdigest()[:12]
    return directory / f"kafka-{kafka_version}-{java_id}.jsa"


def use_options(archive: Path) -> list[str]:
    """The options of a short-lived Kafka tool on the nodes' class path (StorageTool formatting
    a controller): map the archive when there is one, never write one (a tool loads too few of a
    node's classes to make an archive worth keeping)."""
    try:
        return [f"-XX:SharedArchiveFile={archive}"] if archive.is_file() else []
    except OSError:
        return []


def jvm_options(archive: Path, node_key: str, now: float | None = None) -> list[str]:
    """The options for a node about to start: use the archive when there is one, else write one
    at exit. First, a file some node wrote when it exited becomes the archive: one left alone for
    WRITTEN_AFTER seconds, so that its JVM is done writing it."""
    now = time.time() if now is None else now
    try:
        for written in sorted(archive.parent.glob(f"{archive.name}.*.tmp")):
            stat = written.stat()
            if now - stat.st_mtime < WRITTEN_AFTER:
                continue  # a JVM may still be writing it
            if not archive.exists() and stat.st_size > 0:
                written.replace(archive)
                log.info("class archive %s in place, from %s", archive.name, written.name)
            else:
                written.unlink()
        if archive.exists():
            return [f"-XX:SharedArchiveFile={archive}"]
        archive.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:  # a read-only or full cache: start as if archives were off
        log.warning("class archives unavailable: %s", error)
        return []
    return [f"-XX:ArchiveClassesAtExit={archive}.{node_key}.tmp"]

"""Formatting a KRaft node's log directory, idempotently.

A formatted directory holds `meta.properties` (version=1, cluster.id, node.id, directory.id).
Formatting is skipped when it is there with the same cluster and node id, and refused when it
names another cluster or node: that directory belongs to someone else.

Controllers are formatted by Kafka's own `kafka.tools.StorageTool format`, because a controller's
directory also carries the bootstrap checkpoint of the metadata log and `bootstrap.checkpoint` (the
feature levels). Steward's clusters use a static quorum (`controller.quorum.voters`, see
`node_config.quorum_voters`), formatted with no quorum flag. The agent can also format a dynamic
(KIP-853) quorum: with `--initial-controllers`, StorageTool takes the node's `directory.id` from the
node's own entry of that list (Kafka 4.3.1: "Formatting dynamic metadata voter directory"); a node
that is not in the list gets a random id. So the node's own entry must carry the spec's directory
id (checked before formatting), and a controller outside the initial voter set gets the spec's id
written into meta.properties after formatting (safe: at that point the id is recorded nowhere else).

A static quorum's controllers all get the same `bootstrap.checkpoint` from StorageTool: the feature
levels of the Kafka version (its latest production metadata version, kraft.version 0), a timestamp
and a checksum, nothing of the cluster or the node. So once StorageTool has formatted one such
controller on a host, its checkpoint is kept (`bootstrap_checkpoint_file`: by Kafka version and the
`unstable.*` properties, the only ones that change what StorageTool chooses) and later static
controllers of that version are formatted by copying it and writing meta.properties, without a
StorageTool JVM (1-3 s on the critical path of a create on a busy host, more before the class
archive exists). A dynamic quorum's controllers always go through StorageTool: their checkpoint
names the voters.

Brokers are formatted by writing meta.properties directly, without a StorageTool JVM (about 1.3 s
wall and 2 s CPU saved per broker). Verified with Kafka 4.3.1: a broker whose directory holds only
that file (no `bootstrap.checkpoint`) starts, registers with the quorum and serves produce and
fetch; it takes the metadata version from the controllers' metadata log, since a broker never
uses bootstrap metadata itself (`BootstrapDirectory.read` falls back to the latest production
version when the file is absent, and only the active controller writes bootstrap records).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from steward.files import replace_file
from steward.kafka.properties import parse_properties, render_properties

META_PROPERTIES = "meta.properties"
BOOTSTRAP_CHECKPOINT = "bootstrap.checkpoint"
STORAGE_TOOL = "kafka.tools.StorageTool"
_KAFKA_UUID = re.compile(r"^[A-Za-z0-9_-]{22}$")


class StorageError(Exception):
    """The directory cannot be formatted for this node (belongs elsewhere, or the format failed)."""


@dataclass(frozen=True)
class NodeIdentity:
    cluster_id: str
    node_id: int
    directory_id: str

    def __post_init__(self) -> None:
        for name in ("cluster_id", "directory_id"):
            if not _KAFKA_UUID.match(getattr(self, name)):
                raise StorageError(f"{name} {getattr(self, name)!r} is not a Kafka UUID")


@dataclass(frozen=True)
class FormatResult:
    formatted: bool
    """False when the directory was already formatted for this node."""
    seconds: float
    tool_output: str = ""


def read_meta_properties(data_dir: Path) -> dict[str, str] | None:
    path = data_dir / META_PROPERTIES
    try:
        return parse_properties(path.read_text())
    except FileNotFoundError:
        return None


def render_meta_properties(identity: NodeIdentity) -> str:
    """meta.properties as StorageTool writes it (minus its timestamp comment)."""
    return render_properties(
        {
            "version": "1",
            "cluster.id": identity.cluster_id,
            "node.id": str(identity.node_id),
            "directory.id": identity.directory_id,
        }
    )


def write_meta_properties(data_dir: Path, identity: NodeIdentity) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    replace_file(data_dir / META_PROPERTIES, render_meta_properties(identity), sync=True)


def is_formatted(data_dir: Path, identity: NodeIdentity) -> bool:
    """True when `data_dir` is formatted for this node; StorageError when it is formatted for
    another cluster or node, or holds data but no meta.properties."""
    meta = read_meta_properties(data_dir)
    if meta is None:
        if data_dir.is_dir() and any(data_dir.iterdir()):
            raise StorageError(f"{data_dir} holds files but no {META_PROPERTIES}; not touching it")
        return False
    found = (meta.get("cluster.id"), meta.get("node.id"))
    if found[0] != identity.cluster_id:
        raise StorageError(f"{data_dir} belongs to cluster {found[0]}, not {identity.cluster_id}")
    if found[1] != str(identity.node_id):
        raise StorageError(f"{data_dir} belongs to node {found[1]}, not {identity.node_id}")
    if meta.get("directory.id") not in (None, identity.directory_id):
        raise StorageError(
            f"{data_dir} has directory.id {meta.get('directory.id')}, "
            f"expected {identity.directory_id}"
        )
    return True


def format_broker_storage(data_dir: Path, identity: NodeIdentity) -> FormatResult:
    began = time.monotonic()
    if is_formatted(data_dir, identity):
        return FormatResult(False, time.monotonic() - began)
    write_meta_properties(data_dir, identity)
    return FormatResult(True, time.monotonic() - began)


def initial_controller_directory_id(initial_controllers: str, node_id: int) -> str | None:
    """The directory id `--initial-controllers` gives `node_id` (`id@host:port:dirId,...`)."""
    for entry in initial_controllers.split(","):
        voter, _, rest = entry.strip().partition("@")
        if voter == str(node_id):
            directory_id = rest.rsplit(":", 1)[-1] if rest.count(":") >= 2 else ""
            if not _KAFKA_UUID.match(directory_id):
                raise StorageError(f"initial controller entry {entry!r} has no directory id")
            return directory_id
    return None


def bootstrap_checkpoint_file(
    cache_dir: Path, kafka_version: str, properties: dict[str, str]
) -> Path:
    """Where a static quorum's `bootstrap.checkpoint` for this Kafka version and these
    properties is kept once StorageTool has written one."""
    unstable = sorted((k, v) for k, v in properties.items() if k.startswith("unstable."))
    digest = hashlib.sha256(repr(unstable).encode()).hexdigest()[:12]
    return cache_dir / f"{kafka_version}-static-{digest}.checkpoint"


def storage_tool_command(
    java: str,
    classpath: str,
    config_file: Path,
    cluster_id: str,
    quorum_arguments: list[str],
    jvm_options: Sequence[str] = (),
) -> list[str]:
    """StorageTool's `format`: a short-lived JVM, so a small heap, the first JIT tier only and
    the serial collector, then `jvm_options` (the class archive of the version's nodes, which
    maps most of the classes it loads: `steward.kafka.class_archive.use_options`)."""
    return [
        java,
        "-Xmx256m",
        "-XX:TieredStopAtLevel=1",
        "-XX:+UseSerialGC",
        "-Djava.awt.headless=true",
        *jvm_options,
        "-cp",
        classpath,
        STORAGE_TOOL,
        "format",
        "-t",
        cluster_id,
        "-c",
        str(config_file),
        *quorum_arguments,
    ]


def format_controller_storage(
    data_dir: Path,
    identity: NodeIdentity,
    properties: dict[str, str],
    initial_controllers: str | None,
    java: str,
    classpath: str,
    timeout: float = 120.0,
    jvm_options: Sequence[str] = (),
    bootstrap_cache: Path | None = None,
) -> FormatResult:
    """Format with StorageTool into a staging directory beside `data_dir`, check the result and
    rename it into place, so a crash mid-format never leaves a half-formatted `data_dir`.

    Quorum mode: `--initial-controllers` when given (dynamic quorum, KIP-853); no flag when the
    properties name a static `controller.quorum.voters`; else `--no-initial-controllers` (a
    controller that joins an existing dynamic quorum).

    `bootstrap_cache` (`bootstrap_checkpoint_file`), for a static quorum only: when it exists,
    the directory is formatted from it without StorageTool; when StorageTool ran, its checkpoint
    is kept there."""
    began = time.monotonic()
    if is_formatted(data_dir, identity):
        return FormatResult(False, time.monotonic() - began)
    if initial_controllers:
        quorum = ["--initial-controllers", initial_controllers]
        own_id = initial_controller_directory_id(initial_controllers, identity.node_id)
        if own_id is not None and own_id != identity.directory_id:
            raise StorageError(
                f"--initial-controllers gives node {identity.node_id} directory id {own_id}, "
                f"but its directory id is {identity.directory_id}"
            )
    elif "controller.quorum.voters" in properties:
        quorum = []
    else:
        quorum = ["--no-initial-controllers"]

    static = not quorum and bool(properties.get("controller.quorum.voters"))
    cache = bootstrap_cache if static else None
    staging = data_dir.with_name(data_dir.name + ".formatting")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    config_file = staging.with_name(staging.name + ".properties")
    try:
        if cache is not None and _copy_checkpoint(cache, staging / BOOTSTRAP_CHECKPOINT):
            write_meta_properties(staging, identity)
            _put_in_place(staging, data_dir)
            return FormatResult(True, time.monotonic() - began, f"bootstrap metadata from {cache}")
        config_file.write_text(render_properties({**properties, "log.dirs": str(staging)}))
        command = storage_tool_command(
            java, classpath, config_file, identity.cluster_id, quorum, jvm_options
        )
        try:
            result = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise StorageError(f"StorageTool could not run: {error}") from error
        output = (result.stdout + result.stderr).strip()
        if result.returncode != 0:
            tail = "\n".join(output.splitlines()[-10:])
            raise StorageError(f"StorageTool format failed (exit {result.returncode}): {tail}")
        meta = read_meta_properties(staging)
        if meta is None:
            raise StorageError(f"StorageTool wrote no {META_PROPERTIES}: {output[-500:]}")
        if meta.get("directory.id") != identity.directory_id:
            # Not an initial voter: StorageTool chose a random id, recorded nowhere else yet.
            write_meta_properties(staging, identity)
        if cache is not None:
            _keep_checkpoint(staging / BOOTSTRAP_CHECKPOINT, cache)
        _put_in_place(staging, data_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        config_file.unlink(missing_ok=True)
    return FormatResult(True, time.monotonic() - began, output)


def _put_in_place(staging: Path, data_dir: Path) -> None:
    if os.path.ismount(data_dir):  # e.g. an encrypted view: it stays, the files come in
        _move_into(staging, data_dir)
    else:
        if data_dir.exists():
            data_dir.rmdir()  # empty (is_formatted refuses a non-empty unformatted directory)
        staging.rename(data_dir)


def _copy_checkpoint(cache: Path, target: Path) -> bool:
    try:
        content = cache.read_bytes()
    except OSError:
        return False
    if not content:
        return False
    replace_file(target, content, sync=True)
    return True


def _keep_checkpoint(checkpoint: Path, cache: Path) -> None:
    """The checkpoint StorageTool wrote, for the next static controller (best effort: a host
    that cannot keep it formats with StorageTool every time)."""
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        replace_file(cache, checkpoint.read_bytes(), sync=True)
    except OSError:
        pass


def _move_into(staging: Path, data_dir: Path) -> None:
    """The formatted files into `data_dir`, a mount point (so on another filesystem), with
    meta.properties last: until it is there, the directory does not count as formatted."""
    for entry in staging.iterdir():
        if entry.name != META_PROPERTIES:
            shutil.move(str(entry), str(data_dir / entry.name))
    replace_file(data_dir / META_PROPERTIES, (staging / META_PROPERTIES).read_text(), sync=True)

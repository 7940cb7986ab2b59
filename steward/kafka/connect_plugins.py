"""Custom plugins of Kafka Connect: unpacking a ZIP or JAR into a plugin directory, and finding
the connector classes in it with Kafka's own `connect-plugin-path list`, so that a plugin is
judged by the same scan a worker makes when it loads it."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

from steward.kafka.distribution import require_distribution
from steward.kafka.java import find_java

PLUGIN_PATH_TOOL = "org.apache.kafka.tools.ConnectPluginPath"
CONNECTOR_TYPES = frozenset({"source", "sink"})
SCAN_TIMEOUT = 120.0
MAX_UNPACKED_BYTES = 2 * 1024 * 1024 * 1024


class PluginContentError(Exception):
    """The plugin's content cannot be used; the message says why, for its stateDescription."""


@dataclass(frozen=True)
class ConnectorPlugin:
    class_name: str
    type: str
    version: str


PLUGIN_DIRECTORY = "plugin"
"""The one plugin inside a plugin path: every jar of the archive, at any depth, shares one class
loader, whether the ZIP holds `lib/*.jar`, `name/lib/*.jar` or jars at its top."""


def unpack_plugin(archive: Path, content_type: str, plugin_path: Path) -> None:
    """Lay out `archive` (a ZIP of jars, or one JAR) as the only plugin of the directory
    `plugin_path`, a worker's `plugin.path`."""
    destination = plugin_path / PLUGIN_DIRECTORY
    plugin_path.mkdir(parents=True, exist_ok=True)
    if destination.exists():
        shutil.rmtree(destination)
    staging = destination.with_name(destination.name + ".unpacking")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        if not zipfile.is_zipfile(archive):
            raise PluginContentError(f"The {content_type} file is not a valid ZIP archive.")
        if content_type == "JAR":
            shutil.copyfile(archive, staging / "plugin.jar")
        else:
            _extract(archive, staging)
        staging.rename(destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _extract(archive: Path, into: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as source:
            members = source.infolist()
            if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
                raise PluginContentError("The ZIP file unpacks to more than 2 GiB.")
            root = into.resolve()
            for member in members:
                target = (into / member.filename).resolve()
                if not target.is_relative_to(root):
                    raise PluginContentError(
                        f"The ZIP file names a path outside it: {member.filename}"
                    )
            source.extractall(into)
    except zipfile.BadZipFile as error:
        raise PluginContentError(f"The ZIP file is corrupt: {error}") from error


def connector_plugins(plugin_path: Path, kafka_version: str) -> list[ConnectorPlugin]:
    """The connector classes Kafka Connect finds on the plugin path `plugin_path`."""
    command = [
        find_java(),
        "-Xmx256m",
        "-cp",
        require_distribution(kafka_version).classpath,
        PLUGIN_PATH_TOOL,
        "list",
        "--plugin-path",
        str(plugin_path),
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=SCAN_TIMEOUT)
    except subprocess.TimeoutExpired as error:
        raise PluginContentError(f"Scanning the plugin took over {SCAN_TIMEOUT:.0f} s.") from error
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-3:]
        raise PluginContentError("Scanning the plugin failed: " + " ".join(tail))
    return parse_plugin_list(done.stdout)


def parse_plugin_list(output: str) -> list[ConnectorPlugin]:
    """The connectors among `connect-plugin-path list`'s rows (class, aliases..., version,
    type, loadable, has manifest, location), loadable ones only."""
    found: list[ConnectorPlugin] = []
    for line in output.splitlines():
        columns = line.split("\t")
        if len(columns) < 7:
            continue
        class_name, version, kind, loadable = columns[0], columns[-5], columns[-4], columns[-3]
        if kind in CONNECTOR_TYPES and loadable == "true":
            found.append(ConnectorPlugin(class_name, kind, version))
    return found

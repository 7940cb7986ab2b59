"""MSK's open-monitoring "Node Exporter" on each broker's own address, port 11002: Prometheus's own
node_exporter (Debian's `prometheus-node-exporter`, which the project's `make system` installs),
one process per broker the agent runs, bound to that broker's address.

Where the package is missing, the agent's small built-in exporter (`steward.agent.node_metrics`)
serves the same port instead, with the few series Steward's own metrics read. Either way the
exporter says which filesystem holds the broker's data when the broker has a volume of its own
(its storage directory is a mount point, `steward.agent.volumes`): node_exporter through a text file
of its textfile collector (`steward_kafka_data_filesystem_info{mountpoint=...} 1`), the built-in
one by labelling that filesystem's series `purpose="kafka-data"`; `steward.monitor.msk_metrics`
reads KafkaDataLogsDiskUsed from whichever it finds. A broker whose data is a plain directory
shares the host's filesystem, whose use says nothing of the broker's: then the exporter names no
data filesystem and KafkaDataLogsDiskUsed comes from Kafka's own count of its log directories
(`steward.monitor.admin_metrics`), as GetClusterStorage does.

Each node_exporter is the agent's child: it is told to stop with the agent (the kernel's parent
death signal), and one that exits is started again on the next supervision pass.
"""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from steward.agent.node_metrics import Endpoint, NodeMetricsServers

log = logging.getLogger(__name__)

BINARIES = ("prometheus-node-exporter", "node_exporter")
STOP_TIMEOUT = 5.0
_PR_SET_PDEATHSIG = 1
_FS_TYPES_EXCLUDE = (
    "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|"
    "iso9660|mqueue|nsfs|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|"
    "tracefs)$"
)
"""node_exporter's default less `overlay`: a container's root (where a broker's data may be)
is an overlay filesystem."""
_MOUNT_POINTS_EXCLUDE = "^/(dev|proc|sys)($|/)"


def node_exporter_binary() -> str | None:
    """The installed node_exporter, or None (then the built-in exporter serves)."""
    override = os.environ.get("STEWARD_NODE_EXPORTER")
    if override is not None:
        return shutil.which(override) if override else None
    for name in BINARIES:
        found = shutil.which(name)
        if found:
            return found
    return None


def data_filesystem_text(data_dir: Path) -> str:
    """The textfile collector's file naming the broker's data filesystem: a series only when
    `data_dir` is a filesystem of its own (the broker's volume)."""
    header = (
        "# HELP steward_kafka_data_filesystem_info The filesystem of the broker's data.\n"
        "# TYPE steward_kafka_data_filesystem_info gauge\n"
    )
    if not os.path.ismount(data_dir):
        return header
    mount = str(data_dir.resolve()).replace("\\", "\\\\").replace('"', '\\"')
    path = str(data_dir).replace("\\", "\\\\").replace('"', '\\"')
    return header + f'steward_kafka_data_filesystem_info{{mountpoint="{mount}",path="{path}"}} 1\n'


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


@dataclass
class _Running:
    endpoint: Endpoint
    process: subprocess.Popen[bytes]
    textfiles: Path


class NodeExporters:
    """One node_exporter per broker that asks for node metrics, keyed by the node's key; the
    built-in exporter for all of them where node_exporter is not installed."""

    def __init__(self, state_dir: Path | None = None, binary: str | None = None) -> None:
        """`binary`: the node_exporter to run (default: the installed one; "" for none)."""
        self.binary = (binary if binary is not None else node_exporter_binary()) or None
        self.state_dir = state_dir or Path(tempfile.gettempdir()) / "steward-node-exporters"
        self.fallback = NodeMetricsServers()
        self._lock = threading.Lock()
        self._running: dict[str, _Running] = {}
        if self.binary is None:
            log.info("prometheus-node-exporter is not installed: the built-in exporter serves")

    def sync(self, wanted: Mapping[str, Endpoint]) -> None:
        if self.binary is None:
            self.fallback.sync(wanted)
            return
        with self._lock:
            for key in list(self._running):
                running = self._running[key]
                if wanted.get(key) != running.endpoint or running.process.poll() is not None:
                    self._stop(key)
            for key, endpoint in wanted.items():
                if key not in self._running:
                    self._start(key, endpoint)

    def endpoints(self) -> dict[str, Endpoint]:
        if self.binary is None:
            return self.fallback.endpoints()
        with self._lock:
            return {key: running.endpoint for key, running in self._running.items()}

    def close(self) -> None:
        self.sync({})

    def _start(self, key: str, endpoint: Endpoint) -> None:
        assert self.binary is not None
        textfiles = self.state_dir / key.replace("/", "_")
        textfiles.mkdir(parents=True, exist_ok=True)
        staged = textfiles / "kafka_data.prom.tmp"
        staged.write_text(data_filesystem_text(endpoint.data_dir))
        staged.replace(textfiles / "kafka_data.prom")
        command = [
            self.binary,
            f"--web.listen-address={endpoint.host}:{endpoint.port}",
            f"--collector.textfile.directory={textfiles}",
            f"--collector.filesystem.fs-types-exclude={_FS_TYPES_EXCLUDE}",
            f"--collector.filesystem.mount-points-exclude={_MOUNT_POINTS_EXCLUDE}",
            "--log.level=warn",
        ]
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,
            )
        except OSError as error:
            log.warning("%s: cannot start %s: %s", key, self.binary, error)
            return
        self._running[key] = _Running(endpoint, process, textfiles)
        log.info("%s: node_exporter on %s:%d", key, endpoint.host, endpoint.port)

    def _stop(self, key: str) -> None:
        running = self._running.pop(key)
        process = running.process
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT)
        shutil.rmtree(running.textfiles, ignore_errors=True)

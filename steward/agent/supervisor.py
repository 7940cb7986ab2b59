"""Runs Kafka nodes on this host and keeps them the way the control plane asked.

Each node lives in `<state_dir>/nodes/<key>/`:

    spec.json            the NodeSpec last applied (what the node should be)
    server.properties    rendered from the spec, with log.dirs = data/
    log4j2.properties
    data/                the node's only log directory; for a broker with a volume of its own,
                         the mount point of volume.img (`steward.agent.volumes`)
    sealed/              for a node encrypted at rest, what is on disk (the volume's mount point
                         when it has one); data/ is then its clear view (`steward.agent.encryption`)
    logs/                server.log (+ controller.log, state-change.log), stdout.log
    kafka.pid            the running process: pid, start time, spec hash (absent when none runs)
    log-delivery.json    brokers delivering their log: how far it is delivered (`log_shipper`)

Kafka processes are started in their own session, so they outlive the agent. A new agent re-adopts
every process whose pid file still matches a live process (same start time, same properties
file on its command line). A supervision thread restarts nodes that exit while they should run,
backing off after fast crashes and giving up ("failed", with the log tail) after too many.

Where the host allows it, each running node's process is in its own cgroup at the node's CPU
weight (`steward.agent.cgroups`); the group goes away with the process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from steward.agent import processes
from steward.agent.aws_profile import aws_profile_jvm_options, write_aws_profile
from steward.agent.cgroups import CpuGroups
from steward.agent.encryption import EncryptedDirectory, EncryptionError
from steward.agent.iam import write_iam_files
from steward.agent.log_delivery import LogDelivery
from steward.agent.log_shipper import LogShipper, ship_logs
from steward.agent.node_exporter import NodeExporters
from steward.agent.node_metrics import Endpoint as NodeMetricsEndpoint
from steward.agent.spec import InvalidSpec, NodeSpec, NodeState, NodeStatus, is_valid_key
from steward.agent.tls import write_tls_files, write_worker_trust
from steward.agent.volumes import (
    LoopVolume,
    VolumeError,
    VolumeMode,
    loop_volumes_supported,
    usage,
    volume_mode,
)
from steward.files import replace_file
from steward.kafka import class_archive, name_resolution
from steward.kafka.client_tools import aws_msk_iam_auth_libs
from steward.kafka.connect_worker import connect_worker_command, signs_in_with_iam
from steward.kafka.distribution import DistributionError, require_distribution
from steward.kafka.java import JavaNotFound, find_java, server_classpath
from steward.kafka.launch import LOG4J_FILE, PROPERTIES_FILE, kafka_server_command
from steward.kafka.log4j import render_log4j2_properties
from steward.kafka.plugins import PluginBuildError
from steward.kafka.properties import render_properties
from steward.kafka.storage import (
    META_PROPERTIES,
    NodeIdentity,
    StorageError,
    bootstrap_checkpoint_file,
    format_broker_storage,
    format_controller_storage,
    is_formatted,
)
from steward.settings import default_home, kafka_cache_dir

log = logging.getLogger("steward.agent")

_START_MARKER = "=== steward agent: starting "


class NodeNotFound(KeyError):
    pass


@dataclass(frozen=True)
class NodePaths:
    root: Path

    @property
    def spec(self) -> Path:
        return self.root / "spec.json"

    @property
    def properties(self) -> Path:
        return self.root / PROPERTIES_FILE

    @property
    def log4j(self) -> Path:
        return self.root / LOG4J_FILE

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def stdout(self) -> Path:
        return self.logs / "stdout.log"

    @property
    def server_log(self) -> Path:
        return self.logs / "server.log"

    @property
    def formatted_marker(self) -> Path:
        """Written once the data directory is formatted for the node: from then on a data
        directory without meta.properties means a lost volume, not someone else's files."""
        return self.root / "formatted"

    @property
    def pid_file(self) -> Path:
        return self.root / "kafka.pid"

    @property
    def hosts(self) -> Path:
        """The hosts file the node's JVM resolves names from (`steward.kafka.name_resolution`)."""
        return self.root / "hosts"

    @property
    def volume_image(self) -> Path:
        return self.root / "volume.img"

    @property
    def tls(self) -> Path:
        """The node's key store and trust store (`steward.agent.tls`)."""
        return self.root / "tls"

    @property
    def iam(self) -> Path:
        """The broker's IAM sign-in files (`steward.agent.iam`)."""
        return self.root / "iam"

    @property
    def aws(self) -> Path:
        """A Connect worker's AWS profile of its role session (`steward.agent.aws_profile`)."""
        return self.root / "aws"

    @property
    def sealed(self) -> Path:
        """Where an encrypted node's data is on disk (`steward.agent.encryption`); `data` is then
        the clear view of it."""
        return self.root / "sealed"


@dataclass(frozen=True)
class SupervisionPolicy:
    interval: float = 0.5
    """Seconds between two supervision passes."""
    max_fast_crashes: int = 5
    """Fast crashes in a row after which a node is marked failed and left alone."""
    stable_after: float = 30.0
    """A process that ran this long before it exited was not a fast crash: the streak restarts."""
    base_delay: float = 1.0
    max_delay: float = 10.0
    stop_timeout: float = 30.0
    """How long a controlled shutdown (SIGTERM) may take before SIGKILL."""
    running_without_listener_after: float = 5.0
    """A node without a `listeners` property counts as running once it has lived this long."""

    def restart_delay(self, streak: int) -> float:
        """No delay after a first crash (the process had been fine), then base, 2x base, ..."""
        if streak <= 1:
            return 0.0
        return min(self.max_delay, self.base_delay * 2 ** (streak - 2))


CommandFactory = Callable[[NodeSpec, NodePaths], list[str]]
StorageFormatter = Callable[[NodeSpec, NodePaths], None]


def _storage_dir(spec: NodeSpec, paths: NodePaths) -> Path:
    """What holds the node's data on disk: the sealed directory when it is encrypted."""
    return paths.sealed if spec.encrypted_storage else paths.data


def _encrypted(node: _Node) -> EncryptedDirectory | None:
    if not node.spec.encrypted_storage:
        return None
    return EncryptedDirectory(node.paths.sealed, node.paths.data)


def kafka_command(spec: NodeSpec, paths: NodePaths) -> list[str]:
    """The real command line: Kafka from the spec's distribution, on the node's files, with its
    hosts file (`steward.kafka.name_resolution`) and the version's class archive
    (`steward.kafka.class_archive`); a Connect worker's is
    ConnectDistributed on the distribution's jars."""
    java = find_java()
    if spec.role == "connect":
        classpath = require_distribution(spec.kafka_version).classpath
        options: list[str] = []
        if signs_in_with_iam(spec.properties):  # aws-msk-iam-auth and the role's profile
            classpath = f"{classpath}{os.pathsep}{aws_msk_iam_auth_libs()}/*"
            options = aws_profile_jvm_options(paths.aws)
        return connect_worker_command(
            spec,
            java=java,
            classpath=classpath,
            properties_file=paths.properties,
            log4j_file=paths.log4j,
            logs_dir=paths.logs,
            extra_options=options,
        )
    options = name_resolution.jvm_options(spec.properties, paths.hosts)
    if class_archive.enabled():
        options += class_archive.jvm_options(_class_archive(spec, java), spec.key)
    return kafka_server_command(
        spec,
        java=java,
        classpath=server_classpath(spec.kafka_version, spec.properties),
        properties_file=paths.properties,
        log4j_file=paths.log4j,
        logs_dir=paths.logs,
        extra_options=options,
    )


def _class_archive(spec: NodeSpec, java: str) -> Path:
    """Where the class archive of the spec's Kafka version on this Java is (or will be)."""
    return class_archive.archive_path(
        kafka_cache_dir() / "class-archives", spec.kafka_version, java
    )


def format_kafka_storage(spec: NodeSpec, paths: NodePaths) -> None:
    identity = NodeIdentity(spec.cluster_id, spec.node_id, spec.directory_id)
    if spec.role == "broker":
        result = format_broker_storage(paths.data, identity)
    else:
        java = find_java()
        # StorageTool maps the nodes' class archive too: a third less CPU to format a controller
        archives = (
            class_archive.use_options(_class_archive(spec, java)) if class_archive.enabled() else []
        )
        properties = spec.server_properties(str(paths.data))
        result = format_controller_storage(
            paths.data,
            identity,
            properties,
            spec.initial_controllers,
            java=java,
            classpath=require_distribution(spec.kafka_version).classpath,
            jvm_options=archives,
            bootstrap_cache=bootstrap_checkpoint_file(
                kafka_cache_dir() / "bootstrap-checkpoints", spec.kafka_version, properties
            ),
        )
    if result.formatted:
        log.info("formatted %s (%s) in %.2f s", spec.key, spec.role, result.seconds)


@dataclass
class _Node:
    spec: NodeSpec
    paths: NodePaths
    lock: threading.RLock = field(default_factory=threading.RLock)
    state: NodeState = "stopped"
    pid: int | None = None
    start_ticks: int | None = None
    popen: subprocess.Popen[bytes] | None = None
    started_at: float | None = None
    running_hash: str | None = None
    restarts: int = 0
    last_exit_code: int | None = None
    message: str | None = None
    crash_streak: int = 0
    retry_at: float = 0.0
    removed: bool = False
    reconciling: bool = False
    shipper: LogShipper | None = None
    """Delivers the broker's log to its destinations (`steward.agent.log_shipper`)."""

    def status(self) -> NodeStatus:
        volume = usage(self.paths.data) if self.paths.volume_image.exists() else None
        return NodeStatus(
            key=self.spec.key,
            state=self.state,
            pid=self.pid,
            started_at=self.started_at,
            restarts=self.restarts,
            last_exit_code=self.last_exit_code,
            message=self.message,
            spec_hash=self.running_hash if self.pid is not None else None,
            data_missing=self.pid is not None and not (self.paths.data / META_PROPERTIES).exists(),
            cpu_seconds=_cpu_seconds(self.pid),
            volume_size_bytes=volume.size_bytes if volume else None,
            volume_used_bytes=volume.used_bytes if volume else None,
            log_delivery=self.shipper.report() if self.shipper is not None else None,
        )


class NodeSupervisor:
    def __init__(
        self,
        state_dir: Path,
        *,
        policy: SupervisionPolicy | None = None,
        command: CommandFactory = kafka_command,
        formatter: StorageFormatter = format_kafka_storage,
        cgroup_root: Path | None = None,
        volumes: VolumeMode | None = None,
        log_destinations: Path | None = None,
    ) -> None:
        """`cgroup_root`: where to look for the cgroup hierarchy that enforces CPU weights
        (default: `$STEWARD_CGROUP_ROOT`, else /sys/fs/cgroup). `volumes`: whether brokers get
        data volumes of their own (default: `$STEWARD_BROKER_VOLUMES`, else "directory")."""
        self.state_dir = state_dir
        self.nodes_dir = state_dir / "nodes"
        self.nodes_dir.mkdir(parents=True, exist_ok=True)
        self.policy = policy or SupervisionPolicy()
        self._command = command
        self._formatter = formatter
        self.cpu_groups = CpuGroups.for_host(cgroup_root)
        mode = volumes or volume_mode()
        self.loop_volumes = mode == "loop" or (mode == "auto" and loop_volumes_supported())
        self.log_destinations = log_destinations or default_home()
        """Where the log groups and buckets of broker log delivery are: the Steward home."""
        self._lock = threading.Lock()
        self._nodes: dict[str, _Node] = {}
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.node_metrics = NodeExporters(state_dir / "node-exporters")
        """The brokers' host metrics (MSK's node exporter port), served as their specs ask:
        Prometheus's node_exporter, or the built-in exporter where it is not installed."""
        self._load()
        self.cpu_groups.remove_empty_groups()

    # --- public API -----------------------------------------------------------------------------
    def apply(self, spec: NodeSpec) -> NodeStatus:
        """Make the node what `spec` says: write its files, format its storage when it first
        starts, start or stop it, restart it when its launch settings changed. Idempotent."""
        spec = NodeSpec.from_dict(spec.to_dict())  # a validated copy, not the caller's object
        node = self._lock_node(spec.key, create_with=spec)
        try:
            changed = spec.spec_hash != node.spec.spec_hash
            if spec.storage_key is None and spec.encrypted_storage:
                spec.storage_key = node.spec.storage_key  # known from an earlier spec
            node.spec = spec
            self._write_files(node)
            self._ship_logs(node)
            self._grow_volume(node)
            if changed or node.state == "failed":
                node.crash_streak = 0
                if node.state in ("crashed", "failed"):
                    node.state = "stopped"
                    node.message = None
            self._reconcile(node)
            return node.status()
        finally:
            node.lock.release()

    def stop(self, key: str, timeout: float | None = None) -> NodeStatus:
        node = self._lock_node(key)
        try:
            node.spec.desired = "stopped"
            self._write_files(node)
            self._stop(node, timeout)
            return node.status()
        finally:
            node.lock.release()

    def start(self, key: str) -> NodeStatus:
        node = self._lock_node(key)
        try:
            node.spec.desired = "running"
            self._write_files(node)
            self._reset_crashes(node)
            self._reconcile(node)
            return node.status()
        finally:
            node.lock.release()

    def restart(self, key: str, timeout: float | None = None) -> NodeStatus:
        node = self._lock_node(key)
        try:
            node.spec.desired = "running"
            self._write_files(node)
            self._stop(node, timeout)
            self._reset_crashes(node)
            self._reconcile(node)
            return node.status()
        finally:
            node.lock.release()

    def remove(self, key: str, timeout: float | None = None) -> bool:
        """Stop the node and delete its directory, data included. False if there was none."""
        try:
            node = self._lock_node(key)
        except NodeNotFound:
            root = self.nodes_dir / key
            existed = is_valid_key(key) and root.is_dir()
            if existed:
                self._release_volume(NodePaths(root))
                shutil.rmtree(root, ignore_errors=True)
                self.cpu_groups.release(key)
            return existed
        try:
            self._stop(node, timeout)
            if node.shipper is not None:
                node.shipper.stop()
            self._release_volume(node.paths)
            shutil.rmtree(node.paths.root, ignore_errors=True)
            node.removed = True
            with self._lock:
                self._nodes.pop(key, None)
            log.info("removed %s", key)
            return True
        finally:
            node.lock.release()

    def status(self, key: str) -> NodeStatus | None:
        node = self._nodes.get(key)
        return node.status() if node is not None else None

    def statuses(self) -> list[NodeStatus]:
        with self._lock:
            nodes = sorted(self._nodes.values(), key=lambda n: n.spec.key)
        return [node.status() for node in nodes]

    def spec_of(self, key: str) -> NodeSpec:
        """The node's current spec, without waiting for a start or stop under way; NodeNotFound
        when the agent has no such node."""
        node = self._nodes.get(key)
        if node is None or node.removed:
            raise NodeNotFound(key)
        return node.spec

    def paths(self, key: str) -> NodePaths:
        return NodePaths(self.nodes_dir / key)

    # --- supervision ----------------------------------------------------------------------------
    def supervise_in_background(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._supervise, name="node-supervisor", daemon=True)
        self._thread.start()

    def shutdown(self) -> None:
        """Stop supervising. Kafka processes keep running; the next agent re-adopts them."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        with self._lock:
            shippers = [node.shipper for node in self._nodes.values() if node.shipper is not None]
        for shipper in shippers:
            shipper.begin_stop()  # all at once: the agent is stopping
        for shipper in shippers:
            shipper.stop()
        self.node_metrics.close()

    def tick(self) -> None:
        """One supervision pass over every node."""
        with self._lock:
            nodes = list(self._nodes.values())
        for node in nodes:
            if not node.lock.acquire(blocking=False):
                continue  # an API call is working on it
            try:
                if not node.removed:
                    self._check(node, time.time())
            except Exception:
                log.exception("supervising %s failed", node.spec.key)
            finally:
                node.lock.release()
        self._serve_node_metrics(nodes)

    def _serve_node_metrics(self, nodes: list[_Node]) -> None:
        wanted: dict[str, NodeMetricsEndpoint] = {}
        for node in nodes:
            spec = node.spec
            address = _first_listener(spec.properties.get("listeners", ""))
            if node.removed or spec.node_exporter_port is None or address is None:
                continue
            wanted[spec.key] = NodeMetricsEndpoint(
                address[0], spec.node_exporter_port, _storage_dir(spec, node.paths)
            )
        self.node_metrics.sync(wanted)

    def _supervise(self) -> None:
        while not self._stopping.wait(self.policy.interval):
            self.tick()

    def _check(self, node: _Node, now: float) -> None:
        self._refresh(node, now)
        if node.pid is not None:
            if node.state == "starting":
                self._promote_if_listening(node, now)
            drifted = node.spec.desired == "stopped" or node.running_hash != node.spec.spec_hash
            if drifted:
                self._reconcile_soon(node)
        elif node.spec.desired == "running" and node.state == "crashed" and now >= node.retry_at:
            node.restarts += 1
            log.info("restarting %s (restart %d)", node.spec.key, node.restarts)
            if self._ensure_formatted(node):  # its volume may be gone (the crash's cause)
                self._start(node)

    def _reconcile_soon(self, node: _Node) -> None:
        """Reconcile on a worker thread: stopping a node may take a controlled shutdown's time."""
        if node.reconciling:
            return
        node.reconciling = True

        def work() -> None:
            try:
                with node.lock:
                    if not node.removed:
                        self._reconcile(node)
            except Exception:
                log.exception("reconciling %s failed", node.spec.key)
            finally:
                node.reconciling = False

        threading.Thread(target=work, name=f"reconcile-{node.spec.key}", daemon=True).start()

    # --- the steps (called with node.lock held) -------------------------------------------------
    def _reconcile(self, node: _Node) -> None:
        self._refresh(node, time.time())
        spec = node.spec
        if spec.desired == "stopped":
            self._stop(node)
            return
        if node.pid is not None:
            if node.running_hash == spec.spec_hash:
                return
            log.info("%s runs an older spec; restarting it", spec.key)
            self._stop(node)
        elif node.state in ("crashed", "failed"):
            return  # the supervision loop restarts a crashed node after its back-off delay
        if self._ensure_formatted(node):
            self._start(node)

    def _refresh(self, node: _Node, now: float) -> None:
        """Notice that the node's process has exited, and decide what happens next."""
        if node.pid is None:
            return
        exited, code = self._exit_status(node)
        if not exited:
            return
        uptime = now - (node.started_at or now)
        self._forget_process(node, code)
        tail = _log_tail(node.paths)
        how = f"exit code {code}" if code is not None else "unknown exit code"
        if node.spec.desired != "running":
            node.state = "stopped"
            return
        node.crash_streak = 1 if uptime >= self.policy.stable_after else node.crash_streak + 1
        summary = f"{node.spec.key} exited ({how}) after {uptime:.1f} s"
        if node.crash_streak >= self.policy.max_fast_crashes:
            node.state = "failed"
            node.message = f"gave up after {node.crash_streak} fast crashes; last: {how}\n{tail}"
            log.error("%s; giving up after %d fast crashes", summary, node.crash_streak)
        else:
            node.state = "crashed"
            node.message = f"{summary}\n{tail}"
            node.retry_at = now + self.policy.restart_delay(node.crash_streak)
            log.warning("%s; restarting in %.1f s", summary, node.retry_at - now)

    def _exit_status(self, node: _Node) -> tuple[bool, int | None]:
        assert node.pid is not None
        if node.popen is not None:
            code = node.popen.poll()  # waitpid(WNOHANG) on our own child
            return code is not None, code
        alive = processes.is_same_process(node.pid, node.start_ticks, str(node.paths.properties))
        return not alive, None

    def _forget_process(self, node: _Node, code: int | None) -> None:
        """The node's process is gone: drop what described it, its pid file and its cgroup."""
        node.pid = None
        node.popen = None
        node.start_ticks = None
        node.running_hash = None
        node.last_exit_code = code
        node.paths.pid_file.unlink(missing_ok=True)
        self.cpu_groups.release(node.spec.key)

    def _ensure_formatted(self, node: _Node) -> bool:
        spec = node.spec
        if spec.role == "connect":
            return True  # a Connect worker keeps its state in Kafka's topics, not on disk
        try:
            identity = NodeIdentity(spec.cluster_id, spec.node_id, spec.directory_id)
            volume = self._volume(node)
            encrypted = _encrypted(node)

            def mount() -> None:  # before anything looks inside
                if volume is not None and spec.volume_gb is not None:
                    volume.ensure(spec.volume_gb)
                if encrypted is not None:
                    encrypted.ensure(spec.storage_key)

            mount()
            if self._set_aside_lost_volume(node, volume, encrypted):
                mount()  # a fresh one
            if is_formatted(node.paths.data, identity):
                node.paths.formatted_marker.touch()
                return True
            node.state = "formatting"
            self._formatter(spec, node.paths)
            node.paths.formatted_marker.touch()
            return True
        except (
            StorageError,
            VolumeError,
            EncryptionError,
            DistributionError,
            JavaNotFound,
            OSError,
        ) as error:
            node.state = "failed"
            node.message = f"formatting storage failed: {error}"
            log.error("%s: %s", spec.key, node.message)
            return False

    def _volume(self, node: _Node) -> LoopVolume | None:
        """The broker's volume of its own: where this agent gives brokers volumes, or where the
        node has one already (its data is there, whatever the agent's mode is now)."""
        paths = node.paths
        if node.spec.role != "broker" or node.spec.volume_gb is None:
            return None
        if not self.loop_volumes and not paths.volume_image.exists():
            return None
        return LoopVolume(paths.volume_image, _storage_dir(node.spec, paths))

    def _grow_volume(self, node: _Node) -> None:
        """The broker's volume grows to its spec's size now, under its Kafka if that runs (a
        broker that stopped because its volume was full starts again on the grown one)."""
        volume = self._volume(node)
        if volume is None or not volume.exists() or node.spec.volume_gb is None:
            return
        try:
            volume.ensure(node.spec.volume_gb)
        except VolumeError as error:
            node.message = f"growing its volume failed: {error}"
            log.error("%s: %s", node.spec.key, node.message)

    @staticmethod
    def _release_volume(paths: NodePaths) -> None:
        EncryptedDirectory(paths.sealed, paths.data).release()  # first: it sits on the volume
        if paths.volume_image.exists():
            mount_point = paths.sealed if paths.sealed.exists() else paths.data
            LoopVolume(paths.volume_image, mount_point).release()

    @staticmethod
    def _set_aside_lost_volume(
        node: _Node, volume: LoopVolume | None, encrypted: EncryptedDirectory | None
    ) -> bool:
        """A data directory this agent formatted that has lost its meta.properties lost its
        volume (wiped, replaced, or deleted under a running Kafka, which may have written a few
        files into a new one before it stopped). Whatever is left is moved aside, never deleted,
        so that the node is formatted afresh with its own ids and Kafka copies its replicas back
        from the other brokers. A volume of its own is set aside whole (its image), an encrypted
        directory sealed as it is. True when something was moved."""
        data = node.paths.data
        if not node.paths.formatted_marker.exists() or (data / META_PROPERTIES).exists():
            return False
        if encrypted is not None:
            encrypted.release()
        if volume is not None and volume.exists():
            aside = volume.set_aside()
            log.warning("%s lost its data; its volume was moved to %s", node.spec.key, aside)
            return True
        left = node.paths.sealed if encrypted is not None else data
        if left.is_dir() and any(left.iterdir()):
            aside = left.with_name(f"{left.name}.lost-{int(time.time())}")
            log.warning("%s lost its data volume; moving what is left to %s", node.spec.key, aside)
            left.rename(aside)
            return True
        return False

    def _start(self, node: _Node) -> None:
        spec, paths = node.spec, node.paths
        try:
            command = self._command(spec, paths)
            paths.logs.mkdir(parents=True, exist_ok=True)
            with open(paths.stdout, "ab") as out:
                out.write(f"{_START_MARKER}{spec.key} at {time.ctime()}\n".encode())
                out.flush()
                popen = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=paths.root,
                    start_new_session=True,
                    close_fds=True,
                )
        except (DistributionError, JavaNotFound, PluginBuildError, OSError) as error:
            node.state = "failed"
            node.message = f"cannot start: {error}"
            log.error("%s: %s", spec.key, node.message)
            return
        self.cpu_groups.place(spec.key, popen.pid, spec.cpu_weight)
        stat = processes.read_stat(popen.pid)
        node.popen = popen
        node.pid = popen.pid
        node.start_ticks = stat.start_ticks if stat else None
        node.started_at = time.time()
        node.running_hash = spec.spec_hash
        node.state = "starting"
        _ProcessRecord(
            pid=popen.pid,
            start_ticks=node.start_ticks,
            started_at=node.started_at,
            spec_hash=node.running_hash,
            restarts=node.restarts,
        ).write(paths.pid_file)
        log.info("started %s (pid %d)", spec.key, popen.pid)

    def _stop(self, node: _Node, timeout: float | None = None) -> None:
        """SIGTERM the node's process group (Kafka shuts down in a controlled way), then SIGKILL
        when it has not exited after `timeout` seconds."""
        timeout = self.policy.stop_timeout if timeout is None else timeout
        if node.pid is not None and not self._exit_status(node)[0]:
            pid = node.pid
            log.info("stopping %s (pid %d)", node.spec.key, pid)
            processes.signal_process_group(pid, signal.SIGTERM)
            if not self._wait_for_exit(node, timeout):
                log.warning("%s did not stop within %.0f s; killing it", node.spec.key, timeout)
                processes.signal_process_group(pid, signal.SIGKILL)
                self._wait_for_exit(node, 10.0)
        if node.pid is not None:
            code = node.popen.poll() if node.popen is not None else None
            self._forget_process(node, code)
        node.state = "stopped"
        node.message = None

    def _wait_for_exit(self, node: _Node, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            if self._exit_status(node)[0]:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)

    def _promote_if_listening(self, node: _Node, now: float) -> None:
        """starting -> running once the node's first listener accepts connections."""
        address = _first_listener(node.spec.properties.get("listeners", ""))
        if address is None:
            if now - (node.started_at or now) >= self.policy.running_without_listener_after:
                node.state = "running"
            return
        with contextlib.suppress(OSError), socket.create_connection(address, timeout=0.2):
            node.state = "running"

    def _reset_crashes(self, node: _Node) -> None:
        node.crash_streak = 0
        if node.state in ("crashed", "failed"):
            node.state = "stopped"
            node.message = None

    # --- files ----------------------------------------------------------------------------------
    def _write_files(self, node: _Node) -> None:
        paths, spec = node.paths, node.spec
        paths.root.mkdir(parents=True, exist_ok=True)
        replace_file(paths.spec, spec.to_json() + "\n")
        properties = spec.server_properties(str(paths.data))
        if spec.role == "connect":
            properties.update(write_worker_trust(spec, paths.tls))
            if spec.aws_credentials is not None:
                write_aws_profile(spec.aws_credentials, paths.aws)
        else:
            properties.update(write_tls_files(spec, paths.tls))
            properties.update(write_iam_files(spec, paths.iam))
        replace_file(
            paths.properties, "# Written by the Steward agent.\n" + render_properties(properties)
        )
        replace_file(paths.log4j, render_log4j2_properties())

    def _ship_logs(self, node: _Node) -> None:
        """Start, change or stop the delivery of the node's log as its spec says, live."""
        spec = node.spec
        delivery = LogDelivery.from_dict(spec.log_delivery) if spec.log_delivery else None
        if delivery is not None and delivery.security_protocol == "SSL":
            # the cluster's CA, which the broker's listeners use too
            delivery = dataclasses.replace(
                delivery, ca_certificates=delivery.ca_certificates or spec.tls_trusted_certificates
            )
        try:
            node.shipper = ship_logs(
                node.shipper,
                delivery,
                spec.node_id,
                node.paths.logs,
                node.paths.root,
                self.log_destinations,
            )
        except OSError as error:
            log.error("%s: cannot deliver its log: %s", spec.key, error)

    def _load(self) -> None:
        """Read every node directory and re-adopt the processes that still run."""
        for root in sorted(self.nodes_dir.iterdir()):
            paths = NodePaths(root)
            if not paths.spec.is_file():
                continue
            try:
                spec = NodeSpec.from_json(paths.spec.read_text())
            except (InvalidSpec, ValueError, OSError) as error:
                log.error("ignoring %s: unreadable spec: %s", root, error)
                continue
            node = _Node(spec, paths)
            self._adopt(node)
            self._ship_logs(node)
            self._nodes[spec.key] = node

    def _adopt(self, node: _Node) -> None:
        record = _ProcessRecord.read(node.paths.pid_file)
        if record is not None:
            properties = str(node.paths.properties)
            if processes.is_same_process(record.pid, record.start_ticks, properties):
                node.pid, node.start_ticks = record.pid, record.start_ticks
                node.started_at = record.started_at
                node.running_hash = record.spec_hash
                node.restarts = record.restarts
                node.state = "starting"
                # Already in its group, unless the weight or the host changed since its start.
                self.cpu_groups.place(node.spec.key, record.pid, node.spec.cpu_weight)
                self._promote_if_listening(node, time.time())
                log.info("re-adopted %s (pid %d, %s)", node.spec.key, record.pid, node.state)
                return
            node.paths.pid_file.unlink(missing_ok=True)
        self.cpu_groups.release(node.spec.key)  # its process died while no agent ran
        if node.spec.desired == "running":
            node.state = "crashed"  # the supervision loop starts it right away
            node.message = "was not running when the agent started"
            node.retry_at = 0.0
            log.info("%s is not running; it will be started", node.spec.key)
        else:
            node.state = "stopped"

    def _lock_node(self, key: str, create_with: NodeSpec | None = None) -> _Node:
        """The node `key`, locked; created from `create_with` when unknown."""
        while True:
            with self._lock:
                node = self._nodes.get(key)
                if node is None:
                    if create_with is None:
                        raise NodeNotFound(key)
                    node = _Node(create_with, self.paths(key))
                    self._nodes[key] = node
            node.lock.acquire()
            if not node.removed:
                return node
            node.lock.release()  # removed while we waited; look again


def _cpu_seconds(pid: int | None) -> float | None:
    stat = processes.read_stat(pid) if pid is not None else None
    return stat.cpu_seconds if stat is not None else None


def _first_listener(listeners: str) -> tuple[str, int] | None:
    """`NAME://host:port,...` -> the first (host, port) to connect to."""
    first = listeners.split(",")[0].strip()
    if "://" not in first:
        return None
    host, _, port = first.split("://", 1)[1].rpartition(":")
    host = host.strip("[]")
    if not port.isdigit():
        return None
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return host, int(port)


def _log_tail(paths: NodePaths, lines: int = 20, limit: int = 4000) -> str:
    """The last lines the node wrote to stdout since its latest start, else of its server.log."""
    tail = ""
    with contextlib.suppress(OSError):
        text = _read_end(paths.stdout, 64_000)
        since_start = text.rsplit(_START_MARKER, 1)[-1].split("\n", 1)[-1]
        tail = "\n".join(since_start.strip().splitlines()[-lines:])
    if not tail:
        with contextlib.suppress(OSError):
            tail = "\n".join(_read_end(paths.server_log, 64_000).strip().splitlines()[-lines:])
    return tail[-limit:]


def _read_end(path: Path, size: int) -> str:
    with open(path, "rb") as file:
        file.seek(0, os.SEEK_END)
        file.seek(max(0, file.tell() - size))
        return file.read().decode(errors="replace")


@dataclass(frozen=True)
class _ProcessRecord:
    """The pid file: which process runs the node, and with which spec."""

    pid: int
    start_ticks: int | None
    started_at: float
    spec_hash: str
    restarts: int = 0

    def write(self, path: Path) -> None:
        replace_file(path, json.dumps(asdict(self)) + "\n")

    @classmethod
    def read(cls, path: Path) -> _ProcessRecord | None:
        try:
            data = json.loads(path.read_text())
            return cls(
                pid=int(data["pid"]),
                start_ticks=None if data["start_ticks"] is None else int(data["start_ticks"]),
                started_at=float(data["started_at"]),
                spec_hash=str(data["spec_hash"]),
                restarts=int(data.get("restarts", 0)),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

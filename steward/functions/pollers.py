"""The pollers' supervisor: a background task of the control plane that keeps one poller process
(`steward.functions.poller`) per enabled event-source mapping alive, with the configuration the
store gives it, and moves each mapping through Lambda's states (Creating, Enabling, Updating to
Enabled; Disabling to Disabled; Deleting to gone).

Level-triggered: each pass compares what runs with what the store says, starts a missing or dead
poller, restarts one whose configuration changed, stops one no longer wanted, and copies each
poller's progress (last processing result, errors, lag) to the store and to the metric store
(`OffsetLag`, `Errors`, `Invocations`, per function and mapping UUID).

The pollers run on the control plane's host as its children: they need the store's view of the
cluster and the function, which is here, and a supervisor that notices a death within a pass.
They end with the control plane (each watches its parent), and the next control plane starts
them again from the group's committed offsets, so nothing is lost in between."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from steward.files import replace_file
from steward.functions.connection import ClusterConnections, ClusterUnavailable
from steward.functions.filters import parse_patterns
from steward.functions.iam_token import read_credentials, write_credentials
from steward.functions.poller import PollerConfig
from steward.functions.role_sessions import RoleNotAssumable, RoleSessions
from steward.functions.service import (
    ACTIVE,
    CREATING,
    DELETING,
    DISABLED,
    DISABLING,
    ENABLED,
    ENABLING,
    UPDATING,
    Functions,
    failure_topic,
)
from steward.functions.store import MappingRecord
from steward.monitor.store import Sample

log = logging.getLogger(__name__)

INTERVAL = 2.0
STOP_TIMEOUT = 10.0
RESTART_DELAY = 1.0

PutSamples = Callable[[Iterable[Sample]], object]


@dataclass
class _Running:
    process: subprocess.Popen[bytes]
    digest: str
    started: float
    directory: Path
    errors_seen: int = 0
    invocations_seen: int = 0


class Pollers:
    interval = INTERVAL

    def __init__(
        self,
        functions: Functions,
        connections: ClusterConnections,
        home: Path,
        put_samples: PutSamples | None = None,
        role_sessions: RoleSessions | None = None,
        region: str = "us-east-1",
    ) -> None:
        self.functions = functions
        self.connections = connections
        self.home = home
        self.put_samples = put_samples
        self.role_sessions = role_sessions
        """How pollers on clusters that require IAM get their function's role credentials."""
        self.region = region
        self.running: dict[str, _Running] = {}
        self.restarts: dict[str, int] = {}
        self._last_exit: dict[str, float] = {}

    # --- one pass -------------------------------------------------------------------------------
    def pass_once(self) -> None:
        wanted: set[str] = set()
        for mapping in self.functions.mappings.list():
            try:
                if self._reconcile(mapping):
                    wanted.add(mapping.uuid)
            except Exception:
                log.exception("event-source mapping %s: a pass failed", mapping.uuid)
                if mapping.uuid in self.running:
                    wanted.add(mapping.uuid)
        for gone in set(self.running) - wanted:
            self._stop(gone)
        if self.role_sessions is not None:
            self.role_sessions.retain(wanted)

    def _reconcile(self, mapping: MappingRecord) -> bool:
        """Bring one mapping toward its desired state; whether its poller should run."""
        records = self.functions.mappings
        if mapping.state == DELETING:
            self._stop(mapping.uuid)
            records.remove(mapping.uuid)
            return False
        if not mapping.config.get("Enabled", True):
            self._stop(mapping.uuid)
            if mapping.state != DISABLED:
                records.set_progress(mapping.uuid, state=DISABLED)
            return False
        function = self.functions.functions.get(mapping.function_name)
        if function is None:
            self._stop(mapping.uuid)
            records.set_progress(mapping.uuid, result="PROBLEM: Function not found")
            return False
        if function.state != ACTIVE:
            return mapping.uuid in self.running
        try:
            connection = self.connections.for_mapping(
                mapping.config["EventSourceArn"],
                mapping.config.get("SourceAccessConfigurations") or [],
            )
        except ClusterUnavailable as error:
            self._stop(mapping.uuid)
            records.set_progress(mapping.uuid, result=f"PROBLEM: Connection error. {error}")
            return False
        directory = self.home / mapping.uuid
        credentials_path: str | None = None
        if connection.signs_with_role:
            try:
                credentials_path = str(self._hand_credentials(mapping, function.config, directory))
            except RoleNotAssumable as error:
                self._stop(mapping.uuid)
                records.set_progress(mapping.uuid, result=f"PROBLEM: {error}")
                return False
        elif self.role_sessions is not None:
            self.role_sessions.forget(mapping.uuid)
        config = PollerConfig(
            uuid=mapping.uuid,
            function_arn=self.functions.function_arn(function.name),
            cluster_arn=mapping.config["EventSourceArn"],
            servers=connection.servers,
            kafka_settings=connection.settings,
            shown_servers=connection.shown_servers,
            topics=list(mapping.config["Topics"]),
            group_id=mapping.config["AmazonManagedKafkaEventSourceConfig"]["ConsumerGroupId"],
            starting_position=mapping.config["StartingPosition"],
            starting_timestamp_ms=(
                int(mapping.config["StartingPositionTimestamp"] * 1000)
                if mapping.config.get("StartingPositionTimestamp") is not None
                else None
            ),
            batch_size=int(mapping.config["BatchSize"]),
            window=(
                float(mapping.config["MaximumBatchingWindowInSeconds"])
                if mapping.config.get("MaximumBatchingWindowInSeconds") is not None
                else None
            ),
            patterns=parse_patterns(mapping.config.get("FilterCriteria")),
            failure_topic=failure_topic(mapping.config),
            max_retries=int(mapping.config.get("MaximumRetryAttempts", -1)),
            function=self.functions.spec(function).to_json(),
            status_path=str(directory / "status.json"),
            region=self.region,
            credentials_path=credentials_path,
        )
        self._ensure_running(mapping.uuid, config, directory)
        if mapping.state in (CREATING, ENABLING, UPDATING, DISABLING):
            records.set_progress(mapping.uuid, state=ENABLED, reason="USER_INITIATED")
        self._report(mapping)
        return True

    def _hand_credentials(
        self, mapping: MappingRecord, function_config: dict[str, object], directory: Path
    ) -> Path:
        """The role session's credentials in the poller's 0600 file, renewed before they end;
        the file is rewritten only when the session changed, and the poller rereads it for
        each token, so a renewal restarts nothing."""
        if self.role_sessions is None:
            raise RoleNotAssumable("Steward has no IAM to sign in to this cluster with.")
        role = function_config.get("Role")
        credentials = self.role_sessions.credentials_for(mapping.uuid, str(role) if role else None)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "credentials.json"
        try:
            current = read_credentials(path)
        except (OSError, ValueError, KeyError):
            current = None
        if current != credentials:
            write_credentials(path, credentials)
        return path

    def _ensure_running(self, mapping_uuid: str, config: PollerConfig, directory: Path) -> None:
        body = json.dumps(config.to_json(), sort_keys=True)
        digest = hashlib.sha256(body.encode()).hexdigest()
        held = self.running.get(mapping_uuid)
        if held is not None and held.process.poll() is None and held.digest == digest:
            return
        if held is not None:
            if held.process.poll() is not None:
                log.warning(
                    "event-source mapping %s: its poller (pid %d) exited with %s; starting another",
                    mapping_uuid,
                    held.process.pid,
                    held.process.returncode,
                )
                self.restarts[mapping_uuid] = self.restarts.get(mapping_uuid, 0) + 1
                self._last_exit[mapping_uuid] = time.monotonic()
            self._stop(mapping_uuid)
        if time.monotonic() - self._last_exit.get(mapping_uuid, 0.0) < RESTART_DELAY:
            return
        directory.mkdir(parents=True, exist_ok=True)
        config_path = directory / "config.json"
        replace_file(config_path, body, private=True)  # credentials inside
        with open(directory / "poller.log", "ab") as poller_log:
            process = subprocess.Popen(
                [sys.executable, "-m", "steward.functions.poller", str(config_path)],
                stdout=poller_log,
                stderr=poller_log,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": _steward_path()},
            )
        log.info("event-source mapping %s: poller started (pid %d)", mapping_uuid, process.pid)
        self.running[mapping_uuid] = _Running(process, digest, time.time(), directory)

    def _report(self, mapping: MappingRecord) -> None:
        held = self.running.get(mapping.uuid)
        if held is None:
            return
        try:
            status = json.loads((held.directory / "status.json").read_text())
        except (OSError, json.JSONDecodeError):
            return
        if status.get("pid") != held.process.pid:
            return  # the last poller's file
        result = status.get("last_processing_result")
        if result and result != mapping.last_processing_result:
            self.functions.mappings.set_progress(mapping.uuid, result=result)
        if self.put_samples is None:
            return
        now = time.time()
        dimensions = {"FunctionName": mapping.function_name, "EventSourceMappingUUID": mapping.uuid}
        samples = []
        if status.get("lag") is not None:
            samples.append(Sample("OffsetLag", dimensions, now, float(status["lag"])))
        errors, invocations = int(status.get("errors", 0)), int(status.get("invocations", 0))
        samples.append(Sample("Errors", dimensions, now, float(max(0, errors - held.errors_seen))))
        samples.append(
            Sample(
                "Invocations", dimensions, now, float(max(0, invocations - held.invocations_seen))
            )
        )
        held.errors_seen, held.invocations_seen = errors, invocations
        self.put_samples(samples)

    # --- stopping -------------------------------------------------------------------------------
    def _stop(self, mapping_uuid: str) -> None:
        held = self.running.pop(mapping_uuid, None)
        if held is None:
            return
        process = held.process
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        log.info("event-source mapping %s: poller stopped", mapping_uuid)

    def stop_all(self) -> None:
        for mapping_uuid in list(self.running):
            self._stop(mapping_uuid)

    def pid(self, mapping_uuid: str) -> int | None:
        held = self.running.get(mapping_uuid)
        return held.process.pid if held is not None and held.process.poll() is None else None


def _steward_path() -> str:
    """The directory Steward's package is imported from, so the poller imports the same one."""
    import steward

    root = str(Path(steward.__file__).resolve().parent.parent)
    current = os.environ.get("PYTHONPATH")
    return root if not current else f"{root}{os.pathsep}{current}"

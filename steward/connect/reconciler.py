"""The background pass that drives MSK Connect's resources toward what the store asks for.

Level-triggered and idempotent: every pass reads every plugin and connector and takes the next
step, assuming nothing of the pass before.

- A CREATING custom plugin is fetched, unpacked and scanned for connector classes: ACTIVE, or
  CREATE_FAILED with why; a DELETING one is removed with its files.
- A connector whose plugin failed, or lacks its connector class, is FAILED with why, and runs no
  worker. Otherwise its workers are placed and handed to their agents (which restart them when
  they die), the connector's configuration is put through Connect's REST API once a worker
  answers, and the connector's state follows Connect's status of the connector and its tasks.
- A connector that signs in with IAM gets a session of its service execution role, assumed as
  `kafkaconnect.amazonaws.com` and renewed well before it ends; every pass hands the current one
  to the workers' agents, which keep it where the workers' AWS SDK reads it.
- Each worker's logs go where the connector's `logDelivery` says (`worker_logs`), delivered by
  its agent.
- A DELETING connector's workers are removed from their agents, then the connector.
- Autoscaling connectors get one worker more or fewer by the CPU rule (`autoscaling`).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from steward.agent.client import AgentError, AgentUnavailable
from steward.agent.launcher import AgentStartError
from steward.agent.spec import NodeSpec
from steward.connect.autoscaling import CpuAutoscaler
from steward.connect.plugin_files import S3Access, fetch_plugin_file
from steward.connect.rest import ConnectRest, ConnectRestError
from steward.connect.service import decode_worker_properties, plugin_arns
from steward.connect.store import (
    ConnectorRecord,
    ConnectRecords,
    CustomPluginRecord,
    StateDescription,
    WorkerConfigurationRecord,
    WorkerPlacement,
)
from steward.connect.worker_logs import worker_log_delivery
from steward.connect.workers import (
    ClusterEndpoint,
    ConnectorFailed,
    NotReadyYet,
    desired_worker_count,
    mcu_count,
    place_workers,
    signs_in_with_iam,
    worker_spec,
)
from steward.control.agents import AgentDirectory
from steward.functions.iam_token import RoleCredentials
from steward.functions.role_sessions import RoleNotAssumable, RoleSessions
from steward.kafka.connect_plugins import PluginContentError, connector_plugins, unpack_plugin
from steward.kafka.distribution import DEFAULT_KAFKA_VERSION, DistributionError
from steward.kafka.java import JavaNotFound
from steward.settings import Settings
from steward.store.store import Store

log = logging.getLogger(__name__)

AGENT_TIMEOUT = 30.0
START_TIMEOUT = 900.0
"""Seconds a connector may stay CREATING or UPDATING before it is FAILED."""

CONNECT_PRINCIPAL = "kafkaconnect.amazonaws.com"
CONNECT_ROLE_NOT_ASSUMABLE = "MSK Connect cannot assume the connector's service execution role."

EndpointResolver = Callable[[ConnectorRecord], ClusterEndpoint]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ConnectReconciler:
    records: ConnectRecords
    settings: Settings
    agents: AgentDirectory
    store: Store
    endpoint: EndpointResolver
    s3: S3Access
    interval: float = 5.0
    autoscaler: CpuAutoscaler = field(default_factory=CpuAutoscaler)
    sessions: RoleSessions | None = None
    """Sessions of IAM connectors' service execution roles (as `kafkaconnect.amazonaws.com`);
    None: connectors that sign in with IAM fail."""

    @property
    def plugins_root(self) -> Path:
        return self.settings.home / "connect" / "plugins"

    def pass_once(self) -> None:
        for plugin in self.records.all(CustomPluginRecord):
            try:
                self._plugin(plugin)
            except Exception:
                log.exception("custom plugin %s: the pass failed", plugin.name)
        connectors = self.records.all(ConnectorRecord)
        for connector in connectors:
            try:
                self._connector(connector)
            except Exception:
                log.exception("connector %s: the pass failed", connector.name)
        if self.sessions is not None:
            running = {c.connector_id for c in connectors if c.state not in ("FAILED", "DELETING")}
            self.sessions.retain(running)

    # --- custom plugins -------------------------------------------------------------------------
    def _plugin(self, plugin: CustomPluginRecord) -> None:
        directory = self.plugins_root / plugin.arn.rsplit("/", 1)[-1]
        if plugin.state == "DELETING":
            shutil.rmtree(directory, ignore_errors=True)
            self.records.remove(plugin.arn)
            return
        if plugin.state != "CREATING":
            return
        try:
            fetched = fetch_plugin_file(plugin.location, self.s3, directory / "archive")
            plugin.file_md5, plugin.file_size = fetched.md5, fetched.size
            path = directory / "path"
            unpack_plugin(fetched.path, plugin.content_type, path)
            found = connector_plugins(path, DEFAULT_KAFKA_VERSION)
            if not found:
                raise PluginContentError(
                    f"The {plugin.content_type} file holds no Kafka Connect connector class."
                )
        except (PluginContentError, DistributionError, JavaNotFound, OSError) as error:
            plugin.state = "CREATE_FAILED"
            plugin.state_description = StateDescription("INVALID_PLUGIN", str(error))
            shutil.rmtree(directory / "path", ignore_errors=True)
            log.warning("custom plugin %s failed: %s", plugin.name, error)
        else:
            plugin.state = "ACTIVE"
            plugin.state_description = None
            plugin.connector_classes = sorted(p.class_name for p in found)
            plugin.plugin_path = str(path)
            log.info("custom plugin %s: %s", plugin.name, ", ".join(plugin.connector_classes))
        self.records.observe(plugin)

    # --- connectors -----------------------------------------------------------------------------
    def _connector(self, connector: ConnectorRecord) -> None:
        if connector.state == "DELETING":
            if self._remove_workers(connector.workers):
                self.records.remove(connector.arn)
                log.info("connector %s deleted", connector.name)
            return
        if connector.state == "FAILED":
            return  # until UpdateConnector asks again: restarting it each pass would churn
        try:
            plugin = self._usable_plugin(connector)
            if plugin is None:
                return  # still being created
            self._run(connector, plugin)
        except ConnectorFailed as failure:
            self._fail(connector, failure.code, failure.message)

    def _usable_plugin(self, connector: ConnectorRecord) -> CustomPluginRecord | None:
        arn = plugin_arns(connector.spec)[0]
        plugin = self.records.get(CustomPluginRecord, arn)
        if plugin is None or plugin.state == "DELETING":
            raise ConnectorFailed("PLUGIN_NOT_FOUND", f"The custom plugin {arn} does not exist.")
        if plugin.state == "CREATE_FAILED":
            reason = plugin.state_description.message if plugin.state_description else ""
            raise ConnectorFailed(
                "PLUGIN_FAILED", f"The custom plugin {plugin.name} could not be created: {reason}"
            )
        if plugin.state != "ACTIVE":
            return None
        wanted = connector.spec["connectorConfiguration"]["connector.class"]
        if not _names_class(wanted, plugin.connector_classes):
            raise ConnectorFailed(
                "CONNECTOR_CLASS_NOT_FOUND",
                f"connector.class {wanted} is not in the custom plugin {plugin.name}, which "
                f"holds {', '.join(plugin.connector_classes)}.",
            )
        return plugin

    def _worker_configuration(self, connector: ConnectorRecord) -> dict[str, str]:
        reference = connector.spec.get("workerConfiguration")
        if not reference:
            return {}
        configuration = self.records.get(
            WorkerConfigurationRecord, reference["workerConfigurationArn"]
        )
        if configuration is None:
            raise ConnectorFailed(
                "WORKER_CONFIGURATION_NOT_FOUND",
                f"The worker configuration {reference['workerConfigurationArn']} does not exist.",
            )
        revision = next(r for r in configuration.revisions if r.revision == reference["revision"])
        return decode_worker_properties(revision.properties_file_content)

    def _run(self, connector: ConnectorRecord, plugin: CustomPluginRecord) -> None:
        try:
            endpoint = self.endpoint(connector)
        except NotReadyYet as waiting:
            self._check_start_timeout(connector, str(waiting))
            return
        worker_configuration = self._worker_configuration(connector)
        self._autoscale(connector)
        count = desired_worker_count(connector)
        workers = place_workers(
            connector, count, self.settings, self._used_addresses(connector), self._load()
        )
        if [w.key for w in workers] != [w.key for w in connector.workers]:
            extra = [w for w in connector.workers if w.key not in {p.key for p in workers}]
            connector.workers = workers + extra  # recorded before anything runs
            if not self.records.observe(connector):
                return
            if extra and self._remove_workers(extra):
                connector.workers = workers
                if not self.records.observe(connector):
                    return
        mcu = mcu_count(connector)
        credentials = self._role_credentials(connector)
        assert plugin.plugin_path is not None
        for index, worker in enumerate(workers):
            spec = worker_spec(
                connector,
                worker,
                index,
                endpoint,
                plugin.plugin_path,
                worker_configuration,
                mcu,
                role_credentials=credentials,
                region=self.settings.region,
                log_delivery=worker_log_delivery(connector, worker, endpoint, self.settings),
            )
            self._apply(worker, spec)
        self._drive_connect(connector, workers)

    def _role_credentials(self, connector: ConnectorRecord) -> RoleCredentials | None:
        """The session an IAM connector's workers sign in with, renewed when it is near its
        end (the new key reaches the brokers before it is handed on); None without IAM."""
        if not signs_in_with_iam(connector):
            return None
        role = connector.spec["serviceExecutionRoleArn"]
        if self.sessions is None:
            raise ConnectorFailed(
                "ROLE_NOT_ASSUMABLE", "IAM client authentication is not available here."
            )
        try:
            return self.sessions.credentials_for(connector.connector_id, role)
        except RoleNotAssumable as refused:
            raise ConnectorFailed("ROLE_NOT_ASSUMABLE", str(refused)) from refused

    def _drive_connect(self, connector: ConnectorRecord, workers: list[WorkerPlacement]) -> None:
        rest = next(
            (r for r in (ConnectRest(w.address, w.port) for w in workers) if r.ready()), None
        )
        if rest is None:
            self._check_start_timeout(connector, "No Kafka Connect worker answered.")
            return
        configuration = connector.spec["connectorConfiguration"]
        try:
            running = rest.connector_config(connector.name)
            if running is None or _without_name(running) != configuration:
                rest.put_connector_config(connector.name, configuration)
                return  # its status shows on a later pass
            status = rest.status(connector.name)
            if status and self._drive_lifecycle(connector, rest, status):
                return  # its status shows on a later pass
        except ConnectRestError as error:
            if error.status is not None and 400 <= error.status < 500 and error.status != 409:
                raise ConnectorFailed("INVALID_CONFIGURATION", error.message) from error
            self._check_start_timeout(connector, f"Kafka Connect did not answer: {error}")
            return
        self._follow_status(connector, status)

    def _drive_lifecycle(
        self, connector: ConnectorRecord, rest: ConnectRest, status: dict[str, Any]
    ) -> bool:
        """Pause, resume or restart as the record asks; whether Connect was asked anything."""
        state = (status.get("connector") or {}).get("state")
        if connector.restart is not None:
            rest.restart(connector.name, only_failed=connector.restart == "failed")
            connector.restart = None
            self.records.observe(connector)
            return True
        if connector.paused and state != "PAUSED":
            rest.pause(connector.name)
            return True
        if not connector.paused and state == "PAUSED":
            rest.resume(connector.name)
            return True
        return False

    def _follow_status(self, connector: ConnectorRecord, status: dict[str, Any] | None) -> None:
        if not status:
            return
        tasks = status.get("tasks") or []
        failed = [t for t in tasks if t.get("state") == "FAILED"]
        state = (status.get("connector") or {}).get("state")
        if state == "FAILED" or failed:
            trace = (status["connector"] if state == "FAILED" else failed[0]).get("trace", "")
            first = trace.strip().splitlines()[0] if trace.strip() else "no trace"
            which = "The connector" if state == "FAILED" else f"Task {failed[0].get('id')}"
            raise ConnectorFailed("CONNECTOR_FAILED", f"{which} failed: {first}")
        if connector.paused and state == "PAUSED":
            if connector.state != "PAUSED":
                connector.state = "PAUSED"
                connector.state_since = _now()
                self.records.observe(connector)
                log.info("connector %s is PAUSED", connector.name)
            return
        if state == "RUNNING" and tasks and all(t.get("state") == "RUNNING" for t in tasks):
            if connector.state != "RUNNING":
                connector.state = "RUNNING"
                connector.state_since = _now()
                connector.state_description = None
                self.records.observe(connector)
                log.info("connector %s is RUNNING with %d tasks", connector.name, len(tasks))
            return
        self._check_start_timeout(connector, f"Kafka Connect reports the connector {state}.")

    def _check_start_timeout(self, connector: ConnectorRecord, why: str) -> None:
        if connector.state not in ("CREATING", "UPDATING", "RESTARTING", "PAUSING", "RESUMING"):
            return
        since = connector.state_since or connector.created_at
        if (_now() - since).total_seconds() > START_TIMEOUT:
            raise ConnectorFailed(
                "TIMED_OUT", f"The connector did not start within {START_TIMEOUT:.0f} s: {why}"
            )

    def _fail(self, connector: ConnectorRecord, code: str, message: str) -> None:
        """FAILED, with no worker left running."""
        if self._remove_workers(connector.workers):
            connector.workers = []
        description = StateDescription(code, message)
        if connector.state != "FAILED" or connector.state_description != description:
            log.warning("connector %s failed: %s", connector.name, message)
        connector.state = "FAILED"
        connector.state_since = _now()
        connector.state_description = description
        self.records.observe(connector)

    # --- agents ---------------------------------------------------------------------------------
    def _apply(self, worker: WorkerPlacement, spec: NodeSpec) -> None:
        client = self.agents.client(worker.agent, timeout=AGENT_TIMEOUT)
        try:
            client.apply(spec)
        except AgentUnavailable:
            try:
                self.agents.ensure_local_agent(worker.agent)
            except (AgentStartError, KeyError) as error:
                log.warning("worker %s: agent %s: %s", worker.key, worker.agent, error)
        except AgentError as error:
            raise ConnectorFailed("WORKER_REFUSED", f"Agent {worker.agent}: {error}") from error

    def _remove_workers(self, workers: list[WorkerPlacement]) -> bool:
        done = True
        for worker in workers:
            try:
                self.agents.client(worker.agent, timeout=AGENT_TIMEOUT).remove(worker.key)
            except (AgentUnavailable, AgentError) as error:
                log.warning("worker %s: cannot remove it yet: %s", worker.key, error)
                done = False
        return done

    def _used_addresses(self, connector: ConnectorRecord) -> set[str]:
        used = {n.host for c in self.store.list_clusters() for n in self.store.nodes(c.arn)}
        for other in self.records.all(ConnectorRecord):
            if other.arn != connector.arn:
                used |= {w.address for w in other.workers}
        return used

    def _load(self) -> dict[str, int]:
        load = dict(self.store.nodes_per_agent())
        for connector in self.records.all(ConnectorRecord):
            for worker in connector.workers:
                load[worker.agent] = load.get(worker.agent, 0) + 1
        return load

    def _autoscale(self, connector: ConnectorRecord) -> None:
        auto = connector.spec["capacity"].get("autoScaling")
        if auto is None or connector.state != "RUNNING" or not connector.workers:
            return
        mcu = mcu_count(connector)
        for worker in connector.workers:
            try:
                status = self.agents.client(worker.agent, timeout=AGENT_TIMEOUT).node(worker.key)
            except (AgentUnavailable, AgentError):
                continue
            if status is not None:
                self.autoscaler.sample(worker.key, status.cpu_seconds, mcu)
        keys = [w.key for w in connector.workers]
        wanted = self.autoscaler.decide(connector.arn, keys, auto)
        if wanted != len(keys):
            log.info("connector %s: %d workers -> %d (CPU rule)", connector.name, len(keys), wanted)
            connector.worker_count = wanted
            self.records.observe(connector)


def _without_name(config: dict[str, str]) -> dict[str, str]:
    """A connector's configuration as Connect gives it back, less the `name` it adds."""
    return {k: v for k, v in config.items() if k != "name"}


def _names_class(wanted: str, classes: list[str]) -> bool:
    """Connect takes a connector's full class name, its simple name, or that without
    `Connector`."""
    for name in classes:
        simple = name.rsplit(".", 1)[-1]
        if wanted in (name, simple, simple.removesuffix("Connector")):
            return True
    return False

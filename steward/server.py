"""The control plane process: the MSK-compatible API, the store and the reconciler.

Stopping it (or killing it) leaves every Kafka process running under its agent; the next start
re-reads the store and carries on with whatever operation was in flight.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from steward.api.app import build_app
from steward.api.auth.startup import prepare_authentication
from steward.control.agents import AgentDirectory
from steward.control.alarm_monitor import AlarmMonitor, StoredMetrics
from steward.control.context import ReconcileContext
from steward.control.health_monitor import HealthMonitor
from steward.control.node_specs import NodeSpecRenderer
from steward.control.reconciler import Reconciler
from steward.control.service import ClusterService
from steward.crypto.master_key import MasterKey
from steward.monitor.admin_metrics import AdminMetricsCollector
from steward.monitor.scraper import MetricsScraper
from steward.security.certificates import ClusterCertificates, ca_certificate
from steward.security.client_trust import ClientTrust
from steward.security.data_keys import DataKeys
from steward.security.policy_sync import PolicySync
from steward.security.scram import ScramSync
from steward.settings import Settings
from steward.store.store import Store

log = logging.getLogger("steward")


@dataclass
class ControlPlane:
    settings: Settings
    store: Store
    service: ClusterService
    reconciler: Reconciler
    monitor: HealthMonitor | None
    scram_sync: ScramSync | None = None
    scraper: MetricsScraper | None = None
    admin_metrics: AdminMetricsCollector | None = None
    alarms: AlarmMonitor | None = None
    client_trust: ClientTrust | None = None
    policy_sync: PolicySync | None = None

    def start(self) -> None:
        self.reconciler.start()
        if self.client_trust is not None:
            self.client_trust.start(self.reconciler.ctx.agents.client, self.reconciler.ctx.render)
        if self.monitor is not None:
            self.monitor.start()
        if self.scram_sync is not None:
            self.scram_sync.start()
        if self.policy_sync is not None:
            self.policy_sync.start()
        if self.scraper is not None:
            self.scraper.start()
        if self.admin_metrics is not None:
            self.admin_metrics.start()
        if self.alarms is not None:
            self.alarms.start()

    def close(self) -> None:
        if self.client_trust is not None:
            self.client_trust.stop()
        if self.alarms is not None:
            self.alarms.stop()
        if self.admin_metrics is not None:
            self.admin_metrics.stop()
        if self.scraper is not None:
            self.scraper.stop()
        self.service.metrics.close()
        if self.scram_sync is not None:
            self.scram_sync.stop()
        if self.policy_sync is not None:
            self.policy_sync.stop()
        if self.monitor is not None:
            self.monitor.stop()
        self.reconciler.stop()
        self.store.close()


def build_control_plane(settings: Settings) -> ControlPlane:
    settings.home.mkdir(parents=True, exist_ok=True)
    store = Store(settings.db_url)
    master_key = MasterKey.load_or_create(settings.home)
    store.master_key = master_key
    data_keys = DataKeys(store.engine, master_key)
    certificates = ClusterCertificates(store.engine, master_key)
    agents = AgentDirectory(settings)
    renderer = NodeSpecRenderer(store, data_keys.key_for, certificates.with_node_tls)
    context = ReconcileContext(settings, store, agents, renderer)
    reconciler = Reconciler(context)
    monitor = HealthMonitor(context, reconciler.wake) if settings.health_monitor else None
    service = ClusterService(
        settings,
        store,
        wake_reconciler=reconciler.wake,
        health_reports=monitor.report if monitor is not None else None,
        master_key=data_keys.master_key,
    )
    client_trust = ClientTrust(
        store,
        service.private_cas,
        lambda cluster_id: ca_certificate(store.engine, cluster_id) or "",
    )
    renderer.client_trust = client_trust.with_client_trust
    scram_sync = ScramSync(store, service.secrets)
    service.secrets.on_change = service.scram.wake = scram_sync.wake
    plane = ControlPlane(settings, store, service, reconciler, monitor, scram_sync)
    plane.client_trust = client_trust
    plane.policy_sync = PolicySync(store, service.policies.records)
    service.policies.wake = plane.policy_sync.wake
    context.apply_policies = plane.policy_sync.apply_cluster
    if settings.metrics_interval > 0:
        metrics = service.metrics.store
        plane.scraper = MetricsScraper(
            store,
            metrics,
            service.metrics.control_plane.scrape_stats,
            interval=settings.metrics_interval,
        )
        plane.admin_metrics = AdminMetricsCollector(
            store, service.consumer_groups, metrics, interval=settings.metrics_interval
        )
        plane.alarms = AlarmMonitor(
            store,
            StoredMetrics(metrics),
            region=settings.region,
            account=settings.account_id,
            interval=settings.metrics_interval,
        )
    return plane


def configure_logging(home: Path) -> None:
    handlers: list[logging.Handler] = [
        logging.StreamHandler(),
        logging.FileHandler(home / "steward.log"),
    ]
    logging.basicConfig(
        level=os.environ.get("STEWARD_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
    )


@contextmanager
def _pid_file(home: Path) -> Iterator[None]:
    path = home / "steward.pid"
    path.write_text(str(os.getpid()))
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def run(settings: Settings | None = None) -> None:
    """Run the control plane in the foreground until SIGINT/SIGTERM."""
    settings = settings or Settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    configure_logging(settings.home)
    plane = build_control_plane(settings)
    try:
        authenticator = prepare_authentication(settings, plane.store.access_keys, sys.stdout)
    except BaseException:
        plane.close()
        raise
    app = build_app(plane.service, authenticator)
    config = uvicorn.Config(
        app,
        host=settings.api_host,
        port=settings.api_port,
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    signal.signal(signal.SIGTERM, lambda *_: setattr(server, "should_exit", True))
    with _pid_file(settings.home):
        plane.start()
        log.info(
            "Steward API on %s (home %s, zones %s)",
            settings.api_url,
            settings.home,
            ", ".join(z.name for z in settings.zones),
        )
        try:
            server.run()
        finally:
            plane.close()


if __name__ == "__main__":
    run()

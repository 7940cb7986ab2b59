"""The control plane process: the MSK-compatible API, the store and the reconciler.

Stopping it (or killing it) leaves every Kafka process running under its agent; the next start
re-reads the store and carries on with whatever operation was in flight.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import uvicorn

from steward import logs
from steward.api.app import application_autoscaling, build_app
from steward.api.auth.startup import prepare_authentication
from steward.autoscaling.service import (
    ApplicationAutoScaling,
    BrokerAutoscaler,
    StorageAutoscaler,
)
from steward.background import BackgroundTasks, Pace
from steward.connect.endpoints import ClusterEndpoints
from steward.connect.plugin_files import S3Access
from steward.connect.reconciler import (
    CONNECT_PRINCIPAL,
    CONNECT_ROLE_NOT_ASSUMABLE,
    ConnectReconciler,
)
from steward.connect.service import MskConnect
from steward.connect.store import ConnectRecords
from steward.control.agent_certificates import AgentCertificateRenewal
from steward.control.agents import AgentDirectory
from steward.control.context import ReconcileContext
from steward.control.health_monitor import HealthMonitor
from steward.control.host_registry import HostRegistry
from steward.control.leadership import Leadership, holder_id
from steward.control.node_specs import NodeSpecRenderer, node_key
from steward.control.rebalancing import ContinuousBalancer
from steward.control.reconciler import Reconciler
from steward.control.service import ClusterService
from steward.crypto.master_key import MasterKey
from steward.domain.sign_in_refusals import SignInRefusal
from steward.functions.connection import ClusterConnections
from steward.functions.pollers import Pollers
from steward.functions.role_sessions import RoleSessions
from steward.functions.service import Functions
from steward.iam.service import IdentityAccess
from steward.monitor.admin_metrics import AdminMetricsCollector
from steward.monitor.alarm_monitor import AlarmMonitor, StoredMetrics
from steward.monitor.scraper import MetricsScraper
from steward.security.agent_authority import AgentAuthority
from steward.security.certificates import ClusterCertificates, ca_certificate
from steward.security.client_trust import ClientTrust
from steward.security.data_keys import DataKeys
from steward.security.iam_principals import IamPrincipalPolicies
from steward.security.iam_signin import (
    IamCredentialSync,
    RefusalCollector,
    SignInRefusals,
    log_refusal,
)
from steward.security.policy_sync import PolicySync
from steward.security.scram import ScramSync
from steward.settings import Host, Settings
from steward.store.leases import Leases
from steward.store.store import Store

log = logging.getLogger("steward")


RECONCILER = "reconciler"
HEALTH_MONITOR = "health-monitor"
SCRAM_SYNC = "scram-sync"
POLICY_SYNC = "policy-sync"
IAM_SIGN_IN_SYNC = "iam-sign-in-sync"
IAM_REFUSALS = "iam-refusals"
IAM_AGENT_TIMEOUT = 10.0
"""Seconds each call to an agent about IAM sign-in may take."""
CLIENT_TRUST = "client-trust"
METRICS_SCRAPER = "metrics-scraper"
ADMIN_METRICS = "admin-metrics"
ALARM_MONITOR = "alarm-monitor"
CONTINUOUS_BALANCING = "continuous-balancing"
STORAGE_AUTOSCALING = "storage-autoscaling"
BROKER_AUTOSCALING = "broker-autoscaling"
FUNCTION_BUILDER = "function-builder"
TRIGGER_POLLERS = "trigger-pollers"
CONNECT_RECONCILER = "connect-reconciler"
AGENT_CERTIFICATES = "agent-certificates"


@dataclass
class ControlPlane:
    settings: Settings
    store: Store
    service: ClusterService
    reconciler: Reconciler
    tasks: BackgroundTasks
    """Every background loop, the reconciler's dispatch among them."""
    closing: list[Callable[[], object]] = field(default_factory=list)
    """What to release once the tasks are stopped, in this order."""
    functions: Functions | None = None
    """The Lambda-compatible service, with its pollers among the tasks."""
    connect: MskConnect | None = None
    """MSK Connect's use cases, served beside MSK's API."""
    iam_sign_in: IamCredentialSync | None = None
    """Sends the brokers the keys that may sign in with IAM; its `identities` is the source."""
    sign_in_refusals: SignInRefusals | None = None
    refusal_collector: RefusalCollector | None = None
    """Its `on_refusal` is the hook for audit records of refused sign-ins."""
    autoscaling: ApplicationAutoScaling | None = None
    """Application Auto Scaling, whose changes wake the storage autoscaler."""

    def start(self) -> None:
        self.tasks.start()

    def close(self) -> None:
        self.tasks.stop(timeout=10.0)
        for close in self.closing:
            close()
        self.reconciler.stop()
        self.store.close()


def build_control_plane(settings: Settings) -> ControlPlane:
    settings.home.mkdir(parents=True, exist_ok=True)
    store = Store(settings.db_url)
    master_key = MasterKey.load_or_create(settings.home)
    store.master_key = master_key
    data_keys = DataKeys(store.engine, master_key)
    certificates = ClusterCertificates(store.engine, master_key)
    agent_authority = AgentAuthority(
        store.engine, master_key, timedelta(seconds=settings.agent_certificate_lifetime)
    )
    hosts = HostRegistry(settings, store)
    hosts.register_embedded()
    agents = local_agents(settings, agent_authority, hosts)
    renderer = NodeSpecRenderer(store, data_keys.key_for, certificates.with_node_tls)
    context = ReconcileContext(settings, store, agents, renderer)
    tasks = BackgroundTasks()
    reconciler = Reconciler(context)
    tasks.add(
        RECONCILER,
        reconciler.pass_once,
        reconciler.interval,
        pace=Pace.DELAY,
        at_start=reconciler.prepare,
    )
    wake_reconciler = tasks.waker(RECONCILER)
    monitor = HealthMonitor(context, wake_reconciler) if settings.health_monitor else None
    service = ClusterService(
        settings,
        store,
        wake_reconciler=wake_reconciler,
        health_reports=monitor.report if monitor is not None else None,
        master_key=data_keys.master_key,
        agent_authority=agent_authority,
        hosts=hosts,
    )
    plane = ControlPlane(settings, store, service, reconciler, tasks)
    renewal = AgentCertificateRenewal(agent_authority, agents, settings.home)
    tasks.add(AGENT_CERTIFICATES, renewal.pass_once, renewal.interval, pace=Pace.DELAY)
    if monitor is not None:
        tasks.add(HEALTH_MONITOR, monitor.check_all, monitor.interval)
        plane.closing.append(monitor.close)

    client_trust = ClientTrust(
        store,
        service.private_cas,
        lambda cluster_id: ca_certificate(store.engine, cluster_id) or "",
    )
    client_trust.agents = agents.client
    client_trust.render = context.render
    renderer.client_trust = client_trust.with_client_trust
    tasks.add(CLIENT_TRUST, client_trust.push, client_trust.interval, pace=Pace.DELAY)
    wake_trust = tasks.waker(CLIENT_TRUST)
    service.private_cas.add_listener(lambda _arn: wake_trust())

    scram_sync = ScramSync(store, service.secrets)
    tasks.add(SCRAM_SYNC, scram_sync.pass_once, scram_sync.interval, pace=Pace.DELAY)
    service.secrets.on_change = service.scram.wake = tasks.waker(SCRAM_SYNC)

    iam_principals = IamPrincipalPolicies(
        store, service.policies.records, service.iam.kafka_cluster_documents
    )
    policy_sync = PolicySync(store, service.policies.records, before_pass=iam_principals.project)
    tasks.add(POLICY_SYNC, policy_sync.pass_once, policy_sync.interval, pace=Pace.DELAY)
    service.policies.wake = service.iam.on_policy_change = tasks.waker(POLICY_SYNC)
    context.apply_policies = policy_sync.apply_cluster

    iam_agents = lambda agent: agents.client(agent, timeout=IAM_AGENT_TIMEOUT)  # noqa: E731
    iam_sign_in = IamCredentialSync(
        store,
        service.iam.signing_identities,
        iam_agents,
        node_key,
        settings.region,
    )
    tasks.add(IAM_SIGN_IN_SYNC, iam_sign_in.pass_once, iam_sign_in.interval, pace=Pace.DELAY)
    iam_sign_in.wake = service.iam.on_key_change = tasks.waker(IAM_SIGN_IN_SYNC)
    plane.iam_sign_in = iam_sign_in
    plane.sign_in_refusals = SignInRefusals(store, iam_agents, node_key)
    service.sign_in_refusals = plane.sign_in_refusals
    plane.refusal_collector = RefusalCollector(
        plane.sign_in_refusals, on_refusal=audited(service.iam)
    )
    tasks.add(
        IAM_REFUSALS,
        plane.refusal_collector.collect_once,
        plane.refusal_collector.interval,
        pace=Pace.DELAY,
    )

    if settings.metrics_interval > 0:
        metrics = service.metrics.store
        scraper = MetricsScraper(
            store,
            metrics,
            service.metrics.control_plane.scrape_stats,
            interval=settings.metrics_interval,
        )
        tasks.add(METRICS_SCRAPER, scraper.scrape_once, scraper.interval)
        admin_metrics = AdminMetricsCollector(
            store, service.consumer_groups, metrics, interval=settings.metrics_interval
        )
        tasks.add(ADMIN_METRICS, admin_metrics.collect_all, admin_metrics.interval)
        alarms = AlarmMonitor(
            store,
            StoredMetrics(service.metrics.source),
            actions=service.alarms.actions,
            region=settings.region,
            account=settings.account_id,
            interval=settings.metrics_interval,
        )
        tasks.add(ALARM_MONITOR, alarms.run_once, alarms.interval)
        plane.closing += [alarms.close, scraper.close, admin_metrics.close]
        context.metrics = metrics
    plane.autoscaling = application_autoscaling(service)
    storage_autoscaler = StorageAutoscaler(plane.autoscaling, settings.autoscaling_interval)
    tasks.add(
        STORAGE_AUTOSCALING,
        storage_autoscaler.pass_once,
        storage_autoscaler.interval,
        pace=Pace.DELAY,
    )
    broker_autoscaler = BrokerAutoscaler(plane.autoscaling, settings.autoscaling_interval)
    tasks.add(
        BROKER_AUTOSCALING,
        broker_autoscaler.pass_once,
        broker_autoscaler.interval,
        pace=Pace.DELAY,
    )
    wake_storage, wake_brokers = tasks.waker(STORAGE_AUTOSCALING), tasks.waker(BROKER_AUTOSCALING)

    def wake_autoscalers() -> None:
        wake_storage()
        wake_brokers()

    plane.autoscaling.wake = wake_autoscalers
    balancer = ContinuousBalancer(store, service.rebalancing)
    tasks.add(CONTINUOUS_BALANCING, balancer.pass_once, balancer.interval, pace=Pace.DELAY)
    service.rebalancing.wake = tasks.waker(CONTINUOUS_BALANCING)
    add_functions(plane)
    plane.closing.append(service.metrics.close)
    plane.connect = _add_connect(settings, store, service, agents, tasks, plane.iam_sign_in)
    return plane


def local_agents(
    settings: Settings, authority: AgentAuthority, hosts: HostRegistry
) -> AgentDirectory:
    """The agents of the registered hosts, spoken to over mutual TLS: the control plane's
    credentials written to the home from the store, and each embedded agent given its own
    before it starts."""
    authority.write_control_plane_files(settings.home)
    agents = AgentDirectory(settings, hosts)

    def credentials(host: Host, state_dir: Path) -> None:
        authority.ensure_local_agent(
            host.name, host.zone.name, host.agent_address, settings.agent_port, state_dir
        )

    agents.local_credentials = credentials
    return agents


def _add_connect(
    settings: Settings,
    store: Store,
    service: ClusterService,
    agents: AgentDirectory,
    tasks: BackgroundTasks,
    iam_sign_in: IamCredentialSync | None = None,
) -> MskConnect:
    """MSK Connect: its use cases, and the reconciler that runs connectors' workers. Connectors
    that sign in with IAM do so as their service execution role, whose sessions' keys reach the
    brokers (`iam_sign_in`) before the workers get them."""
    records = ConnectRecords(store.engine)
    endpoints = ClusterEndpoints(service)
    sessions = RoleSessions(
        service.iam,
        on_new_session=iam_sign_in.pass_once if iam_sign_in is not None else lambda: None,
        principal=CONNECT_PRINCIPAL,
        refusal=CONNECT_ROLE_NOT_ASSUMABLE,
    )
    connect = MskConnect(
        records,
        settings.region,
        settings.account_id,
        is_steward_cluster=endpoints.exists,
        zones=settings.zones,
        may_assume_role=sessions.may_assume,
    )
    s3 = S3Access(
        settings.connect_s3_endpoint,
        settings.region,
        settings.connect_s3_access_key_id,
        settings.connect_s3_secret_access_key,
    )
    reconciler = ConnectReconciler(
        records, settings, agents, store, endpoints, s3, sessions=sessions
    )
    tasks.add(CONNECT_RECONCILER, reconciler.pass_once, reconciler.interval, pace=Pace.DELAY)
    connect.wake = tasks.waker(CONNECT_RECONCILER)
    return connect


def audited(iam: IdentityAccess) -> Callable[[SignInRefusal], None]:
    """A refused sign-in, logged and recorded in IAM's audit."""

    def record(refusal: SignInRefusal) -> None:
        log_refusal(refusal)
        iam.record_sign_in_refusal(refusal)

    return record


def add_functions(plane: ControlPlane) -> None:
    """The Lambda-compatible service: its code builder (virtualenvs of Pending functions) and
    the supervisor of the event-source mappings' pollers, both background tasks."""
    settings, service = plane.settings, plane.service
    connections = ClusterConnections(
        plane.store, lambda arn: service.secrets.get_value(arn, record_access=False).string or ""
    )
    iam_sign_in = plane.iam_sign_in
    role_sessions = RoleSessions(
        service.iam,
        # the new session's key on the brokers before its poller signs in
        on_new_session=iam_sign_in.pass_once if iam_sign_in is not None else lambda: None,
    )
    functions = Functions(
        plane.store.engine,
        settings.home / "functions",
        region=settings.region,
        account_id=settings.account_id,
        connections=connections,
        role_sessions=role_sessions,
    )
    plane.tasks.add(FUNCTION_BUILDER, functions.build_pending, 30.0, pace=Pace.DELAY)
    functions.wake_builder = plane.tasks.waker(FUNCTION_BUILDER)
    pollers = Pollers(
        functions,
        connections,
        settings.home / "triggers",
        put_samples=lambda samples: service.metrics.store.put(samples),
        role_sessions=role_sessions,
        region=settings.region,
    )
    plane.tasks.add(TRIGGER_POLLERS, pollers.pass_once, pollers.interval, pace=Pace.DELAY)
    functions.wake_pollers = plane.tasks.waker(TRIGGER_POLLERS)
    plane.functions = functions
    plane.closing += [pollers.stop_all, functions.close]


def configure_logging(settings: Settings) -> None:
    """To the terminal and to steward.log in the home, at the settings' level and format."""
    handlers: list[logging.Handler] = [
        logging.StreamHandler(),
        logging.FileHandler(settings.home / "steward.log"),
    ]
    logs.configure(settings.log_level, settings.log_format, handlers)


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
    configure_logging(settings)
    plane = build_control_plane(settings)
    try:
        authenticator = prepare_authentication(
            settings,
            plane.store.access_keys,
            sys.stdout,
            secret_of=plane.service.iam.signing_secret,
        )
    except BaseException:
        plane.close()
        raise
    leadership = _leadership(settings, plane)
    app = build_app(
        plane.service,
        authenticator,
        functions=plane.functions,
        connect=plane.connect,
        autoscaling=plane.autoscaling,
        leadership=leadership,
    )
    config = uvicorn.Config(
        app,
        host=settings.api_host,
        port=settings.api_port,
        log_level="warning",
        access_log=False,
        log_config=None,  # uvicorn's records go through Steward's handlers and format
    )
    server = uvicorn.Server(config)
    signal.signal(signal.SIGTERM, lambda *_: setattr(server, "should_exit", True))
    if leadership is not None:
        leadership.on_lost = _exit_at_once
    with _pid_file(settings.home):
        if leadership is None:
            plane.start()
        else:
            leadership.start()
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
            if leadership is not None:
                leadership.stop()  # after the tasks: never two servers' tasks at once


LOST_LEASE_EXIT_CODE = 3
"""What a server that lost the lead exits with, for its supervisor to start it again (as a
follower)."""


def _exit_at_once() -> None:
    """A leader whose lease is running out stops every task now, as a kill -9 would: waiting
    for them to end could let them run on after another server has taken over. Kafka and the
    agents keep running, and the new leader resumes each operation from the store."""
    for handler in logging.getLogger().handlers:
        handler.flush()
    os._exit(LOST_LEASE_EXIT_CODE)


def _leadership(settings: Settings, plane: ControlPlane) -> Leadership | None:
    """Where servers share the store: the lease that decides which one runs the background
    tasks; they start when this server is elected."""
    if not settings.elects_leader():
        return None
    return Leadership(
        Leases(plane.store.engine),
        holder_id(settings.api_port),
        settings.api_address,
        seconds=settings.lease_seconds,
        on_elected=plane.start,
    )


if __name__ == "__main__":
    run()

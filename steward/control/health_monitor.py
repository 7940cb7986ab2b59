"""Watches every settled cluster and starts a HEAL operation when something is wrong.

Once a second, for each cluster that is ACTIVE or HEALING, the monitor asks each zone's agent about
the cluster's nodes (one short call per agent) and sends every running node an ApiVersions
request (`steward.kafka.probe`); a `Diagnostician` per cluster turns that into findings. When an
ACTIVE cluster with no operation has findings, the monitor starts a HEAL operation for all of
them at once (`Store.begin_healing`: only if the cluster is still ACTIVE with nothing running, so
a user's update and a repair never both start), and the reconciler carries it out.

When a cluster is ACTIVE, idle and healthy and one of its brokers is on a host being drained
(`steward host drain`), the monitor starts a HEAL that moves that broker to another host of its
zone (`steward.control.host_replacement.drain_broker`), one broker at a time.

Every `sweep_interval` seconds, in the background, it also removes from each host what that host
still runs of nodes that moved to another host (`steward.control.stale_nodes`).

Clusters are looked at side by side, each in a worker of its own: a look that takes long (a node
that accepts connections and never answers, a Kafka that does not answer) holds up only its own
cluster's next look, never another cluster's. Kafka's own view of a cluster (live brokers,
partitions, quorum, disk use: several requests) is asked in the background at most every
`kafka_interval` seconds; a look uses the last answer and never waits for a new one, except for
the first, which it waits `probe_timeout` seconds for. Every call has a timeout.

While a cluster is HEALING the monitor keeps watching, so that a second fault during a repair is
repaired next. Clusters in any other state (CREATING, UPDATING, DELETING, ...) are left to their
operation, which restarts nodes on purpose; what the monitor remembered of them is dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace

from steward.agent.client import AgentError, AgentUnavailable
from steward.agent.spec import NodeStatus
from steward.control import host_replacement
from steward.control.arns import ArnFactory, new_current_version
from steward.control.cluster_health import ClusterHealth, KafkaHealth, read_kafka_health
from steward.control.context import ReconcileContext
from steward.control.diagnosis import Diagnostician, NodeObservation
from steward.control.node_specs import node_key
from steward.control.operation_records import mutable_info
from steward.control.pipeline import start_operation
from steward.control.placement import PlacementError, placer_for, reservation
from steward.control.stale_nodes import remove_stale_nodes
from steward.control.step import load_progress
from steward.control.steps.repair import RepairProgress, grown_spec_size, operation_nodes
from steward.domain.health import Finding
from steward.domain.hosts import HostState
from steward.domain.model import Cluster, ClusterState, Node, NodeRole, OperationType, StateInfo
from steward.kafka import probe
from steward.security.certificates import probe_listener, probe_tls, steward_bootstrap

log = logging.getLogger(__name__)

WATCHED = (ClusterState.ACTIVE, ClusterState.HEALING)


class HealthMonitor:
    def __init__(
        self,
        ctx: ReconcileContext,
        wake_reconciler: Callable[[], None],
        interval: float = 1.0,
        probe_timeout: float = 1.0,
        kafka_interval: float = 5.0,
        sweep_interval: float = 5.0,
        read_kafka: Callable[[str], KafkaHealth] | None = None,
    ) -> None:
        """`read_kafka(bootstrap)`: Kafka's view of a cluster (`read_kafka_health` with a
        2-second timeout per question unless given)."""
        self.ctx = ctx
        self.wake_reconciler = wake_reconciler
        self.interval = interval
        self.probe_timeout = probe_timeout
        self.kafka_interval = kafka_interval
        self.sweep_interval = sweep_interval
        self._swept_at = 0.0
        self._sweep: Future[list[str]] | None = None
        self._doctors: dict[str, Diagnostician] = {}
        self._kafka: dict[str, tuple[float, KafkaHealth]] = {}
        self._reports: dict[str, ClusterHealth] = {}
        self._read_kafka = read_kafka or (lambda bootstrap: read_kafka_health(bootstrap, 2.0))
        self._looks: dict[str, Future[list[Finding]]] = {}
        self._no_room: dict[str, str] = {}
        """Cluster -> why its next broker cannot leave its draining host (logged once)."""
        self._asking: dict[str, Future[KafkaHealth]] = {}
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="health-probe")
        self._looking = ThreadPoolExecutor(max_workers=8, thread_name_prefix="health-look")
        self._kafka_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="health-kafka")

    def close(self) -> None:
        """Drop the looks and probes under way (after the background task that calls
        `check_all` is stopped)."""
        for pool in (self._looking, self._kafka_pool, self._pool):
            pool.shutdown(wait=False, cancel_futures=True)

    def check_all(self) -> None:
        clusters = self.ctx.store.list_clusters()
        watched = {c.arn for c in clusters if c.state in WATCHED}
        for arn in set(self._doctors) - watched:
            del self._doctors[arn]
        for arn in set(self._reports) - watched:
            self._reports.pop(arn, None)
            self._kafka.pop(arn, None)
        for arn in set(self._looks) - watched:
            self._looks.pop(arn, None)
            self._asking.pop(arn, None)
        started = []
        for cluster in clusters:
            if cluster.arn not in watched:
                continue
            look = self._looks.get(cluster.arn)
            if look is not None and not look.done():
                continue  # its last look has not ended: no other cluster waits for it
            self._looks[cluster.arn] = look = self._looking.submit(self._look, cluster)
            started.append(look)
        # A look with a silent node takes a probe timeout; waiting that long too keeps such a
        # cluster looked at every pass, and only a look stuck longer holds the others up.
        wait(started, timeout=self.interval + self.probe_timeout)
        self._sweep_stale_nodes()

    def _look(self, cluster: Cluster) -> list[Finding]:
        try:
            return self.check(cluster)
        except Exception:
            log.exception("looking at %s failed", cluster.name)
            return []

    def _sweep_stale_nodes(self) -> None:
        """Start a sweep for stale nodes when one is due and none runs."""
        if self._sweep is not None and not self._sweep.done():
            return
        if time.monotonic() - self._swept_at < self.sweep_interval:
            return
        self._swept_at = time.monotonic()
        self._sweep = self._pool.submit(self._sweep_once)

    def _sweep_once(self) -> list[str]:
        try:
            return remove_stale_nodes(self.ctx)
        except Exception:
            log.exception("sweeping hosts for stale nodes failed")
            return []

    def check(self, cluster: Cluster) -> list[Finding]:
        """Observe `cluster` once; start a repair when it needs one. Returns the findings."""
        nodes = self.ctx.store.nodes(cluster.arn)
        # The time the look began: a node that did not answer was already silent then.
        looked_at = time.monotonic()
        observations = self.observe(cluster, nodes)
        doctor = self._doctors.setdefault(cluster.arn, Diagnostician())
        excluded = self._under_repair(cluster)
        kafka = self._kafka_health(cluster, nodes)
        found = doctor.assess(observations, looked_at, excluded, kafka.serving_brokers)
        report = ClusterHealth(cluster.arn, time.time(), observations, kafka, found)
        self._reports[cluster.arn] = report
        idle = cluster.state is ClusterState.ACTIVE and cluster.active_operation_arn is None
        if found and idle and self._begin_repair(cluster, found):
            doctor.repairing(found)
        elif not found and idle:
            drain = self._next_drain(cluster, nodes, kafka)
            if drain is not None:
                self._begin_repair(cluster, [drain])
        return found

    def _next_drain(
        self, cluster: Cluster, nodes: list[Node], kafka: KafkaHealth
    ) -> Finding | None:
        """The next broker to move off a draining host, once the cluster is healthy (every
        partition fully replicated) and its zone has an active host with room for it."""
        draining = [h.name for h in self.ctx.agents.hosts if h.state is HostState.DRAINING]
        finding = host_replacement.drain_finding(nodes, draining)
        if finding is None or kafka.under_replicated != 0:
            return None
        [node] = [n for n in nodes if n.node_id == finding.node_id and n.role is NodeRole.BROKER]
        others = [h for h in self.ctx.agents.hosts if h.name != node.agent]
        try:
            placer_for(self.ctx, others).host_for(node.zone, need=reservation(node))
        except PlacementError as error:
            if self._no_room.get(cluster.arn) != str(error):
                log.warning("broker %d of %s stays on draining host %s: %s",
                            node.node_id, cluster.name, node.agent, error)  # fmt: skip
                self._no_room[cluster.arn] = str(error)
            return None
        self._no_room.pop(cluster.arn, None)
        return finding

    def report(self, cluster_arn: str) -> ClusterHealth | None:
        """What the last look at the cluster saw (None before the first, or when the cluster is
        not watched)."""
        return self._reports.get(cluster_arn)

    # --- observing ------------------------------------------------------------------------------
    def _kafka_health(self, cluster: Cluster, nodes: list[Node]) -> KafkaHealth:
        """Kafka's view, asked in the background at most every `kafka_interval` seconds (it
        takes several requests, and a hung broker makes each one wait for its timeout); the last
        answer in the meantime. Only the first look at a cluster waits for an answer, and at
        most `probe_timeout` seconds."""
        last = self._kafka.get(cluster.arn)
        if last is not None and time.monotonic() - last[0] < self.kafka_interval:
            return last[1]
        asking = self._asking.get(cluster.arn)
        if asking is None or asking.done():
            brokers = [n for n in nodes if n.role is NodeRole.BROKER]
            bootstrap = steward_bootstrap(self.ctx.store, cluster, brokers)
            asking = self._kafka_pool.submit(self._ask_kafka, cluster.arn, bootstrap)
            self._asking[cluster.arn] = asking
        if last is not None:
            return last[1]
        try:
            return asking.result(timeout=self.probe_timeout)
        except FutureTimeout:
            return KafkaHealth(errors=["Kafka has not answered yet"])

    def _ask_kafka(self, cluster_arn: str, bootstrap: str) -> KafkaHealth:
        try:
            kafka = self._read_kafka(bootstrap)
        except Exception as error:  # read_kafka_health reports its own; a fake may raise
            kafka = KafkaHealth(errors=[str(error)])
        self._kafka[cluster_arn] = (time.monotonic(), kafka)
        return kafka

    def observe(self, cluster: Cluster, nodes: list[Node]) -> list[NodeObservation]:
        agents = sorted({n.agent for n in nodes})
        reports = dict(zip(agents, self._pool.map(self._agent_report, agents), strict=True))
        observations = []
        for node in nodes:
            report = reports[node.agent]
            status = report.get(node_key(cluster, node)) if report is not None else None
            observations.append(
                NodeObservation(node.node_id, node.role, node.agent, report is not None, status)
            )
        probed = [i for i, o in enumerate(observations) if _should_probe(o)]
        answers = self._pool.map(lambda i: self._answers(cluster, nodes[i]), probed)
        for index, answered in zip(probed, answers, strict=True):
            obs = observations[index]
            observations[index] = NodeObservation(
                obs.node_id, obs.role, obs.agent, obs.agent_reachable, obs.status, answered
            )
        return observations

    def _agent_report(self, agent: str) -> dict[str, NodeStatus] | None:
        try:
            statuses = self.ctx.agents.client(agent, timeout=1.0).nodes()
        except (AgentUnavailable, AgentError):
            return None
        return {s.key: s for s in statuses}

    def _answers(self, cluster: Cluster, node: Node) -> bool:
        host, port = node.endpoint(probe_listener(cluster, node)).rsplit(":", 1)
        tls = probe_tls(self.ctx.store, cluster, node)
        return probe.answers(host, int(port), self.probe_timeout, tls)

    # --- repairing ------------------------------------------------------------------------------
    def _under_repair(self, cluster: Cluster) -> set[int]:
        """Nodes the cluster's running HEAL operation already handles."""
        if cluster.active_operation_arn is None:
            return set()
        op = self.ctx.store.get_operation(cluster.active_operation_arn)
        if op is None or op.type is not OperationType.HEAL:
            return set()
        nodes = self.ctx.store.nodes(cluster.arn)
        moves = load_progress(RepairProgress, op.progress.get("REPAIR_NODES"))
        return {n.node_id for n in operation_nodes(nodes, cluster, moves)}

    def _begin_repair(self, cluster: Cluster, found: list[Finding]) -> bool:
        arns = ArnFactory(self.ctx.settings.region, self.ctx.settings.account_id)
        arn = arns.operation(cluster.arn)
        source = mutable_info(cluster.spec)
        if any(f.kind == "disk_full" for f in found):
            self._grow_storage(cluster)
        cluster.status.findings = list(found)
        op = start_operation(
            arn,
            cluster.arn,
            OperationType.HEAL,
            source,
            mutable_info(cluster.spec),
            generation=cluster.generation,
        )
        cluster.state = ClusterState.HEALING
        cluster.active_operation_arn = arn
        cluster.state_info = StateInfo(_state_code(found), "; ".join(f.reason for f in found))
        if not self.ctx.store.begin_healing(cluster, op):
            return False
        log.warning("healing %s: %s", cluster.name, cluster.state_info.message)
        self.wake_reconciler()
        return True

    def _grow_storage(self, cluster: Cluster) -> None:
        """A broker's volume is (nearly) full: the repair's spec has the cluster's storage grown
        (`grown_volume_gb` for the fullest broker), as a user would with UpdateBrokerStorage.
        At the largest volume already, the spec stays and the repair fails with StorageFull."""
        group = cluster.spec.broker_node_group
        used = []
        for node in self.ctx.store.nodes(cluster.arn):
            if node.role is not NodeRole.BROKER:
                continue
            try:
                status = self.ctx.agents.client(node.agent, timeout=2.0).node(
                    node_key(cluster, node)
                )
            except (AgentUnavailable, AgentError):
                continue
            if status is not None and status.volume_used_bytes is not None:
                used.append(status.volume_used_bytes)
        size = grown_spec_size(group.volume_size_gb, used)
        if size is None:
            return
        log.warning(
            "growing the storage of %s from %d to %d GiB per broker",
            cluster.name,
            group.volume_size_gb,
            size,
        )
        cluster.accept(cluster.spec.replace(broker_node_group=replace(group, volume_size_gb=size)))
        cluster.current_version = new_current_version()


def _should_probe(obs: NodeObservation) -> bool:
    return obs.status is not None and obs.status.state == "running" and obs.status.pid is not None


def _state_code(found: list[Finding]) -> str:
    first = found[0]
    if first.node_id is None:
        return "AGENT_UNREACHABLE"
    role = first.role.value if first.role else "NODE"
    return f"{role}_{first.kind.upper()}"

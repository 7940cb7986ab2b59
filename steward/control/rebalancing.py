"""Balancing a cluster's load: a plan to look at (the dry run), a rebalance to run, and
continuous balancing (MSK's `UpdateRebalancing`, `Rebalancing.Status` ACTIVE or PAUSED).

A rebalance is a cluster operation (REBALANCE: `PLAN_BALANCE`, `MOVE_IN_BATCHES`,
`ELECT_PREFERRED_LEADERS`). Continuous balancing is a level-triggered background pass
(`ContinuousBalancer.pass_once`): for every cluster whose setting was made ACTIVE, that is
ACTIVE and idle, and past the cooldown since its last
rebalance, it builds the balancer's model and starts a rebalance when the imbalance (the worst
goal's largest deviation from the mean, as a fraction of it) passes the threshold.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from steward.balancer.model import ClusterModel
from steward.balancer.planner import BalancePlan, PlanningError, imbalance, plan_balance
from steward.control.cluster_model import build_model
from steward.control.throttles import release_left_throttles
from steward.control.updates import ClusterUpdates
from steward.domain.errors import BadRequestException, ConflictException
from steward.domain.model import (
    Cluster,
    ClusterState,
    NodeRole,
    Operation,
    OperationState,
    OperationType,
    utcnow,
)
from steward.kafka.errors import KafkaAdminError
from steward.kafka.instance_types import is_express
from steward.monitor.store import MetricStore
from steward.security.certificates import steward_bootstrap
from steward.store.rebalancing import RebalancingRecords, RebalancingSetting
from steward.store.store import Store

log = logging.getLogger(__name__)

ACTIVE, PAUSED = "ACTIVE", "PAUSED"
STATUSES = (PAUSED, ACTIVE)
DEFAULT_THRESHOLD = 0.20
"""Imbalance above which continuous balancing rebalances: a goal whose most loaded (or least
loaded) broker is 20 % away from the mean."""
COOLDOWN = timedelta(minutes=10)
"""Continuous balancing starts no rebalance sooner than this after the last one ended."""
BALANCE_INTERVAL = 60.0
"""Seconds between two passes of continuous balancing."""


@dataclass(frozen=True)
class RebalancePreview:
    """A plan and what carrying it out costs, without moving anything (the dry run)."""

    cluster_arn: str
    plan: BalancePlan
    throttle_bytes_per_s: int

    @property
    def seconds(self) -> float:
        """At the replication throttle, with the moves spread over the brokers in batches: the
        bytes over the throttle times the brokers that receive them at once."""
        receivers = {m.destination for m in self.plan.moves}
        rate = self.throttle_bytes_per_s * max(1, len(receivers))
        return self.plan.bytes_moved / rate if rate else 0.0


@dataclass(frozen=True)
class RebalancingStatus:
    cluster_arn: str
    status: str
    threshold: float
    last: Operation | None
    """The newest REBALANCE operation of the cluster, if any."""


class ClusterRebalancing:
    def __init__(
        self,
        store: Store,
        describe: Callable[[str], Cluster],
        updates: ClusterUpdates,
        metrics: Callable[[], MetricStore | None],
        throttle_bytes_per_s: int,
    ) -> None:
        self.store = store
        self.records = RebalancingRecords(store.engine)
        self._describe = describe
        self._updates = updates
        self._metrics = metrics
        self.throttle_bytes_per_s = throttle_bytes_per_s
        self.wake: Callable[[], None] = lambda: None
        """Wakes the continuous balancer (set by the server)."""

    # --- the setting ----------------------------------------------------------------------------
    def status_of(self, cluster: Cluster) -> str | None:
        """MSK's `Rebalancing.Status` of the cluster: as set, else ACTIVE for Express clusters
        and nothing for Standard ones (MSK shows no Rebalancing for them)."""
        setting = self.records.get(cluster.arn)
        if setting is not None:
            return setting.status
        return ACTIVE if is_express(cluster.spec.broker_node_group.instance_type) else None

    def update_rebalancing(
        self, arn: str, current_version: str, status: str, threshold: float | None = None
    ) -> Cluster:
        cluster = self._describe(arn)
        if current_version != cluster.current_version:
            raise BadRequestException(
                "The current version does not match the cluster's version "
                f"({cluster.current_version}); describe the cluster and try again.",
                "currentVersion",
            )
        if status not in STATUSES:
            raise BadRequestException(
                f"Rebalancing status must be one of {', '.join(STATUSES)}.", "rebalancing.status"
            )
        if threshold is not None and not 0.0 < threshold <= 10.0:
            raise BadRequestException("The threshold must be above 0 and at most 10.", "threshold")
        old = self.records.get(arn)
        kept = old.threshold if old is not None else DEFAULT_THRESHOLD
        self.records.put(RebalancingSetting(arn, status, threshold or kept, utcnow()))
        if status == ACTIVE:
            self.wake()
        return cluster

    def status(self, arn: str) -> RebalancingStatus:
        cluster = self._describe(arn)
        setting = self.records.get(arn)
        rebalances = [o for o in self.store.operations(arn) if o.type is OperationType.REBALANCE]
        return RebalancingStatus(
            arn,
            self.status_of(cluster) or PAUSED,
            setting.threshold if setting is not None else DEFAULT_THRESHOLD,
            rebalances[0] if rebalances else None,
        )

    # --- one plan -------------------------------------------------------------------------------
    def plan(self, arn: str) -> RebalancePreview:
        """The plan a rebalance would carry out now, and its cost; nothing moves."""
        cluster = self._describe(arn)
        try:
            model = self.model_of(cluster)
            return RebalancePreview(arn, plan_balance(model), self.throttle_bytes_per_s)
        except PlanningError as error:
            raise BadRequestException(str(error), "clusterArn") from error

    def apply(self, arn: str) -> Operation:
        """Start a rebalance (the operation plans afresh when it begins)."""
        return self._updates.rebalance(arn)

    def model_of(self, cluster: Cluster) -> ClusterModel:
        """The balancer's model of the cluster as Kafka and the metrics show it now."""
        brokers = [n for n in self.store.nodes(cluster.arn) if n.role is NodeRole.BROKER]
        if not brokers:
            raise ConflictException("The cluster has no brokers yet.", "clusterArn")
        bootstrap = steward_bootstrap(self.store, cluster, brokers)
        try:
            return build_model(bootstrap, cluster, brokers, self._metrics())
        except KafkaAdminError as error:
            raise ConflictException(
                f"Kafka could not be asked about the cluster's partitions: {error}", "clusterArn"
            ) from error


class ContinuousBalancer:
    """The background pass of continuous balancing."""

    interval = BALANCE_INTERVAL

    def __init__(self, store: Store, rebalancing: ClusterRebalancing) -> None:
        self.store = store
        self.rebalancing = rebalancing

    def pass_once(self) -> list[str]:
        """Clear the replication throttles failed moves left, then start a rebalance on every
        cluster that needs one; the operation ARNs started."""
        try:
            release_left_throttles(self.store)
        except Exception:
            log.exception("clearing replication throttles left set failed")
        started = []
        for setting in self.rebalancing.records.active():
            cluster = self.store.get_cluster(setting.cluster_arn)
            if cluster is None:
                continue
            try:
                arn = self.check(cluster)
            except Exception:
                log.exception("%s: continuous balancing failed", cluster.name)
                continue
            if arn is not None:
                started.append(arn)
        return started

    def check(self, cluster: Cluster) -> str | None:
        rebalancing = self.rebalancing
        if cluster.state is not ClusterState.ACTIVE or cluster.active_operation_arn:
            return None
        if self._cooling_down(cluster):
            return None
        setting = rebalancing.records.get(cluster.arn)
        threshold = setting.threshold if setting is not None else DEFAULT_THRESHOLD
        try:
            model = rebalancing.model_of(cluster)
        except ConflictException as error:
            log.info("%s: continuous balancing waits: %s", cluster.name, error.message)
            return None
        found = imbalance(model)
        if found <= threshold:
            return None
        log.info(
            "%s: imbalance %.0f%% above the threshold of %.0f%%: rebalancing",
            cluster.name,
            100 * found,
            100 * threshold,
        )
        return rebalancing.apply(cluster.arn).arn

    def _cooling_down(self, cluster: Cluster) -> bool:
        now = utcnow()
        for op in self.store.operations(cluster.arn):
            if op.type is not OperationType.REBALANCE:
                continue
            if op.state is OperationState.PENDING:
                return True
            ended = op.end_time or op.creation_time
            return ended is not None and now - ended < COOLDOWN
        return False

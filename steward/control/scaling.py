"""What Application Auto Scaling (`steward.autoscaling`) asks of the control plane, answered by
its use cases: grow storage, change the broker count, read the metrics the policies track, and
preview what a new broker count would move (the balancer's plan)."""

from __future__ import annotations

import logging
from collections import defaultdict

from steward.autoscaling.brokers import CPU, HANDLER_IDLE, NETWORK_IN, SERIES_PERIOD, ForecastTiming
from steward.autoscaling.service import ApplicationAutoScaling, ResizePreview
from steward.autoscaling.store import AutoscalingRecords
from steward.balancer.planner import moves_between
from steward.control.balance import BalanceError, plan_topic_by_topic
from steward.control.cluster_model import build_model
from steward.control.service import ClusterService
from steward.domain.errors import BadRequestException, StewardError
from steward.domain.model import Cluster, Node, NodeRole, Operation, StateInfo
from steward.kafka.errors import KafkaAdminError
from steward.kafka.instance_types import network_bytes_per_s
from steward.security.certificates import steward_bootstrap

log = logging.getLogger(__name__)

AUTOSCALING = "AUTOSCALING"
"""The StateInfo code of a broker count change broker autoscaling decided."""

RAW_METRICS: dict[str, tuple[str, ...]] = {
    CPU: ("CpuUser", "CpuSystem"),
    NETWORK_IN: ("BytesInPerSec",),
    HANDLER_IDLE: ("RequestHandlerAvgIdlePercent",),
}
"""The MSK metrics each of broker autoscaling's metrics is made of (summed per broker)."""


class ControlPlaneClusters:
    """`steward.autoscaling.service.Clusters` over a `ClusterService`."""

    def __init__(self, service: ClusterService, period: int = SERIES_PERIOD) -> None:
        self.service = service
        self.period = period
        """Seconds per point of the series `broker_series` answers."""

    def describe(self, arn: str) -> Cluster:
        return self.service.describe_cluster(arn)

    def operation(self, arn: str) -> Operation:
        return self.service.describe_operation(arn)

    def grow_storage(self, arn: str, size_gb: int) -> Operation:
        cluster = self.describe(arn)
        return self.service.updates.update_storage(arn, cluster.current_version, size_gb)

    def storage_utilization(self, arn: str) -> float | None:
        known = [b.used_percent for b in self.service.storage_usage(arn)]
        used = [u for u in known if u is not None]
        return max(used) if used else None

    def zone_count(self, arn: str) -> int:
        return len(self.describe(arn).spec.broker_node_group.zones)

    def resize(self, arn: str, brokers: int, cause: str) -> Operation:
        cluster = self.describe(arn)
        return self.service.updates.update_broker_count(
            arn, cluster.current_version, brokers, StateInfo(AUTOSCALING, cause)
        )

    def broker_series(
        self, arn: str, metric: str, start: float, end: float
    ) -> list[tuple[float, float]]:
        cluster = self.describe(arn)
        raw = RAW_METRICS.get(metric, ())
        per_time: dict[float, dict[int, float]] = defaultdict(dict)
        for broker in self._brokers(arn):
            for name in raw:
                try:
                    points = self.service.metrics.query(
                        arn,
                        name,
                        start=start,
                        end=end,
                        period=self.period,
                        broker_id=str(broker.node_id),
                    )
                except StewardError:
                    points = []
                for point in points:
                    by_broker = per_time[point.timestamp]
                    by_broker[broker.node_id] = by_broker.get(broker.node_id, 0.0) + point.value
        scale = 1.0
        if metric == NETWORK_IN:
            scale = 100.0 / network_bytes_per_s(cluster.spec.broker_node_group.instance_type)
        return [
            (t, scale * sum(values.values()) / len(values))
            for t, values in sorted(per_time.items())
            if values
        ]

    def preview_resize(self, arn: str, brokers: int) -> ResizePreview:
        """The plan a broker count change to `brokers` would carry out, made by the planner that
        change runs (`plan_topic_by_topic`, with the partitions' sizes): new brokers (ids after
        the highest, spread over the zones as placement spreads them) hold nothing yet; leaving
        ones (the newest of each zone, as a scale-in chooses them) must be emptied. Its bytes are
        the copies the moves make; its time, those bytes at the replication throttle with every
        receiving broker copying at once."""
        cluster = self.describe(arn)
        current = self._brokers(arn)
        zones = list(cluster.spec.broker_node_group.zones)
        staying: list[Node] = list(current)
        added: dict[int, str] = {}
        if brokers > len(current):
            next_id = max((b.node_id for b in current), default=0) + 1
            for i in range(brokers - len(current)):
                added[next_id + i] = zones[i % len(zones)]
        elif brokers < len(current):
            per_zone = (len(current) - brokers) // max(1, len(zones))
            leaving: set[int] = set()
            for zone in zones:
                in_zone = sorted((b.node_id for b in current if b.zone == zone), reverse=True)
                leaving.update(in_zone[:per_zone])
            staying = [b for b in current if b.node_id not in leaving]
        bootstrap = steward_bootstrap(self.service.store, cluster, current)
        try:
            model = build_model(bootstrap, cluster, staying, self.service.metrics.store)
        except KafkaAdminError as error:
            raise StewardError(f"Kafka could not be asked about the partitions: {error}") from error
        zones_of = {b.node_id: b.zone for b in staying} | added
        sizes = {key: p.size_bytes for key, p in model.partitions.items()}
        try:
            plan = plan_topic_by_topic(model.assignment, zones_of, sizes)
        except BalanceError as error:  # e.g. fewer brokers than a topic's replicas
            raise BadRequestException(str(error), "brokers") from error
        moves = moves_between(model, model.assignment, {**model.assignment, **plan.target})
        moved = sum(m.size_bytes for m in moves)
        receivers = {m.destination for m in moves}
        rate = self.service.settings.reassignment_throttle * max(1, len(receivers))
        seconds = moved / rate if rate > 0 else 0.0
        return ResizePreview(len(current), brokers, len(moves), moved, round(seconds, 1))

    def _brokers(self, arn: str) -> list[Node]:
        return [n for n in self.service.store.nodes(arn) if n.role is NodeRole.BROKER]


def application_autoscaling(service: ClusterService) -> ApplicationAutoScaling:
    """Application Auto Scaling over the control plane of `service`."""
    settings = service.settings
    timing = ForecastTiming(
        settings.broker_scaling_window,
        settings.broker_scaling_lead_time,
        settings.broker_scaling_period,
    )
    return ApplicationAutoScaling(
        AutoscalingRecords(service.store.engine),
        ControlPlaneClusters(service, timing.period),
        settings.region,
        settings.account_id,
        timing=timing,
    )

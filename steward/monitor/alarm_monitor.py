"""Runs the alarms: every `interval` seconds each alarm is evaluated on the metrics store; a change
of state is recorded in the alarm's history (Steward's event log for alarms, also written to the
server log) and sent to the alarm's webhooks as a JSON POST shaped like CloudWatch's alarm
notification.

It also keeps every cluster's recommended alarms (`alarms.recommended_alarms`): made once for each
broker that appears (a scale-out's new brokers get theirs), removed with their broker or cluster.
An alarm a user deleted is not made again: its history remembers it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Protocol

from steward.domain.alarms import (
    AlarmRule,
    AlarmState,
    AlarmStatus,
    evaluate,
    evaluation_window,
    recommended_alarms,
)
from steward.domain.model import ClusterState, NodeRole
from steward.monitor import alarm_actions
from steward.monitor.alarm_actions import AlarmActions
from steward.monitor.metric_source import MetricSource, StoredSource, series_name
from steward.monitor.store import MetricStore
from steward.store.store import Store

log = logging.getLogger(__name__)

NAMESPACE = "AWS/Kafka"
WEBHOOK_TIMEOUT = alarm_actions.WEBHOOK_TIMEOUT
post_webhook = alarm_actions.post_webhook
notification = alarm_actions.notification
Notifier = alarm_actions.Notifier


class MetricReader(Protocol):
    def statistics(
        self,
        metric_name: str,
        dimensions: Mapping[str, str],
        start: float,
        end: float,
        period: int,
        statistic: str,
    ) -> dict[float, float]:
        """The statistic of the metric (its stored name, `series_name`) per period in
        [start, end), keyed by the period's start (epoch seconds); periods without samples are
        left out."""
        ...


class StoredMetrics:
    """A metric source (the embedded store, or a Prometheus before it) as alarms read it."""

    def __init__(self, source: MetricStore | MetricSource) -> None:
        self.source: MetricSource = (
            StoredSource(source) if isinstance(source, MetricStore) else source
        )

    def statistics(
        self,
        metric_name: str,
        dimensions: Mapping[str, str],
        start: float,
        end: float,
        period: int,
        statistic: str,
    ) -> dict[float, float]:
        found = self.source.query(metric_name, dimensions, start, end, period, statistic)
        return {point.timestamp: point.value for point in found}


class AlarmMonitor:
    def __init__(
        self,
        store: Store,
        metrics: MetricReader,
        *,
        region: str,
        account: str,
        interval: float = 10.0,
        notify: Notifier = post_webhook,
        clock: Callable[[], float] = time.time,
        actions: AlarmActions | None = None,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.interval = interval
        self.clock = clock
        self.actions = actions or AlarmActions(store, region=region, account=account, notify=notify)

    def close(self) -> None:
        """After the last evaluation: the notifications already due are still sent (each within
        WEBHOOK_TIMEOUT)."""
        self.actions.close()

    def run_once(self) -> None:
        self.keep_recommended_alarms()
        self.evaluate_all()

    # --- evaluation -----------------------------------------------------------------------------
    def evaluate_all(self) -> None:
        """Every alarm; one whose metrics cannot be read (a Prometheus that does not answer)
        keeps its state and does not stop the others."""
        for rule, status in self.store.alarms.all():
            try:
                self.evaluate_one(rule, status)
            except Exception as error:
                log.warning("alarm %s: cannot read its metric: %s", rule.name, error)

    def evaluate_one(self, rule: AlarmRule, status: AlarmStatus) -> AlarmStatus:
        now = self.clock()
        window = evaluation_window(rule, now)
        values = self.metrics.statistics(
            series_name(rule.namespace, rule.metric_name),
            dict(rule.dimensions),
            window[0],
            window[-1] + rule.period,
            rule.period,
            rule.statistic,
        )
        found = evaluate(rule, values, now, status.state)
        moment = datetime.fromtimestamp(now, UTC)
        old = status.state
        status.evaluated_at = moment
        if found.state is not old:
            status.state, status.reason, status.updated_at = found.state, found.reason, moment
        self.store.alarms.save_status(rule.name, status)
        if found.state is not old:
            self._changed(rule, old, status, found.datapoints)
        return status

    def _changed(
        self,
        rule: AlarmRule,
        old: AlarmState,
        status: AlarmStatus,
        datapoints: tuple[tuple[float, float | None], ...],
    ) -> None:
        summary = f"Alarm updated from {old.value} to {status.state.value}"
        log.info("alarm %s: %s: %s", rule.name, summary, status.reason)
        assert status.updated_at is not None
        self.store.alarms.record(
            rule.name,
            status.updated_at,
            "StateUpdate",
            summary,
            {
                "oldState": old.value,
                "newState": status.state.value,
                "reason": status.reason,
                "datapoints": [{"timestamp": t, "value": v} for t, v in datapoints],
            },
        )
        self.actions.run(rule, old, status)

    # --- recommended alarms ---------------------------------------------------------------------
    def keep_recommended_alarms(self) -> None:
        clusters = {c.arn: c for c in self.store.list_clusters()}
        for rule, _ in self.store.alarms.all():
            if rule.cluster_arn is not None and rule.cluster_arn not in clusters:
                self._remove(rule.name, "its cluster was deleted")
        for cluster in clusters.values():
            if cluster.state not in (ClusterState.ACTIVE, ClusterState.HEALING):
                continue
            brokers = sorted(
                n.node_id for n in self.store.nodes(cluster.arn) if n.role is NodeRole.BROKER
            )
            wanted = {r.name: r for r in recommended_alarms(cluster.arn, cluster.name, brokers)}
            for rule, _ in self.store.alarms.all(cluster_arn=cluster.arn):
                if rule.name not in wanted:
                    self._remove(rule.name, "its broker left the cluster")
            for name, rule in wanted.items():
                if not self.store.alarms.history(name, limit=1):  # never made, never deleted
                    self.store.alarms.put(rule)
                    self.store.alarms.record(
                        name,
                        datetime.now(UTC),
                        "ConfigurationUpdate",
                        f'Alarm "{name}" created with cluster {cluster.name}',
                        {"dimensions": [list(pair) for pair in rule.dimensions]},
                    )

    def _remove(self, name: str, why: str) -> None:
        if self.store.alarms.delete(name):
            self.store.alarms.record(
                name, datetime.now(UTC), "ConfigurationUpdate", f'Alarm "{name}" deleted: {why}', {}
            )

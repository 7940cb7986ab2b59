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
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx

from steward.domain.alarms import (
    AlarmRule,
    AlarmState,
    AlarmStatus,
    evaluate,
    evaluation_window,
    recommended_alarms,
)
from steward.domain.model import ClusterState, NodeRole
from steward.monitor.store import MetricStore
from steward.store.store import Store

log = logging.getLogger(__name__)

NAMESPACE = "AWS/Kafka"
WEBHOOK_TIMEOUT = 10.0


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
        """The statistic of the metric per period in [start, end), keyed by the period's start
        (epoch seconds); periods without samples are left out."""
        ...


class StoredMetrics:
    """The metric store as alarms read it."""

    def __init__(self, store: MetricStore) -> None:
        self.store = store

    def statistics(
        self,
        metric_name: str,
        dimensions: Mapping[str, str],
        start: float,
        end: float,
        period: int,
        statistic: str,
    ) -> dict[float, float]:
        found = self.store.query(metric_name, dimensions, start, end, period, statistic)
        return {point.timestamp: point.value for point in found}


Notifier = Callable[[str, dict[str, Any]], None]


def post_webhook(url: str, payload: dict[str, Any]) -> None:
    response = httpx.post(url, json=payload, timeout=WEBHOOK_TIMEOUT)
    response.raise_for_status()


def notification(
    rule: AlarmRule, old: AlarmState, status: AlarmStatus, region: str, account: str
) -> dict[str, Any]:
    """What a webhook receives: the members of CloudWatch's alarm notification."""
    when = status.updated_at or datetime.now(UTC)
    return {
        "AlarmName": rule.name,
        "AlarmDescription": rule.description or None,
        "AWSAccountId": account,
        "Region": region,
        "NewStateValue": status.state.value,
        "NewStateReason": status.reason,
        "OldStateValue": old.value,
        "StateChangeTime": when.isoformat(timespec="milliseconds"),
        "Trigger": {
            "MetricName": rule.metric_name,
            "Namespace": NAMESPACE,
            "Statistic": rule.statistic.upper(),
            "Dimensions": [{"name": k, "value": v} for k, v in rule.dimensions],
            "Period": rule.period,
            "EvaluationPeriods": rule.evaluation_periods,
            "DatapointsToAlarm": rule.required_breaches,
            "ComparisonOperator": rule.comparison.value,
            "Threshold": rule.threshold,
            "TreatMissingData": rule.treat_missing_data.value,
        },
    }


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
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.region = region
        self.account = account
        self.interval = interval
        self.notify = notify
        self.clock = clock
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="alarm-webhook")

    def close(self) -> None:
        """After the last evaluation: the notifications already due are still sent (each within
        WEBHOOK_TIMEOUT)."""
        self._pool.shutdown(wait=True)

    def run_once(self) -> None:
        self.keep_recommended_alarms()
        self.evaluate_all()

    # --- evaluation -----------------------------------------------------------------------------
    def evaluate_all(self) -> None:
        for rule, status in self.store.alarms.all():
            self.evaluate_one(rule, status)

    def evaluate_one(self, rule: AlarmRule, status: AlarmStatus) -> AlarmStatus:
        now = self.clock()
        window = evaluation_window(rule, now)
        values = self.metrics.statistics(
            rule.metric_name,
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
        payload = notification(rule, old, status, self.region, self.account)
        for url in rule.webhook_urls:
            self._pool.submit(self._send, rule.name, url, payload)

    def _send(self, name: str, url: str, payload: dict[str, Any]) -> None:
        try:
            self.notify(url, payload)
        except Exception as error:
            log.warning("alarm %s: the webhook %s failed: %s", name, url, error)
            summary, outcome = f"Failed to execute action {url}", {"error": str(error)}
        else:
            summary, outcome = f"Successfully executed action {url}", {}
        self.store.alarms.record(
            name,
            datetime.now(UTC),
            "Action",
            summary,
            {"url": url, "newState": payload["NewStateValue"], **outcome},
        )

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

"""What an alarm's actions do: each is a webhook, POSTed a JSON body shaped like CloudWatch's
alarm notification. An action that is an SNS topic ARN posts to the URL Steward's settings give
that topic's name (STEWARD_ALARM_TOPICS); a topic with none configured is refused when the alarm
is put, and logged as a failed action if the settings lost it since.

Posts run in a small pool, each within WEBHOOK_TIMEOUT, so a slow webhook never holds up the
evaluation of other alarms; each outcome goes into the alarm's history as an `Action` entry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx

from steward.domain.alarms import AlarmRule, AlarmState, AlarmStatus, topic_name
from steward.domain.errors import BadRequestException
from steward.store.store import Store

log = logging.getLogger(__name__)

WEBHOOK_TIMEOUT = 10.0

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
            "Namespace": rule.namespace,
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


class AlarmActions:
    def __init__(
        self,
        store: Store,
        *,
        region: str,
        account: str,
        topics: Mapping[str, str] | None = None,
        notify: Notifier = post_webhook,
    ) -> None:
        self.store = store
        self.region = region
        self.account = account
        self.topics = dict(topics or {})
        """SNS topic name -> the webhook URL it posts to."""
        self.notify = notify
        self._pool: ThreadPoolExecutor | None = None

    def check(self, rule: AlarmRule) -> None:
        """BadRequestException for an action naming a topic that has no webhook."""
        for member, actions in (
            ("alarmActions", rule.alarm_actions),
            ("okActions", rule.ok_actions),
            ("insufficientDataActions", rule.insufficient_data_actions),
        ):
            for action in actions:
                name = topic_name(action)
                if name is not None and name not in self.topics:
                    raise BadRequestException(
                        f"The SNS topic {action} has no webhook: configure one with "
                        f"STEWARD_ALARM_TOPICS={name}=<url>.",
                        member,
                    )

    def url_of(self, action: str) -> str | None:
        name = topic_name(action)
        return action if name is None else self.topics.get(name)

    def run(self, rule: AlarmRule, old: AlarmState, status: AlarmStatus) -> None:
        """Send the notification of a change to `status.state` to its actions."""
        actions = rule.actions_for(status.state)
        if not actions:
            return
        payload = notification(rule, old, status, self.region, self.account)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="alarm-webhook")
        for action in actions:
            self._pool.submit(self._send, rule.name, action, payload)

    def close(self) -> None:
        """The notifications already due are still sent (each within WEBHOOK_TIMEOUT)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _send(self, name: str, action: str, payload: dict[str, Any]) -> None:
        url = self.url_of(action)
        try:
            if url is None:
                raise LookupError(f"no webhook is configured for {action}")
            self.notify(url, payload)
        except Exception as error:
            log.warning("alarm %s: the action %s failed: %s", name, action, error)
            summary, outcome = f"Failed to execute action {action}", {"error": str(error)}
        else:
            summary, outcome = f"Successfully executed action {action}", {}
        self.store.alarms.record(
            name,
            datetime.now(UTC),
            "Action",
            summary,
            {"url": url, "action": action, "newState": payload["NewStateValue"], **outcome},
        )

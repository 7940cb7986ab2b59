"""The alarms and their history, over the store's engine."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine

from steward.domain.alarms import AlarmRule, AlarmState, AlarmStatus, Comparison, MissingData
from steward.store import schema
from steward.store.codec import aware

HISTORY_LIMIT = 100
"""History entries one read returns at most, newest first."""


def rule_to_json(rule: AlarmRule) -> dict[str, Any]:
    data = asdict(rule)
    data["dimensions"] = [list(pair) for pair in rule.dimensions]
    data["tags"] = [list(pair) for pair in rule.tags]
    for member in ("alarm_actions", "ok_actions", "insufficient_data_actions"):
        data[member] = list(getattr(rule, member))
    data["comparison"] = rule.comparison.value
    data["treat_missing_data"] = rule.treat_missing_data.value
    return data


def rule_from_json(data: dict[str, Any]) -> AlarmRule:
    """A stored rule. One stored before alarms had an action list per state has `webhook_urls`,
    which were told of every change: they become the actions of all three states."""
    data = dict(data)
    legacy = tuple(data.pop("webhook_urls", None) or ())
    if legacy:
        for member in ("alarm_actions", "ok_actions", "insufficient_data_actions"):
            data.setdefault(member, list(legacy))
    return AlarmRule(
        **{
            **data,
            "dimensions": tuple((str(k), str(v)) for k, v in data["dimensions"]),
            "tags": tuple((str(k), str(v)) for k, v in data.get("tags", ())),
            "alarm_actions": tuple(data.get("alarm_actions", ())),
            "ok_actions": tuple(data.get("ok_actions", ())),
            "insufficient_data_actions": tuple(data.get("insufficient_data_actions", ())),
            "comparison": Comparison(data["comparison"]),
            "treat_missing_data": MissingData(data.get("treat_missing_data", "missing")),
        }
    )


def _status(row: Any) -> AlarmStatus:
    return AlarmStatus(
        state=AlarmState(row.state),
        reason=row.reason,
        updated_at=aware(row.updated_at),
        evaluated_at=aware(row.evaluated_at),
    )


class Alarms:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def put(self, rule: AlarmRule) -> bool:
        """Create the alarm, or replace its rule (its state then starts over, as CloudWatch's
        does); True when it is new."""
        fresh = AlarmStatus()
        values = {
            "rule": rule_to_json(rule),
            "cluster_arn": rule.cluster_arn,
            "state": fresh.state.value,
            "reason": fresh.reason,
            "updated_at": None,
            "evaluated_at": None,
        }
        with self.engine.begin() as conn:
            exists = conn.execute(
                select(schema.alarms.c.name).where(schema.alarms.c.name == rule.name)
            ).first()
            if exists:
                conn.execute(
                    update(schema.alarms).where(schema.alarms.c.name == rule.name).values(**values)
                )
            else:
                conn.execute(insert(schema.alarms).values(name=rule.name, **values))
        return exists is None

    def replace_rule(self, rule: AlarmRule) -> None:
        """Change the alarm's rule and keep its state (switching its actions on or off)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(schema.alarms)
                .where(schema.alarms.c.name == rule.name)
                .values(rule=rule_to_json(rule))
            )

    def get(self, name: str) -> tuple[AlarmRule, AlarmStatus] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(schema.alarms).where(schema.alarms.c.name == name)).first()
        return None if row is None else (rule_from_json(row.rule), _status(row))

    def all(
        self, cluster_arn: str | None = None, prefix: str | None = None
    ) -> list[tuple[AlarmRule, AlarmStatus]]:
        query = select(schema.alarms).order_by(schema.alarms.c.name)
        if cluster_arn is not None:
            query = query.where(schema.alarms.c.cluster_arn == cluster_arn)
        if prefix:
            query = query.where(schema.alarms.c.name.startswith(prefix, autoescape=True))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [(rule_from_json(row.rule), _status(row)) for row in rows]

    def delete(self, name: str) -> bool:
        with self.engine.begin() as conn:
            deleted = conn.execute(delete(schema.alarms).where(schema.alarms.c.name == name))
        return deleted.rowcount > 0

    def delete_for_cluster(self, cluster_arn: str) -> list[str]:
        names = [rule.name for rule, _ in self.all(cluster_arn=cluster_arn)]
        with self.engine.begin() as conn:
            conn.execute(delete(schema.alarms).where(schema.alarms.c.cluster_arn == cluster_arn))
        return names

    def save_status(self, name: str, status: AlarmStatus) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(schema.alarms)
                .where(schema.alarms.c.name == name)
                .values(
                    state=status.state.value,
                    reason=status.reason,
                    updated_at=status.updated_at,
                    evaluated_at=status.evaluated_at,
                )
            )

    def record(
        self, name: str, when: datetime, kind: str, summary: str, data: dict[str, Any]
    ) -> None:
        """One history entry: kind is ConfigurationUpdate, StateUpdate or Action."""
        with self.engine.begin() as conn:
            conn.execute(
                insert(schema.alarm_history).values(
                    alarm_name=name, timestamp=when, kind=kind, summary=summary, data=data
                )
            )

    def history(self, name: str | None, limit: int = HISTORY_LIMIT) -> list[dict[str, Any]]:
        """The alarm's entries (every alarm's when `name` is None), newest first."""
        table = schema.alarm_history
        query = select(table).order_by(table.c.id.desc()).limit(limit)
        if name is not None:
            query = query.where(table.c.alarm_name == name)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            {
                "alarmName": row.alarm_name,
                "timestamp": aware(row.timestamp),
                "historyItemType": row.kind,
                "historySummary": row.summary,
                "historyData": row.data,
            }
            for row in rows
        ]

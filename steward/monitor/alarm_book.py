"""The use cases of alarms: put (create or replace), describe, list, delete, history. Every change
goes into the alarm's history, next to the state changes the alarm monitor records."""

from __future__ import annotations

from typing import Any

from steward.domain.alarms import AlarmRule, AlarmStatus
from steward.domain.errors import NotFoundException
from steward.domain.model import utcnow
from steward.store.store import Store


class AlarmBook:
    def __init__(self, store: Store) -> None:
        self.store = store

    def put(self, rule: AlarmRule) -> tuple[AlarmRule, AlarmStatus]:
        rule.validate()
        created = self.store.alarms.put(rule)
        verb = "created" if created else "updated"
        self.store.alarms.record(
            rule.name, utcnow(), "ConfigurationUpdate", f'Alarm "{rule.name}" {verb}', {}
        )
        return self.describe(rule.name)

    def describe(self, name: str) -> tuple[AlarmRule, AlarmStatus]:
        found = self.store.alarms.get(name)
        if found is None:
            raise NotFoundException(f"Alarm {name} does not exist.", "alarmName")
        return found

    def list(
        self, prefix: str | None = None, cluster_arn: str | None = None, state: str | None = None
    ) -> list[tuple[AlarmRule, AlarmStatus]]:
        found = self.store.alarms.all(cluster_arn=cluster_arn, prefix=prefix)
        return [(r, s) for r, s in found if state is None or s.state.value == state]

    def delete(self, name: str) -> None:
        if not self.store.alarms.delete(name):
            raise NotFoundException(f"Alarm {name} does not exist.", "alarmName")
        self.store.alarms.record(
            name, utcnow(), "ConfigurationUpdate", f'Alarm "{name}" deleted', {}
        )

    def history(self, name: str) -> list[dict[str, Any]]:
        entries = self.store.alarms.history(name)
        if not entries and self.store.alarms.get(name) is None:
            raise NotFoundException(f"Alarm {name} does not exist.", "alarmName")
        return entries

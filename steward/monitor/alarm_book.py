"""The use cases of alarms: put (create or replace), describe, list, delete, history, set the
state by hand, switch the actions on and off. Every change goes into the alarm's history, next to
the state changes the alarm monitor records. Steward's alarm routes and CloudWatch's API both
work through this book, over the one alarm store."""

from __future__ import annotations

import dataclasses
from typing import Any

from steward.domain.alarms import AlarmRule, AlarmState, AlarmStatus
from steward.domain.errors import NotFoundException
from steward.domain.model import utcnow
from steward.monitor.alarm_actions import AlarmActions
from steward.store.store import Store


class AlarmBook:
    def __init__(self, store: Store, actions: AlarmActions | None = None) -> None:
        self.store = store
        self.actions = actions
        """Where a state set by hand sends its notifications (None: nowhere)."""

    def put(self, rule: AlarmRule) -> tuple[AlarmRule, AlarmStatus]:
        rule.validate()
        if self.actions is not None:
            self.actions.check(rule)
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

    def set_state(self, name: str, state: AlarmState, reason: str) -> None:
        """The alarm goes to `state` now, its actions told as for any change; its next
        evaluation puts it back where its metric says (CloudWatch's SetAlarmState)."""
        rule, status = self.describe(name)
        old = status.state
        now = utcnow()
        changed = AlarmStatus(state, reason, now, status.evaluated_at)
        self.store.alarms.save_status(name, changed)
        if old is state:
            return
        self.store.alarms.record(
            name,
            now,
            "StateUpdate",
            f"Alarm updated from {old.value} to {state.value}",
            {"oldState": old.value, "newState": state.value, "reason": reason, "manual": True},
        )
        if self.actions is not None:
            self.actions.run(rule, old, changed)

    def set_actions_enabled(self, name: str, enabled: bool) -> None:
        """Switch the alarm's actions on or off; its state carries on."""
        rule, _ = self.describe(name)
        if rule.actions_enabled is enabled:
            return
        self.store.alarms.replace_rule(dataclasses.replace(rule, actions_enabled=enabled))
        verb = "enabled" if enabled else "disabled"
        self.store.alarms.record(
            name, utcnow(), "ConfigurationUpdate", f'Alarm "{name}" actions {verb}', {}
        )

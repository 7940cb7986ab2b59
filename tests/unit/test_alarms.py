"""Alarms with CloudWatch's rules: evaluation over periods, missing data, state changes recorded
and sent to webhooks, and the recommended alarms every cluster gets."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from steward.api.app import build_app
from steward.api.auth.guard import AcceptAnyRequest
from steward.cli.main import cli
from steward.control.service import ClusterService
from steward.domain.alarms import (
    AlarmRule,
    AlarmState,
    Comparison,
    MissingData,
    evaluate,
    evaluation_window,
)
from steward.domain.errors import BadRequestException
from steward.domain.model import utcnow
from steward.monitor.alarm_monitor import AlarmMonitor
from steward.settings import Settings
from steward.store.store import Store
from tests.unit.clusters import active_cluster
from tests.unit.serving import serving
from tests.unit.test_msk_topics import ZONES

NOW = 1_800_000_000.0  # a multiple of 60


def rule(**changes: Any) -> AlarmRule:
    values: dict[str, Any] = {
        "name": "lag-high",
        "metric_name": "SumOffsetLag",
        "dimensions": (("Cluster Name", "orders"), ("Consumer Group", "billing")),
        "statistic": "Maximum",
        "period": 60,
        "evaluation_periods": 3,
        "threshold": 100,
        "comparison": Comparison.GREATER,
        **changes,
    }
    return AlarmRule(**values)


def periods(*values: float | None, alarm: AlarmRule | None = None) -> dict[float, float]:
    window = evaluation_window(alarm or rule(), NOW)
    return {start: v for start, v in zip(window, values, strict=True) if v is not None}


def test_the_window_is_the_last_complete_periods() -> None:
    assert evaluation_window(rule(), NOW + 59) == [NOW - 180, NOW - 120, NOW - 60]


@pytest.mark.parametrize(
    ("values", "changes", "state"),
    [
        ((150, 200, 300), {}, AlarmState.ALARM),
        ((150, 20, 300), {}, AlarmState.OK),
        ((150, 20, 300), {"datapoints_to_alarm": 2}, AlarmState.ALARM),
        ((100, 100, 100), {}, AlarmState.OK),
        ((100, 100, 100), {"comparison": Comparison.GREATER_OR_EQUAL}, AlarmState.ALARM),
        ((None, None, None), {}, AlarmState.INSUFFICIENT_DATA),
        ((None, None, None), {"treat_missing_data": MissingData.NOT_BREACHING}, AlarmState.OK),
        ((None, None, None), {"treat_missing_data": MissingData.BREACHING}, AlarmState.ALARM),
        ((None, None, None), {"treat_missing_data": MissingData.IGNORE}, AlarmState.OK),
        ((None, 500, 500), {}, AlarmState.OK),
        ((None, 500, 500), {"treat_missing_data": MissingData.BREACHING}, AlarmState.ALARM),
        ((5, 1, 0), {"comparison": Comparison.LESS_OR_EQUAL, "threshold": 1,
                     "datapoints_to_alarm": 2}, AlarmState.ALARM),
    ],
)  # fmt: skip
def test_evaluation_follows_cloudwatch(
    values: tuple[float | None, ...], changes: dict[str, Any], state: AlarmState
) -> None:
    alarm = rule(**changes)
    found = evaluate(alarm, periods(*values, alarm=alarm), NOW, current=AlarmState.OK)
    assert found.state is state, found.reason


def test_a_rule_with_a_bad_member_names_it() -> None:
    for changes, member in [
        ({"period": 45}, "period"),
        ({"statistic": "median"}, "statistic"),
        ({"datapoints_to_alarm": 4}, "datapointsToAlarm"),
        ({"alarm_actions": ("ftp://x",)}, "alarmActions"),
        ({"name": ""}, "alarmName"),
    ]:
        with pytest.raises(BadRequestException) as refused:
            rule(**changes).validate()
        assert refused.value.invalid_parameter == member


class FakeMetrics:
    def __init__(self) -> None:
        self.values: dict[float, float] = {}
        self.asked: list[tuple[str, dict[str, str], int, str]] = []

    def statistics(
        self,
        metric_name: str,
        dimensions: Mapping[str, str],
        start: float,
        end: float,
        period: int,
        statistic: str,
    ) -> dict[float, float]:
        self.asked.append((metric_name, dict(dimensions), period, statistic))
        return {t: v for t, v in self.values.items() if start <= t < end}


@pytest.fixture
def store(tmp_path: Path) -> Any:
    store = Store(f"sqlite:///{tmp_path / 'steward.db'}")
    yield store
    store.close()


def monitor(
    store: Store, metrics: FakeMetrics, sent: list[tuple[str, dict[str, Any]]], clock: list[float]
) -> AlarmMonitor:
    alarms = AlarmMonitor(
        store,
        metrics,
        region="us-east-1",
        account="000000000000",
        notify=lambda url, payload: sent.append((url, payload)),
        clock=lambda: clock[0],
    )
    return alarms


def test_a_state_change_is_recorded_and_sent_to_the_webhooks(store: Store) -> None:
    metrics, sent, clock = FakeMetrics(), [], [NOW]
    alarms = monitor(store, metrics, sent, clock)
    store.alarms.put(rule(alarm_actions=("http://127.0.0.1:1/hook",)))
    metrics.values = periods(150, 200, 300)
    alarms.evaluate_all()
    alarms.close()  # the notifications due are sent first
    _, status = store.alarms.get("lag-high")  # type: ignore[misc]
    assert status.state is AlarmState.ALARM and "Threshold Crossed" in status.reason
    assert metrics.asked[0] == (
        "SumOffsetLag",
        {"Cluster Name": "orders", "Consumer Group": "billing"},
        60,
        "Maximum",
    )
    url, payload = sent[0]
    assert url == "http://127.0.0.1:1/hook"
    assert payload["NewStateValue"] == "ALARM" and payload["OldStateValue"] == "INSUFFICIENT_DATA"
    assert payload["Trigger"]["Namespace"] == "AWS/Kafka"
    history = store.alarms.history("lag-high")
    kinds = [h["historyItemType"] for h in history]
    assert "StateUpdate" in kinds and "Action" in kinds


def test_the_alarm_clears_and_unchanged_states_send_nothing(store: Store) -> None:
    metrics, sent, clock = FakeMetrics(), [], [NOW]
    alarms = monitor(store, metrics, sent, clock)
    store.alarms.put(rule(alarm_actions=("http://hook",), ok_actions=("http://hook",)))
    metrics.values = periods(150, 200, 300)
    alarms.evaluate_all()
    alarms.evaluate_all()
    clock[0] = NOW + 180  # three newer periods, all low
    metrics.values = {NOW + t: 0.0 for t in (0, 60, 120)}
    alarms.evaluate_all()
    alarms.close()
    states = [p["NewStateValue"] for _, p in sent]
    assert states == ["ALARM", "OK"]


def test_every_cluster_gets_its_recommended_alarms_once(store: Store, tmp_path: Path) -> None:
    alarms = monitor(store, FakeMetrics(), [], [NOW])
    settings = Settings(home=tmp_path, zones=ZONES)
    active_cluster(ClusterService(settings, store), "orders")  # brokers 1, 2 and 3
    alarms.keep_recommended_alarms()
    names = {r.name for r, _ in store.alarms.all()}
    assert names == {
        "orders-OfflinePartitionsCount",
        "orders-broker-1-UnderReplicatedPartitions",
        "orders-broker-1-KafkaDataLogsDiskUsed",
        "orders-broker-2-UnderReplicatedPartitions",
        "orders-broker-2-KafkaDataLogsDiskUsed",
        "orders-broker-3-UnderReplicatedPartitions",
        "orders-broker-3-KafkaDataLogsDiskUsed",
    }
    disk, _ = store.alarms.get("orders-broker-2-KafkaDataLogsDiskUsed")  # type: ignore[misc]
    assert disk.threshold == 85 and disk.dimensions == (
        ("Broker ID", "2"),
        ("Cluster Name", "orders"),
    )
    store.alarms.delete("orders-OfflinePartitionsCount")  # the user's choice
    store.alarms.record(
        "orders-OfflinePartitionsCount", utcnow(), "ConfigurationUpdate", "deleted", {}
    )
    alarms.keep_recommended_alarms()
    assert store.alarms.get("orders-OfflinePartitionsCount") is None


@pytest.fixture
def alarms_url(tmp_path: Path) -> Iterator[str]:
    settings = Settings(home=tmp_path, zones=ZONES)
    service = ClusterService(settings, Store(settings.db_url))
    with serving(build_app(service, AcceptAnyRequest())) as url:
        yield f"{url}/steward/v1/alarms"
    service.store.close()


ALARM_BODY = {
    "metricName": "MaxOffsetLag",
    "dimensions": [
        {"name": "Consumer Group", "value": "billing"},
        {"name": "Cluster Name", "value": "orders"},
    ],
    "statistic": "Maximum",
    "period": 60,
    "evaluationPeriods": 2,
    "threshold": 1000,
    "comparisonOperator": "GreaterThanThreshold",
    "alarmActions": ["http://127.0.0.1:9/hook"],
}


def test_alarms_are_put_listed_described_and_deleted_over_http(alarms_url: str) -> None:
    put = httpx.put(f"{alarms_url}/lag", json=ALARM_BODY)
    assert put.status_code == 200, put.text
    alarm = put.json()
    assert alarm["stateValue"] == "INSUFFICIENT_DATA" and alarm["datapointsToAlarm"] == 2
    assert alarm["dimensions"][0] == {"name": "Cluster Name", "value": "orders"}
    assert [a["alarmName"] for a in httpx.get(alarms_url).json()["alarms"]] == ["lag"]
    assert httpx.get(alarms_url, params={"state": "ALARM"}).json()["alarms"] == []
    assert httpx.get(f"{alarms_url}/lag").json()["threshold"] == 1000
    assert httpx.delete(f"{alarms_url}/lag").status_code == 200
    missing = httpx.get(f"{alarms_url}/lag")
    assert missing.status_code == 404
    assert missing.headers["x-amzn-ErrorType"].startswith("NotFoundException")
    history = httpx.get(f"{alarms_url}/lag/history").json()["alarmHistoryItems"]
    assert [h["historySummary"] for h in history] == ['Alarm "lag" deleted', 'Alarm "lag" created']


@pytest.mark.parametrize(
    ("change", "member"),
    [
        ({"period": 45}, "period"),
        ({"threshold": "high"}, "threshold"),
        ({"comparisonOperator": "Above"}, "comparisonOperator"),
        ({"metricName": None}, "metricName"),
        ({"datapointsToAlarm": 3}, "datapointsToAlarm"),
    ],
)
def test_a_bad_alarm_is_refused_with_the_member_named(
    alarms_url: str, change: dict[str, Any], member: str
) -> None:
    body = {k: v for k, v in {**ALARM_BODY, **change}.items() if v is not None}
    refused = httpx.put(f"{alarms_url}/lag", json=body)
    assert refused.status_code == 400
    assert refused.headers["x-amzn-ErrorType"].startswith("BadRequestException")
    assert refused.json()["invalidParameter"] == member
    assert httpx.get(alarms_url).json()["alarms"] == []


def test_the_cli_puts_lists_and_shows_an_alarm(alarms_url: str) -> None:
    env = {
        "STEWARD_ENDPOINT_URL": alarms_url.removesuffix("/steward/v1/alarms"),
        "STEWARD_AUTH": "off",
    }
    runner = CliRunner()
    put = runner.invoke(
        cli,
        ["alarm", "put", "lag", "--metric", "MaxOffsetLag", "--dimension", "Cluster Name=orders",
         "--statistic", "Maximum", "--evaluation-periods", "3", "--datapoints-to-alarm", "2",
         "--threshold", "> 1000", "--webhook", "http://127.0.0.1:9/hook"],
        env=env,
    )  # fmt: skip
    assert put.exit_code == 0, put.output
    assert "INSUFFICIENT_DATA" in put.output
    listed = runner.invoke(cli, ["alarm", "list"], env=env)
    assert "lag" in listed.output and "Maximum > 1000 for 2 of 3 x 60 s" in listed.output
    shown = runner.invoke(cli, ["alarm", "describe", "lag", "-o", "json"], env=env)
    assert json.loads(shown.output)["dimensions"] == [{"name": "Cluster Name", "value": "orders"}]
    bad = runner.invoke(cli, ["alarm", "put", "x", "--metric", "M", "--threshold", "~ 3"], env=env)
    assert bad.exit_code != 0 and "--threshold" in bad.output


def test_steward_cloudwatch_reads_what_steward_alarm_made(alarms_url: str) -> None:
    env = {
        "STEWARD_ENDPOINT_URL": alarms_url.removesuffix("/steward/v1/alarms"),
        "STEWARD_AUTH": "off",
    }
    runner = CliRunner()
    put = runner.invoke(
        cli,
        ["alarm", "put", "urp", "--metric", "UnderReplicatedPartitions", "--dimension",
         "Cluster Name=orders", "--statistic", "Maximum", "--threshold", "> 0",
         "--ok-action", "http://127.0.0.1:9/ok"],
        env=env,
    )  # fmt: skip
    assert put.exit_code == 0, put.output
    shown = runner.invoke(cli, ["cloudwatch", "describe-alarms", "-o", "json"], env=env)
    assert shown.exit_code == 0, shown.output
    [alarm] = json.loads(shown.output)["MetricAlarms"]
    assert alarm["AlarmName"] == "urp" and alarm["OKActions"] == ["http://127.0.0.1:9/ok"]
    state = runner.invoke(cli, ["cloudwatch", "set-alarm-state", "urp", "ALARM"], env=env)
    assert state.exit_code == 0 and "ALARM" in state.output, state.output
    off = runner.invoke(cli, ["cloudwatch", "actions", "off", "urp"], env=env)
    assert off.exit_code == 0, off.output
    described = runner.invoke(cli, ["alarm", "describe", "urp", "-o", "json"], env=env)
    assert json.loads(described.output)["actionsEnabled"] is False
    assert json.loads(described.output)["stateValue"] == "ALARM"
    history = runner.invoke(cli, ["cloudwatch", "alarm-history", "urp"], env=env)
    assert "INSUFFICIENT_DATA to ALARM" in history.output, history.output
    data = runner.invoke(
        cli,
        ["cloudwatch", "put-metric-data", "Latency", "42", "--namespace", "Shop/Orders"],
        env=env,
    )
    assert data.exit_code == 0, data.output
    listed = runner.invoke(cli, ["cloudwatch", "list-metrics", "--namespace", "Shop/Orders"],
                           env=env)  # fmt: skip
    assert "Latency" in listed.output, listed.output

"""Broker autoscaling: a rising load is met before it saturates (the trend of the last hours),
counts stay multiples of the zone count within min and max, scale-in waits for room and for
every policy to agree, cooldowns hold the next change, and each decision is a broker count
change whose StateInfo names the metric values."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from steward.api.app import build_app
from steward.api.auth.guard import AcceptAnyRequest
from steward.autoscaling.brokers import (
    CPU,
    HANDLER_IDLE,
    ForecastTiming,
    Reading,
    bounds,
    decide,
    linear_forecast,
)
from steward.autoscaling.service import ApplicationAutoScaling, BrokerAutoscaler, ResizePreview
from steward.autoscaling.store import AutoscalingRecords
from steward.control.scaling import AUTOSCALING, ControlPlaneClusters, application_autoscaling
from steward.control.service import ClusterService
from steward.domain.model import OperationType, utcnow
from steward.settings import Settings, Zone
from steward.store.store import Store
from tests.unit.serving import kafka_client, serving
from tests.unit.test_application_autoscaling import active_cluster, finish

ZONES = (Zone("az-a", "127.87.1"), Zone("az-b", "127.87.2"), Zone("az-c", "127.87.3"))
BROKERS = "kafka:broker-count:BrokerCount"


def reading(latest: float, forecast: float | None = None, target: float = 60.0) -> Reading:
    return Reading("p", CPU, target, latest, latest if forecast is None else forecast)


def test_a_linear_trend_is_carried_ahead() -> None:
    points = [(0.0, 10.0), (600.0, 20.0), (1200.0, 30.0)]
    assert linear_forecast(points, 1800.0) == pytest.approx(40.0)
    assert linear_forecast([(5.0, 7.0)], 100.0) == 7.0
    assert linear_forecast([], 1.0) is None


def test_rising_load_scales_out_before_it_saturates() -> None:
    now_only = decide(3, 3, 3, 12, [reading(55.0)])
    assert now_only.desired == 3  # under the target now
    rising = decide(3, 3, 3, 12, [reading(55.0, forecast=80.0)])
    assert rising.desired == 6  # the trend says it will pass it: scale out now
    assert "forecast 80.0" in rising.cause


def test_counts_are_multiples_of_the_zones_within_min_and_max() -> None:
    assert bounds(4, 14, 3) == (6, 12)
    assert decide(3, 3, 3, 9, [reading(200.0)]).desired == 9
    assert decide(6, 3, 6, 12, [reading(5.0)]).desired == 6


def test_scale_in_needs_every_policy_and_room_at_the_smaller_size() -> None:
    low_cpu = reading(20.0)
    busy_handlers = Reading("h", HANDLER_IDLE, 40.0, 45.0, 45.0)  # idle 45 %, keep 40 %
    assert decide(6, 3, 3, 12, [low_cpu]).desired == 3
    assert decide(6, 3, 3, 12, [low_cpu, busy_handlers]).desired == 6
    assert decide(6, 3, 3, 12, [reading(27.0)]).desired == 6  # 54 % at 3: under 60 but no room
    no_in = Reading("p", CPU, 60.0, 20.0, 20.0, disable_scale_in=True)
    assert decide(6, 3, 3, 12, [no_in]).desired == 6


class LoadedBrokers(ControlPlaneClusters):
    """The control plane with the CPU series the test sets (no metrics scraped here)."""

    cpu: list[tuple[float, float]] = []

    def broker_series(
        self, arn: str, metric: str, start: float, end: float
    ) -> list[tuple[float, float]]:
        return list(self.cpu) if metric == CPU else []

    def preview_resize(self, arn: str, brokers: int) -> ResizePreview:
        current = self.describe(arn).spec.number_of_broker_nodes
        return ResizePreview(current, brokers, 10, 10 << 20, 2.0)


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> ClusterService:
    home: Path = tmp_path_factory.mktemp("brokers")
    settings = Settings(home=home, zones=ZONES)
    return ClusterService(settings, Store(settings.db_url))


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def loaded(service: ClusterService) -> LoadedBrokers:
    return LoadedBrokers(service)


@pytest.fixture(scope="module")
def scaling(service: ClusterService, loaded: LoadedBrokers, clock: Clock) -> ApplicationAutoScaling:
    settings = service.settings
    return ApplicationAutoScaling(
        AutoscalingRecords(service.store.engine),
        loaded,
        settings.region,
        settings.account_id,
        clock,
    )


@pytest.fixture(scope="module")
def clients(service: ClusterService, scaling: ApplicationAutoScaling) -> Iterator[Any]:
    with serving(build_app(service, AcceptAnyRequest(), autoscaling=scaling)) as url:
        autoscaling = boto3.client(
            "application-autoscaling",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        yield kafka_client(url), autoscaling


def cpu_policy(autoscaling: Any, arn: str, **extra: Any) -> None:
    autoscaling.put_scaling_policy(
        PolicyName="cpu",
        ServiceNamespace="kafka",
        ResourceId=arn,
        ScalableDimension=BROKERS,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 60.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": CPU},
            **extra,
        },
    )


def test_broker_counts_must_be_multiples_of_the_zones(
    clients: Any, service: ClusterService
) -> None:
    kafka, autoscaling = clients
    cluster = active_cluster(kafka, service, "uneven")
    with pytest.raises(ClientError) as raised:
        autoscaling.register_scalable_target(
            ServiceNamespace="kafka",
            ResourceId=cluster.arn,
            ScalableDimension=BROKERS,
            MinCapacity=3,
            MaxCapacity=10,
        )
    assert raised.value.response["Error"]["Code"] == "ValidationException"


def test_a_rising_load_adds_brokers_and_a_falling_one_removes_them(
    clients: Any,
    service: ClusterService,
    scaling: ApplicationAutoScaling,
    loaded: LoadedBrokers,
    clock: Clock,
) -> None:
    kafka, autoscaling = clients
    cluster = active_cluster(kafka, service, "elastic")
    autoscaling.register_scalable_target(
        ServiceNamespace="kafka",
        ResourceId=cluster.arn,
        ScalableDimension=BROKERS,
        MinCapacity=3,
        MaxCapacity=9,
    )
    cpu_policy(autoscaling, cluster.arn, ScaleOutCooldown=600, ScaleInCooldown=600)
    autoscaler = BrokerAutoscaler(scaling)
    now = clock.now.timestamp()

    loaded.cpu = [(now - 3600 + 600 * i, 30.0 + 5 * i) for i in range(7)]  # 30 % rising to 60 %
    (activity,) = autoscaler.pass_once()
    assert activity.description == "Setting broker count to 6."
    grown = service.describe_cluster(cluster.arn)
    assert grown.spec.number_of_broker_nodes == 6
    assert grown.state_info is not None and grown.state_info.code == AUTOSCALING
    assert "KafkaBrokerCpuUtilization 60.0" in grown.state_info.message
    (operation, *_) = service.list_operations(cluster.arn)
    assert operation.type is OperationType.INCREASE_BROKER_COUNT
    finish(service, cluster.arn)

    loaded.cpu = [(now, 10.0)]
    assert autoscaler.pass_once() == []  # the scale-out's cooldown
    clock.now += timedelta(seconds=601)
    (shrink,) = autoscaler.pass_once()
    assert shrink.description == "Setting broker count to 3."
    (operation, *_) = service.list_operations(cluster.arn)
    assert operation.type is OperationType.DECREASE_BROKER_COUNT
    finish(service, cluster.arn)

    (shown, _) = autoscaling.describe_scaling_activities(
        ServiceNamespace="kafka", ResourceId=cluster.arn
    )["ScalingActivities"]
    assert shown["Description"] == "Setting broker count to 3."
    decision, preview = scaling.plan_brokers(cluster.arn, 6)
    assert decision.desired == 3 and preview.brokers_to == 6


def test_the_forecast_timing_and_the_autoscalers_pace_come_from_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "STEWARD_AUTOSCALING_INTERVAL": "5",
        "STEWARD_BROKER_SCALING_PERIOD": "10",
        "STEWARD_BROKER_SCALING_WINDOW": "60",
        "STEWARD_BROKER_SCALING_LEAD_TIME": "20",
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings(home=tmp_path, zones=ZONES)
    assert settings.autoscaling_interval == 5.0
    service = ClusterService(settings, Store(settings.db_url))
    scaling = application_autoscaling(service)
    assert scaling.timing == ForecastTiming(window=60.0, lead_time=20.0, period=10)
    assert isinstance(scaling.clusters, ControlPlaneClusters)
    assert scaling.clusters.period == 10
    assert BrokerAutoscaler(scaling, settings.autoscaling_interval).interval == 5.0
    short = Reading("p", CPU, 60.0, 82.0, 91.3, lead_time=20.0)
    assert short.describe() == (
        "KafkaBrokerCpuUtilization 82.0 (forecast 91.3 in 20 s) against the target 60"
    )
    assert "in 15 min" in reading(82.0, 91.3).describe()

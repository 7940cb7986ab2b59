"""CloudWatch's metric math as GetMetricData computes it, and the PromQL a Prometheus source asks
for each MSK metric."""

from __future__ import annotations

import pytest

from steward.cloudwatch.expressions import ExpressionError, evaluate, referenced_ids
from steward.monitor.metric_source import percentile, percentile_of, series_name, split_series_name
from steward.monitor.prometheus_source import expression, over_period

A = {0.0: 1.0, 60.0: 2.0, 120.0: 3.0}
B = {60.0: 10.0, 120.0: 20.0, 180.0: 30.0}


def run(text: str) -> list[dict[float, float]]:
    return evaluate(text, {"a": A, "b": B}, ["a", "b"], sorted(set(A) | set(B)))


def test_arithmetic_keeps_the_timestamps_both_series_have() -> None:
    assert run("a + b") == [{60.0: 12.0, 120.0: 23.0}]
    assert run("(a + 1) * 2") == [{0.0: 4.0, 60.0: 6.0, 120.0: 8.0}]
    assert run("b / (a - 2)") == [{120.0: 20.0}]  # 60 s divides by zero: left out
    assert run("-a") == [{0.0: -1.0, 60.0: -2.0, 120.0: -3.0}]


def test_functions_of_arrays_are_series_and_of_one_series_scalars() -> None:
    assert run("SUM([a, b])") == [{0.0: 1.0, 60.0: 12.0, 120.0: 23.0, 180.0: 30.0}]
    assert run("AVG(METRICS())") == [{0.0: 1.0, 60.0: 6.0, 120.0: 11.5, 180.0: 30.0}]
    assert run("MAX(a)") == [{t: 3.0 for t in (0.0, 60.0, 120.0, 180.0)}]
    assert run("a / SUM(a)")[0][120.0] == pytest.approx(0.5)


def test_bad_expressions_say_why() -> None:
    for text, why in (("a +", "Expected"), ("FOO(a)", "Unknown function"), ("c", "Unknown id")):
        with pytest.raises(ExpressionError, match=why):
            run(text)
    assert referenced_ids("SUM([m1, m2]) / METRICS() + 2") == {"m1", "m2"}


def test_percentiles_and_namespaces() -> None:
    assert percentile_of("p99.9") == 99.9 and percentile_of("Average") is None
    assert percentile([float(v) for v in range(1, 101)], 90) == 90.0
    assert series_name("AWS/Kafka", "BytesInPerSec") == "BytesInPerSec"
    assert split_series_name(series_name("Shop/Orders", "Latency")) == ("Shop/Orders", "Latency")


def test_msk_metrics_become_promql_over_the_service_discovery_labels() -> None:
    broker = {"Cluster Name": "orders", "Broker ID": "1"}
    assert expression("BytesInPerSec", broker) == (
        "sum(rate(kafka_server_brokertopicmetrics_count"
        '{broker_id="1",cluster_name="orders",name="BytesInPerSec",topic=""}[60s]))'
    )
    per_topic = expression("MessagesInPerSec", {**broker, "Topic": "pay"})
    assert per_topic is not None and 'topic="pay"' in per_topic
    assert expression("UnderReplicatedPartitions", broker) == (
        'max(kafka_server_replicamanager_value{broker_id="1",cluster_name="orders",'
        'name="UnderReplicatedPartitions"})'
    )
    assert expression("SumOffsetLag", {"Cluster Name": "orders", "Consumer Group": "g"}) is None
    assert over_period("x", 60, "Maximum") == "max_over_time((x)[60s:15s])"
    assert over_period("x", 300, "p99") == "quantile_over_time(0.99, (x)[300s:15s])"

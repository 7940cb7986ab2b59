"""Open monitoring and Steward's metrics against real Kafka: a boto3 user creates a cluster with
Prometheus's JMX and node exporters on, Prometheus-style clients read ports 11001 and 11002 and
Steward's /metrics, a producer writes a known number of bytes and messages that Steward's metrics
API then reports as BytesInPerSec and MessagesInPerSec, and UpdateMonitoring turns the exporters
off and on again.

One single-zone, one-broker cluster (two JVMs) serves the whole module; Steward scrapes every 2 s.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from confluent_kafka import Producer
from prometheus_client.parser import text_string_to_metric_families

from steward.kafka.topics import create_topic
from steward.monitor.store import MetricStore
from tests.integration.harness import Steward, provisioned

pytestmark = pytest.mark.integration

INTERVAL = 2.0
ON = {
    "Prometheus": {
        "JmxExporter": {"EnabledInBroker": True},
        "NodeExporter": {"EnabledInBroker": True},
    }
}
OFF = {
    "Prometheus": {
        "JmxExporter": {"EnabledInBroker": False},
        "NodeExporter": {"EnabledInBroker": False},
    }
}


@pytest.fixture(scope="module")
def steward(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Steward]:
    extra = {"STEWARD_METRICS_INTERVAL": str(INTERVAL)}
    instance = Steward(tmp_path_factory.mktemp("steward"), extra_env=extra)
    instance.start()
    yield instance
    instance.cleanup()


@pytest.fixture(scope="module")
def arn(steward: Steward) -> str:
    spec = provisioned(
        brokers=1, zones=("az-a",), OpenMonitoring=ON, EnhancedMonitoring="PER_TOPIC_PER_BROKER"
    )
    spec["BrokerNodeGroupInfo"]["InstanceType"] = "kafka.t3.small"
    arn = steward.client().create_cluster_v2(ClusterName="watched", Provisioned=spec)["ClusterArn"]
    info = steward.wait_for_state(arn, {"ACTIVE", "FAILED"}, timeout=400)
    assert info["State"] == "ACTIVE", info.get("StateInfo")
    return str(arn)


@pytest.fixture(scope="module")
def bootstrap(steward: Steward, arn: str) -> str:
    return str(steward.client().get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerString"])


@pytest.fixture(scope="module")
def broker_host(bootstrap: str) -> str:
    return bootstrap.split(",")[0].rsplit(":", 1)[0]


def eventually(check: Callable[[], Any], timeout: float = 60.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.5)


def families(url: str) -> dict[str, Any]:
    text = httpx.get(url, timeout=30).text
    return {f.name: f for f in text_string_to_metric_families(text)}


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=10).status_code == 200
    except httpx.HTTPError:
        return False


def test_the_exporters_and_steward_serve_prometheus_text(
    steward: Steward, arn: str, broker_host: str
) -> None:
    jmx = families(f"http://{broker_host}:11001/metrics")
    assert "kafka_server_brokertopicmetrics_count" in jmx
    assert "kafka_server_replicamanager_value" in jmx
    node = families(f"http://{broker_host}:11002/metrics")
    assert {"node_cpu_seconds", "node_memory_MemAvailable_bytes"} <= set(node)
    own = families(f"{steward.endpoint}/metrics")
    assert "steward_clusters" in own and "steward_metrics_scrape_passes" in own
    targets = httpx.get(f"{steward.endpoint}/prometheus/targets", timeout=30).json()
    assert sorted(t["targets"][0] for t in targets) == [
        f"{broker_host}:11001",
        f"{broker_host}:11002",
    ]
    assert all(t["labels"]["cluster_arn"] == arn for t in targets)
    info = steward.client().describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]
    assert info["Provisioned"]["OpenMonitoring"] == ON


def stored_total(steward: Steward, metric: str, dims: dict[str, str], since: float) -> float:
    """What a rate metric adds up to since `since`: each sample (a rate between two scrapes of
    the broker) times the time since the broker's scrape before it, from the samples Steward
    stored. The broker's scrapes are the times of its MessagesInPerSec samples (a topic's series
    starts later, at its first record)."""
    broker = {k: v for k, v in dims.items() if k != "Topic"}
    store = MetricStore(steward.home / "metrics.db")
    try:
        end = time.time() + 60
        scrapes = [at for at, _ in store.samples("MessagesInPerSec", broker, 0, end)]
        found = store.samples(metric, dims, since, end)
    finally:
        store.close()
    total = 0.0
    for at, rate in found:
        before = max(t for t in scrapes if t < at)
        total += rate * (at - before)
    return total


def api_sum(steward: Steward, arn: str, metric: str, since: float, **dims: str) -> float:
    with steward.http() as http:
        answer = http.get(
            f"/steward/v1/clusters/{quote(arn, safe='')}/metrics/{metric}",
            params={
                "startTime": since,
                "endTime": time.time() + 60,
                "period": 3600,
                "statistic": "Sum",
                **dims,
            },
        )
    answer.raise_for_status()
    return float(sum(p["value"] for p in answer.json()["datapoints"]))


def test_produced_bytes_and_messages_show_in_the_metrics(
    steward: Steward, arn: str, bootstrap: str
) -> None:
    topic = f"load-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic, 3)
    time.sleep(2 * INTERVAL)  # a scrape after the topic exists and before the load
    since = time.time()
    messages, size = 20_000, 1_000
    payload = b"m" * size
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
    for i in range(messages):
        producer.produce(topic, payload, key=str(i % 97).encode())
        producer.poll(0)
    assert producer.flush(60) == 0
    time.sleep(3 * INTERVAL)  # scrapes after the load

    broker = {"Cluster Name": "watched", "Broker ID": "1"}
    counted = stored_total(steward, "MessagesInPerSec", broker, since)
    assert counted == pytest.approx(messages, rel=0.01)
    in_bytes = stored_total(steward, "BytesInPerSec", broker, since)
    # Kafka counts record batches: the values plus a few dozen bytes of headers per record.
    assert in_bytes == pytest.approx(messages * size * 1.03, rel=0.1)
    per_topic = stored_total(steward, "BytesInPerSec", {**broker, "Topic": topic}, since)
    assert per_topic == pytest.approx(in_bytes, rel=0.01)

    # The API gives the same samples: their sum, and their rates to a user.
    store = MetricStore(steward.home / "metrics.db")
    try:
        rates = [v for _, v in store.samples("MessagesInPerSec", broker, since, time.time() + 60)]
    finally:
        store.close()
    summed = api_sum(steward, arn, "MessagesInPerSec", since, brokerId="1")
    assert summed == pytest.approx(sum(rates), rel=1e-6)
    assert max(rates) > 0
    with steward.http() as http:
        listed = http.get(f"/steward/v1/clusters/{quote(arn, safe='')}/metrics").json()
    names = {m["metricName"] for m in listed["metrics"]}
    assert {"ActiveControllerCount", "CpuUser", "MemoryUsed", "KafkaDataLogsDiskUsed"} <= names


def test_update_monitoring_turns_the_exporters_off_and_on(
    steward: Steward, arn: str, broker_host: str
) -> None:
    client = steward.client()
    jmx, node = f"http://{broker_host}:11001/metrics", f"http://{broker_host}:11002/metrics"
    started = client.update_monitoring(
        ClusterArn=arn, CurrentVersion=steward.current_version(arn), OpenMonitoring=OFF
    )
    done = steward.wait_for_operation(started["ClusterOperationArn"], timeout=400)
    assert done["OperationState"] == "UPDATE_COMPLETE", done.get("ErrorInfo")
    assert done["OperationType"] == "UPDATE_MONITORING"
    assert not answers(jmx)
    eventually(lambda: not answers(node), timeout=10, what="the node metrics to stop")
    assert httpx.get(f"{steward.endpoint}/prometheus/targets", timeout=30).json() == []

    started = client.update_monitoring(
        ClusterArn=arn, CurrentVersion=steward.current_version(arn), OpenMonitoring=ON
    )
    done = steward.wait_for_operation(started["ClusterOperationArn"], timeout=400)
    assert done["OperationState"] == "UPDATE_COMPLETE", done.get("ErrorInfo")
    assert answers(jmx)
    eventually(lambda: answers(node), timeout=10, what="the node metrics to serve again")
    info = client.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]
    assert info["State"] == "ACTIVE"
    assert info["Provisioned"]["OpenMonitoring"] == ON

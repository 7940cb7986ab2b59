"""CloudWatch and Prometheus over real Kafka: a Prometheus started here scrapes every exporter
Steward's HTTP service discovery lists (the brokers' JMX exporters and Prometheus's own
node_exporter, one per broker) and is Steward's metric source (STEWARD_METRICS_PROMETHEUS_URL);
boto3's `cloudwatch` client reads BytesInPerSec of a broker under load, and an alarm made with
put_metric_alarm on UnderReplicatedPartitions goes to ALARM while a broker is stopped and back to
OK once it runs again, its SNS topic's webhook told both times.

One two-broker cluster in two zones serves the module; Steward scrapes, and Prometheus too,
every 2 s. The health monitor is off, so the stopped broker stays stopped until the test lets it
go on.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from confluent_kafka import Producer

from steward.kafka.topics import create_topic
from tests.integration.harness import Steward, free_port, provisioned
from tests.integration.test_lag_alarm import Webhook

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("prometheus") is None, reason="prometheus is not installed"),
]

CLUSTER = "watched"
TOPIC = "payments"
ON = {
    "Prometheus": {
        "JmxExporter": {"EnabledInBroker": True},
        "NodeExporter": {"EnabledInBroker": True},
    }
}
TOPIC_ARN = "arn:aws:sns:us-east-1:000000000000:ops-alerts"


def eventually(check: Callable[[], Any], timeout: float = 120.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(1.0)


class Prometheus:
    """A Prometheus on loopback whose one job discovers its targets from Steward."""

    def __init__(self, home: Path, steward_endpoint: str, port: int) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.url = f"http://127.0.0.1:{port}"
        config = home / "prometheus.yml"
        config.write_text(
            "global:\n"
            "  scrape_interval: 2s\n"
            "  scrape_timeout: 2s\n"
            "scrape_configs:\n"
            "  - job_name: steward\n"
            "    http_sd_configs:\n"
            f"      - url: {steward_endpoint}/prometheus/targets\n"
            "        refresh_interval: 5s\n"
        )
        self.process = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={home / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdin=subprocess.DEVNULL,
            stdout=(home / "prometheus.out").open("ab"),
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("Prometheus did not start: see prometheus.out")
            time.sleep(0.5)

    def query(self, promql: str) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=10)
        answer.raise_for_status()
        return list(answer.json()["data"]["result"])

    def targets(self) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.url}/api/v1/targets", timeout=10)
        answer.raise_for_status()
        return list(answer.json()["data"]["activeTargets"])

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


@pytest.fixture(scope="module")
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


@pytest.fixture(scope="module")
def prometheus_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def steward(
    tmp_path_factory: pytest.TempPathFactory, webhook: Webhook, prometheus_port: int
) -> Iterator[Steward]:
    extra = {
        "STEWARD_METRICS_INTERVAL": "2",
        "STEWARD_HEALTH_MONITOR": "off",
        "STEWARD_METRICS_PROMETHEUS_URL": f"http://127.0.0.1:{prometheus_port}",
        "STEWARD_ALARM_TOPICS": f"ops-alerts={webhook.url}",
    }
    instance = Steward(tmp_path_factory.mktemp("steward"), extra_env=extra)
    instance.start()
    yield instance
    instance.cleanup()


@pytest.fixture(scope="module")
def prometheus(
    tmp_path_factory: pytest.TempPathFactory, steward: Steward, prometheus_port: int
) -> Iterator[Prometheus]:
    server = Prometheus(tmp_path_factory.mktemp("prometheus"), steward.endpoint, prometheus_port)
    try:
        server.wait_ready()
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def cluster(steward: Steward) -> dict[str, Any]:
    client = steward.client()
    spec = provisioned(
        brokers=2,
        zones=("az-a", "az-b"),
        OpenMonitoring=ON,
        EnhancedMonitoring="PER_TOPIC_PER_BROKER",
    )
    spec["BrokerNodeGroupInfo"]["InstanceType"] = "kafka.t3.small"
    arn = client.create_cluster_v2(ClusterName=CLUSTER, Provisioned=spec)["ClusterArn"]
    info = steward.wait_for_state(arn, {"ACTIVE", "FAILED"}, timeout=500)
    assert info["State"] == "ACTIVE", info.get("StateInfo")
    bootstrap = client.get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerString"]
    create_topic(bootstrap, TOPIC, partitions=4, replication_factor=2)
    return {"arn": arn, "bootstrap": bootstrap}


def cloudwatch(steward: Steward) -> Any:
    access_key_id, secret = steward.credentials()
    return boto3.client(
        "cloudwatch",
        endpoint_url=steward.endpoint,
        region_name="us-east-1",
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret,
    )


def broker_dimensions(broker: str) -> list[dict[str, str]]:
    return [{"Name": "Cluster Name", "Value": CLUSTER}, {"Name": "Broker ID", "Value": broker}]


class Load:
    """A producer writing to TOPIC until stopped."""

    def __init__(self, bootstrap: str) -> None:
        self.stopping = threading.Event()
        self.producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        payload = b"p" * 500
        deadline = time.monotonic() + 300  # bounded, whatever happens to the test
        while not self.stopping.is_set() and time.monotonic() < deadline:
            for i in range(200):
                self.producer.produce(TOPIC, payload, key=str(i).encode())
            self.producer.poll(0.05)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(30)
        self.producer.flush(30)


def test_prometheus_scrapes_every_exporter_and_sees_the_load(
    steward: Steward, cluster: dict[str, Any], prometheus: Prometheus
) -> None:
    def all_up() -> list[dict[str, Any]] | None:
        found = prometheus.targets()
        healthy = len(found) == 4 and all(t["health"] == "up" for t in found)
        return found if healthy else None

    targets = eventually(all_up, what="the four exporters up in Prometheus")
    jobs = sorted(t["labels"]["job"] for t in targets)
    assert jobs == ["jmx-exporter", "jmx-exporter", "node-exporter", "node-exporter"]
    # the brokers' node exporter is Prometheus's own node_exporter
    assert prometheus.query(f'node_exporter_build_info{{cluster_name="{CLUSTER}"}}')

    load = Load(cluster["bootstrap"])
    try:
        rate = (
            f'sum(rate(kafka_server_brokertopicmetrics_count{{name="BytesInPerSec",'
            f'topic="{TOPIC}",cluster_name="{CLUSTER}"}}[20s]))'
        )
        found = eventually(
            lambda: [r for r in prometheus.query(rate) if float(r["value"][1]) > 0],
            what="a non-zero byte rate of the topic in Prometheus",
        )
        assert float(found[0]["value"][1]) > 0

        client = cloudwatch(steward)

        def bytes_in() -> list[float]:
            end = datetime.now(UTC)
            answer = client.get_metric_data(
                StartTime=end - timedelta(minutes=3),
                EndTime=end,
                MetricDataQueries=[
                    {
                        "Id": "bytesin",
                        "MetricStat": {
                            "Metric": {
                                "Namespace": "AWS/Kafka",
                                "MetricName": "BytesInPerSec",
                                "Dimensions": broker_dimensions("1"),
                            },
                            "Period": 10,
                            "Stat": "Average",
                        },
                    },
                    {"Id": "kib", "Expression": "bytesin / 1024"},
                ],
            )
            results = {r["Id"]: r for r in answer["MetricDataResults"]}
            values = [v for v in results["bytesin"]["Values"] if v > 0]
            assert len(results["kib"]["Values"]) == len(results["bytesin"]["Values"])
            return values

        assert eventually(bytes_in, what="BytesInPerSec of broker 1 from get_metric_data")
    finally:
        load.stop()
    listed = cloudwatch(steward).list_metrics(Namespace="AWS/Kafka", MetricName="BytesInPerSec")
    assert any({"Name": "Topic", "Value": TOPIC} in m["Dimensions"] for m in listed["Metrics"]), (
        listed
    )


def broker_pid(steward: Steward, broker_id: int) -> int:
    marker = f"-b{broker_id}{os.sep}"
    for pid in steward.kafka_pids():
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        if marker in cmdline:
            return pid
    raise AssertionError(f"no Kafka process of broker {broker_id}")


def alarm_state(client: Any, name: str) -> str:
    return str(client.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"])


def test_an_under_replication_alarm_fires_while_a_broker_is_stopped_and_clears(
    steward: Steward, cluster: dict[str, Any], prometheus: Prometheus, webhook: Webhook
) -> None:
    client = cloudwatch(steward)
    name = f"urp-{uuid.uuid4().hex[:6]}"
    client.put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/Kafka",
        MetricName="UnderReplicatedPartitions",
        Dimensions=broker_dimensions("1"),
        Statistic="Maximum",
        Period=10,
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
        AlarmActions=[TOPIC_ARN],
        OKActions=[TOPIC_ARN],
    )
    eventually(lambda: alarm_state(client, name) == "OK", what="the alarm OK")
    told_before = len(webhook.received)

    pid = broker_pid(steward, 2)
    os.kill(pid, signal.SIGSTOP)
    try:
        eventually(
            lambda: alarm_state(client, name) == "ALARM", timeout=180, what="the alarm firing"
        )
    finally:
        os.kill(pid, signal.SIGCONT)
    eventually(lambda: alarm_state(client, name) == "OK", timeout=180, what="the alarm clearing")
    eventually(lambda: len(webhook.received) >= told_before + 2, timeout=30, what="the webhook")
    ours = [n for n in webhook.received if n["AlarmName"] == name]
    assert [(n["OldStateValue"], n["NewStateValue"]) for n in ours][-2:] == [
        ("OK", "ALARM"),
        ("ALARM", "OK"),
    ]
    assert ours[-2]["Trigger"]["MetricName"] == "UnderReplicatedPartitions"
    history = client.describe_alarm_history(AlarmName=name, HistoryItemType="Action")
    assert all(
        "Successfully executed action" in h["HistorySummary"] for h in history["AlarmHistoryItems"]
    )

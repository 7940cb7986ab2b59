"""Consumer lag and alarms end to end: a consumer group that stops reading makes its lag grow in
Steward's metrics and an alarm on it fire, with a webhook told; once the group reads again the lag
falls and the alarm clears. Every cluster also gets its recommended alarms.

One cluster of one broker serves the module; Steward scrapes every 2 seconds.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import pytest
from confluent_kafka import Consumer, Producer

from steward.kafka.topics import create_topic
from tests.integration.harness import Steward, provisioned

pytestmark = pytest.mark.integration

GROUP = "billing"
TOPIC = "orders"


@pytest.fixture(scope="module")
def steward(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Steward]:
    instance = Steward(
        tmp_path_factory.mktemp("steward"), extra_env={"STEWARD_METRICS_INTERVAL": "2"}
    )
    instance.start()
    yield instance
    instance.cleanup()


@pytest.fixture(scope="module")
def cluster(steward: Steward) -> dict[str, Any]:
    client = steward.client()
    spec = provisioned(brokers=1, zones=("az-a",))
    arn = client.create_cluster_v2(ClusterName="lagging", Provisioned=spec)["ClusterArn"]
    info = steward.wait_for_state(arn, {"ACTIVE", "FAILED"}, timeout=400)
    assert info["State"] == "ACTIVE", info.get("StateInfo")
    bootstrap = client.get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerString"]
    create_topic(bootstrap, TOPIC, partitions=2, replication_factor=1)
    return {"arn": arn, "name": "lagging", "bootstrap": bootstrap}


class Webhook:
    """An HTTP endpoint on loopback that keeps every JSON body POSTed to it."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                hook.received.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alarms"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


def produce(bootstrap: str, count: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    for i in range(count):
        producer.produce(TOPIC, f"order {i}".encode())
    assert producer.flush(60) == 0


def read_everything(bootstrap: str, expected: int, timeout: float = 90.0) -> None:
    """Read what the group has not read yet (`expected` messages) and commit it."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": GROUP,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([TOPIC])
    read = 0
    deadline = time.monotonic() + timeout
    try:
        while read < expected and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is not None and message.error() is None:
                read += 1
        assert read == expected
        consumer.commit(asynchronous=False)
    finally:
        consumer.close()


def alarm_state(steward: Steward, name: str) -> dict[str, Any]:
    with steward.http() as http:
        answer = http.get(f"/steward/v1/alarms/{quote(name, safe='')}")
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def wait_for_alarm(steward: Steward, name: str, state: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    found = alarm_state(steward, name)
    while found["stateValue"] != state and time.monotonic() < deadline:
        time.sleep(1)
        found = alarm_state(steward, name)
    assert found["stateValue"] == state, found
    return found


def test_a_stopped_consumer_fires_the_lag_alarm_which_clears_when_it_reads_again(
    steward: Steward, cluster: dict[str, Any], webhook: Webhook
) -> None:
    produce(cluster["bootstrap"], 100)
    read_everything(cluster["bootstrap"], 100)
    body = {
        "metricName": "MaxOffsetLag",
        "dimensions": [
            {"name": "Cluster Name", "value": cluster["name"]},
            {"name": "Consumer Group", "value": GROUP},
            {"name": "Topic", "value": TOPIC},
        ],
        "statistic": "Maximum",
        "period": 10,
        "evaluationPeriods": 1,
        "threshold": 50,
        "comparisonOperator": "GreaterThanThreshold",
        "alarmActions": [webhook.url],
        "okActions": [webhook.url],
    }
    with steward.http() as http:
        put = http.put("/steward/v1/alarms/billing-lag", json=body)
    assert put.status_code == 200, put.text
    wait_for_alarm(steward, "billing-lag", "OK")

    produce(cluster["bootstrap"], 400)  # nobody reads: 200 behind on each partition
    fired = wait_for_alarm(steward, "billing-lag", "ALARM")
    assert "Threshold Crossed" in fired["stateReason"]

    read_everything(cluster["bootstrap"], 400)
    wait_for_alarm(steward, "billing-lag", "OK")
    deadline = time.monotonic() + 30
    while len(webhook.received) < 3 and time.monotonic() < deadline:
        time.sleep(0.5)
    states = [(n["OldStateValue"], n["NewStateValue"]) for n in webhook.received]
    assert states == [("INSUFFICIENT_DATA", "OK"), ("OK", "ALARM"), ("ALARM", "OK")]
    assert webhook.received[1]["Trigger"]["MetricName"] == "MaxOffsetLag"
    with steward.http() as http:
        history = http.get("/steward/v1/alarms/billing-lag/history").json()["alarmHistoryItems"]
    assert [h["historySummary"] for h in history if h["historyItemType"] == "StateUpdate"] == [
        "Alarm updated from ALARM to OK",
        "Alarm updated from OK to ALARM",
        "Alarm updated from INSUFFICIENT_DATA to OK",
    ]


def test_the_cluster_has_its_recommended_alarms(steward: Steward, cluster: dict[str, Any]) -> None:
    deadline = time.monotonic() + 60
    names: set[str] = set()
    while time.monotonic() < deadline:
        with steward.http() as http:
            found = http.get("/steward/v1/alarms", params={"clusterArn": cluster["arn"]}).json()
        names = {a["alarmName"] for a in found["alarms"]}
        if len(names) == 3:
            break
        time.sleep(1)
    broker = next(n for n in names if "broker" in n).split("-broker-")[1].split("-")[0]
    assert names == {
        "lagging-OfflinePartitionsCount",
        f"lagging-broker-{broker}-UnderReplicatedPartitions",
        f"lagging-broker-{broker}-KafkaDataLogsDiskUsed",
    }


def test_a_cluster_without_exporters_still_has_its_health_and_disk_metrics(
    steward: Steward, cluster: dict[str, Any]
) -> None:
    """No open monitoring here: what the recommended alarms watch comes from Kafka itself."""
    nodes = steward.client().list_nodes(ClusterArn=cluster["arn"])["NodeInfoList"]
    (broker,) = [str(int(n["BrokerNodeInfo"]["BrokerId"])) for n in nodes if "BrokerNodeInfo" in n]
    metrics = f"/steward/v1/clusters/{quote(cluster['arn'], safe='')}/metrics"

    def latest(metric: str, **dimensions: str) -> float | None:
        params = {"period": "10", "statistic": "Maximum", "startTime": str(time.time() - 300)}
        with steward.http() as http:
            answer = http.get(f"{metrics}/{metric}", params={**params, **dimensions})
        assert answer.status_code == 200, answer.text
        points = answer.json()["datapoints"]
        return points[-1]["value"] if points else None

    deadline = time.monotonic() + 60
    found: dict[str, float | None] = {}
    while time.monotonic() < deadline:
        found = {
            "OfflinePartitionsCount": latest("OfflinePartitionsCount"),
            "GlobalTopicCount": latest("GlobalTopicCount"),
            "UnderReplicatedPartitions": latest("UnderReplicatedPartitions", brokerId=broker),
            "KafkaDataLogsDiskUsed": latest("KafkaDataLogsDiskUsed", brokerId=broker),
        }
        if None not in found.values():
            break
        time.sleep(1)
    assert found["OfflinePartitionsCount"] == 0
    assert found["UnderReplicatedPartitions"] == 0
    assert found["GlobalTopicCount"] is not None and found["GlobalTopicCount"] >= 1
    assert found["KafkaDataLogsDiskUsed"] is not None and 0 < found["KafkaDataLogsDiskUsed"] < 1

"""MSK Connect on real Kafka Connect, exporting to a real S3-compatible server (moto).

A user uploads Steward's S3 sink plugin to S3, registers it, a worker configuration and a
two-worker connector with boto3's `kafkaconnect`, and a background producer writes a topic
while the connector exports it. One worker is killed with SIGKILL while it writes; its agent
restarts it. Every record the producer had acknowledged is then in exactly one object (none
twice), and each object's name carries the offsets it holds. A plugin with no connector class
fails its own connector with a stateDescription, runs no worker and leaves the first connector
running. A connector that asks for TLS reaches the brokers' TLS listener, trusting the cluster's
CA, and is paused, resumed and restarted.

One single-zone, one-broker cluster with plaintext and TLS listeners (two JVMs) serves the
module; the workers land in the agents of the connectors' subnets' zones (az-a and az-b).
"""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from confluent_kafka import KafkaError, Message, Producer

from steward.kafka.distribution import DEFAULT_KAFKA_VERSION
from steward.kafka.s3_sink import s3_sink_plugin
from tests.integration.harness import Steward, pids_mentioning, provisioned
from tests.integration.s3_server import ACCESS_KEY, REGION, SECRET_KEY, S3Server, s3_server

pytestmark = pytest.mark.integration

TOPIC = "orders"
PLUGINS_BUCKET = "plugins"
EXPORT_BUCKET = "exports"
ROLE = "arn:aws:iam::000000000000:role/connect"


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with s3_server(tmp_path_factory.mktemp("s3")) as server:
        for bucket in (PLUGINS_BUCKET, EXPORT_BUCKET):
            server.client().create_bucket(Bucket=bucket)
        yield server


@pytest.fixture(scope="module")
def steward(tmp_path_factory: pytest.TempPathFactory, s3: S3Server) -> Iterator[Steward]:
    """A Steward that reads custom plugins from the test's S3 server."""
    instance = Steward(
        tmp_path_factory.mktemp("steward"),
        extra_env={
            "STEWARD_CONNECT_S3_ENDPOINT": s3.endpoint,
            "STEWARD_CONNECT_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "STEWARD_CONNECT_S3_SECRET_ACCESS_KEY": SECRET_KEY,
        },
    )
    instance.start()
    yield instance
    instance.cleanup()


@pytest.fixture(scope="module")
def connect(steward: Steward) -> Any:
    access_key_id, secret = steward.credentials()
    return boto3.client(
        "kafkaconnect",
        endpoint_url=steward.endpoint,
        region_name=REGION,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret,
    )


@pytest.fixture(scope="module")
def cluster_arn(steward: Steward) -> str:
    spec = provisioned(
        brokers=1,
        zones=("az-a",),
        EncryptionInfo={
            "EncryptionInTransit": {"ClientBroker": "TLS_PLAINTEXT", "InCluster": False}
        },
    )
    spec["BrokerNodeGroupInfo"]["InstanceType"] = "kafka.t3.small"
    client = steward.client()
    created = client.create_cluster_v2(ClusterName="exports", Provisioned=spec)["ClusterArn"]
    info = steward.wait_for_state(created, {"ACTIVE", "FAILED"}, timeout=400)
    assert info["State"] == "ACTIVE", info.get("StateInfo")
    client.create_topic(ClusterArn=created, TopicName=TOPIC, PartitionCount=2, ReplicationFactor=1)
    return str(created)


@pytest.fixture(scope="module")
def bootstrap(steward: Steward, cluster_arn: str) -> str:
    brokers = steward.client().get_bootstrap_brokers(ClusterArn=cluster_arn)
    return str(brokers["BootstrapBrokerString"])


def wait_for_connector(connect: Any, arn: str, states: set[str], timeout: float) -> dict[str, Any]:
    deadline = time.time() + timeout
    while True:
        described: dict[str, Any] = connect.describe_connector(connectorArn=arn)
        if described["connectorState"] in states or time.time() > deadline:
            return described
        time.sleep(2)


def plugin_from_s3(connect: Any, s3: S3Server, name: str, content: bytes) -> str:
    s3.client().put_object(Bucket=PLUGINS_BUCKET, Key=f"{name}.zip", Body=content)
    arn = connect.create_custom_plugin(
        name=name,
        contentType="ZIP",
        location={
            "s3Location": {"bucketArn": f"arn:aws:s3:::{PLUGINS_BUCKET}", "fileKey": f"{name}.zip"}
        },
    )["customPluginArn"]
    deadline = time.time() + 180
    while True:
        plugin = connect.describe_custom_plugin(customPluginArn=arn)
        if plugin["customPluginState"] != "CREATING" or time.time() > deadline:
            return str(arn)
        time.sleep(1)


def connector_request(
    name: str, cluster_arn: str, plugin_arn: str, s3: S3Server, **extra: Any
) -> dict[str, Any]:
    configuration = extra.pop("configuration", {})
    request = {
        "connectorName": name,
        "capacity": {"provisionedCapacity": {"mcuCount": 1, "workerCount": 2}},
        "connectorConfiguration": {
            "connector.class": "steward.connect.s3.S3SinkConnector",
            "tasks.max": "2",
            "topics": TOPIC,
            "s3.bucket.name": EXPORT_BUCKET,
            "s3.endpoint": s3.endpoint,
            "aws.access.key.id": ACCESS_KEY,
            "aws.secret.access.key": SECRET_KEY,
            "flush.size": "40",
            "rotate.interval.ms": "2000",
            "consumer.override.session.timeout.ms": "10000",
        },
        "kafkaCluster": {
            "apacheKafkaCluster": {
                "bootstrapServers": cluster_arn,
                "vpc": {"subnets": ["az-a", "az-b"], "securityGroups": []},
            }
        },
        "kafkaClusterClientAuthentication": {"authenticationType": "NONE"},
        "kafkaClusterEncryptionInTransit": {"encryptionType": "PLAINTEXT"},
        "kafkaConnectVersion": "3.7.x",
        "plugins": [{"customPlugin": {"customPluginArn": plugin_arn, "revision": 1}}],
        "serviceExecutionRoleArn": ROLE,
        **extra,
    }
    request["connectorConfiguration"].update(configuration)
    return request


class BackgroundProducer:
    """Writes `order-<i>` records until stopped; remembers those Kafka acknowledged."""

    def __init__(self, bootstrap: str) -> None:
        self.producer = Producer(
            {"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True}
        )
        self.acknowledged: list[str] = []
        self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _delivered(self, error: KafkaError | None, message: Message) -> None:
        if error is None:
            self.acknowledged.append(message.value().decode())
        else:
            self.failed += 1

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            self.producer.produce(
                TOPIC, f"order-{i}".encode(), key=str(i).encode(), on_delivery=self._delivered
            )
            self.producer.poll(0)
            i += 1
            time.sleep(0.005)
        self.producer.flush(60)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(90)


def exported(s3: S3Server) -> tuple[Counter[str], list[str]]:
    """Every record value in the export bucket, counted, and the objects' keys."""
    values: Counter[str] = Counter()
    keys = s3.objects(EXPORT_BUCKET, f"{TOPIC}/")
    for key in keys:
        lines = s3.read(EXPORT_BUCKET, key).decode().splitlines()
        records = [json.loads(line) for line in lines]
        first, last = key.rsplit("/", 1)[-1].removesuffix(".jsonl").split("+")[2:]
        assert records[0]["offset"] == int(first), key
        assert records[-1]["offset"] == int(last), key
        values.update(r["value"] for r in records)
    return values, keys


def worker_pids(steward: Steward, connector_arn: str) -> list[int]:
    key = f"connect-{connector_arn.rsplit('/', 1)[-1][:8].lower()}-"
    return [
        pid
        for pid in pids_mentioning(str(steward.home))
        if key in _cmdline(pid) and "ConnectDistributed" in _cmdline(pid)
    ]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.fixture(scope="module")
def s3_sink_arn(connect: Any, s3: S3Server) -> str:
    content = s3_sink_plugin(DEFAULT_KAFKA_VERSION).read_bytes()
    arn = plugin_from_s3(connect, s3, "steward-s3-sink", content)
    plugin = connect.describe_custom_plugin(customPluginArn=arn)
    assert plugin["customPluginState"] == "ACTIVE", plugin.get("stateDescription")
    assert plugin["latestRevision"]["fileDescription"]["fileSize"] == len(content)
    return arn


@pytest.fixture(scope="module")
def exporting(connect: Any, s3: S3Server, s3_sink_arn: str, cluster_arn: str) -> str:
    properties = "offset.flush.interval.ms=5000\n"
    worker_configuration = connect.create_worker_configuration(
        name="fast-commits",
        propertiesFileContent=base64.b64encode(properties.encode()).decode(),
    )
    arn = connect.create_connector(
        **connector_request(
            "orders-to-s3",
            cluster_arn,
            s3_sink_arn,
            s3,
            workerConfiguration={
                "workerConfigurationArn": worker_configuration["workerConfigurationArn"],
                "revision": 1,
            },
        )
    )["connectorArn"]
    described = wait_for_connector(connect, arn, {"RUNNING", "FAILED"}, timeout=400)
    assert described["connectorState"] == "RUNNING", described.get("stateDescription")
    return str(arn)


def test_a_connector_exports_every_acknowledged_record_once_through_a_worker_crash(
    steward: Steward, connect: Any, s3: S3Server, bootstrap: str, exporting: str
) -> None:
    producer = BackgroundProducer(bootstrap)
    producer.start()
    try:
        deadline = time.time() + 120
        while not exported(s3)[1] and time.time() < deadline:
            time.sleep(1)
        assert exported(s3)[1], "nothing was exported"
        pids = worker_pids(steward, exporting)
        assert len(pids) == 2, pids
        os.kill(pids[0], signal.SIGKILL)
        time.sleep(20)
    finally:
        producer.stop()
    assert producer.failed == 0
    acknowledged = Counter(producer.acknowledged)
    assert acknowledged and max(acknowledged.values()) == 1

    deadline = time.time() + 300
    values, keys = exported(s3)
    while set(values) != set(acknowledged) and time.time() < deadline:
        time.sleep(3)
        values, keys = exported(s3)
    missing = set(acknowledged) - set(values)
    assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged records not exported"
    twice = {v: n for v, n in values.items() if n > 1}
    assert not twice, f"{len(twice)} records exported more than once"
    assert {k.split("/")[1] for k in keys} == {"partition=0", "partition=1"}
    assert len(worker_pids(steward, exporting)) == 2  # the killed worker is back
    assert connect.describe_connector(connectorArn=exporting)["connectorState"] == "RUNNING"


def test_a_plugin_without_a_connector_fails_its_connector_and_nothing_else(
    steward: Steward, connect: Any, s3: S3Server, cluster_arn: str, exporting: str
) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("empty-plugin/lib/README.txt", "no classes here")
    bad = plugin_from_s3(connect, s3, "no-connector", archive.getvalue())
    plugin = connect.describe_custom_plugin(customPluginArn=bad)
    assert plugin["customPluginState"] == "CREATE_FAILED"
    assert "no Kafka Connect connector class" in plugin["stateDescription"]["message"]

    arn = connect.create_connector(**connector_request("broken", cluster_arn, bad, s3))[
        "connectorArn"
    ]
    described = wait_for_connector(connect, arn, {"FAILED", "RUNNING"}, timeout=120)
    assert described["connectorState"] == "FAILED"
    assert "no-connector" in described["stateDescription"]["message"]
    assert worker_pids(steward, arn) == []
    assert connect.describe_connector(connectorArn=exporting)["connectorState"] == "RUNNING"

    connect.delete_connector(connectorArn=arn)
    deadline = time.time() + 60
    while any(c["connectorArn"] == arn for c in connect.list_connectors()["connectors"]):
        assert time.time() < deadline, "the failed connector was not deleted"
        time.sleep(1)


def test_a_tls_connector_exports_through_the_clusters_tls_listener(
    steward: Steward,
    connect: Any,
    s3: S3Server,
    bootstrap: str,
    cluster_arn: str,
    s3_sink_arn: str,
) -> None:
    topic = "payments"
    steward.client().create_topic(
        ClusterArn=cluster_arn, TopicName=topic, PartitionCount=1, ReplicationFactor=1
    )
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for i in range(100):
        producer.produce(topic, f"payment-{i}".encode())
    assert producer.flush(30) == 0
    arn = connect.create_connector(
        **connector_request(
            "payments-over-tls",
            cluster_arn,
            s3_sink_arn,
            s3,
            capacity={"provisionedCapacity": {"mcuCount": 1, "workerCount": 1}},
            kafkaClusterEncryptionInTransit={"encryptionType": "TLS"},
            configuration={"topics": topic, "s3.prefix": "tls/", "tasks.max": "1"},
        )
    )["connectorArn"]
    described = wait_for_connector(connect, arn, {"RUNNING", "FAILED"}, timeout=400)
    assert described["connectorState"] == "RUNNING", described.get("stateDescription")
    deadline = time.time() + 120
    values: list[str] = []
    while len(values) < 100 and time.time() < deadline:
        values = [
            json.loads(line)["value"]
            for key in s3.objects(EXPORT_BUCKET, f"tls/{topic}/")
            for line in s3.read(EXPORT_BUCKET, key).decode().splitlines()
        ]
        time.sleep(2)
    assert sorted(values) == sorted(f"payment-{i}" for i in range(100))
    worker = next(
        p
        for p in (steward.home / "agents").glob("*/nodes/connect-*/server.properties")
        if "payments-over-tls" in p.read_text()
    )
    assert "consumer.security.protocol=SSL" in worker.read_text()

    connect.pause_connector(connectorArn=arn)
    assert wait_for_connector(connect, arn, {"PAUSED"}, timeout=120)["connectorState"] == "PAUSED"
    connect.resume_connector(connectorArn=arn)
    resumed = wait_for_connector(connect, arn, {"RUNNING"}, timeout=120)
    assert resumed["connectorState"] == "RUNNING"
    connect.restart_connector(connectorArn=arn)
    restarted = wait_for_connector(connect, arn, {"RUNNING", "FAILED"}, timeout=120)
    assert restarted["connectorState"] == "RUNNING"
    connect.delete_connector(connectorArn=arn)


def test_a_parquet_connector_writes_every_record_in_objects_named_by_their_offsets(
    steward: Steward,
    connect: Any,
    s3: S3Server,
    bootstrap: str,
    cluster_arn: str,
    s3_sink_arn: str,
) -> None:
    import pyarrow.parquet as pq

    topic = "invoices"
    steward.client().create_topic(
        ClusterArn=cluster_arn, TopicName=topic, PartitionCount=1, ReplicationFactor=1
    )
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for i in range(150):
        producer.produce(topic, f"invoice-{i}".encode(), key=f"customer-{i % 7}".encode())
    assert producer.flush(30) == 0
    arn = connect.create_connector(
        **connector_request(
            "invoices-as-parquet",
            cluster_arn,
            s3_sink_arn,
            s3,
            capacity={"provisionedCapacity": {"mcuCount": 1, "workerCount": 1}},
            configuration={
                "topics": topic,
                "s3.prefix": "parquet/",
                "tasks.max": "1",
                "format.output.type": "parquet",
            },
        )
    )["connectorArn"]
    described = wait_for_connector(connect, arn, {"RUNNING", "FAILED"}, timeout=400)
    assert described["connectorState"] == "RUNNING", described.get("stateDescription")

    def tables() -> dict[str, Any]:
        return {
            key: pq.read_table(io.BytesIO(s3.read(EXPORT_BUCKET, key)))
            for key in s3.objects(EXPORT_BUCKET, f"parquet/{topic}/")
        }

    deadline = time.time() + 180
    found = tables()
    while sum(t.num_rows for t in found.values()) < 150 and time.time() < deadline:
        time.sleep(2)
        found = tables()
    values: list[str] = []
    for key, table in found.items():
        assert key.endswith(".parquet"), key
        first, last = key.rsplit("/", 1)[-1].removesuffix(".parquet").split("+")[2:]
        offsets = table.column("offset").to_pylist()
        assert (offsets[0], offsets[-1]) == (int(first), int(last)), key
        assert set(table.column("topic").to_pylist()) == {topic}
        assert all(k.startswith("customer-") for k in table.column("key").to_pylist())
        values += table.column("value").to_pylist()
    assert sorted(values) == sorted(f"invoice-{i}" for i in range(150))
    connect.delete_connector(connectorArn=arn)

"""Encryption in transit, as MSK has it: a cluster created with TLS only (`clientBroker=TLS`,
`inCluster=true`) serves clients on port 9094 with certificates of its own CA, keeps port 9092
shut, and speaks TLS between its brokers and to its controllers. confluent-kafka, kafka-python
and Kafka's own console producer and consumer write and read over TLS trusting the CA that
`steward cluster ca-certificate` prints; a client that trusts another CA gets nowhere. Steward's
own work (topics, consumer groups, health, storage) goes on over TLS as well; the brokers' keys
are in no command line, log, API answer or stored spec.

One cluster serves the module: two zones, two brokers and three controllers.
"""

from __future__ import annotations

import json
import socket
import ssl
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import AdminClient
from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError

from steward.chaos.workload import Workload
from steward.crypto.certificates import make_certificate_authority
from steward.kafka.admin import TlsBootstrap, java_tool_security
from steward.kafka.distribution import require_distribution
from steward.kafka.tools import run_tool
from steward.kafka.topics import create_topic
from tests.integration.harness import TLS_IN_TRANSIT, Steward, pids_mentioning, provisioned
from tests.integration.reading import read_until_seen

pytestmark = pytest.mark.integration

STEWARD_CLI = Path(sys.executable).parent / "steward"
PRIVATE_KEY = "PRIVATE KEY"


@pytest.fixture(scope="module")
def cluster(steward: Steward) -> dict[str, Any]:
    client = steward.client()
    spec = provisioned(
        brokers=2, zones=("az-a", "az-b"), EncryptionInfo={"EncryptionInTransit": TLS_IN_TRANSIT}
    )
    arn = client.create_cluster_v2(ClusterName="sealed-wire", Provisioned=spec)["ClusterArn"]
    info = steward.wait_for_state(arn, {"ACTIVE", "FAILED"}, timeout=400)
    assert info["State"] == "ACTIVE", (info.get("StateInfo"), steward.log_tail())
    return info


@pytest.fixture(scope="module")
def arn(cluster: dict[str, Any]) -> str:
    return str(cluster["ClusterArn"])


@pytest.fixture(scope="module")
def bootstrap(steward: Steward, arn: str) -> str:
    return str(steward.client().get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerStringTls"])


@pytest.fixture(scope="module")
def ca_file(steward: Steward, arn: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cluster's CA certificate, as a user gets it with the CLI."""
    printed = subprocess.run(
        [str(STEWARD_CLI), "cluster", "ca-certificate", "sealed-wire"],
        env=steward.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    path = tmp_path_factory.mktemp("client") / "ca.pem"
    path.write_text(printed)
    return path


@pytest.fixture(scope="module")
def topic(bootstrap: str, ca_file: Path) -> str:
    """A topic with a replica on each broker, so that every write crosses the TLS replication
    listener too."""
    name = f"wire-{uuid.uuid4().hex[:6]}"
    create_topic(TlsBootstrap(bootstrap, ca_file.read_text()), name, 2, replication_factor=2)
    return name


def hosts(bootstrap: str) -> list[str]:
    return [endpoint.rsplit(":", 1)[0] for endpoint in bootstrap.split(",")]


def test_the_cluster_is_tls_only_as_asked(steward: Steward, cluster: dict[str, Any]) -> None:
    transit = cluster["Provisioned"]["EncryptionInfo"]["EncryptionInTransit"]
    assert transit == {"ClientBroker": "TLS", "InCluster": True}
    brokers = steward.client().get_bootstrap_brokers(ClusterArn=cluster["ClusterArn"])
    assert "BootstrapBrokerString" not in brokers
    endpoints = brokers["BootstrapBrokerStringTls"].split(",")
    assert len(endpoints) == 2 and all(e.endswith(":9094") for e in endpoints)


def test_the_plaintext_port_is_closed(bootstrap: str) -> None:
    for host in hosts(bootstrap):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((host, 9092), timeout=3).close()


def test_replication_and_controller_listeners_speak_tls(
    bootstrap: str, ca_file: Path, steward: Steward, arn: str
) -> None:
    """inCluster: the brokers' REPLICATION listener (9091) and the controllers' (9093) present
    certificates of the cluster's CA for their own addresses."""
    context = ssl.create_default_context(cafile=str(ca_file))
    nodes = steward.client().list_nodes(ClusterArn=arn)["NodeInfoList"]
    controllers = [
        endpoint
        for node in nodes
        if "ControllerNodeInfo" in node
        for endpoint in node["ControllerNodeInfo"]["Endpoints"]
    ]
    assert controllers
    targets = [(h, 9091) for h in hosts(bootstrap)] + [(h, 9093) for h in controllers]
    versions = {}
    for host, port in targets:
        with (
            socket.create_connection((host, port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            versions[(host, port)] = tls.version()
    assert set(versions.values()) <= {"TLSv1.2", "TLSv1.3"}, versions


def test_confluent_kafka_writes_and_reads_over_tls(
    bootstrap: str, ca_file: Path, topic: str
) -> None:
    security = {"security.protocol": "SSL", "ssl.ca.location": str(ca_file)}
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", **security})
    for i in range(200):
        producer.produce(topic, f"confluent-{i}".encode())
    assert producer.flush(60) == 0
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"g-{uuid.uuid4().hex[:6]}",
            "auto.offset.reset": "earliest",
            **security,
        }
    )
    consumer.subscribe([topic])
    seen: set[str] = set()
    deadline = time.time() + 90
    while time.time() < deadline and not {f"confluent-{i}" for i in range(200)} <= seen:
        message = consumer.poll(1.0)
        if message is not None and message.error() is None:
            seen.add(message.value().decode())
    consumer.close()
    assert {f"confluent-{i}" for i in range(200)} <= seen


def test_kafka_python_writes_and_reads_over_tls(bootstrap: str, ca_file: Path, topic: str) -> None:
    servers = bootstrap.split(",")
    producer = KafkaProducer(
        bootstrap_servers=servers, acks="all", security_protocol="SSL", ssl_cafile=str(ca_file)
    )
    for i in range(50):
        producer.send(topic, f"kafka-python-{i}".encode())
    producer.flush(60)
    producer.close()
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=servers,
        group_id=f"g-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        security_protocol="SSL",
        ssl_cafile=str(ca_file),
    )
    sent = {f"kafka-python-{i}".encode() for i in range(50)}
    assert sent <= set(read_until_seen(consumer, sent))


def test_kafkas_console_tools_write_and_read_over_tls(
    bootstrap: str, ca_file: Path, tmp_path: Path
) -> None:
    """Kafka's own console producer and consumer, with a client.properties that trusts the CA
    through a PEM trust store."""
    topic = f"console-{uuid.uuid4().hex[:6]}"  # of its own: the consumer stops at its 20 lines
    create_topic(TlsBootstrap(bootstrap, ca_file.read_text()), topic, 2, replication_factor=2)
    properties = tmp_path / "client.properties"
    properties.write_text(
        f"security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location={ca_file}\n"
    )
    classpath = require_distribution("4.3.1").classpath
    lines = [f"console-{i}" for i in range(20)]
    subprocess.run(
        [
            *("java", "-cp", classpath, "org.apache.kafka.tools.ConsoleProducer"),
            *("--bootstrap-server", bootstrap, "--topic", topic),
            *("--command-config", str(properties)),
        ],
        input="\n".join(lines) + "\n",
        text=True,
        capture_output=True,
        timeout=120,
        check=True,
    )
    consumed = subprocess.run(
        [
            *("java", "-cp", classpath, "org.apache.kafka.tools.consumer.ConsoleConsumer"),
            *("--bootstrap-server", bootstrap, "--topic", topic, "--from-beginning"),
            *("--command-config", str(properties), "--max-messages", str(len(lines))),
            *("--timeout-ms", "60000"),
        ],
        text=True,
        capture_output=True,
        timeout=120,
    )
    assert set(lines) <= set(consumed.stdout.splitlines()), consumed.stderr[-2000:]


def test_a_client_that_trusts_another_ca_gets_nowhere(bootstrap: str, tmp_path: Path) -> None:
    stranger = tmp_path / "other-ca.pem"
    stranger.write_text(make_certificate_authority("someone else").certificate_pem)
    admin = AdminClient(
        {
            "bootstrap.servers": bootstrap,
            "security.protocol": "SSL",
            "ssl.ca.location": str(stranger),
            "socket.connection.setup.timeout.ms": 3000,
            "log_level": 0,  # the refused handshakes are what this test expects
        }
    )
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=5)
    with pytest.raises(KafkaError):
        KafkaProducer(
            bootstrap_servers=bootstrap.split(","),
            security_protocol="SSL",
            ssl_cafile=str(stranger),
            bootstrap_timeout_ms=5000,  # it retries the refused handshake until then (30 s)
        )
    context = ssl.create_default_context(cafile=str(stranger))
    host = hosts(bootstrap)[0]
    with (
        socket.create_connection((host, 9094), timeout=5) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        context.wrap_socket(raw, server_hostname=host)


def test_steward_manages_the_tls_only_cluster(steward: Steward, arn: str, topic: str) -> None:
    """Steward's own connections (topics and consumer groups APIs, health monitor, storage)
    reach the brokers over TLS."""
    kafka = steward.client()
    names = [t["TopicName"] for t in kafka.list_topics(ClusterArn=arn)["Topics"]]
    assert topic in names
    created = f"api-{uuid.uuid4().hex[:6]}"
    kafka.create_topic(ClusterArn=arn, TopicName=created, PartitionCount=1, ReplicationFactor=2)
    deadline = time.time() + 60
    while created not in [t["TopicName"] for t in kafka.list_topics(ClusterArn=arn)["Topics"]]:
        assert time.time() < deadline
        time.sleep(1)
    path = f"/steward/v1/clusters/{quote(arn, safe='')}"
    with steward.http() as http:
        assert http.get(f"{path}/consumer-groups").status_code == 200
        storage = http.get(f"{path}/storage").json()["brokers"]
        assert all(b["usedBytes"] is not None for b in storage), storage
        health: dict[str, Any] = {}
        deadline = time.time() + 90
        while time.time() < deadline:
            health = http.get(f"{path}/health").json()
            if health.get("status") == "HEALTHY":
                break
            time.sleep(2)
        assert health.get("status") == "HEALTHY", health


def test_stewards_chaos_workload_and_kafka_tools_run_over_tls(
    bootstrap: str, ca_file: Path
) -> None:
    """The fault-injection workload (confluent-kafka with the CA in memory) and Kafka's
    ClusterTool (as Steward runs it to unregister brokers) reach a TLS-only cluster."""
    tls = TlsBootstrap(bootstrap, ca_file.read_text())
    workload = Workload(tls, partitions=2, rate=50).start()
    time.sleep(5)
    result = workload.stop()
    workload.verify(result)  # every acknowledged message consumed, in order
    assert result.acked > 0
    with java_tool_security(tls) as security:
        run = run_tool(
            "4.3.1",
            "org.apache.kafka.tools.ClusterTool",
            ["cluster-id", "--bootstrap-server", bootstrap, *security],
            timeout=60,
        )
    assert run.returncode == 0 and "Cluster ID" in run.stdout, run.output


def test_the_ca_certificate_route_gives_the_ca(steward: Steward, arn: str, ca_file: Path) -> None:
    with steward.http() as http:
        answer = http.get(f"/steward/v1/clusters/{quote(arn, safe='')}/ca-certificate").json()
    assert answer["certificatePem"].strip() == ca_file.read_text().strip()
    assert PRIVATE_KEY not in json.dumps(answer)


@pytest.fixture(scope="module")
def kafka_pids(steward: Steward, cluster: dict[str, Any]) -> Iterator[list[int]]:
    yield steward.kafka_pids()


def test_the_keys_stay_out_of_sight(steward: Steward, kafka_pids: list[int]) -> None:
    """No private key on a command line, in a log, a stored spec or the store in clear; the key
    store files are the agent's user's only."""
    assert kafka_pids
    for pid in pids_mentioning(str(steward.home)):
        try:
            command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        assert PRIVATE_KEY.encode() not in command_line and b"BEGIN " not in command_line
    keystores = list(steward.home.rglob("keystore.pem"))
    assert len(keystores) == 5  # two brokers and three controllers (inCluster)
    for keystore in keystores:
        assert stat.S_IMODE(keystore.stat().st_mode) == 0o600
        assert stat.S_IMODE(keystore.parent.stat().st_mode) == 0o700
    for path in steward.home.rglob("*"):
        if not path.is_file() or path.name == "keystore.pem":
            continue
        if path.suffix in (".log", ".json", ".properties", ".out", ".db", ".db-wal", ""):
            data = path.read_bytes()
            assert PRIVATE_KEY.encode() not in data, path


def test_api_answers_carry_no_key(steward: Steward, arn: str) -> None:
    with steward.http() as http:
        for route in ("/storage", "/health", "/ca-certificate"):
            response = http.get(f"/steward/v1/clusters/{quote(arn, safe='')}{route}")
            assert response.status_code == 200 and PRIVATE_KEY not in response.text
    kafka = steward.client()
    for answer in (
        kafka.describe_cluster_v2(ClusterArn=arn),
        kafka.list_nodes(ClusterArn=arn),
        kafka.list_cluster_operations_v2(ClusterArn=arn),
    ):
        assert PRIVATE_KEY not in json.dumps(answer, default=str)

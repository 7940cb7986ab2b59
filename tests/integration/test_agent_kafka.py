"""A host agent runs a real KRaft cluster (one controller, one broker) and keeps it serving while
the agent itself is killed, restarted, and the broker is killed under it."""

from __future__ import annotations

import base64
import os
import secrets
import signal
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from steward.agent import launcher, processes
from steward.agent.client import AgentClient
from steward.agent.spec import NodeSpec, NodeStatus
from steward.kafka.distribution import find_distribution
from tests.integration.harness import eventually

pytestmark = pytest.mark.integration

KAFKA_VERSION = "4.3.1"
AGENT_HOST, AGENT_PORT = "127.77.1.254", 9781
BROKER = "127.77.1.1:9092"
CONTROLLER = "127.77.1.101:9093"
TOPIC = "orders"


def kafka_uuid() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def controller_spec(cluster_id: str, directory_id: str) -> NodeSpec:
    return NodeSpec(
        key="demo-c101",
        kafka_version=KAFKA_VERSION,
        role="controller",
        node_id=101,
        cluster_id=cluster_id,
        directory_id=directory_id,
        properties={
            "listeners": f"CONTROLLER://{CONTROLLER}",
            "advertised.listeners": f"CONTROLLER://{CONTROLLER}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT",
            "controller.quorum.bootstrap.servers": CONTROLLER,
        },
        initial_controllers=f"101@{CONTROLLER}:{directory_id}",
        heap_mb=256,
    )


def broker_spec(cluster_id: str) -> NodeSpec:
    return NodeSpec(
        key="demo-b1",
        kafka_version=KAFKA_VERSION,
        role="broker",
        node_id=1,
        cluster_id=cluster_id,
        directory_id=kafka_uuid(),
        properties={
            "listeners": f"CLIENT://{BROKER}",
            "advertised.listeners": f"CLIENT://{BROKER}",
            "inter.broker.listener.name": "CLIENT",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "CLIENT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "controller.quorum.bootstrap.servers": CONTROLLER,
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "false",
        },
        heap_mb=512,
    )


def alive(pid: int | None) -> bool:
    return pid is not None and processes.is_same_process(pid, None)


def produce(value: str) -> None:
    delivered: list[KafkaError | None] = []
    producer = Producer({"bootstrap.servers": BROKER, "acks": "all", "enable.idempotence": True})
    producer.produce(TOPIC, value.encode(), on_delivery=lambda err, _: delivered.append(err))
    assert producer.flush(60) == 0, f"{value} was not delivered"
    assert delivered == [None], f"{value}: {delivered}"


def consume_all(expected: int) -> list[str]:
    consumer = Consumer(
        {
            "bootstrap.servers": BROKER,
            "group.id": f"reader-{secrets.token_hex(4)}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([TOPIC])
    values: list[str] = []
    deadline = time.monotonic() + 60
    try:
        while len(values) < expected and time.monotonic() < deadline:
            message: Message | None = consumer.poll(0.5)
            if message is not None and message.error() is None:
                values.append(message.value().decode())  # type: ignore[union-attr]
    finally:
        consumer.close()
    return values


def broker_serves() -> bool:
    try:
        metadata = AdminClient({"bootstrap.servers": BROKER}).list_topics(timeout=2)
    except Exception:
        return False
    return 1 in metadata.brokers


@dataclass
class Agent:
    state_dir: Path
    token_file: Path
    token: str
    kafka_pids: set[int] = field(default_factory=set)

    def ensure(self) -> int:
        return launcher.ensure_agent(
            "az-a", AGENT_HOST, AGENT_PORT, self.state_dir, self.token_file
        )

    @property
    def client(self) -> AgentClient:
        return AgentClient(f"http://{AGENT_HOST}:{AGENT_PORT}", self.token)

    def node(self, key: str) -> NodeStatus:
        status = self.client.node(key)
        assert status is not None, f"the agent does not know {key}"
        if status.pid is not None:
            self.kafka_pids.add(status.pid)
        return status

    def describe(self, *keys: str) -> str:
        """What the agent reports of the nodes, and the end of each one's output: for a failure
        message."""
        parts = []
        for key in keys:
            status = self.client.node(key)
            parts.append(f"--- {key}: {status}")
            for log in ("stdout.log", "server.log"):
                path = self.state_dir / "nodes" / key / "logs" / log
                if path.exists():
                    lines = path.read_text(errors="replace").splitlines()[-25:]
                    parts.append(f"{log}:\n" + "\n".join(lines))
        return "\n".join(parts)

    def wait_running(self, key: str, unlike_pid: int | None = None) -> NodeStatus:
        def running() -> NodeStatus | None:
            status = self.node(key)
            if status.state == "failed":
                raise AssertionError(f"{key} failed: {status.message}")
            ok = status.state == "running" and status.pid not in (None, unlike_pid)
            return status if ok else None

        return eventually(running, f"{key} to run")


def address_in_use(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    with socket.socket() as probe:
        return probe.connect_ex((host, int(port))) == 0


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[Agent]:
    if find_distribution(KAFKA_VERSION) is None:
        pytest.skip(f"Kafka {KAFKA_VERSION} is not installed (steward kafka install)")
    for address in (BROKER, CONTROLLER, f"{AGENT_HOST}:{AGENT_PORT}"):
        if address_in_use(address):
            pytest.fail(f"{address} is in use: a previous run left something behind")
    token = secrets.token_urlsafe(24)
    token_file = tmp_path / "agent-token"
    token_file.write_text(token)
    env = Agent(tmp_path / "az-a", token_file, token)
    yield env
    launcher.stop_agent(env.state_dir)
    leftovers = env.kafka_pids | {p for p in _pids_under(env.state_dir) if p != os.getpid()}
    for pid in leftovers:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def _pids_under(state_dir: Path) -> set[int]:
    """Processes whose command line names a file under this test's own state directory."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            cmdline = processes.read_cmdline(int(entry.name)) or []
            if any(str(state_dir) in arg for arg in cmdline):
                found.add(int(entry.name))
    return found


def test_kafka_outlives_the_agent_and_is_restarted_when_it_dies(agent: Agent) -> None:
    agent_pid = agent.ensure()
    client = agent.client
    cluster_id = kafka_uuid()
    controller = controller_spec(cluster_id, kafka_uuid())
    broker = broker_spec(cluster_id)

    began = time.monotonic()
    client.apply(controller)
    controller_applied = time.monotonic() - began
    began = time.monotonic()
    client.apply(broker)
    broker_applied = time.monotonic() - began
    # A first start on a loaded machine (other modules' clusters, a class archive being
    # written) has taken over 90 s.
    try:
        eventually(broker_serves, "the broker to serve", timeout=180.0)
    except AssertionError as error:
        raise AssertionError(f"{error}\n{agent.describe(controller.key, broker.key)}") from None
    serving_after = time.monotonic() - began
    print(
        f"\napply controller (StorageTool format + start): {controller_applied:.2f} s;"
        f" apply broker (meta.properties + start): {broker_applied:.2f} s;"
        f" broker serving {serving_after:.2f} s after its apply"
    )
    nodes = agent.state_dir / "nodes"
    meta = (nodes / controller.key / "data" / "meta.properties").read_text()
    assert f"directory.id={controller.directory_id}" in meta
    first_broker = agent.wait_running(broker.key)
    first_controller = agent.wait_running(controller.key)
    assert first_broker.spec_hash == broker.spec_hash

    admin = AdminClient({"bootstrap.servers": BROKER})
    for future in admin.create_topics([NewTopic(TOPIC, 1, 1)]).values():
        future.result(30)
    produce("before the agent died")

    # kill -9 the agent: Kafka keeps serving
    os.kill(agent_pid, signal.SIGKILL)
    eventually(lambda: not processes.is_same_process(agent_pid, None), "the agent to die")
    produce("while no agent runs")
    assert alive(first_broker.pid) and alive(first_controller.pid)

    # a new agent re-adopts both processes
    new_agent_pid = agent.ensure()
    assert new_agent_pid != agent_pid
    adopted = agent.wait_running(broker.key)
    assert adopted.pid == first_broker.pid
    assert adopted.spec_hash == broker.spec_hash
    assert agent.wait_running(controller.key).pid == first_controller.pid
    assert agent.client.apply(broker).pid == first_broker.pid  # idempotent: no restart

    # kill -9 the broker: the agent starts it again, with its data
    os.kill(first_broker.pid, signal.SIGKILL)  # type: ignore[arg-type]
    began = time.monotonic()
    restarted = agent.wait_running(broker.key, unlike_pid=first_broker.pid)
    assert restarted.restarts == 1
    eventually(broker_serves, "the restarted broker to serve")
    print(f"broker restarted and serving {time.monotonic() - began:.2f} s after kill -9")
    produce("after the broker was restarted")
    assert consume_all(3) == [
        "before the agent died",
        "while no agent runs",
        "after the broker was restarted",
    ]

    # delete both nodes: processes gone, directories removed
    assert agent.client.remove(broker.key)
    assert agent.client.remove(controller.key)
    assert not alive(restarted.pid) and not alive(first_controller.pid)
    assert agent.client.nodes() == []
    assert sorted(nodes.iterdir()) == []
    assert not address_in_use(BROKER) and not address_in_use(CONTROLLER)

    formatted = [
        line
        for line in (agent.state_dir / "agent.log").read_text().splitlines()
        if "formatted" in line
    ]
    print("\n".join(formatted))
    assert launcher.stop_agent(agent.state_dir)

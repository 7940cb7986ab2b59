"""Zones in Linux network namespaces (steward.network.zones): a zone can be cut off the network
and brought back while its processes keep running, and a real cluster works across such zones.

Skipped where this process may not make network namespaces.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaException, Producer

from steward.kafka.topics import create_topic
from steward.network.zones import (
    ZoneNetwork,
    leftovers,
    namespace_command,
    namespaces_supported,
    netns_path,
    run_in_namespace,
)
from tests.integration.harness import Steward, next_octet, provisioned

pytestmark = pytest.mark.integration

ECHO_SERVER = """
import socket, sys
server = socket.create_server((sys.argv[1], int(sys.argv[2])))
print("listening", flush=True)
while True:
    connection, _ = server.accept()
    with connection:
        connection.sendall(connection.recv(64))
"""
ECHO_PORT = 7007
CUT_TIMEOUT = 1.0
"""How long a connection to a cut zone may try before it counts as unreachable."""


@pytest.fixture(autouse=True)
def _needs_namespaces() -> None:
    if not namespaces_supported():
        pytest.skip("this process may not make network namespaces")


def answers(host: str, port: int, timeout: float = CUT_TIMEOUT) -> bool:
    """Whether the echo server at host:port echoes; False when it cannot be reached (a timeout,
    no route). A refused connection is an error: something answered, wrongly."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as connection:
            connection.sendall(b"ping")
            return connection.recv(64) == b"ping"
    except TimeoutError:
        return False
    except OSError as error:
        if error.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return False
        raise


def answers_from(namespace: str, host: str, port: int) -> bool:
    return run_in_namespace(namespace, lambda: answers(host, port))


def eventually(check: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return bool(check())


def netns_inode(path: str | Path) -> int:
    return os.stat(path).st_ino


@pytest.fixture
def network() -> Iterator[ZoneNetwork]:
    """Two zones on an octet of this test's own, removed at the end whatever happens."""
    zones = ZoneNetwork(next_octet(), ["az-a", "az-b"])
    try:
        zones.ensure()
        yield zones
    finally:
        zones.teardown()


def test_a_cut_zone_is_unreachable_until_restored(network: ZoneNetwork) -> None:
    a, b = network.zone("az-a"), network.zone("az-b")
    host = f"{a.prefix}.10"  # an AnyIP address of zone A: no interface carries it
    server = subprocess.Popen(
        [*namespace_command(a.namespace), sys.executable, "-c", ECHO_SERVER, host, str(ECHO_PORT)],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "listening"
        # nsenter exec'd the server: the pid Popen knows is Python's, in zone A's namespace.
        cmdline = Path(f"/proc/{server.pid}/cmdline").read_bytes().split(b"\0")
        assert cmdline[0] == sys.executable.encode()
        assert netns_inode(f"/proc/{server.pid}/ns/net") == netns_inode(netns_path(a.namespace))

        assert answers(host, ECHO_PORT), "root namespace -> zone A"
        assert answers_from(b.namespace, host, ECHO_PORT), "zone B -> zone A"
        assert not network.is_cut("az-a")

        network.cut("az-a")
        assert network.is_cut("az-a") and not network.is_cut("az-b")
        started = time.monotonic()
        assert not answers(host, ECHO_PORT), "root namespace -> cut zone A"
        assert not answers_from(b.namespace, host, ECHO_PORT), "zone B -> cut zone A"
        assert time.monotonic() - started < 4 * CUT_TIMEOUT
        assert answers_from(a.namespace, host, ECHO_PORT), "inside the cut zone all still works"
        assert server.poll() is None, "the cut zone's processes keep running"
        network.ensure()  # as a restarted control plane would: a cut zone stays cut
        assert network.is_cut("az-a")

        network.restore("az-a")
        assert not network.is_cut("az-a")
        assert eventually(lambda: answers(host, ECHO_PORT)), "root namespace -> restored zone A"
        assert eventually(lambda: answers_from(b.namespace, host, ECHO_PORT)), "B -> restored A"
    finally:
        os.kill(server.pid, signal.SIGKILL)
        server.wait(10)
        if server.stdout is not None:
            server.stdout.close()

    removed = network.teardown()
    assert sorted(removed) == sorted([a.veth, b.veth, a.namespace, b.namespace, network.bridge])
    assert leftovers(network.octet) == []


# --- a real cluster -----------------------------------------------------------------------------


@pytest.fixture
def netns_steward(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Steward]:
    instance = Steward(tmp_path_factory.mktemp("steward-netns"), zone_network="netns")
    try:
        instance.start()
        yield instance
    finally:
        instance.cleanup()
        assert leftovers(instance.octet) == []


def test_a_cluster_works_across_namespaced_zones(netns_steward: Steward) -> None:
    steward = netns_steward
    client = steward.client()
    arn = client.create_cluster_v2(ClusterName="zoned", Provisioned=provisioned())["ClusterArn"]
    info = steward.wait_for_state(arn, {"ACTIVE", "FAILED"}, timeout=240)
    assert info["State"] == "ACTIVE", info.get("StateInfo")

    bootstrap = str(client.get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerString"])
    hosts = sorted(endpoint.rsplit(":", 1)[0] for endpoint in bootstrap.split(","))
    assert [h.rsplit(".", 1)[0] for h in hosts] == [f"10.{steward.octet}.{i}" for i in (1, 2, 3)]
    # Every Kafka process runs in its zone's namespace (inherited from its agent).
    zone_inodes = {netns_inode(netns_path(z.namespace)) for z in steward.network().zones}
    kafka = steward.kafka_pids()
    assert len(kafka) == 6
    assert {netns_inode(f"/proc/{pid}/ns/net") for pid in kafka} == zone_inodes

    topic = f"zoned-{uuid.uuid4().hex[:6]}"
    create_topic(bootstrap, topic, partitions=3)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    acked: list[bytes] = []

    def on_delivery(err: Any, msg: Any) -> None:
        if err is not None:
            raise KafkaException(err)
        acked.append(msg.value())

    sent = [f"m{i}".encode() for i in range(20)]
    for value in sent:
        producer.produce(topic, value, on_delivery=on_delivery)
    assert producer.flush(30) == 0
    assert sorted(acked) == sorted(sent)

    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"g-{topic}", "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic])
    seen: list[bytes] = []
    deadline = time.time() + 60
    with contextlib.closing(consumer):
        while len(seen) < len(sent) and time.time() < deadline:
            message = consumer.poll(1.0)
            if message is not None and message.error() is None:
                seen.append(message.value())
    assert sorted(seen) == sorted(sent)

    client.delete_cluster(ClusterArn=arn)
    steward.wait_until_gone(arn, timeout=120)

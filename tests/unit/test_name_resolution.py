"""A node's JVM resolves names from a hosts file of its own when its configuration names only
addresses and names the host's hosts file holds, so that Kafka's reverse lookup of its own
address for every SASL connection never waits on a DNS server."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from steward.agent import supervisor
from steward.agent.spec import NodeSpec
from steward.kafka import name_resolution
from steward.kafka.class_archive import ARCHIVES_ENV
from steward.kafka.name_resolution import (
    NAME_RESOLUTION_ENV,
    configured_hosts,
    jvm_options,
)

BROKER = {
    "listeners": "CLIENT://127.100.1.2:9092,CLIENT_TLS://127.100.1.2:9094,"
    "REPLICATION://127.100.1.2:9093",
    "advertised.listeners": "CLIENT://127.100.1.2:9092,CLIENT_TLS://127.100.1.2:9094,"
    "REPLICATION://127.100.1.2:9093",
    "controller.quorum.voters": "1001@127.100.1.1:9095,1002@127.100.2.1:9095,1003@[::1]:9095",
}


@pytest.fixture(autouse=True)
def host_hosts_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "etc-hosts"
    path.write_text("127.0.0.1 localhost\n10.1.2.3 kafka-a.example kafka-a  # a comment\n")
    monkeypatch.setattr(name_resolution, "SYSTEM_HOSTS_FILE", path)
    monkeypatch.delenv(NAME_RESOLUTION_ENV, raising=False)
    return path


def test_every_host_of_listeners_voters_and_bootstrap_servers_is_read() -> None:
    hosts = configured_hosts(
        {
            **BROKER,
            "controller.quorum.bootstrap.servers": "kafka-a.example:9095, [fe80::1]:9095",
            "listeners": "CLIENT://:9092",
        }
    )
    assert hosts == [
        "",
        "127.100.1.2",
        "127.100.1.2",
        "127.100.1.2",
        "127.100.1.1",
        "127.100.2.1",
        "::1",
        "kafka-a.example",
        "fe80::1",
    ]


def test_a_node_configured_with_addresses_resolves_from_its_own_hosts_file(
    tmp_path: Path,
) -> None:
    hosts = tmp_path / "node" / "hosts"
    hosts.parent.mkdir()
    assert jvm_options(BROKER, hosts) == [f"-Djdk.net.hosts.file={hosts}"]
    lines = hosts.read_text().splitlines()
    assert "127.0.0.1 localhost" in lines and "::1 localhost" in lines
    assert "10.1.2.3 kafka-a.example kafka-a  # a comment" in lines  # the host's names still


def test_names_from_the_hosts_file_are_fine_other_names_keep_the_hosts_resolver(
    tmp_path: Path,
) -> None:
    hosts = tmp_path / "hosts"
    named = {**BROKER, "controller.quorum.bootstrap.servers": "KAFKA-A:9095,localhost:9095"}
    assert jvm_options(named, hosts) != []
    for unknown in ("CLIENT://kafka-b.example:9092", "CLIENT://:9092"):
        assert jvm_options({**BROKER, "advertised.listeners": unknown}, hosts) == []
        assert not hosts.exists()  # a file from an earlier start is gone
        jvm_options(BROKER, hosts)


def test_the_operator_can_keep_the_hosts_resolver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(NAME_RESOLUTION_ENV, "system")
    assert jvm_options(BROKER, tmp_path / "hosts") == []


def test_a_brokers_command_line_carries_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ARCHIVES_ENV, "off")
    monkeypatch.setattr(supervisor, "find_java", lambda: "/usr/bin/java")
    monkeypatch.setattr(supervisor, "server_classpath", lambda version, properties: "/k/libs/*")
    paths = supervisor.NodePaths(tmp_path)
    line = supervisor.kafka_command(broker_spec(), paths)
    assert f"-Djdk.net.hosts.file={paths.hosts}" in line
    assert line.index(f"-Djdk.net.hosts.file={paths.hosts}") < line.index("kafka.Kafka")


@pytest.mark.skipif(shutil.which("java") is None, reason="needs a Java")
def test_the_jvm_asks_the_file_and_no_dns_server(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    jvm_options(BROKER, hosts)
    source = tmp_path / "Lookup.java"
    source.write_text(
        "import java.net.*;\n"
        "public class Lookup { public static void main(String[] a) throws Exception {\n"
        "  System.out.println(InetAddress.getByName(a[0]).getHostName());\n"
        "  System.out.println(InetAddress.getByName(a[1]).getHostAddress());\n"
        '  try { InetAddress.getByName(a[2]); System.out.println("resolved"); }\n'
        '  catch (UnknownHostException e) { System.out.println("unknown"); }\n'
        "} }\n"
    )
    out = subprocess.run(
        ["java", f"-Djdk.net.hosts.file={hosts}", str(source), "127.100.7.7", "kafka-a", "a.b.c"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.split()
    # no name for its own address: Kafka goes on with the address; the host's names resolve;
    # a name only DNS could know is not asked for
    assert out == ["127.100.7.7", "10.1.2.3", "unknown"]


def broker_spec() -> NodeSpec:
    return NodeSpec(
        key="demo-b1",
        kafka_version="4.3.1",
        role="broker",
        node_id=1,
        cluster_id="c" * 22,
        directory_id="d" * 22,
        properties=BROKER,
        heap_mb=512,
    )

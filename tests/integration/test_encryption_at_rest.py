"""Encryption at rest, end to end: a cluster made by a boto3 user on a Steward that encrypts keeps
every byte Kafka writes as ciphertext on disk (on the brokers' volumes where the host gives them),
while clients read and write as usual; the cluster's data key is nowhere in clear, neither in the
stored specs, nor on a command line, nor in a log; and a broker whose encrypted view went away
with its process (a host restart, for that node) comes back on its own data.

One cluster of one broker and its controller serves the module.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer

from steward.agent.encryption import FUSE_TYPE, mounted_type
from steward.agent.volumes import loop_volumes_supported
from steward.crypto.master_key import MasterKey
from steward.kafka.topics import create_topic
from steward.security.data_keys import DataKeys
from steward.settings import ENCRYPTION_AT_REST_ENV, encryption_supported
from steward.store.store import Store
from tests.integration.harness import Steward, pids_mentioning, provisioned

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not encryption_supported(), reason="needs gocryptfs, fusermount3, FUSE"),
]

VOLUMES = loop_volumes_supported()
MARKER = f"steward-marker-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def steward(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Steward]:
    instance = Steward(
        tmp_path_factory.mktemp("steward"),
        extra_env={
            ENCRYPTION_AT_REST_ENV: "on",
            "STEWARD_BROKER_VOLUMES": "loop" if VOLUMES else "directory",
        },
    )
    instance.start()
    yield instance
    instance.cleanup()


@pytest.fixture(scope="module")
def cluster(steward: Steward) -> dict[str, Any]:
    client = steward.client()
    spec = provisioned(
        brokers=1,
        zones=("az-a",),
        EncryptionInfo={"EncryptionAtRest": {"DataVolumeKMSKeyId": "alias/orders-data"}},
    )
    arn = client.create_cluster_v2(ClusterName="sealed", Provisioned=spec)["ClusterArn"]
    info = steward.wait_for_state(arn, {"ACTIVE", "FAILED"}, timeout=400)
    assert info["State"] == "ACTIVE", info.get("StateInfo")
    bootstrap = client.get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerString"]
    return {"arn": arn, "bootstrap": bootstrap}


def node_dirs(steward: Steward) -> list[Path]:
    return sorted(steward.home.glob("agents/*/nodes/*"))


def broker_dir(steward: Steward) -> Path:
    return next(
        d
        for d in node_dirs(steward)
        if json.loads((d / "spec.json").read_text())["role"] == "broker"
    )


def files_holding(root: Path, needle: bytes) -> list[Path]:
    """The files on disk under `root` that hold `needle`: specs, logs, sealed data and the raw
    images of broker volumes. Mounted views are left to the files they come from (a FUSE view is
    not on disk; a loop-mounted volume is read as its image)."""
    found: list[Path] = []
    for directory, subdirectories, names in os.walk(root):
        subdirectories[:] = [
            d for d in subdirectories if not os.path.ismount(os.path.join(directory, d))
        ]
        for name in names:
            path = Path(directory, name)
            if path.is_file() and not path.is_symlink() and _holds(path, needle):
                found.append(path)
    return found


def _holds(path: Path, needle: bytes, chunk: int = 1 << 22) -> bool:
    """Whether the file's bytes hold `needle`, reading only its data, not its holes (a broker's
    volume image is 10 GiB, nearly all of it a hole)."""
    try:
        with path.open("rb") as file:
            fd, size, offset = file.fileno(), os.fstat(file.fileno()).st_size, 0
            while offset < size:
                try:
                    offset = os.lseek(fd, offset, os.SEEK_DATA)
                    hole = os.lseek(fd, offset, os.SEEK_HOLE)
                except OSError:  # no data after offset
                    return False
                file.seek(offset)
                tail = b""
                while offset < hole:
                    block = tail + file.read(min(chunk, hole - offset))
                    if needle in block:
                        return True
                    offset += len(block) - len(tail)
                    tail = block[-len(needle) :]
                    if len(block) == len(tail):
                        break
    except OSError:
        return False
    return False


def produce(bootstrap: str, topic: str, count: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    failures: list[Any] = []
    for i in range(count):
        producer.produce(
            topic,
            f"{MARKER} {i}".encode(),
            on_delivery=lambda err, _msg: failures.append(err) if err else None,
        )
    assert producer.flush(60) == 0 and not failures, failures


def consume(bootstrap: str, topic: str, count: int, timeout: float = 90.0) -> list[str]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    values: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        while len(values) < count and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is not None and message.error() is None:
                values.append(message.value().decode())
    finally:
        consumer.close()
    return values


def test_the_cluster_reports_encryption_at_rest(steward: Steward, cluster: dict[str, Any]) -> None:
    info = steward.client().describe_cluster_v2(ClusterArn=cluster["arn"])["ClusterInfo"]
    at_rest = info["Provisioned"]["EncryptionInfo"]["EncryptionAtRest"]
    assert at_rest == {"DataVolumeKMSKeyId": "alias/orders-data"}


def test_kafka_data_is_ciphertext_on_disk_and_clear_to_clients(
    steward: Steward, cluster: dict[str, Any]
) -> None:
    create_topic(cluster["bootstrap"], "payments", partitions=2, replication_factor=1)
    produce(cluster["bootstrap"], "payments", 500)
    assert sorted(consume(cluster["bootstrap"], "payments", 500)) == sorted(
        f"{MARKER} {i}" for i in range(500)
    )
    os.sync()  # whatever Kafka wrote is on the sealed side now

    needle = MARKER.encode()
    for node in node_dirs(steward):  # the broker and its controller
        assert mounted_type(node / "data") == FUSE_TYPE
        assert (node / "sealed" / "gocryptfs.conf").is_file()
        assert files_holding(node / "sealed", needle) == []
        assert list((node / "sealed").rglob("*")), "the sealed side holds the data"
    broker = broker_dir(steward)
    assert files_holding(broker / "data", needle), "Kafka's clear view holds the marker"
    if VOLUMES:  # the sealed directory is the broker's volume
        assert mounted_type(broker / "sealed") == "xfs"


def test_the_data_key_is_nowhere_in_clear(steward: Steward, cluster: dict[str, Any]) -> None:
    store = Store(f"sqlite:///{steward.home / 'steward.db'}")
    try:
        cluster_id = store.get_cluster(cluster["arn"]).kafka_cluster_id  # type: ignore[union-attr]
        key = DataKeys(store.engine, MasterKey.load_or_create(steward.home)).key_for(cluster_id)
    finally:
        store.close()
    needle = key.encode()
    assert files_holding(steward.home / "agents", needle) == []  # specs, logs, sealed data
    assert needle not in (steward.home / "steward.db").read_bytes()
    assert needle not in (steward.home / "steward.log").read_bytes()
    for pid in pids_mentioning(str(steward.home)):
        assert needle not in Path(f"/proc/{pid}/cmdline").read_bytes()


def test_a_broker_comes_back_on_its_own_data_after_its_view_went_away(
    steward: Steward, cluster: dict[str, Any]
) -> None:
    """As after a restart of its host: the Kafka process and the FUSE mount both gone. The agent
    mounts the view again with the key it holds and the broker serves what it had."""
    broker = broker_dir(steward)
    meta = (broker / "data" / "meta.properties").read_text()
    kafka = [p for p in steward.kafka_pids() if str(broker) in _cmdline(p)]
    assert len(kafka) == 1
    # Both gone at once, as in a host restart: frozen first, so that its agent cannot start a
    # new Kafka on the view in the moment between the kill and the unmount.
    os.kill(kafka[0], signal.SIGSTOP)
    subprocess.run(["umount", "-l", str(broker / "data")], check=True)
    os.kill(kafka[0], signal.SIGKILL)

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if mounted_type(broker / "data") == FUSE_TYPE and [
            p for p in steward.kafka_pids() if str(broker) in _cmdline(p) and p != kafka[0]
        ]:
            break
        time.sleep(1)
    assert mounted_type(broker / "data") == FUSE_TYPE
    assert (broker / "data" / "meta.properties").read_text() == meta  # not formatted anew
    assert not list(broker.glob("*.lost-*")), "nothing was set aside as lost"
    read = consume(cluster["bootstrap"], "payments", 500, timeout=180)
    assert len(read) == 500, _broker_story(broker)


def _broker_story(broker: Path) -> str:
    """What the broker's agent and the broker said, for a failure's report."""
    agent_log = broker.parent.parent / "agent.log"
    said = [
        line
        for line in agent_log.read_text(errors="replace").splitlines()
        if broker.name in line and "GET /" not in line and "POST /" not in line
    ]
    stdout = broker / "logs" / "stdout.log"
    tail = stdout.read_text(errors="replace").splitlines()[-40:] if stdout.exists() else []
    return "\n".join(["agent:", *said[-20:], "broker:", *tail])


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""

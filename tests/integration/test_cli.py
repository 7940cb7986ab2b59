"""A user runs the installed `steward` command against a real Steward: a configuration, a
single-broker cluster that uses it, Kafka clients on its bootstrap brokers, a broker reboot and
a storage update, then deletes both."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from tests.integration.harness import Steward

pytestmark = pytest.mark.integration

STEWARD_CLI = Path(sys.executable).parent / "steward"


@pytest.fixture(scope="module")
def steward(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Steward]:
    instance = Steward(tmp_path_factory.mktemp("steward"))
    instance.start()
    yield instance
    instance.cleanup()


def run(steward: Steward, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(STEWARD_CLI), *args],
        env=steward.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def run_json(steward: Steward, *args: str) -> Any:
    return json.loads(run(steward, "--output", "json", *args).stdout)


@pytest.fixture(scope="module")
def config_arn(steward: Steward, tmp_path_factory: pytest.TempPathFactory) -> str:
    props = tmp_path_factory.mktemp("config") / "server.properties"
    props.write_text("num.partitions=2\nlog.retention.hours=24\n")
    created = run_json(
        steward, "config", "create", "cli-config", "--server-properties", str(props),
        "--kafka-versions", "4.3.1", "--description", "made by the CLI test",
    )  # fmt: skip
    assert created["LatestRevision"]["Revision"] == 1
    return str(created["Arn"])


@pytest.fixture(scope="module")
def cluster(steward: Steward, config_arn: str) -> subprocess.CompletedProcess[str]:
    """`steward cluster create` waits until ACTIVE and prints a summary."""
    return run(
        steward, "cluster", "create", "cli-orders", "--brokers", "1", "--zones", "az-a",
        "--instance-type", "kafka.t3.small", "--volume-size", "10",
        "--configuration", "cli-config", "--tag", "team=cli",
        "--client-broker", "TLS_PLAINTEXT",
    )  # fmt: skip


def test_config_is_listed_and_shows_its_properties(steward: Steward, config_arn: str) -> None:
    listed = run(steward, "config", "list").stdout
    assert "cli-config" in listed and config_arn in listed
    described = run(steward, "config", "describe", "cli-config").stdout
    assert "num.partitions=2" in described.splitlines()
    revision = run_json(steward, "config", "describe", config_arn, "--revision", "1")
    assert revision["ServerProperties"] == "num.partitions=2\nlog.retention.hours=24\n"


def test_create_waits_until_active_showing_steps(
    cluster: subprocess.CompletedProcess[str],
) -> None:
    progress = cluster.stderr.splitlines()
    assert progress[-1] == "ACTIVE"
    assert any(line.startswith("CREATING: ") for line in progress)
    assert "Cluster cli-orders is ACTIVE" in cluster.stdout
    assert "Bootstrap brokers" in cluster.stdout


def test_describe_as_json_shows_active_with_the_configuration(
    steward: Steward, cluster: subprocess.CompletedProcess[str], config_arn: str
) -> None:
    info = run_json(steward, "cluster", "describe", "cli-orders")["ClusterInfo"]
    assert info["State"] == "ACTIVE"
    assert info["Tags"] == {"team": "cli"}
    software = info["Provisioned"]["CurrentBrokerSoftwareInfo"]
    assert software["ConfigurationArn"] == config_arn
    assert software["ConfigurationRevision"] == 1
    assert isinstance(info["CreationTime"], str)


def test_list_shows_the_cluster(
    steward: Steward, cluster: subprocess.CompletedProcess[str]
) -> None:
    rows = [line.split() for line in run(steward, "cluster", "list").stdout.splitlines()]
    (row,) = [r for r in rows if r and r[0] == "cli-orders"]
    assert row[1:5] == ["ACTIVE", "1", "4.3.1", "az-a"]
    assert row[-1].startswith("arn:aws:kafka:us-east-1:")


def test_bootstrap_brokers_take_acks_all_writes(
    steward: Steward, cluster: subprocess.CompletedProcess[str]
) -> None:
    bootstrap = run(steward, "cluster", "bootstrap-brokers", "cli-orders").stdout.strip()
    host, _, port = bootstrap.partition(":")
    assert "," not in bootstrap and host and port == "9092"
    topic = f"cli-{uuid.uuid4().hex[:6]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(30)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    errors: list[Any] = []
    for i in range(10):
        producer.produce(topic, f"m{i}".encode(), on_delivery=lambda e, _m: errors.append(e))
    assert producer.flush(30) == 0
    assert errors == [None] * 10


def test_nodes_shows_the_broker_in_its_zone(
    steward: Steward, cluster: subprocess.CompletedProcess[str]
) -> None:
    rows = [
        line.split() for line in run(steward, "cluster", "nodes", "cli-orders").stdout.splitlines()
    ]
    brokers = [r for r in rows if len(r) > 1 and r[1] == "broker"]
    assert [(r[0], r[2], r[4]) for r in brokers] == [("1", "az-a", "kafka.t3.small")]
    assert any(len(r) > 1 and r[1] == "controller" for r in rows)
    operations = run(steward, "cluster", "operations", "cli-orders").stdout
    assert "CREATE" in operations and "UPDATE_COMPLETE" in operations


def test_reboot_then_grow_storage_following_each_operation(
    steward: Steward, cluster: subprocess.CompletedProcess[str]
) -> None:
    rebooted = run(steward, "cluster", "reboot", "cli-orders", "--broker", "1")
    progress = rebooted.stderr.splitlines()
    assert progress[-1] == "UPDATE_COMPLETE"
    assert "UPDATE_IN_PROGRESS: REBOOT_BROKER" in progress
    assert rebooted.stdout.startswith("Cluster cli-orders: REBOOT_NODE complete after ")

    grown = run_json(steward, "cluster", "set-storage", "cli-orders", "--volume-size", "20")
    operation = grown["ClusterOperationInfo"]
    assert (operation["OperationType"], operation["OperationState"]) == (
        "UPDATE_BROKER_STORAGE",
        "UPDATE_COMPLETE",
    )
    info = run_json(steward, "cluster", "describe", "cli-orders")["ClusterInfo"]
    assert info["State"] == "ACTIVE"
    group = info["Provisioned"]["BrokerNodeGroupInfo"]
    assert group["StorageInfo"]["EbsStorageInfo"]["VolumeSize"] == 20
    shown = [
        line.split()
        for line in run(
            steward, "cluster", "operation", operation["OperationArn"]
        ).stdout.splitlines()
    ]
    assert ["State", "UPDATE_COMPLETE"] in shown
    assert ["GROW_VOLUMES", "SUCCEEDED"] in shown
    assert ["Volume", "size", "10", "GiB", "20", "GiB"] in shown


def test_unknown_cluster_is_one_line_and_exit_1(steward: Steward) -> None:
    result = run(steward, "cluster", "describe", "no-such-cluster", check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "Error (NotFoundException): There is no cluster named 'no-such-cluster'."
    ]
    assert result.stdout == ""


def test_invalid_request_names_the_parameter(steward: Steward) -> None:
    result = run(
        steward, "cluster", "create", "uneven", "--brokers", "2", "--zones", "az-a,az-b,az-c",
        check=False,
    )  # fmt: skip
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error (BadRequestException): ")
    assert line.endswith("(parameter: numberOfBrokerNodes)")
    assert "Traceback" not in result.stderr


def test_delete_cluster_then_configuration(
    steward: Steward, cluster: subprocess.CompletedProcess[str], config_arn: str
) -> None:
    deleted = run(steward, "cluster", "delete", "cli-orders")
    assert deleted.stderr.splitlines()[-1] == "DELETED"
    assert "Cluster cli-orders deleted." in deleted.stdout
    deadline = time.time() + 15
    while steward.kafka_pids() and time.time() < deadline:
        time.sleep(0.2)
    assert steward.kafka_pids() == []
    assert run_json(steward, "cluster", "list")["ClusterInfoList"] == []
    run(steward, "config", "delete", "cli-config")
    assert run_json(steward, "config", "list")["Configurations"] == []

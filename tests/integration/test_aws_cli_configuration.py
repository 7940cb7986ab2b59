"""The AWS CLI flow: a configuration and a single-zone cluster that uses it, created, checked and
deleted with `aws kafka ... --endpoint-url`, with the configuration's settings live in Kafka."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from tests.integration.harness import Steward

pytestmark = pytest.mark.integration


def aws(steward: Steward, *args: str) -> dict[str, Any]:
    command = [
        str(Path(sys.executable).parent / "aws"),
        "kafka",
        *args,
        "--endpoint-url",
        steward.endpoint,
        "--output",
        "json",
    ]
    result = subprocess.run(command, capture_output=True, text=True, env=steward.env, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else {}


def test_configuration_and_cluster_through_the_aws_cli(steward: Steward, tmp_path: Path) -> None:
    props = tmp_path / "server.properties"
    props.write_text("auto.create.topics.enable=true\nnum.partitions=2\n")
    config = aws(
        steward,
        "create-configuration",
        "--name",
        "dev-config",
        "--kafka-versions",
        "4.3.1",
        "--server-properties",
        f"fileb://{props}",
    )
    assert config["LatestRevision"]["Revision"] == 1
    revision = aws(
        steward, "describe-configuration-revision", "--arn", config["Arn"], "--revision", "1"
    )
    assert "num.partitions=2" in revision["ServerProperties"] or revision["ServerProperties"]

    versions = aws(steward, "list-kafka-versions")["KafkaVersions"]
    assert {"Version": "4.3.1", "Status": "ACTIVE"} in versions

    provisioned = {
        "KafkaVersion": "4.3.1",
        "NumberOfBrokerNodes": 1,
        "BrokerNodeGroupInfo": {"InstanceType": "kafka.t3.small", "ClientSubnets": ["az-b"]},
        "ConfigurationInfo": {"Arn": config["Arn"], "Revision": 1},
        "EncryptionInfo": {"EncryptionInTransit": {"ClientBroker": "PLAINTEXT"}},
    }
    created = aws(
        steward,
        "create-cluster-v2",
        "--cluster-name",
        "dev",
        "--provisioned",
        json.dumps(provisioned),
    )
    arn = created["ClusterArn"]
    deadline = time.time() + 120
    state = created["State"]
    while state != "ACTIVE" and time.time() < deadline:
        time.sleep(0.5)
        state = aws(steward, "describe-cluster-v2", "--cluster-arn", arn)["ClusterInfo"]["State"]
    assert state == "ACTIVE"
    described = aws(steward, "describe-cluster", "--cluster-arn", arn)["ClusterInfo"]
    assert described["CurrentBrokerSoftwareInfo"]["ConfigurationArn"] == config["Arn"]

    bootstrap = aws(steward, "get-bootstrap-brokers", "--cluster-arn", arn)["BootstrapBrokerString"]
    assert bootstrap.count(",") == 0  # one broker
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    delivered: list[Any] = []
    producer.produce("auto-created", b"hello", on_delivery=lambda e, m: delivered.append(e))
    producer.flush(30)
    assert delivered == [None]
    topic = (
        AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).topics["auto-created"]
    )
    assert len(topic.partitions) == 2  # num.partitions from the configuration
    # A single-broker cluster can only hold one replica of each partition.
    assert all(len(p.replicas) == 1 for p in topic.partitions.values())

    aws(steward, "delete-cluster", "--cluster-arn", arn)
    steward.wait_until_gone(arn)
    assert steward.kafka_pids() == []
    aws(steward, "delete-configuration", "--arn", config["Arn"])
    assert aws(steward, "list-configurations")["Configurations"] == []

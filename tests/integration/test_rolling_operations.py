"""Changes that restart brokers, made through the MSK API while clients keep producing and
consuming: a reboot, configuration updates (dynamic without restarts, static with a roll) and a
broker type change. After each, every acknowledged message was consumed exactly once, in order.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource

from tests.integration.harness import Steward, provisioned
from tests.integration.workload import Workload

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster(steward: Steward) -> dict[str, Any]:
    client = steward.client()
    arn = client.create_cluster_v2(ClusterName="rolling", Provisioned=provisioned())["ClusterArn"]
    info = steward.wait_for_state(arn, {"ACTIVE", "FAILED"})
    assert info["State"] == "ACTIVE", info.get("StateInfo")
    info["Bootstrap"] = client.get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerString"]
    return info


def run_operation(steward: Steward, arn: str, start: Any) -> dict[str, Any]:
    """Start an update with `start(current_version)` and wait until its operation ends."""
    started = start(steward.current_version(arn))
    assert started["ClusterArn"] == arn
    return steward.wait_for_operation(started["ClusterOperationArn"], timeout=300)


def broker_pids(steward: Steward) -> dict[str, int]:
    """Broker node key -> pid, from the agents' pid files. A key ends in `-b<id>` for a broker
    and `-c<id>` for a controller (the cluster id before it is hex, so it may start with b)."""
    pids = {}
    for pid_file in (steward.home / "agents").glob("*/nodes/*/kafka.pid"):
        if re.search(r"-b\d+$", pid_file.parent.name):
            pids[pid_file.parent.name] = json.loads(pid_file.read_text())["pid"]
    return pids


def broker_config(bootstrap: str, broker: int, key: str) -> str:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    resource = ConfigResource(ConfigResource.Type.BROKER, str(broker))
    return str(admin.describe_configs([resource])[resource].result()[key].value)


def test_a_reboot_restarts_one_broker_and_loses_nothing(
    steward: Steward, cluster: dict[str, Any]
) -> None:
    client = steward.client()
    arn = cluster["ClusterArn"]
    before = broker_pids(steward)
    workload = Workload(cluster["Bootstrap"]).start()
    time.sleep(2)
    op = run_operation(
        steward, arn, lambda _version: client.reboot_broker(ClusterArn=arn, BrokerIds=["2"])
    )
    result = workload.stop()
    assert op["OperationType"] == "REBOOT_NODE"
    assert op["OperationState"] == "UPDATE_COMPLETE", op.get("ErrorInfo")
    workload.verify(result)
    after = broker_pids(steward)
    changed = [key for key in before if before[key] != after.get(key)]
    assert len(changed) == 1 and changed[0].endswith("-b2")
    assert client.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]["State"] == "ACTIVE"


def test_a_dynamic_setting_applies_without_restarts(
    steward: Steward, cluster: dict[str, Any]
) -> None:
    client = steward.client()
    arn = cluster["ClusterArn"]
    config = client.create_configuration(
        Name="dynamic", KafkaVersions=["4.3.1"], ServerProperties=b"log.retention.ms=3600000\n"
    )
    before = broker_pids(steward)
    workload = Workload(cluster["Bootstrap"]).start()
    op = run_operation(
        steward,
        arn,
        lambda version: client.update_cluster_configuration(
            ClusterArn=arn,
            CurrentVersion=version,
            ConfigurationInfo={"Arn": config["Arn"], "Revision": 1},
        ),
    )
    result = workload.stop()
    assert op["OperationType"] == "UPDATE_CLUSTER_CONFIGURATION"
    assert op["OperationState"] == "UPDATE_COMPLETE", op.get("ErrorInfo")
    workload.verify(result)
    assert broker_pids(steward) == before  # no broker was restarted
    for broker in (1, 2, 3):
        assert broker_config(cluster["Bootstrap"], broker, "log.retention.ms") == "3600000"
    described = client.describe_cluster(ClusterArn=arn)["ClusterInfo"]
    assert described["CurrentBrokerSoftwareInfo"]["ConfigurationArn"] == config["Arn"]


def test_a_static_setting_rolls_the_brokers(steward: Steward, cluster: dict[str, Any]) -> None:
    client = steward.client()
    arn = cluster["ClusterArn"]
    config = client.create_configuration(
        Name="static",
        KafkaVersions=["4.3.1"],
        ServerProperties=b"log.retention.ms=3600000\nauto.create.topics.enable=true\n",
    )
    before = broker_pids(steward)
    workload = Workload(cluster["Bootstrap"]).start()
    op = run_operation(
        steward,
        arn,
        lambda version: client.update_cluster_configuration(
            ClusterArn=arn,
            CurrentVersion=version,
            ConfigurationInfo={"Arn": config["Arn"], "Revision": 1},
        ),
    )
    result = workload.stop()
    assert op["OperationState"] == "UPDATE_COMPLETE", op.get("ErrorInfo")
    workload.verify(result)
    after = broker_pids(steward)
    assert all(before[key] != after[key] for key in before)  # every broker restarted
    for broker in (1, 2, 3):
        assert broker_config(cluster["Bootstrap"], broker, "auto.create.topics.enable") == "true"


def test_a_broker_type_change_rolls_onto_the_new_size(
    steward: Steward, cluster: dict[str, Any]
) -> None:
    client = steward.client()
    arn = cluster["ClusterArn"]
    workload = Workload(cluster["Bootstrap"]).start()
    op = run_operation(
        steward,
        arn,
        lambda version: client.update_broker_type(
            ClusterArn=arn, CurrentVersion=version, TargetInstanceType="kafka.t3.small"
        ),
    )
    result = workload.stop()
    assert op["OperationType"] == "UPDATE_BROKER_TYPE"
    assert op["OperationState"] == "UPDATE_COMPLETE", op.get("ErrorInfo")
    workload.verify(result)
    info = client.describe_cluster(ClusterArn=arn)["ClusterInfo"]
    assert info["BrokerNodeGroupInfo"]["InstanceType"] == "kafka.t3.small"
    nodes = client.list_nodes(ClusterArn=arn)["NodeInfoList"]
    assert {n["InstanceType"] for n in nodes if "BrokerNodeInfo" in n} == {"kafka.t3.small"}
    # kafka.t3.small runs 4 I/O threads (docs/instance-types.md).
    assert broker_config(cluster["Bootstrap"], 1, "num.io.threads") == "4"
    ops = client.list_cluster_operations_v2(ClusterArn=arn)["ClusterOperationInfoList"]
    assert ops[0]["OperationType"] == "UPDATE_BROKER_TYPE"


def test_a_second_update_conflicts_while_one_runs(
    steward: Steward, cluster: dict[str, Any]
) -> None:
    client = steward.client()
    arn = cluster["ClusterArn"]
    version = steward.current_version(arn)
    started = client.reboot_broker(ClusterArn=arn, BrokerIds=["1"])
    info = client.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]
    assert info["State"] == "REBOOTING_BROKER"
    with pytest.raises(client.exceptions.ConflictException):
        client.update_broker_type(
            ClusterArn=arn,
            CurrentVersion=info["CurrentVersion"],
            TargetInstanceType="kafka.m5.large",
        )
    with pytest.raises(client.exceptions.BadRequestException):
        client.update_broker_count(
            ClusterArn=arn, CurrentVersion=version, TargetNumberOfBrokerNodes=6
        )
    steward.wait_for_state(arn, {"ACTIVE"}, timeout=180)
    op = client.describe_cluster_operation(ClusterOperationArn=started["ClusterOperationArn"])
    assert op["ClusterOperationInfo"]["OperationState"] == "UPDATE_COMPLETE"

"""Scaling a cluster's brokers out and back in through the MSK API while clients produce and
consume, with the control plane killed in the middle of the scale-out, and growing its storage.
Brokers have volumes of their own here where the machine allows it (root, loop devices)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from steward.agent.volumes import GIB, loop_volumes_supported
from steward.kafka.membership import registered_brokers
from steward.kafka.reassignment import current_assignment
from tests.integration.harness import Steward, provisioned
from tests.integration.workload import Workload

pytestmark = pytest.mark.integration

VOLUMES = loop_volumes_supported()


@pytest.fixture(scope="module")
def steward(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Steward]:
    instance = Steward(
        tmp_path_factory.mktemp("steward"),
        extra_env={"STEWARD_BROKER_VOLUMES": "loop" if VOLUMES else "directory"},
    )
    instance.start()
    yield instance
    instance.cleanup()


@pytest.fixture(scope="module")
def cluster(steward: Steward) -> dict[str, Any]:
    client = steward.client()
    arn = client.create_cluster_v2(ClusterName="elastic", Provisioned=provisioned())["ClusterArn"]
    info = steward.wait_for_state(arn, {"ACTIVE", "FAILED"})
    assert info["State"] == "ACTIVE", info.get("StateInfo")
    bootstrap = client.get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerString"]
    fill(bootstrap, "history", partitions=12, messages=3000)
    return {"arn": arn, "bootstrap": bootstrap}


def fill(bootstrap: str, topic: str, partitions: int, messages: int) -> None:
    """A topic holding data before the change, so the change has replicas to move."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=partitions)])[topic].result(60)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 20})
    for i in range(messages):
        producer.produce(topic, b"x" * 1000, key=str(i).encode())
        producer.poll(0)
    assert producer.flush(60) == 0


def brokers_by_zone(steward: Steward, arn: str) -> dict[int, str]:
    nodes = steward.client().list_nodes(ClusterArn=arn)["NodeInfoList"]
    return {
        int(n["BrokerNodeInfo"]["BrokerId"]): n["BrokerNodeInfo"]["ClientSubnet"]
        for n in nodes
        if "BrokerNodeInfo" in n
    }


def assert_balanced_across_zones(bootstrap: str, zones: dict[int, str]) -> None:
    assignment = current_assignment(bootstrap)
    replicas = Counter(b for r in assignment.values() for b in r)
    leaders = Counter(r[0] for r in assignment.values())
    assert set(replicas) == set(zones), (replicas, zones)
    assert max(replicas.values()) - min(replicas.values()) <= 1, replicas
    assert max(leaders.values()) - min(leaders.values()) <= 1, leaders
    for key, r in assignment.items():
        assert len({zones[b] for b in r}) == min(len(r), 3), (key, r)


def test_scale_out_survives_a_control_plane_crash(
    steward: Steward, cluster: dict[str, Any]
) -> None:
    client = steward.client()
    arn = cluster["arn"]
    workload = Workload(cluster["bootstrap"]).start()
    version = steward.current_version(arn)
    started = client.update_broker_count(
        ClusterArn=arn, CurrentVersion=version, TargetNumberOfBrokerNodes=6
    )
    op_arn = started["ClusterOperationArn"]
    # Kill the control plane once the new brokers are starting, restart it, let it finish.
    deadline = time.time() + 120
    while time.time() < deadline:
        steps = client.describe_cluster_operation(ClusterOperationArn=op_arn)[
            "ClusterOperationInfo"
        ]["OperationSteps"]
        done = [s["StepName"] for s in steps if s["StepInfo"]["StepStatus"] == "SUCCEEDED"]
        if "START_NEW_BROKERS" in done:
            break
        time.sleep(0.1)
    steward.kill()
    time.sleep(1)
    steward.start()
    op = steward.wait_for_operation(op_arn)
    result = workload.stop()
    assert op["OperationType"] == "INCREASE_BROKER_COUNT"
    assert op["OperationState"] == "UPDATE_COMPLETE", op.get("ErrorInfo")
    assert op["SourceClusterInfo"]["NumberOfBrokerNodes"] == 3
    assert op["TargetClusterInfo"]["NumberOfBrokerNodes"] == 6
    created = op["TargetClusterInfo"]["BrokerCountUpdateInfo"]["CreatedBrokerIds"]
    assert sorted(int(b) for b in created) == [4, 5, 6]
    workload.verify(result)

    zones = brokers_by_zone(steward, arn)
    assert sorted(zones) == [1, 2, 3, 4, 5, 6]
    assert Counter(zones.values()) == {"az-a": 2, "az-b": 2, "az-c": 2}
    info = client.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]
    assert info["State"] == "ACTIVE"
    assert info["Provisioned"]["NumberOfBrokerNodes"] == 6
    bootstrap = client.get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerString"]
    assert bootstrap.count(":9092") == 6
    assert_balanced_across_zones(bootstrap, zones)
    assert len(steward.kafka_pids()) == 9  # 6 brokers, 3 controllers: nothing started twice


def test_scale_in_moves_everything_off_the_leaving_brokers(
    steward: Steward, cluster: dict[str, Any]
) -> None:
    client = steward.client()
    arn = cluster["arn"]
    bootstrap = client.get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerString"]
    workload = Workload(bootstrap).start()
    version = steward.current_version(arn)
    started = client.update_broker_count(
        ClusterArn=arn, CurrentVersion=version, TargetNumberOfBrokerNodes=3
    )
    op = steward.wait_for_operation(started["ClusterOperationArn"])
    result = workload.stop()
    assert op["OperationType"] == "DECREASE_BROKER_COUNT"
    assert op["OperationState"] == "UPDATE_COMPLETE", op.get("ErrorInfo")
    deleted = op["TargetClusterInfo"]["BrokerCountUpdateInfo"]["DeletedBrokerIds"]
    assert sorted(int(b) for b in deleted) == [4, 5, 6]
    workload.verify(result)

    zones = brokers_by_zone(steward, arn)
    assert sorted(zones) == [1, 2, 3]
    remaining = client.get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerString"]
    assert sorted(registered_brokers(remaining)) == [1, 2, 3]  # the others are unregistered
    assert_balanced_across_zones(remaining, zones)
    assert len(steward.kafka_pids()) == 6


def test_scale_in_below_the_replication_factor_is_refused(
    steward: Steward, cluster: dict[str, Any]
) -> None:
    client = steward.client()
    arn = cluster["arn"]
    version = steward.current_version(arn)
    with pytest.raises(client.exceptions.BadRequestException) as raised:
        client.update_broker_count(
            ClusterArn=arn, CurrentVersion=version, TargetNumberOfBrokerNodes=2
        )
    assert raised.value.response["InvalidParameter"] == "targetNumberOfBrokerNodes"
    assert client.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]["State"] == "ACTIVE"


def test_storage_grows_without_restarts_and_usage_is_reported(
    steward: Steward, cluster: dict[str, Any]
) -> None:
    client = steward.client()
    arn = cluster["arn"]
    pids = sorted(steward.kafka_pids())
    version = steward.current_version(arn)
    started = client.update_broker_storage(
        ClusterArn=arn,
        CurrentVersion=version,
        TargetBrokerEBSVolumeInfo=[{"KafkaBrokerNodeId": "ALL", "VolumeSizeGB": 20}],
    )
    op = steward.wait_for_operation(started["ClusterOperationArn"])
    assert op["OperationType"] == "UPDATE_BROKER_STORAGE"
    assert op["OperationState"] == "UPDATE_COMPLETE", op.get("ErrorInfo")
    assert op["TargetClusterInfo"]["BrokerEBSVolumeInfo"][0]["VolumeSizeGB"] == 20
    info = client.describe_cluster(ClusterArn=arn)["ClusterInfo"]
    assert info["BrokerNodeGroupInfo"]["StorageInfo"]["EbsStorageInfo"]["VolumeSize"] == 20
    assert sorted(steward.kafka_pids()) == pids

    encoded = quote(arn, safe="")
    with steward.http() as http:
        usage = http.get(f"/steward/v1/clusters/{encoded}/storage").json()
    brokers = {b["brokerId"]: b for b in usage["brokers"]}
    assert sorted(brokers) == [1, 2, 3]
    for broker in brokers.values():
        assert broker["volumeSizeGB"] == 20
        assert broker["usedBytes"] > 3_000_000  # every broker holds a replica of "history"
        expected = 100 * broker["usedBytes"] / (20 * 1024**3)
        assert broker["kafkaDataLogsDiskUsed"] == pytest.approx(expected, abs=1e-3)

    if VOLUMES:  # each broker's filesystem grew under its running Kafka
        volumes = grown_volume_sizes(steward, encoded, 20 * GIB)
        assert len(volumes) == 3 and all(0.95 * 20 * GIB < v <= 20 * GIB for v in volumes)
        for image in steward.home.glob("agents/*/nodes/*/volume.img"):
            assert image.stat().st_blocks * 512 < 2 * GIB

    version = steward.current_version(arn)
    with pytest.raises(client.exceptions.BadRequestException):
        client.update_storage(ClusterArn=arn, CurrentVersion=version, VolumeSizeGB=10)


def grown_volume_sizes(steward: Steward, encoded_arn: str, size: int) -> list[int]:
    """The brokers' filesystem sizes in the health report, once it has them all at `size`: the
    health monitor skips an UPDATING cluster, so its first report after the update comes a tick
    later."""
    volumes: list[int] = []
    deadline = time.monotonic() + 60
    with steward.http() as http:
        while time.monotonic() < deadline:
            health = http.get(f"/steward/v1/clusters/{encoded_arn}/health").json()
            nodes = health.get("nodes", [])
            volumes = [n["volumeSizeBytes"] or 0 for n in nodes if n["role"] == "BROKER"]
            if len(volumes) == 3 and all(v > 0.95 * size for v in volumes):
                break
            time.sleep(1)
    return volumes

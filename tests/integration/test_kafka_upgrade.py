"""A rolling Kafka upgrade (4.2.1 to 4.3.1) through the MSK API while clients produce and
consume, finishing with the metadata.version upgrade; going back is refused."""

from __future__ import annotations

import pytest

from steward.kafka.features import finalized_metadata_version, release_features
from tests.integration.harness import Steward, provisioned
from tests.integration.workload import Workload

pytestmark = pytest.mark.integration

SOURCE, TARGET = "4.2.1", "4.3.1"


def test_a_rolling_upgrade_keeps_every_message(steward: Steward) -> None:
    client = steward.client()
    arn = client.create_cluster_v2(
        ClusterName="upgraded", Provisioned=provisioned(KafkaVersion=SOURCE)
    )["ClusterArn"]
    info = steward.wait_for_state(arn, {"ACTIVE", "FAILED"}, timeout=300)
    assert info["State"] == "ACTIVE", info.get("StateInfo")
    bootstrap = client.get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerString"]
    assert finalized_metadata_version(bootstrap) == release_features(SOURCE)["metadata.version"]

    (compatible,) = client.get_compatible_kafka_versions(ClusterArn=arn)["CompatibleKafkaVersions"]
    assert compatible["SourceVersion"] == SOURCE
    assert TARGET in compatible["TargetVersions"]

    workload = Workload(bootstrap).start()
    started = client.update_cluster_kafka_version(
        ClusterArn=arn, CurrentVersion=info["CurrentVersion"], TargetKafkaVersion=TARGET
    )
    op = steward.wait_for_operation(started["ClusterOperationArn"])
    result = workload.stop()
    assert op["OperationType"] == "UPDATE_CLUSTER_KAFKA_VERSION"
    assert op["OperationState"] == "UPDATE_COMPLETE", op.get("ErrorInfo")
    assert op["SourceClusterInfo"]["KafkaVersion"] == SOURCE
    assert op["TargetClusterInfo"]["KafkaVersion"] == TARGET
    workload.verify(result)

    described = client.describe_cluster(ClusterArn=arn)["ClusterInfo"]
    assert described["CurrentBrokerSoftwareInfo"]["KafkaVersion"] == TARGET
    nodes = client.list_nodes(ClusterArn=arn)["NodeInfoList"]
    brokers = [n["BrokerNodeInfo"] for n in nodes if "BrokerNodeInfo" in n]
    assert {b["CurrentBrokerSoftwareInfo"]["KafkaVersion"] for b in brokers} == {TARGET}
    assert finalized_metadata_version(bootstrap) == release_features(TARGET)["metadata.version"]
    assert all(f"/{TARGET}/libs" in _cmdline(pid) for pid in steward.kafka_pids())

    with pytest.raises(client.exceptions.BadRequestException) as refused:
        client.update_cluster_kafka_version(
            ClusterArn=arn,
            CurrentVersion=described["CurrentVersion"],
            TargetKafkaVersion=SOURCE,
        )
    assert refused.value.response["InvalidParameter"] == "targetKafkaVersion"


def _cmdline(pid: int) -> str:
    with open(f"/proc/{pid}/cmdline", "rb") as file:
        return file.read().replace(b"\0", b" ").decode()

"""An update that fails half-way leaves no mix of old and new: a configuration whose static
setting Kafka refuses at start-up fails the roll on the first broker, and Steward rolls that
broker back onto the configuration the cluster had, while clients keep producing and consuming.
Every acknowledged message is consumed, and every broker ends on the same spec again."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import pytest

from tests.integration.harness import Steward, provisioned
from tests.integration.workload import Workload

pytestmark = pytest.mark.integration


def test_a_failed_configuration_roll_is_rolled_back_to_the_last_converged_spec(
    steward: Steward,
) -> None:
    client = steward.client()
    arn = client.create_cluster_v2(ClusterName="rollback", Provisioned=provisioned())["ClusterArn"]
    info = steward.wait_for_state(arn, {"ACTIVE", "FAILED"})
    assert info["State"] == "ACTIVE", info.get("StateInfo")
    bootstrap = client.get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerString"]
    before = _status(steward, arn)

    refused = client.create_configuration(
        Name="refused-at-start",
        ServerProperties=b"socket.request.max.bytes=0\n",
        KafkaVersions=["4.3.1"],
    )
    workload = Workload(bootstrap).start()
    time.sleep(2)
    started = client.update_cluster_configuration(
        ClusterArn=arn,
        ConfigurationInfo={"Arn": refused["Arn"], "Revision": 1},
        CurrentVersion=steward.current_version(arn),
    )
    failed = steward.wait_for_operation(started["ClusterOperationArn"], timeout=300)
    assert failed["OperationState"] == "UPDATE_FAILED"
    assert failed["ErrorInfo"]["ErrorCode"] == "NodeRestartFailed"

    settled = steward.wait_for_state(arn, {"ACTIVE"}, timeout=300)
    result = workload.stop()
    workload.verify(result)
    software = settled["Provisioned"]["CurrentBrokerSoftwareInfo"]
    assert software.get("ConfigurationArn") != refused["Arn"]
    operations = client.list_cluster_operations_v2(ClusterArn=arn)["ClusterOperationInfoList"]
    [rollback] = [
        o
        for o in operations
        if o["OperationType"] == "UPDATE_CLUSTER_CONFIGURATION"
        and o["OperationArn"] != failed["OperationArn"]
    ]
    assert rollback["OperationState"] == "UPDATE_COMPLETE"

    after = _status(steward, arn)
    assert after["observedGeneration"] == after["generation"] == before["generation"] + 2
    assert after["nodeSpecHashes"] == before["nodeSpecHashes"], "every node on its old spec"
    reasons = [(r["nodeId"], r["reason"]) for r in after["restarts"]]
    assert len(reasons) == 2 and reasons[0][0] == reasons[1][0], reasons
    assert "configuration" in reasons[0][1] and "rolling back" in reasons[1][1], reasons


def _status(steward: Steward, arn: str) -> dict[str, Any]:
    response = steward.http().get(f"/steward/v1/clusters/{quote(arn, safe='')}/status")
    response.raise_for_status()
    return dict(response.json())

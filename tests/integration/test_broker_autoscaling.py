"""Broker autoscaling on a real cluster under load, set up the way a user sets it up: boto3's
`application-autoscaling` registers the cluster's broker count as a scalable target (2 to 4
brokers) with a target tracking policy on network in (1 % of what a kafka.t3.small broker is
sized for, 400 kB/s each). A producer with acks=all then writes 1.2 MB/s: the autoscaler scales
the cluster out as an operation whose StateInfo names the metric values, the new brokers take
partitions and bytes in; the load stops and the autoscaler drains and removes them. Every record
Kafka acknowledged is read back at the end.

Network in, not CPU, is the policy's metric: the generator sets it, where CPU on this shared
machine moves with everything else running on it. The control plane scrapes every 3 s, fits its
trend to 10 s points over the last minute and carries it 20 s ahead, and looks every 5 s; the
policy's cooldowns are seconds. One two-zone cluster (three controllers, two brokers, then four)
serves the module.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from steward.kafka.membership import registered_brokers
from steward.kafka.reassignment import current_assignment
from tests.integration.harness import REGION, Steward, provisioned
from tests.integration.load import PacedProducer, read_numbers

pytestmark = pytest.mark.integration

CLUSTER = "elastic-load"
TOPIC = "load"
PARTITIONS = 8
BROKERS = "kafka:broker-count:BrokerCount"
NETWORK_IN = "KafkaBrokerNetworkInUtilization"
LOAD_BYTES_PER_S = 1_200_000
"""600 kB/s per broker at two brokers, 1.5 % against the target of 1 %: four brokers are
wanted; at four, 0.75 %, no more and no fewer."""
FAST_AUTOSCALING = {
    "STEWARD_METRICS_INTERVAL": "3",
    "STEWARD_AUTOSCALING_INTERVAL": "5",
    "STEWARD_BROKER_SCALING_PERIOD": "10",
    "STEWARD_BROKER_SCALING_WINDOW": "60",
    "STEWARD_BROKER_SCALING_LEAD_TIME": "20",
}
JMX_EXPORTER = {"Prometheus": {"JmxExporter": {"EnabledInBroker": True}}}


def eventually(check: Callable[[], Any], timeout: float, what: str, every: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def aws(steward: Steward, service: str) -> Any:
    access_key_id, secret = steward.credentials()
    return boto3.client(
        service,
        endpoint_url=steward.endpoint,
        region_name=REGION,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret,
    )


@pytest.fixture(scope="module")
def steward(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Steward]:
    instance = Steward(tmp_path_factory.mktemp("steward"), extra_env=FAST_AUTOSCALING)
    instance.start()
    yield instance
    instance.cleanup()


@pytest.fixture(scope="module")
def cluster(steward: Steward) -> Iterator[dict[str, Any]]:
    client = steward.client()
    spec = provisioned(brokers=2, zones=("az-a", "az-b"), OpenMonitoring=JMX_EXPORTER)
    spec["BrokerNodeGroupInfo"]["InstanceType"] = "kafka.t3.small"
    arn = client.create_cluster_v2(ClusterName=CLUSTER, Provisioned=spec)["ClusterArn"]
    info = steward.wait_for_state(arn, {"ACTIVE", "FAILED"}, timeout=400)
    assert info["State"] == "ACTIVE", info.get("StateInfo")
    bootstrap = client.get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerString"]
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topic = NewTopic(TOPIC, num_partitions=PARTITIONS, replication_factor=2)
    admin.create_topics([topic])[TOPIC].result(60)

    scaling = aws(steward, "application-autoscaling")
    scaling.register_scalable_target(
        ServiceNamespace="kafka",
        ResourceId=arn,
        ScalableDimension=BROKERS,
        MinCapacity=2,
        MaxCapacity=4,
    )
    scaling.put_scaling_policy(
        PolicyName="network-in",
        ServiceNamespace="kafka",
        ResourceId=arn,
        ScalableDimension=BROKERS,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 1.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": NETWORK_IN},
            "ScaleOutCooldown": 5,
            "ScaleInCooldown": 10,
        },
    )
    state: dict[str, Any] = {"arn": arn, "bootstrap": bootstrap, "load": None}
    yield state
    if state["load"] is not None:
        state["load"].stop()  # a test that failed half way left it running


def operation_of(steward: Steward, arn: str, kind: str) -> str | None:
    listed = steward.client().list_cluster_operations(ClusterArn=arn)["ClusterOperationInfoList"]
    return next((o["OperationArn"] for o in listed if o["OperationType"] == kind), None)


def broker_activities(steward: Steward, arn: str) -> list[dict[str, Any]]:
    found = aws(steward, "application-autoscaling").describe_scaling_activities(
        ServiceNamespace="kafka", ResourceId=arn, ScalableDimension=BROKERS
    )
    return list(found["ScalingActivities"])


def bytes_in(steward: Steward, broker: int, since: datetime) -> float:
    """The most bytes in per second CloudWatch shows for `broker` since `since`."""
    answer = aws(steward, "cloudwatch").get_metric_statistics(
        Namespace="AWS/Kafka",
        MetricName="BytesInPerSec",
        Dimensions=[
            {"Name": "Cluster Name", "Value": CLUSTER},
            {"Name": "Broker ID", "Value": str(broker)},
        ],
        StartTime=since,
        EndTime=datetime.now(UTC) + timedelta(seconds=5),
        Period=10,
        Statistics=["Maximum"],
    )
    return max((p["Maximum"] for p in answer["Datapoints"]), default=0.0)


def test_a_rising_load_adds_brokers_that_take_their_share(
    steward: Steward, cluster: dict[str, Any]
) -> None:
    client, arn = steward.client(), cluster["arn"]
    # The preview of a scale-out to four brokers names what the scale-out will move.
    before = current_assignment(cluster["bootstrap"])
    with steward.http() as http:
        path = f"/steward/v1/clusters/{quote(arn, safe='')}/autoscaling/plan"
        preview = http.get(path, params={"brokers": 4}).json()
    assert preview["currentBrokers"] == 2 and preview["plan"]["brokers"] == 4, preview
    assert [r["metric"] for r in preview["readings"]] in ([], [NETWORK_IN]), preview

    load = PacedProducer(cluster["bootstrap"], TOPIC, LOAD_BYTES_PER_S).start()
    cluster["load"] = load

    # The scale-out begins by itself; while it runs the cluster's StateInfo says why.
    seen: list[dict[str, Any]] = []

    def scaling_out() -> str | None:
        info = client.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]
        if info["State"] == "UPDATING" and info.get("StateInfo"):
            seen.append(info["StateInfo"])
        return operation_of(steward, arn, "INCREASE_BROKER_COUNT")

    op_arn = eventually(scaling_out, 240, "the autoscaler to scale out", every=0.5)
    eventually(lambda: scaling_out() and seen, 30, "the scale-out's StateInfo", every=0.3)
    op = steward.wait_for_operation(op_arn, timeout=600)
    assert op["OperationState"] == "UPDATE_COMPLETE", op.get("ErrorInfo")
    assert op["TargetClusterInfo"]["NumberOfBrokerNodes"] == 4
    created = op["TargetClusterInfo"]["BrokerCountUpdateInfo"]["CreatedBrokerIds"]
    assert sorted(int(b) for b in created) == [3, 4]

    state_info = seen[0]
    assert state_info["Code"] == "AUTOSCALING"
    assert "2 -> 4 brokers" in state_info["Message"]
    assert f"{NETWORK_IN} " in state_info["Message"]
    assert "against the target 1" in state_info["Message"]

    # The new brokers carry a share: partitions, and the bytes producers send them; the moves
    # are the ones the preview named.
    after = current_assignment(cluster["bootstrap"])
    held = Counter(b for (t, _), r in after.items() if t == TOPIC for b in r)
    assert held[3] > 0 and held[4] > 0, held
    moved = sum(len(set(r) - set(before[key])) for key, r in after.items() if key in before)
    assert moved == preview["plan"]["replicasToMove"], (moved, preview["plan"])
    grown = datetime.now(UTC) - timedelta(seconds=5)
    for broker in (3, 4):
        eventually(
            lambda b=broker: bytes_in(steward, b, grown) > 0, 90, f"bytes in on broker {broker}"
        )

    def settled() -> dict[str, Any] | None:
        found = [a for a in broker_activities(steward, arn) if "to 4" in a["Description"]]
        return found[0] if found and found[0]["StatusCode"] == "Successful" else None

    activity = eventually(settled, 60, "the scale-out activity to succeed")
    assert NETWORK_IN in activity["Cause"]
    assert load.acked, "the producer got no acknowledgement"


def test_when_the_load_stops_brokers_are_drained_and_removed_with_nothing_lost(
    steward: Steward, cluster: dict[str, Any]
) -> None:
    arn, load = cluster["arn"], cluster["load"]
    assert load is not None, "the scale-out test did not run"
    load.stop()

    op_arn = eventually(
        lambda: operation_of(steward, arn, "DECREASE_BROKER_COUNT"), 240, "a scale-in"
    )
    op = steward.wait_for_operation(op_arn, timeout=600)
    assert op["OperationState"] == "UPDATE_COMPLETE", op.get("ErrorInfo")
    deleted = op["TargetClusterInfo"]["BrokerCountUpdateInfo"]["DeletedBrokerIds"]
    assert sorted(int(b) for b in deleted) == [3, 4]
    info = steward.client().describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]
    assert info["Provisioned"]["NumberOfBrokerNodes"] == 2
    remaining = steward.client().get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerString"]
    assert sorted(registered_brokers(remaining)) == [1, 2]
    held = {b for r in current_assignment(remaining).values() for b in r}
    assert held <= {1, 2}, held

    scale_in = [a for a in broker_activities(steward, arn) if "to 2" in a["Description"]]
    assert scale_in and NETWORK_IN in scale_in[0]["Cause"], scale_in

    read = read_numbers(remaining, TOPIC, PARTITIONS)
    lost = load.acked - read
    assert len(load.acked) > 1000, len(load.acked)
    assert not lost, f"{len(lost)} of {len(load.acked)} acknowledged records are missing"

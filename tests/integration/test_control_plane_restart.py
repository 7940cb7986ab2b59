"""The control plane can die at any moment: Kafka keeps serving, and a restart re-adopts the running
brokers and finishes the operation that was in flight."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from tests.integration.harness import Steward, provisioned

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def resumed_cluster(steward: Steward) -> dict[str, Any]:
    """A create whose control plane was killed -9 in the middle, then restarted."""
    client = steward.client()
    arn = client.create_cluster_v2(ClusterName="resumed", Provisioned=provisioned())["ClusterArn"]
    deadline = time.time() + 60
    step = None
    while time.time() < deadline:
        info = client.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]
        op_arn = info.get("ActiveOperationArn")
        if op_arn:
            steps = client.describe_cluster_operation_v2(ClusterOperationArn=op_arn)[
                "ClusterOperationInfo"
            ]["Provisioned"]["OperationSteps"]
            started = [s["StepName"] for s in steps if s["StepInfo"]["StepStatus"] != "PENDING"]
            if "START_CONTROLLERS" in started:
                step = started[-1]
                break
        time.sleep(0.05)
    assert step is not None, "the create never reached its start steps"
    assert client.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]["State"] == "CREATING"
    steward.kill()
    steward.start()
    info = steward.wait_for_state(arn, {"ACTIVE", "FAILED"}, timeout=180)
    assert info["State"] == "ACTIVE", info.get("StateInfo")
    info["_killed_at_step"] = step
    return info


def test_create_resumes_after_kill_9(steward: Steward, resumed_cluster: dict[str, Any]) -> None:
    client = steward.client()
    ops = client.list_cluster_operations_v2(ClusterArn=resumed_cluster["ClusterArn"])[
        "ClusterOperationInfoList"
    ]
    assert [(o["OperationType"], o["OperationState"]) for o in ops] == [
        ("CREATE", "UPDATE_COMPLETE")
    ]
    # Each node runs exactly once: nothing was started twice by the resumed create.
    assert len(steward.kafka_pids()) == 6


def test_brokers_keep_serving_without_the_control_plane(
    steward: Steward, resumed_cluster: dict[str, Any]
) -> None:
    client = steward.client()
    bootstrap = client.get_bootstrap_brokers(ClusterArn=resumed_cluster["ClusterArn"])[
        "BootstrapBrokerString"
    ]
    topic = f"survives-{uuid.uuid4().hex[:6]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=3)])[topic].result(60)
    pids_before = sorted(steward.kafka_pids())

    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    acked: list[bytes] = []

    def produce(batch: str) -> None:
        for i in range(100):
            producer.produce(
                topic,
                f"{batch}-{i}".encode(),
                on_delivery=lambda err, msg: err is None and acked.append(msg.value()),
            )
        assert producer.flush(30) == 0

    produce("before")
    steward.kill()
    produce("while-down")
    assert sorted(steward.kafka_pids()) == pids_before
    steward.start()
    info = steward.wait_for_state(resumed_cluster["ClusterArn"], {"ACTIVE"}, timeout=30)
    assert info["State"] == "ACTIVE"
    produce("after")
    time.sleep(2)  # give a re-adoption a chance to (wrongly) restart something
    assert sorted(steward.kafka_pids()) == pids_before

    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"g-{topic}", "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic])
    seen: list[bytes] = []
    deadline = time.time() + 60
    while len(seen) < len(acked) and time.time() < deadline:
        msg = consumer.poll(1.0)
        if msg is not None and msg.error() is None:
            seen.append(msg.value())
    consumer.close()
    assert len(acked) == 300
    assert sorted(seen) == sorted(acked)

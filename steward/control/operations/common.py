"""What every operation module uses: making, failing and describing operations."""

from __future__ import annotations

from steward.domain.model import (
    Cluster,
    ClusterSpec,
    ClusterState,
    Operation,
    OperationState,
    OperationStep,
    OperationType,
    StepStatus,
    utcnow,
)
from steward.store.codec import spec_from_json


def new_operation(
    arn: str,
    cluster_arn: str,
    kind: OperationType,
    steps: tuple[str, ...],
    source: dict[str, object] | None = None,
    target: dict[str, object] | None = None,
) -> Operation:
    return Operation(
        arn=arn,
        cluster_arn=cluster_arn,
        type=kind,
        state=OperationState.PENDING,
        steps=[OperationStep(name) for name in steps],
        creation_time=utcnow(),
        source=source,
        target=target,
    )


def fail(operation: Operation, code: str, message: str) -> None:
    operation.state = OperationState.UPDATE_FAILED
    operation.error_code = code
    operation.error_message = message
    operation.end_time = utcnow()
    for step in operation.steps:
        if step.status is StepStatus.IN_PROGRESS:
            step.status = StepStatus.FAILED


def mutable_info(spec: ClusterSpec) -> dict[str, object]:
    """The MSK `MutableClusterInfo` describing a spec, as operations report source and target."""
    info: dict[str, object] = {
        "numberOfBrokerNodes": spec.number_of_broker_nodes,
        "kafkaVersion": spec.kafka_version,
        "instanceType": spec.broker_node_group.instance_type,
        "brokerEBSVolumeInfo": [
            {"kafkaBrokerNodeId": "ALL", "volumeSizeGB": spec.broker_node_group.volume_size_gb}
        ],
        "enhancedMonitoring": spec.enhanced_monitoring.value,
        "storageMode": spec.storage_mode,
    }
    if spec.configuration is not None:
        info["configurationInfo"] = {
            "arn": spec.configuration.arn,
            "revision": spec.configuration.revision,
        }
    return info


def target_spec(operation: Operation) -> ClusterSpec:
    """The spec the cluster will have once an update `operation` completes."""
    data = operation.progress.get("target_spec")
    if not isinstance(data, dict):
        raise ValueError(f"operation {operation.arn} has no target spec")
    return spec_from_json(data)


def finish_update(cluster: Cluster, operation: Operation) -> None:
    """The last step of an update: the cluster has the target spec and is ACTIVE again."""
    cluster.spec = target_spec(operation)
    cluster.state = ClusterState.ACTIVE
    cluster.state_info = None


def keep_serving(cluster: Cluster) -> None:
    """After a failed update the cluster stays ACTIVE on what it had: every step leaves Kafka
    serving, and the operation records why it stopped. A new request can continue or retry."""
    cluster.state = ClusterState.ACTIVE

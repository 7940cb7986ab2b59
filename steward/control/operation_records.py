"""The operation records MSK shows (`ListClusterOperations`, `DescribeClusterOperation`):
making, failing and describing them. What an operation does is the pipeline's
(`steward.control.pipeline`)."""

from __future__ import annotations

from steward.domain.model import (
    ClusterSpec,
    Operation,
    OperationState,
    OperationStep,
    OperationType,
    StepStatus,
    utcnow,
)


def new_operation(
    arn: str,
    cluster_arn: str,
    kind: OperationType,
    steps: tuple[str, ...],
    source: dict[str, object] | None = None,
    target: dict[str, object] | None = None,
    generation: int = 0,
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
        generation=generation,
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

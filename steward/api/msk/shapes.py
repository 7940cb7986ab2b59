"""Domain objects as MSK's response shapes (camelCase members, ISO-8601 timestamps).

Members without a value are left out, as MSK does; botocore treats every output member as
optional.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from steward.domain.model import (
    BootstrapBrokers,
    Cluster,
    ClusterSpec,
    Configuration,
    ConfigurationRevision,
    Node,
    NodeRole,
    Operation,
    Topic,
    TopicPartition,
)
from steward.kafka.instance_types import is_express

CLUSTER_TYPE = "PROVISIONED"


def timestamp(value: datetime | None) -> str | None:
    """`2019-10-09T15:26:05.548Z`."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def compact(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def enabled(flag: bool) -> dict[str, bool]:
    return {"enabled": flag}


# --- clusters -----------------------------------------------------------------------------------
def broker_node_group_info(spec: ClusterSpec) -> dict[str, Any]:
    group = spec.broker_node_group
    info: dict[str, Any] = {
        "brokerAZDistribution": "DEFAULT",
        "clientSubnets": list(group.subnets),
        "instanceType": group.instance_type,
        "securityGroups": list(group.security_groups),
        "zoneIds": list(group.zones),
    }
    if not is_express(group.instance_type):  # Express brokers' storage is managed
        info["storageInfo"] = {"ebsStorageInfo": {"volumeSize": group.volume_size_gb}}
    return info


def broker_software_info(spec: ClusterSpec) -> dict[str, Any]:
    info: dict[str, Any] = {"kafkaVersion": spec.kafka_version}
    if spec.configuration is not None:
        info["configurationArn"] = spec.configuration.arn
        info["configurationRevision"] = spec.configuration.revision
    return info


def client_authentication(spec: ClusterSpec) -> dict[str, Any]:
    auth = spec.client_authentication
    tls = compact(
        {
            "enabled": auth.tls,
            "certificateAuthorityArnList": list(auth.tls_certificate_authority_arns) or None,
        }
    )
    return {
        "sasl": {"scram": enabled(auth.sasl_scram), "iam": enabled(auth.sasl_iam)},
        "tls": tls,
        "unauthenticated": enabled(auth.unauthenticated),
    }


STEWARD_MANAGED_KEY = "alias/steward/kafka"
"""`dataVolumeKMSKeyId` of a cluster encrypted at rest under the key Steward made for it (MSK
names its AWS-managed key `aws/kafka`)."""


def encryption_info(spec: ClusterSpec) -> dict[str, Any]:
    transit = spec.encryption_in_transit
    info: dict[str, Any] = {
        "encryptionInTransit": {
            "clientBroker": transit.client_broker.value,
            "inCluster": transit.in_cluster,
        }
    }
    if spec.encrypted_at_rest:
        key = spec.data_volume_kms_key_id or STEWARD_MANAGED_KEY
        info["encryptionAtRest"] = {"dataVolumeKMSKeyId": key}
    return info


def open_monitoring(spec: ClusterSpec) -> dict[str, Any]:
    monitoring = spec.open_monitoring
    return {
        "prometheus": {
            "jmxExporter": {"enabledInBroker": monitoring.jmx_exporter},
            "nodeExporter": {"enabledInBroker": monitoring.node_exporter},
        }
    }


def provisioned(cluster: Cluster, rebalancing: str | None = None) -> dict[str, Any]:
    """The broker-side members shared by `ClusterInfo` (v1) and `Provisioned` (v2): what the
    cluster runs (during an update, what it had; the operation shows the target).
    `rebalancing` is the cluster's continuous balancing status as set (UpdateRebalancing)."""
    spec = cluster.observed_spec
    if rebalancing is None and is_express(spec.broker_node_group.instance_type):
        rebalancing = "ACTIVE"
    return compact(
        {
            "brokerNodeGroupInfo": broker_node_group_info(spec),
            "currentBrokerSoftwareInfo": broker_software_info(spec),
            "clientAuthentication": client_authentication(spec),
            "encryptionInfo": encryption_info(spec),
            "enhancedMonitoring": spec.enhanced_monitoring.value,
            "openMonitoring": open_monitoring(spec),
            "loggingInfo": spec.logging_info,
            "numberOfBrokerNodes": spec.number_of_broker_nodes,
            "storageMode": spec.storage_mode,
            "customerActionStatus": "NONE",
            # Steward moves partitions whenever brokers come or go (MSK's intelligent
            # rebalancing of Express clusters); UpdateRebalancing ACTIVE adds continuous
            # balancing, for any cluster.
            "rebalancing": {"status": rebalancing} if rebalancing else None,
        }
    )


def _cluster_common(cluster: Cluster) -> dict[str, Any]:
    state_info = cluster.state_info
    return compact(
        {
            "activeOperationArn": cluster.active_operation_arn,
            "clusterArn": cluster.arn,
            "clusterName": cluster.name,
            "creationTime": timestamp(cluster.creation_time),
            "currentVersion": cluster.current_version,
            "state": cluster.state.value,
            "stateInfo": (
                {"code": state_info.code, "message": state_info.message} if state_info else None
            ),
            "tags": dict(cluster.tags),
        }
    )


def cluster_info(cluster: Cluster, rebalancing: str | None = None) -> dict[str, Any]:
    """MSK's v1 `ClusterInfo`."""
    return {**_cluster_common(cluster), **provisioned(cluster, rebalancing)}


def cluster_v2(cluster: Cluster, rebalancing: str | None = None) -> dict[str, Any]:
    """MSK's v2 `Cluster`."""
    return {
        **_cluster_common(cluster),
        "clusterType": CLUSTER_TYPE,
        "provisioned": provisioned(cluster, rebalancing),
    }


def bootstrap_brokers(brokers: BootstrapBrokers) -> dict[str, Any]:
    return compact(
        {
            "bootstrapBrokerString": brokers.plaintext,
            "bootstrapBrokerStringTls": brokers.tls,
            "bootstrapBrokerStringSaslScram": brokers.sasl_scram,
            "bootstrapBrokerStringSaslIam": brokers.sasl_iam,
        }
    )


def node_info(cluster: Cluster, node: Node) -> dict[str, Any]:
    """MSK's `NodeInfo`: a broker (`brokerNodeInfo`) or a KRaft controller
    (`controllerNodeInfo`)."""
    info: dict[str, Any] = {
        "addedToClusterTime": timestamp(node.added_time),
        "instanceType": node.instance_type,
        "nodeARN": node.arn,
    }
    if node.role is NodeRole.BROKER:
        software = broker_software_info(cluster.observed_spec)
        software["kafkaVersion"] = node.kafka_version
        info["nodeType"] = "BROKER"
        info["brokerNodeInfo"] = {
            "brokerId": float(node.node_id),
            "clientSubnet": cluster.spec.broker_node_group.subnet_of(node.zone),
            "clientVpcIpAddress": node.host,
            "currentBrokerSoftwareInfo": software,
            "endpoints": [node.host],
            "brokerNodeType": "EXPRESS" if is_express(node.instance_type) else "STANDARD",
        }
    else:
        info["controllerNodeInfo"] = {"endpoints": [node.host]}
    return info


# --- operations ---------------------------------------------------------------------------------
def _steps(operation: Operation) -> list[dict[str, Any]]:
    return [
        {"stepInfo": {"stepStatus": step.status.value}, "stepName": step.name}
        for step in operation.steps
    ]


def _error_info(operation: Operation) -> dict[str, str] | None:
    if operation.error_code is None and operation.error_message is None:
        return None
    return compact({"errorCode": operation.error_code, "errorString": operation.error_message})


def operation_info(operation: Operation) -> dict[str, Any]:
    """MSK's v1 `ClusterOperationInfo`."""
    return compact(
        {
            "clusterArn": operation.cluster_arn,
            "creationTime": timestamp(operation.creation_time),
            "endTime": timestamp(operation.end_time),
            "errorInfo": _error_info(operation),
            "operationArn": operation.arn,
            "operationState": operation.state.value,
            "operationSteps": _steps(operation),
            "operationType": operation.type.value,
            "sourceClusterInfo": operation.source,
            "targetClusterInfo": operation.target,
        }
    )


def operation_v2_summary(operation: Operation) -> dict[str, Any]:
    """MSK's `ClusterOperationV2Summary` (list items)."""
    return compact(
        {
            "clusterArn": operation.cluster_arn,
            "clusterType": CLUSTER_TYPE,
            "startTime": timestamp(operation.creation_time),
            "endTime": timestamp(operation.end_time),
            "operationArn": operation.arn,
            "operationState": operation.state.value,
            "operationType": operation.type.value,
        }
    )


def operation_v2(operation: Operation) -> dict[str, Any]:
    """MSK's `ClusterOperationV2`."""
    return compact(
        {
            **operation_v2_summary(operation),
            "errorInfo": _error_info(operation),
            "provisioned": compact(
                {
                    "operationSteps": _steps(operation),
                    "sourceClusterInfo": operation.source,
                    "targetClusterInfo": operation.target,
                }
            ),
        }
    )


# --- configurations -----------------------------------------------------------------------------
def revision_info(revision: ConfigurationRevision) -> dict[str, Any]:
    return compact(
        {
            "creationTime": timestamp(revision.creation_time),
            "description": revision.description,
            "revision": revision.revision,
        }
    )


def configuration(config: Configuration) -> dict[str, Any]:
    return {
        "arn": config.arn,
        "creationTime": timestamp(config.creation_time),
        "description": config.description,
        "kafkaVersions": list(config.kafka_versions),
        "latestRevision": revision_info(config.latest_revision),
        "name": config.name,
        "state": config.state.value,
    }


# --- topics -------------------------------------------------------------------------------------
def topic_configs(configs: dict[str, str]) -> str:
    """MSK's `configs`: base64 of a JSON object of strings, key by key."""
    return base64.b64encode(json.dumps(configs, sort_keys=True).encode()).decode()


def topic_change(topic: Topic) -> dict[str, Any]:
    """What CreateTopic, UpdateTopic and DeleteTopic answer."""
    return {"topicArn": topic.arn, "topicName": topic.name, "status": topic.state.value}


def topic_info(topic: Topic) -> dict[str, Any]:
    """MSK's `TopicInfo` (ListTopics items)."""
    return {
        "topicArn": topic.arn,
        "topicName": topic.name,
        "replicationFactor": topic.replication_factor,
        "partitionCount": topic.partition_count,
        "outOfSyncReplicaCount": topic.out_of_sync_replica_count,
        "replicaIds": topic.replica_ids,
    }


def topic_description(topic: Topic) -> dict[str, Any]:
    """DescribeTopic's answer."""
    return compact(
        {
            **topic_change(topic),
            "replicationFactor": topic.replication_factor,
            "partitionCount": topic.partition_count,
            "configs": topic_configs(topic.configs) if topic.configs is not None else None,
            "replicaIds": topic.replica_ids,
        }
    )


def topic_partition_info(partition: TopicPartition) -> dict[str, Any]:
    """MSK's `TopicPartitionInfo`; a partition without a leader has leader -1, as in Kafka."""
    return {
        "partition": partition.partition,
        "leader": partition.leader if partition.leader is not None else -1,
        "replicas": list(partition.replicas),
        "isr": list(partition.isr),
    }

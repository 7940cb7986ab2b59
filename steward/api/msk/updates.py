"""Routes that change a running cluster. Each answers at once with the operation that carries the
change out (`{clusterArn, clusterOperationArn}`); `DescribeClusterOperation` follows it."""

from __future__ import annotations

from steward.api.msk.fields import Fields, enum_spelling
from steward.api.msk.logging_info import logging_info as checked_logging_info
from steward.api.msk.requests import (
    client_authentication_changes,
    configuration_ref,
    local_storage_mode,
    open_monitoring,
)
from steward.api.msk.routing import Body, MskRequest, Router
from steward.control.service import ClusterService
from steward.control.updates import ALL_BROKERS
from steward.domain.errors import BadRequestException
from steward.domain.limits import MAX_VOLUME_SIZE_GB
from steward.domain.model import ClientBroker, EnhancedMonitoring, Operation

router = Router()


def _started(operation: Operation) -> Body:
    return {"clusterArn": operation.cluster_arn, "clusterOperationArn": operation.arn}


def _current_version(request: MskRequest) -> str:
    return request.body.required_string("currentVersion", min_length=1)


@router.add("UpdateBrokerCount", "PUT", "/v1/clusters/{clusterArn}/nodes/count")
def update_broker_count(service: ClusterService, request: MskRequest) -> Body:
    target = request.body.required_integer("targetNumberOfBrokerNodes", minimum=1)
    return _started(
        service.updates.update_broker_count(
            request.param("clusterArn"), _current_version(request), target
        )
    )


@router.add("UpdateBrokerStorage", "PUT", "/v1/clusters/{clusterArn}/nodes/storage")
def update_broker_storage(service: ClusterService, request: MskRequest) -> Body:
    current_version = _current_version(request)
    infos = request.body.objects("targetBrokerEBSVolumeInfo", required=True) or []
    volumes = []
    for info in infos:
        node = info.required_string("kafkaBrokerNodeId", min_length=1)
        # MSK's developer guide writes the keyword `All`, its API reference `ALL`; MSK takes both.
        node = enum_spelling(node, (ALL_BROKERS,)) or node
        size = info.integer("volumeSizeGB", minimum=1, maximum=MAX_VOLUME_SIZE_GB)
        _refuse_provisioned_throughput(info.object("provisionedThroughput"))
        if size is None:
            raise BadRequestException(
                "Give volumeSizeGB: the size every broker's storage grows to.",
                info.name("volumeSizeGB"),
            )
        volumes.append((node, size))
    return _started(
        service.updates.update_broker_storage(request.param("clusterArn"), current_version, volumes)
    )


@router.add("UpdateStorage", "PUT", "/v1/clusters/{clusterArn}/storage")
def update_storage(service: ClusterService, request: MskRequest) -> Body:
    body = request.body
    current_version = _current_version(request)
    local_storage_mode(body)
    _refuse_provisioned_throughput(body.object("provisionedThroughput"))
    size = body.integer("volumeSizeGB", minimum=1, maximum=MAX_VOLUME_SIZE_GB)
    if size is None:
        raise BadRequestException("Give volumeSizeGB: the new storage per broker.", "volumeSizeGB")
    return _started(
        service.updates.update_storage(request.param("clusterArn"), current_version, size)
    )


def _refuse_provisioned_throughput(throughput: Fields | None) -> None:
    if throughput is not None and throughput.boolean("enabled"):
        raise BadRequestException(
            "Provisioned storage throughput is not available.", throughput.name("enabled")
        )


@router.add("UpdateBrokerType", "PUT", "/v1/clusters/{clusterArn}/nodes/type")
def update_broker_type(service: ClusterService, request: MskRequest) -> Body:
    current_version = _current_version(request)
    instance_type = request.body.required_string("targetInstanceType", min_length=5, max_length=64)
    return _started(
        service.updates.update_broker_type(
            request.param("clusterArn"), current_version, instance_type
        )
    )


@router.add("UpdateClusterConfiguration", "PUT", "/v1/clusters/{clusterArn}/configuration")
def update_cluster_configuration(service: ClusterService, request: MskRequest) -> Body:
    current_version = _current_version(request)
    configuration = configuration_ref(request.body.object("configurationInfo", required=True))
    assert configuration is not None
    return _started(
        service.updates.update_cluster_configuration(
            request.param("clusterArn"), current_version, configuration
        )
    )


@router.add("UpdateClusterKafkaVersion", "PUT", "/v1/clusters/{clusterArn}/version")
def update_cluster_kafka_version(service: ClusterService, request: MskRequest) -> Body:
    current_version = _current_version(request)
    target = request.body.required_string("targetKafkaVersion", min_length=1, max_length=128)
    configuration = configuration_ref(request.body.object("configurationInfo"))
    return _started(
        service.updates.update_cluster_kafka_version(
            request.param("clusterArn"), current_version, target, configuration
        )
    )


@router.add("UpdateSecurity", "PATCH", "/v1/clusters/{clusterArn}/security")
def update_security(service: ClusterService, request: MskRequest) -> Body:
    body = request.body
    current_version = _current_version(request)
    encryption = body.object("encryptionInfo")
    if encryption is not None and encryption.object("encryptionAtRest") is not None:
        raise BadRequestException(
            "Encryption at rest cannot be changed on a running cluster.",
            "encryptionInfo.encryptionAtRest",
        )
    transit = encryption.object("encryptionInTransit") if encryption is not None else None
    client_broker = transit.choice("clientBroker", ClientBroker) if transit else None
    if body.object("clientAuthentication") is None and transit is None:
        raise BadRequestException(
            "Name what to change: clientAuthentication or encryptionInfo.", "clientAuthentication"
        )
    return _started(
        service.updates.update_security(
            request.param("clusterArn"),
            current_version,
            client_authentication=client_authentication_changes(
                body.object("clientAuthentication")
            ),
            client_broker=ClientBroker(client_broker) if client_broker else None,
            in_cluster=transit.boolean("inCluster") if transit else None,
        )
    )


@router.add("RebootBroker", "PUT", "/v1/clusters/{clusterArn}/reboot-broker")
def reboot_broker(service: ClusterService, request: MskRequest) -> Body:
    broker_ids = request.body.strings("brokerIds", required=True) or []
    return _started(service.updates.reboot_broker(request.param("clusterArn"), broker_ids))


@router.add("GetCompatibleKafkaVersions", "GET", "/v1/compatible-kafka-versions")
def get_compatible_kafka_versions(service: ClusterService, request: MskRequest) -> Body:
    found = service.updates.compatible_kafka_versions(request.query.get("clusterArn") or None)
    return {
        "compatibleKafkaVersions": [
            {"sourceVersion": c.source, "targetVersions": c.targets} for c in found
        ]
    }


@router.add("UpdateMonitoring", "PUT", "/v1/clusters/{clusterArn}/monitoring")
def update_monitoring(service: ClusterService, request: MskRequest) -> Body:
    body = request.body
    current_version = _current_version(request)
    level = body.choice("enhancedMonitoring", EnhancedMonitoring)
    opened = body.object("openMonitoring")
    logging = body.object("loggingInfo")
    return _started(
        service.updates.update_monitoring(
            request.param("clusterArn"),
            current_version,
            enhanced_monitoring=EnhancedMonitoring(level) if level is not None else None,
            open_monitoring=open_monitoring(opened) if opened is not None else None,
            logging_info=checked_logging_info(logging) if logging is not None else None,
        )
    )

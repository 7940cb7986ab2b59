"""Cluster routes: create, describe, list, delete, bootstrap brokers, nodes, operations."""

from __future__ import annotations

import re

from steward.api.msk import shapes
from steward.api.msk.pagination import page, with_token
from steward.api.msk.requests import cluster_spec
from steward.api.msk.routing import Body, MskRequest, Router
from steward.control.service import ClusterService
from steward.domain.errors import BadRequestException

router = Router()

CLUSTER_TYPES = ("PROVISIONED", "SERVERLESS")
CLUSTER_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]*$")


def _cluster_name(request: MskRequest) -> str:
    name = request.body.required_string("clusterName", min_length=1, max_length=64)
    if not CLUSTER_NAME.match(name):
        raise BadRequestException(
            "clusterName must start with a letter and contain only letters, digits and hyphens.",
            "clusterName",
        )
    return name


@router.add("CreateCluster", "POST", "/v1/clusters")
def create_cluster(service: ClusterService, request: MskRequest) -> Body:
    name = _cluster_name(request)
    spec = cluster_spec(request.body)
    cluster = service.create_cluster(name, spec, request.body.string_map("tags") or {})
    return {"clusterArn": cluster.arn, "clusterName": cluster.name, "state": cluster.state.value}


@router.add("CreateClusterV2", "POST", "/api/v2/clusters")
def create_cluster_v2(service: ClusterService, request: MskRequest) -> Body:
    name = _cluster_name(request)
    if request.body.has("serverless"):
        raise BadRequestException(
            "Serverless clusters are not available; create a provisioned cluster.", "serverless"
        )
    # Errors name members as CreateCluster (v1) does: `numberOfBrokerNodes`, not
    # `provisioned.numberOfBrokerNodes`.
    provisioned = request.body.object("provisioned", required=True, prefix="")
    assert provisioned is not None
    spec = cluster_spec(provisioned)
    cluster = service.create_cluster(name, spec, request.body.string_map("tags") or {})
    return {
        "clusterArn": cluster.arn,
        "clusterName": cluster.name,
        "state": cluster.state.value,
        "clusterType": shapes.CLUSTER_TYPE,
    }


@router.add("DescribeCluster", "GET", "/v1/clusters/{clusterArn}")
def describe_cluster(service: ClusterService, request: MskRequest) -> Body:
    cluster = service.describe_cluster(request.param("clusterArn"))
    return {"clusterInfo": shapes.cluster_info(cluster, service.rebalancing.status_of(cluster))}


@router.add("DescribeClusterV2", "GET", "/api/v2/clusters/{clusterArn}")
def describe_cluster_v2(service: ClusterService, request: MskRequest) -> Body:
    cluster = service.describe_cluster(request.param("clusterArn"))
    return {"clusterInfo": shapes.cluster_v2(cluster, service.rebalancing.status_of(cluster))}


@router.add("ListClusters", "GET", "/v1/clusters")
def list_clusters(service: ClusterService, request: MskRequest) -> Body:
    clusters = service.list_clusters(request.query.get("clusterNameFilter"))
    items, token = page(clusters, request.query)
    return with_token({"clusterInfoList": [shapes.cluster_info(c) for c in items]}, token)


@router.add("ListClustersV2", "GET", "/api/v2/clusters")
def list_clusters_v2(service: ClusterService, request: MskRequest) -> Body:
    cluster_type = request.query.choice("clusterTypeFilter", CLUSTER_TYPES)
    clusters = service.list_clusters(request.query.get("clusterNameFilter"))
    if cluster_type == "SERVERLESS":
        clusters = []
    items, token = page(clusters, request.query)
    return with_token({"clusterInfoList": [shapes.cluster_v2(c) for c in items]}, token)


@router.add("DeleteCluster", "DELETE", "/v1/clusters/{clusterArn}")
def delete_cluster(service: ClusterService, request: MskRequest) -> Body:
    cluster = service.delete_cluster(
        request.param("clusterArn"), request.query.get("currentVersion") or None
    )
    return {"clusterArn": cluster.arn, "state": cluster.state.value}


@router.add("GetBootstrapBrokers", "GET", "/v1/clusters/{clusterArn}/bootstrap-brokers")
def get_bootstrap_brokers(service: ClusterService, request: MskRequest) -> Body:
    return shapes.bootstrap_brokers(service.bootstrap_brokers(request.param("clusterArn")))


@router.add("ListNodes", "GET", "/v1/clusters/{clusterArn}/nodes")
def list_nodes(service: ClusterService, request: MskRequest) -> Body:
    arn = request.param("clusterArn")
    cluster = service.describe_cluster(arn)
    items, token = page(service.list_nodes(arn), request.query)
    return with_token({"nodeInfoList": [shapes.node_info(cluster, n) for n in items]}, token)


@router.add("ListClusterOperations", "GET", "/v1/clusters/{clusterArn}/operations")
def list_cluster_operations(service: ClusterService, request: MskRequest) -> Body:
    operations = service.list_operations(request.param("clusterArn"))
    items, token = page(operations, request.query)
    return with_token(
        {"clusterOperationInfoList": [shapes.operation_info(o) for o in items]}, token
    )


@router.add("ListClusterOperationsV2", "GET", "/api/v2/clusters/{clusterArn}/operations")
def list_cluster_operations_v2(service: ClusterService, request: MskRequest) -> Body:
    operations = service.list_operations(request.param("clusterArn"))
    items, token = page(operations, request.query)
    return with_token(
        {"clusterOperationInfoList": [shapes.operation_v2_summary(o) for o in items]}, token
    )


@router.add("DescribeClusterOperation", "GET", "/v1/operations/{clusterOperationArn}")
def describe_cluster_operation(service: ClusterService, request: MskRequest) -> Body:
    operation = service.describe_operation(request.param("clusterOperationArn"))
    return {"clusterOperationInfo": shapes.operation_info(operation)}


@router.add("DescribeClusterOperationV2", "GET", "/api/v2/operations/{clusterOperationArn}")
def describe_cluster_operation_v2(service: ClusterService, request: MskRequest) -> Body:
    operation = service.describe_operation(request.param("clusterOperationArn"))
    return {"clusterOperationInfo": shapes.operation_v2(operation)}

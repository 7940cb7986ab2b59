"""MSK's cluster policy routes: put, get and delete a cluster's resource-based policy."""

from __future__ import annotations

from steward.api.msk.routing import Body, MskRequest, Router
from steward.control.service import ClusterService

router = Router()


@router.add("PutClusterPolicy", "PUT", "/v1/clusters/{clusterArn}/policy")
def put_cluster_policy(service: ClusterService, request: MskRequest) -> Body:
    version = service.resource_policies.put(
        request.param("clusterArn"),
        request.body.required_string("policy"),
        request.body.string("currentVersion") or None,
    )
    return {"currentVersion": version}


@router.add("GetClusterPolicy", "GET", "/v1/clusters/{clusterArn}/policy")
def get_cluster_policy(service: ClusterService, request: MskRequest) -> Body:
    policy = service.resource_policies.get(request.param("clusterArn"))
    return {"currentVersion": policy.current_version, "policy": policy.document}


@router.add("DeleteClusterPolicy", "DELETE", "/v1/clusters/{clusterArn}/policy")
def delete_cluster_policy(service: ClusterService, request: MskRequest) -> Body:
    service.resource_policies.delete(request.param("clusterArn"))
    return {}

"""Steward's access policy routes, under /steward/v1/clusters/{clusterArn}/policies: put, list,
get and delete the IAM-style policy of a principal, and compile one without keeping it. The
principal goes into the path percent-encoded (`User%3ACN%3Dalice%2CO%3DExample`); the rest follows
the MSK routes' conventions (camelCase JSON, MSK's pagination and error shapes)."""

from __future__ import annotations

from typing import Any

from steward.api.msk.fields import Fields
from steward.api.msk.pagination import page, with_token
from steward.api.msk.routing import Body, MskRequest, Router
from steward.api.msk.shapes import timestamp
from steward.control.service import ClusterService
from steward.domain.access_policies import KafkaAcl
from steward.domain.errors import BadRequestException
from steward.security.cluster_policies import ClusterPolicy

router = Router()

POLICIES = "/steward/v1/clusters/{clusterArn}/policies"
POLICY = f"{POLICIES}/{{principal}}"


@router.add("PutAccessPolicy", "PUT", POLICIES)
def put_access_policy(service: ClusterService, request: MskRequest) -> Body:
    """Create or replace the policy of `principal`; `policy` is the document, as a JSON object
    or a string that holds one (as IAM's APIs take it). Applied in the background: see
    `status`."""
    principal, document = _principal_and_document(request.body)
    return _policy(service.policies.put(request.param("clusterArn"), principal, document))


@router.add("ListAccessPolicies", "GET", POLICIES)
def list_access_policies(service: ClusterService, request: MskRequest) -> Body:
    """Each principal's policy (its document too), by principal; MSK's pagination."""
    found, token = page(service.policies.list(request.param("clusterArn")), request.query)
    return with_token({"policies": [_policy(p, with_acls=False) for p in found]}, token)


@router.add("DescribeAccessPolicy", "GET", POLICY)
def describe_access_policy(service: ClusterService, request: MskRequest) -> Body:
    """The policy, the ACLs it compiles to and whether Kafka has them."""
    policy = service.policies.get(request.param("clusterArn"), request.param("principal"))
    return _policy(policy)


@router.add("DeleteAccessPolicy", "DELETE", POLICY)
def delete_access_policy(service: ClusterService, request: MskRequest) -> Body:
    """Delete the policy; the principal's ACLs are removed in the background. The policy as it
    was."""
    policy = service.policies.delete(request.param("clusterArn"), request.param("principal"))
    return _policy(policy, with_acls=False)


@router.add("CompileAccessPolicy", "POST", f"{POLICIES}/compile")
def compile_access_policy(service: ClusterService, request: MskRequest) -> Body:
    """The Kafka ACLs a policy would make for `principal`, without keeping anything."""
    principal, document = _principal_and_document(request.body)
    acls = service.policies.compile(request.param("clusterArn"), principal, document)
    return {"principal": principal, "acls": [_acl(a) for a in acls]}


def _principal_and_document(body: Fields) -> tuple[str, str | dict[str, Any]]:
    principal = body.required_string("principal", min_length=1)
    if not body.has("policy"):
        raise BadRequestException("The policy parameter is required.", "policy")
    document: str | dict[str, Any] | None = None
    for read in (body.raw_object, body.string):
        try:
            document = read("policy")
        except BadRequestException:
            continue
        break
    if document is None:
        raise BadRequestException(
            "policy must be the policy document: a JSON object, or a string that holds one.",
            "policy",
        )
    return principal, document


def _policy(policy: ClusterPolicy, with_acls: bool = True) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "clusterArn": policy.cluster_arn,
        "principal": policy.principal,
        "policy": policy.document,
        "version": policy.version,
        "creationTime": timestamp(policy.creation_time),
        "lastUpdateTime": timestamp(policy.update_time),
        "status": policy.status,
        "statusReason": policy.status_reason,
        "appliedTime": timestamp(policy.applied_time),
        "lastError": policy.last_error,
        "aclCount": len(policy.acls),
    }
    if with_acls:
        shown["acls"] = [_acl(a) for a in policy.acls]
    return shown


def _acl(acl: KafkaAcl) -> dict[str, str]:
    return {
        "principal": acl.principal,
        "resourceType": acl.resource_type,
        "resourceName": acl.resource_name,
        "patternType": acl.pattern_type,
        "operation": acl.operation,
        "permission": acl.permission,
        "host": acl.host,
    }

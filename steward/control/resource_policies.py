"""MSK's cluster policy: one resource-based policy document per cluster (PutClusterPolicy,
GetClusterPolicy, DeleteClusterPolicy).

In MSK the cluster policy lets other AWS accounts reach a cluster through multi-VPC private
connectivity, which Steward does not build; Steward keeps the document (so that Terraform's
`aws_msk_cluster_policy`, CloudFormation and scripts work unchanged) and does not enforce it.
What clients may do is set with access policies (`steward.security.cluster_policies`).

A document must be an IAM policy in JSON with at least one statement, each with an `Effect` of
Allow or Deny, a principal and an action, and at most 20 KiB. Every change gives the policy a
new opaque version (`currentVersion`); a change that names a version must name the current one,
so that two writers do not undo each other unseen.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from steward.control.arns import new_current_version
from steward.domain.errors import BadRequestException, ConflictException, NotFoundException
from steward.domain.model import Cluster, utcnow
from steward.store.resource_policies import ResourcePolicyRecords, StoredResourcePolicy

MAX_POLICY_CHARS = 20480
POLICY_VERSIONS = ("2012-10-17", "2008-10-17")
PARAM = "policy"


@dataclass(frozen=True)
class ResourcePolicy:
    document: str
    current_version: str


def check_policy_document(document: str) -> None:
    """MSK's BadRequestException, saying what is wrong, for a document that is no policy."""
    if not document.strip():
        raise BadRequestException("The policy is empty.", PARAM)
    if len(document) > MAX_POLICY_CHARS:
        raise BadRequestException(
            f"The policy has {len(document)} characters; at most {MAX_POLICY_CHARS} are allowed.",
            PARAM,
        )
    try:
        policy = json.loads(document)
    except json.JSONDecodeError as error:
        raise BadRequestException(f"The policy is not valid JSON: {error}.", PARAM) from error
    if not isinstance(policy, dict):
        raise BadRequestException("The policy must be a JSON object.", PARAM)
    version = policy.get("Version")
    if version is not None and version not in POLICY_VERSIONS:
        raise BadRequestException(
            f"The policy's Version must be one of {', '.join(POLICY_VERSIONS)}.", PARAM
        )
    statements: Any = policy.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise BadRequestException("The policy needs a Statement with at least one entry.", PARAM)
    for index, statement in enumerate(statements):
        where = f"Statement {index + 1}"
        if not isinstance(statement, dict):
            raise BadRequestException(f"{where} of the policy must be a JSON object.", PARAM)
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise BadRequestException(f"{where} needs an Effect of Allow or Deny.", PARAM)
        if not ({"Principal", "NotPrincipal"} & statement.keys()):
            raise BadRequestException(
                f"{where} needs a Principal: a cluster policy says who may act on the cluster.",
                PARAM,
            )
        if not ({"Action", "NotAction"} & statement.keys()):
            raise BadRequestException(f"{where} needs an Action.", PARAM)


class ClusterResourcePolicies:
    def __init__(self, records: ResourcePolicyRecords, describe: Callable[[str], Cluster]) -> None:
        self.records = records
        self._describe = describe

    def put(self, cluster_arn: str, document: str, current_version: str | None) -> str:
        """Create or replace the cluster's policy; its new version."""
        self._describe(cluster_arn)
        check_policy_document(document)
        existing = self.records.get(cluster_arn)
        if current_version is not None and (
            existing is None or existing.version != current_version
        ):
            found = f"its version is {existing.version}" if existing else "it has none"
            raise BadRequestException(
                f"The policy version {current_version} is not the cluster policy's current "
                f"version ({found}); get the policy and try again.",
                "currentVersion",
            )
        version = new_current_version()
        stored = StoredResourcePolicy(cluster_arn, document, version, utcnow())
        if not self.records.put(stored, existing.version if existing else None):
            raise ConflictException(
                "The cluster policy changed while this request was made; get it and try again.",
                "currentVersion",
            )
        return version

    def get(self, cluster_arn: str) -> ResourcePolicy:
        self._describe(cluster_arn)
        stored = self.records.get(cluster_arn)
        if stored is None:
            raise NotFoundException(f"Cluster {cluster_arn} has no cluster policy.", "clusterArn")
        return ResourcePolicy(stored.document, stored.version)

    def delete(self, cluster_arn: str) -> None:
        """Remove the cluster's policy; nothing to do when it has none."""
        self._describe(cluster_arn)
        self.records.delete(cluster_arn)

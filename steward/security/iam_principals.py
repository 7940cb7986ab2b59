"""IAM principals' `kafka-cluster:*` statements as the access policies of each cluster, so that
the one ACL sync (`steward.security.policy_sync.PolicySync`) makes them Kafka ACLs.

Each user, and each live session of a role, that has identity-policy statements naming
kafka-cluster actions is a Kafka principal `User:<ARN>` (what the brokers' IAM sign-in makes of
its key). On every cluster whose ARNs those statements name, it gets an access policy whose
document is those statements alone (`IdentityAccess.kafka_cluster_documents`). The projection is
level-triggered: each pass computes what every cluster should hold, puts what changed, and deletes
(through the sync, which removes the ACLs first) the IAM principals' policies that should no
longer be there: a detached policy, a deleted user, an expired session.

Statements of other services grant nothing on Kafka and are left out; a kafka-cluster statement
that cannot become ACLs (a Condition, NotAction or NotResource) is refused when the policy is put
(`steward.iam.service.check_kafka_cluster_statements`); one that reaches Kafka through `*` is cut
to deny more, never to allow more (`steward.iam.service._kafka_part`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from steward.domain.access_policies import ClusterIdentity, PolicyError, compile_policy
from steward.domain.model import ClusterState, utcnow
from steward.security.cluster_policies import MAX_ACLS_PER_POLICY
from steward.security.policy_store import PolicyRecords
from steward.store.store import Store

log = logging.getLogger(__name__)

IAM_PRINCIPAL_PREFIXES = ("User:arn:aws:iam::", "User:arn:aws:sts::")
"""The Kafka principals IAM owns: no access policy may be put for one by hand."""

Documents = Callable[[], dict[str, dict[str, Any]]]


def is_iam_principal(principal: str) -> bool:
    return principal.startswith(IAM_PRINCIPAL_PREFIXES)


class IamPrincipalPolicies:
    def __init__(self, store: Store, records: PolicyRecords, documents: Documents) -> None:
        self.store = store
        self.records = records
        self.documents = documents
        """Kafka principal -> its kafka-cluster document (`kafka_cluster_documents`)."""

    def wanted(self, cluster_arn: str, documents: dict[str, dict[str, Any]]) -> dict[str, str]:
        """The access policies IAM's principals should have on `cluster_arn`: principal ->
        compact document, for those that compile to at least one ACL there."""
        cluster = ClusterIdentity.from_arn(cluster_arn)
        wanted = {}
        for principal, document in documents.items():
            try:
                acls = compile_policy(principal, document, cluster)
            except PolicyError as error:
                log.warning("IAM policy of %s on %s skipped: %s", principal, cluster_arn, error)
                continue
            if not acls:
                continue
            if len(acls) > MAX_ACLS_PER_POLICY:
                log.warning(
                    "IAM policy of %s on %s skipped: %d ACLs, more than %d",
                    principal,
                    cluster_arn,
                    len(acls),
                    MAX_ACLS_PER_POLICY,
                )
                continue
            wanted[principal] = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
        return wanted

    def project(self) -> None:
        """One pass over every cluster: its IAM principals' policies made what IAM says."""
        documents = self.documents()
        for cluster in self.store.list_clusters():
            if cluster.state in (ClusterState.DELETING, ClusterState.FAILED):
                continue
            self.project_cluster(cluster.arn, documents)

    def project_cluster(self, cluster_arn: str, documents: dict[str, dict[str, Any]]) -> None:
        wanted = self.wanted(cluster_arn, documents)
        held = {
            p.principal: p
            for p in self.records.all(cluster_arn)
            if is_iam_principal(p.principal) and not p.deleting
        }
        now = utcnow()
        for principal, document in wanted.items():
            current = held.get(principal)
            if current is None or current.document != document:
                self.records.put(cluster_arn, principal, document, now)
        for principal in held.keys() - wanted.keys():
            if not self.records.remove_unapplied(cluster_arn, principal):
                self.records.mark_deleting(cluster_arn, principal, now)

"""Access policies attached to the principals of a cluster: put (create or replace), get, list,
delete, and a dry run that shows the ACLs a document would make.

A policy is MSK's IAM-style `kafka-cluster:*` document (`steward.domain.access_policies`), for
one Kafka principal as clients authenticate: `User:alice` for the SCRAM user alice,
`User:CN=alice,O=Example` for a client certificate with that subject (Kafka writes a subject as
RFC 2253 does: no space after the commas). The API records desired state only, and only a document
that compiles for the cluster; `steward.security.policy_sync.PolicySync` makes Kafka's ACLs of each
principal what its policy compiles to, on clusters that have an authorizer (`has_authorizer`).
On a cluster without one a policy is kept, INACTIVE, and applied once unauthenticated access is
turned off.

Limits, chosen so that a cluster's ACLs stay a size Kafka handles at ease and one bad request
cannot fill the store: a document of at most 20 KiB once whitespace is left out (the size of IAM's
largest inline policies), at most 1000 ACLs per policy, 1000 principals per cluster.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from steward.domain.access_policies import (
    ClusterIdentity,
    KafkaAcl,
    PolicyError,
    compile_policy,
    parse_document,
)
from steward.domain.errors import BadRequestException, NotFoundException
from steward.domain.model import SERVING_STATES, Cluster, ClusterState, utcnow
from steward.kafka.node_config import INTERNAL_USER
from steward.kafka.node_config import has_authorizer as authorizer_runs
from steward.kafka.plugins import REVOKED_PRINCIPAL
from steward.security.policy_store import PolicyRecords, StoredPolicy

MAX_DOCUMENT_BYTES = 20 * 1024
"""A document's size as compact JSON (UTF-8), as IAM counts a policy's size without whitespace."""
MAX_DOCUMENT_TEXT = 10 * MAX_DOCUMENT_BYTES
"""A document given as text may be indented, but not without bound."""
MAX_ACLS_PER_POLICY = 1000
MAX_PRINCIPALS_PER_CLUSTER = 1000
MAX_PRINCIPAL_LENGTH = 1024
PRINCIPAL_TYPE = "User:"
RESERVED_NAMES = (INTERNAL_USER, REVOKED_PRINCIPAL.removeprefix(PRINCIPAL_TYPE))
"""Steward's own principals: `steward-internal` is every cluster's super user (its nodes and
Steward), `steward-revoked` what a revoked client certificate becomes. No policy may name them,
within a certificate subject either."""

APPLIED = "APPLIED"
"""Kafka's ACLs of the principal are what the current document compiles to."""
PENDING = "PENDING"
"""The sync has yet to apply the current document (or failed to: see the detail)."""
INACTIVE = "INACTIVE"
"""The cluster has no authorizer: the policy is kept, and nothing is enforced."""

_SPACED_RDN = re.compile(r"(?<!\\),\s")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def has_authorizer(cluster: Cluster) -> bool:
    """Whether Kafka's StandardAuthorizer (deny by default) runs on the cluster's nodes: once its
    unauthenticated access is off (`steward.kafka.node_config`). Kafka refuses every ACL call
    without one (SecurityDisabledException), so policies are applied only where this holds."""
    return authorizer_runs(cluster.spec.client_authentication)


@dataclass(frozen=True)
class ClusterPolicy:
    """A principal's policy as the API shows it."""

    cluster_arn: str
    principal: str
    document: dict[str, Any]
    version: int
    creation_time: datetime
    update_time: datetime
    acls: list[KafkaAcl]
    """What the document compiles to."""
    status: str
    """APPLIED, PENDING or INACTIVE."""
    status_reason: str | None
    """Why the policy is not (or not yet) applied; None when it is."""
    applied_time: datetime | None
    last_error: str | None


def check_principal(principal: str) -> str:
    """`principal` when a policy may name it; else a BadRequestException that says why."""
    name = principal.removeprefix(PRINCIPAL_TYPE)

    def bad(why: str) -> BadRequestException:
        return BadRequestException(f"Principal {principal!r} {why}", "principal")

    if not principal.startswith(PRINCIPAL_TYPE) or not name:
        raise bad(
            "must be a Kafka user principal, User:<name>: User:alice for a SCRAM user, "
            "User:CN=alice,O=Example for a client certificate's subject."
        )
    if len(principal) > MAX_PRINCIPAL_LENGTH:
        raise bad(f"is longer than {MAX_PRINCIPAL_LENGTH} characters.")
    if name != name.strip() or _CONTROL.search(name):
        raise bad("has leading or trailing spaces, or control characters.")
    if name == "*":
        raise bad("names every principal; a policy is for one principal.")
    if name.startswith(("arn:aws:iam::", "arn:aws:sts::")):
        raise bad(
            "is an IAM identity: its ACLs are what its IAM policies' kafka-cluster statements "
            "say (put them with PutUserPolicy, AttachUserPolicy, ...), not an access policy."
        )
    for reserved in RESERVED_NAMES:
        if reserved in name.lower():
            raise bad(f"is reserved: {reserved} is Steward's own identity in the cluster.")
    if "=" in name and _SPACED_RDN.search(name):
        raise bad(
            "has a space after a comma: Kafka writes a certificate's subject as RFC 2253 does, "
            "e.g. User:CN=alice,O=Example, and would never match this one."
        )
    return principal


def canonical_document(document: str | dict[str, Any]) -> str:
    """The document as the store keeps it: compact JSON, within the size limits."""
    if isinstance(document, str) and len(document) > MAX_DOCUMENT_TEXT:
        raise BadRequestException(
            f"The policy document is longer than {MAX_DOCUMENT_TEXT} characters.", "policy"
        )
    try:
        parsed = parse_document(document)
    except PolicyError as error:
        raise BadRequestException(str(error), "policy") from None
    text = json.dumps(parsed, separators=(",", ":"), ensure_ascii=False)
    if len(text.encode("utf-8")) > MAX_DOCUMENT_BYTES:
        raise BadRequestException(
            f"The policy document is larger than {MAX_DOCUMENT_BYTES} bytes without whitespace.",
            "policy",
        )
    return text


def compile_for(cluster: Cluster, principal: str, document: str | dict[str, Any]) -> list[KafkaAcl]:
    """The ACLs `document` gives `principal` on `cluster`; a BadRequestException naming the
    statement when it does not compile, or makes more ACLs than a policy may."""
    try:
        acls = compile_policy(principal, document, ClusterIdentity.from_arn(cluster.arn))
    except PolicyError as error:
        raise BadRequestException(f"The policy cannot be applied: {error}", "policy") from None
    if len(acls) > MAX_ACLS_PER_POLICY:
        raise BadRequestException(
            f"The policy compiles to {len(acls)} Kafka ACLs; at most {MAX_ACLS_PER_POLICY} are "
            "allowed. Use prefixes (`name*`) rather than many names.",
            "policy",
        )
    return acls


class ClusterPolicies:
    """The use cases behind Steward's access policy routes."""

    def __init__(
        self,
        records: PolicyRecords,
        describe: Callable[[str], Cluster],
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.records = records
        self._describe = describe
        self.wake = wake
        """Asks the sync for a pass soon; set by whoever runs it (`steward.server`)."""

    def put(
        self, cluster_arn: str, principal: str, document: str | dict[str, Any]
    ) -> ClusterPolicy:
        """Create or replace the principal's policy, once it is known to compile."""
        cluster = self._describe(cluster_arn)
        if cluster.state in (ClusterState.DELETING, ClusterState.FAILED):
            raise BadRequestException(
                f"Cluster {cluster.name} is {cluster.state.value}; its access policies cannot "
                "change.",
                "clusterArn",
            )
        check_principal(principal)
        text = canonical_document(document)
        compile_for(cluster, principal, text)
        current = self.records.get(cluster.arn, principal)
        if (current is None or current.deleting) and self.records.count(
            cluster.arn
        ) >= MAX_PRINCIPALS_PER_CLUSTER:
            raise BadRequestException(
                f"Cluster {cluster.name} has {MAX_PRINCIPALS_PER_CLUSTER} access policies, the "
                "most a cluster can have.",
                "principal",
            )
        stored = self.records.put(cluster.arn, principal, text, utcnow())
        self.wake()
        return self._shown(cluster, stored)

    def get(self, cluster_arn: str, principal: str) -> ClusterPolicy:
        cluster = self._describe(cluster_arn)
        return self._shown(cluster, self._stored(cluster, principal))

    def list(self, cluster_arn: str) -> list[ClusterPolicy]:
        """Every policy of the cluster, by principal."""
        cluster = self._describe(cluster_arn)
        return [self._shown(cluster, p) for p in self.records.all(cluster.arn) if not p.deleting]

    def delete(self, cluster_arn: str, principal: str) -> ClusterPolicy:
        """Delete the policy; the sync then removes the principal's ACLs, so it can do nothing
        on a cluster with an authorizer. The policy as it was."""
        cluster = self._describe(cluster_arn)
        stored = self._stored(cluster, principal)
        if not self.records.remove_unapplied(cluster.arn, principal):
            self.records.mark_deleting(cluster.arn, principal, utcnow())
            self.wake()
        return self._shown(cluster, stored)

    def compile(
        self, cluster_arn: str, principal: str, document: str | dict[str, Any]
    ) -> list[KafkaAcl]:
        """What `put` would make of the document, without keeping anything."""
        cluster = self._describe(cluster_arn)
        check_principal(principal)
        return compile_for(cluster, principal, canonical_document(document))

    def _stored(self, cluster: Cluster, principal: str) -> StoredPolicy:
        stored = self.records.get(cluster.arn, principal)
        if stored is None or stored.deleting:
            raise NotFoundException(
                f"Cluster {cluster.name} has no access policy for {principal}.", "principal"
            )
        return stored

    @staticmethod
    def _shown(cluster: Cluster, stored: StoredPolicy) -> ClusterPolicy:
        try:
            acls = compile_policy(
                stored.principal, stored.document, ClusterIdentity.from_arn(cluster.arn)
            )
        except PolicyError as error:  # kept by an older Steward that compiled it differently
            acls, stored = [], replace(stored, detail=str(error))
        reason = stored.detail
        if not has_authorizer(cluster):
            status = INACTIVE
            reason = (
                f"Cluster {cluster.name} allows unauthenticated access, so Kafka runs no "
                "authorizer: the policy is applied once unauthenticated access is turned off."
            )
        elif stored.applied:
            status = APPLIED
        else:
            status = PENDING
            if reason is None and cluster.state not in SERVING_STATES:
                reason = f"Cluster {cluster.name} is {cluster.state.value}; the policy is applied "
                reason += "once its brokers serve."
        return ClusterPolicy(
            cluster_arn=stored.cluster_arn,
            principal=stored.principal,
            document=json.loads(stored.document),
            version=stored.version,
            creation_time=stored.creation_time,
            update_time=stored.update_time,
            acls=acls,
            status=status,
            status_reason=reason,
            applied_time=stored.applied_time,
            last_error=stored.detail,
        )

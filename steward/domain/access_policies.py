"""Access policies: MSK's IAM-style policy documents for the data plane (`kafka-cluster:*`
actions on cluster, topic, group and transactional-id ARNs), compiled into the Kafka ACLs that
Kafka's standard authorizer enforces for one principal (a SCRAM user, a certificate subject).

What carries over from IAM, and how:

- `Effect` Allow or Deny; a Deny becomes a DENY ACL, which Kafka puts above every ALLOW, as IAM
  puts an explicit deny above every allow. Anything not allowed is denied (the authorizer runs
  with `allow.everyone.if.no.acl.found=false`).
- `Action` names with `*` and `?` wildcards, case-insensitive. Actions of other services (such as
  MSK's control-plane `kafka:*`) grant nothing here and are skipped.
- `kafka-cluster:Connect` is needed for anything: a principal without an allowed Connect on the
  cluster gets no ALLOW ACL at all, and a denied Connect denies every operation.
- `Resource` ARNs (`arn:aws:kafka:<region>:<account>:<type>/<cluster>/<uuid>[/<name>]`, or `*`)
  of this cluster; region, account, cluster name and uuid may be wildcards. Kafka matches names
  literally or by prefix, so a name is either literal, `prefix*`, or `*`: other wildcards are
  refused rather than widened.
- `NotAction`, `NotResource`, `Principal` and `Condition` have no Kafka ACL equivalent and are
  refused.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Any

from steward.domain.policy_grammar import (
    PolicyError,
    Statement,
    parse_document,
    parse_policy,
    wildcard,
)

SERVICE = "kafka-cluster"
CONNECT = f"{SERVICE}:Connect"
CLUSTER_RESOURCE_NAME = "kafka-cluster"
"""The one name Kafka gives the CLUSTER resource."""

ACTIONS: dict[str, tuple[str, str]] = {
    "DescribeCluster": ("CLUSTER", "DESCRIBE"),
    "AlterCluster": ("CLUSTER", "ALTER"),
    "DescribeClusterDynamicConfiguration": ("CLUSTER", "DESCRIBE_CONFIGS"),
    "AlterClusterDynamicConfiguration": ("CLUSTER", "ALTER_CONFIGS"),
    "WriteDataIdempotently": ("CLUSTER", "IDEMPOTENT_WRITE"),
    "CreateTopic": ("TOPIC", "CREATE"),
    "DescribeTopic": ("TOPIC", "DESCRIBE"),
    "AlterTopic": ("TOPIC", "ALTER"),
    "DeleteTopic": ("TOPIC", "DELETE"),
    "DescribeTopicDynamicConfiguration": ("TOPIC", "DESCRIBE_CONFIGS"),
    "AlterTopicDynamicConfiguration": ("TOPIC", "ALTER_CONFIGS"),
    "ReadData": ("TOPIC", "READ"),
    "WriteData": ("TOPIC", "WRITE"),
    "DescribeGroup": ("GROUP", "DESCRIBE"),
    "AlterGroup": ("GROUP", "READ"),
    "DeleteGroup": ("GROUP", "DELETE"),
    "DescribeTransactionalId": ("TRANSACTIONAL_ID", "DESCRIBE"),
    "AlterTransactionalId": ("TRANSACTIONAL_ID", "WRITE"),
}
"""Every `kafka-cluster` action but Connect: the Kafka resource type and ACL operation it is."""

_ARN_TYPES = {
    "cluster": "CLUSTER",
    "topic": "TOPIC",
    "group": "GROUP",
    "transactional-id": "TRANSACTIONAL_ID",
}
_ARN_TYPE_OF = {kind: arn_type for arn_type, kind in _ARN_TYPES.items()}
_UNSUPPORTED_KEYS = ("NotAction", "NotResource", "Principal", "NotPrincipal", "Condition")
_PRINCIPAL = re.compile(r"^User:[^\s].*$")


@dataclass(frozen=True, order=True)
class KafkaAcl:
    principal: str
    """`User:<name>`: a SCRAM user name, or a client certificate's subject."""
    resource_type: str
    """CLUSTER, TOPIC, GROUP or TRANSACTIONAL_ID."""
    resource_name: str
    pattern_type: str
    """LITERAL or PREFIXED."""
    operation: str
    permission: str
    """ALLOW or DENY."""
    host: str = "*"


@dataclass(frozen=True)
class ClusterIdentity:
    """What the ARNs of a policy are matched against."""

    region: str
    account: str
    name: str
    uuid: str
    """The cluster ARN's last part (e.g. `1a2b...-1`)."""

    @classmethod
    def from_arn(cls, cluster_arn: str) -> ClusterIdentity:
        prefix, _, path = cluster_arn.partition(":cluster/")
        parts = prefix.split(":")
        name, _, uuid = path.partition("/")
        if len(parts) != 5 or not name or not uuid:
            raise ValueError(f"not a cluster ARN: {cluster_arn}")
        return cls(region=parts[3], account=parts[4], name=name, uuid=uuid)

    def arn(self, arn_type: str = "cluster") -> str:
        """The cluster's ARN, or (another type) the prefix of its resources' ARNs, up to the
        name."""
        base = f"arn:aws:kafka:{self.region}:{self.account}:{arn_type}/{self.name}/{self.uuid}"
        return base if arn_type == "cluster" else base + "/"


@dataclass(frozen=True)
class _Statement:
    allow: bool
    actions: tuple[str, ...]
    """Known action names (without the service prefix) the statement's patterns match."""
    connect: bool
    resources: tuple[str, ...]


def compile_policy(
    principal: str, document: str | dict[str, Any], cluster: ClusterIdentity
) -> list[KafkaAcl]:
    """The ACLs that give `principal` what `document` allows on `cluster`, and no more."""
    if not _PRINCIPAL.match(principal):
        raise PolicyError(f"Principal {principal!r} must look like User:<name>.")
    statements = _statements(parse_document(document))
    connect_allowed = any(
        s.allow and s.connect and _covers_cluster(s.resources, cluster) for s in statements
    )
    connect_denied = any(
        not s.allow and s.connect and _covers_cluster(s.resources, cluster) for s in statements
    )
    acls: set[KafkaAcl] = set()
    if connect_denied:  # nothing at all, whatever else says so
        for kind in ("CLUSTER", "TOPIC", "GROUP", "TRANSACTIONAL_ID"):
            name = CLUSTER_RESOURCE_NAME if kind == "CLUSTER" else "*"
            acls.add(KafkaAcl(principal, kind, name, "LITERAL", "ALL", "DENY"))
    for statement in statements:
        permission = "ALLOW" if statement.allow else "DENY"
        compiled = {
            KafkaAcl(principal, kind, name, pattern, operation, permission)
            for kind, operation in (ACTIONS[action] for action in statement.actions)
            for resource in statement.resources
            for name, pattern in _names(resource, kind, cluster)
        }  # also for a statement that ends up granting nothing: its errors are still errors
        if not statement.allow or (connect_allowed and not connect_denied):
            acls.update(compiled)
    return sorted(acls)


def _statements(document: dict[str, Any]) -> list[_Statement]:
    return [_statement(s) for s in parse_policy(document).statements]


def _statement(parsed: Statement) -> _Statement:
    where = f"Statement {parsed.index}"
    for key in _UNSUPPORTED_KEYS:
        if key in parsed.raw:
            raise PolicyError(f"{where}: {key} has no Kafka ACL equivalent; it is not supported.")
    actions: set[str] = set()
    connect = False
    for pattern in parsed.actions:
        service, _, name = pattern.partition(":")
        if pattern != "*" and not fnmatch.fnmatchcase(SERVICE, service.lower()):
            continue  # another service's action (e.g. MSK's own kafka:*): nothing on Kafka
        name = name or "*"
        matched = [a for a in ACTIONS if fnmatch.fnmatchcase(a.lower(), name.lower())]
        connect = connect or fnmatch.fnmatchcase("connect", name.lower())
        if not matched and not fnmatch.fnmatchcase("connect", name.lower()):
            raise PolicyError(f"{where}: {pattern} is not a {SERVICE} action.")
        actions.update(matched)
    for resource in parsed.resources:
        _check_resource(resource, where)
    return _Statement(parsed.allow, tuple(sorted(actions)), connect, parsed.resources)


def _check_resource(resource: str, where: str) -> None:
    if resource == "*":
        return
    parts = resource.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "kafka":
        raise PolicyError(f"{where}: resource {resource!r} is not `*` nor an arn:aws:kafka ARN.")
    kind = parts[5].split("/", 1)[0]
    if "*" not in kind and "?" not in kind and kind not in _ARN_TYPES:
        raise PolicyError(f"{where}: resource type {kind!r} is not one of {sorted(_ARN_TYPES)}.")


def _covers_cluster(resources: tuple[str, ...], cluster: ClusterIdentity) -> bool:
    return any(wildcard(r).match(cluster.arn()) for r in resources)


def _names(resource: str, kind: str, cluster: ClusterIdentity) -> list[tuple[str, str]]:
    """The (name, pattern type) of the Kafka resources of type `kind` that `resource` names on
    this cluster: none when it names only other types or other clusters."""
    if kind == "CLUSTER":
        return [(CLUSTER_RESOURCE_NAME, "LITERAL")] if _covers_cluster((resource,), cluster) else []
    prefix = cluster.arn(_ARN_TYPE_OF[kind])
    if resource.endswith("*") and wildcard(resource).match(prefix):
        return [("*", "LITERAL")]  # the last `*` takes whatever name follows the prefix
    for split in range(len(resource), -1, -1):  # the longest head that is the prefix
        head, name = resource[:split], resource[split:]
        if not wildcard(head).match(prefix):
            continue
        stem = name[:-1] if name.endswith("*") else name
        if not stem or "*" in stem or "?" in stem:
            raise PolicyError(
                f"{resource}: Kafka ACLs match a name literally or by prefix (`name*`), "
                "not with wildcards inside it."
            )
        return [(stem, "PREFIXED")] if name.endswith("*") else [(name, "LITERAL")]
    return []

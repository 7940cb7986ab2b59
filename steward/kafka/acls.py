"""A principal's Kafka ACLs made exactly what its policy compiles to, through the Admin API:
what is missing is created, what is no longer wanted deleted, the rest left alone, so a policy
change takes effect without a restart and without a moment of wider or narrower access than
either policy gives (creations go first, deletions after)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    ResourcePatternType,
    ResourceType,
)

from steward.domain.access_policies import KafkaAcl

_RESOURCE_TYPES = {
    "CLUSTER": ResourceType.BROKER,  # confluent-kafka's name for Kafka's CLUSTER resource (4)
    "TOPIC": ResourceType.TOPIC,
    "GROUP": ResourceType.GROUP,
    "TRANSACTIONAL_ID": ResourceType.TRANSACTIONAL_ID,
}
_KINDS = {value: key for key, value in _RESOURCE_TYPES.items()}
TIMEOUT = 30.0


@dataclass(frozen=True)
class AclChanges:
    created: tuple[KafkaAcl, ...]
    deleted: tuple[KafkaAcl, ...]


def to_binding(acl: KafkaAcl, kind: type[Any] = AclBinding) -> Any:
    """As an AclBinding, or (kind=AclBindingFilter) the filter matching exactly this ACL."""
    return kind(
        _RESOURCE_TYPES[acl.resource_type],
        acl.resource_name,
        ResourcePatternType[acl.pattern_type],
        acl.principal,
        acl.host,
        AclOperation[acl.operation],
        AclPermissionType[acl.permission],
    )


def from_binding(binding: Any) -> KafkaAcl | None:
    """The binding as a KafkaAcl; None for one of a kind policies never make."""
    kind = _KINDS.get(binding.restype)
    if kind is None:
        return None
    return KafkaAcl(
        principal=binding.principal,
        resource_type=kind,
        resource_name=binding.name,
        pattern_type=binding.resource_pattern_type.name,
        operation=binding.operation.name,
        permission=binding.permission_type.name,
        host=binding.host,
    )


def principal_acls(admin: Any, principal: str) -> set[KafkaAcl]:
    """Every ACL of `principal` (of the kinds policies make)."""
    query = AclBindingFilter(
        ResourceType.ANY,
        None,
        ResourcePatternType.ANY,
        principal,
        None,
        AclOperation.ANY,
        AclPermissionType.ANY,
    )
    found = admin.describe_acls(query, request_timeout=TIMEOUT).result(TIMEOUT)
    return {acl for acl in (from_binding(b) for b in found) if acl is not None}


def sync_principal_acls(admin: Any, principal: str, wanted: Sequence[KafkaAcl]) -> AclChanges:
    """Make `principal`'s ACLs exactly `wanted` (all of which must be the principal's)."""
    strangers = [acl for acl in wanted if acl.principal != principal]
    if strangers:
        raise ValueError(f"ACLs of other principals than {principal}: {strangers[:3]}")
    present = principal_acls(admin, principal)
    missing = sorted(set(wanted) - present)
    extra = sorted(present - set(wanted))
    if missing:
        _wait_all(admin.create_acls([to_binding(a) for a in missing], request_timeout=TIMEOUT))
    if extra:
        filters = [to_binding(a, AclBindingFilter) for a in extra]
        _wait_all(admin.delete_acls(filters, request_timeout=TIMEOUT))
    return AclChanges(tuple(missing), tuple(extra))


def _wait_all(futures: dict[Any, Any] | Iterable[Any]) -> None:
    for future in futures.values() if isinstance(futures, dict) else futures:
        future.result(TIMEOUT)

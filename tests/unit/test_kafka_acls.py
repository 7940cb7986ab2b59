"""Syncing a principal's ACLs through an Admin client: only the difference is sent, creations
before deletions, and other principals are never touched."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import pytest

from steward.domain.access_policies import KafkaAcl
from steward.kafka.acls import from_binding, sync_principal_acls, to_binding


def done(value: Any = None) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_result(value)
    return future


class FakeAdmin:
    def __init__(self, acls: list[KafkaAcl]) -> None:
        self.acls = set(acls)
        self.calls: list[str] = []

    def describe_acls(self, query: Any, request_timeout: float) -> Future[Any]:
        self.calls.append("describe")
        return done([to_binding(a) for a in self.acls if a.principal == query.principal])

    def create_acls(self, bindings: list[Any], request_timeout: float) -> dict[Any, Future[Any]]:
        self.calls.append("create")
        self.acls.update(from_binding(b) for b in bindings)  # type: ignore[misc]
        return {b: done() for b in bindings}

    def delete_acls(self, filters: list[Any], request_timeout: float) -> dict[Any, Future[Any]]:
        self.calls.append("delete")
        self.acls -= {from_binding(f) for f in filters}
        return {f: done([]) for f in filters}


def acl(name: str, operation: str = "READ", principal: str = "User:alice") -> KafkaAcl:
    return KafkaAcl(principal, "TOPIC", name, "LITERAL", operation, "ALLOW")


def test_only_the_difference_is_sent_creations_first() -> None:
    bob = acl("payments", principal="User:bob")
    admin = FakeAdmin([acl("orders"), acl("audit"), bob])
    wanted = [acl("orders"), acl("payments"), KafkaAcl("User:alice", "CLUSTER", "kafka-cluster",
              "LITERAL", "IDEMPOTENT_WRITE", "ALLOW")]  # fmt: skip
    changes = sync_principal_acls(admin, "User:alice", wanted)
    assert {a.resource_name for a in changes.created} == {"payments", "kafka-cluster"}
    assert changes.deleted == (acl("audit"),)
    assert admin.calls == ["describe", "create", "delete"]
    assert admin.acls == {*wanted, bob}
    again = sync_principal_acls(admin, "User:alice", wanted)
    assert again.created == () and again.deleted == ()


def test_acls_of_another_principal_are_refused() -> None:
    with pytest.raises(ValueError, match="other principals"):
        sync_principal_acls(FakeAdmin([]), "User:alice", [acl("x", principal="User:bob")])


def test_bindings_round_trip() -> None:
    original = KafkaAcl("User:CN=app", "GROUP", "app-", "PREFIXED", "DESCRIBE", "DENY")
    assert from_binding(to_binding(original)) == original

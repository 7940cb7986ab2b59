"""Access policies of a cluster's principals: which are kept and which refused, and the sync that
makes Kafka's ACLs of each principal what its policy compiles to, with Kafka's admin calls made
on a fake Admin client instead of a cluster."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from steward.background import BackgroundTasks, Pace
from steward.control.service import ClusterService
from steward.domain.access_policies import KafkaAcl
from steward.domain.errors import BadRequestException, NotFoundException
from steward.domain.model import (
    ClientAuthentication,
    ClientBroker,
    ClusterState,
    EncryptionInTransit,
)
from steward.kafka.acls import AclChanges
from steward.security.cluster_policies import (
    APPLIED,
    INACTIVE,
    MAX_DOCUMENT_BYTES,
    PENDING,
    has_authorizer,
)
from steward.security.policy_sync import AclSyncError, PolicySync
from steward.settings import Settings, Zone
from steward.store.store import Store
from tests.unit.clusters import active_cluster

ZONES = (Zone("az-a", "127.81.1"), Zone("az-b", "127.81.2"), Zone("az-c", "127.81.3"))
SCRAM_ONLY = {
    "encryption_in_transit": EncryptionInTransit(ClientBroker.TLS),
    "client_authentication": ClientAuthentication(unauthenticated=False, sasl_scram=True),
}


def consumer_of(cluster_arn: str, topic: str = "payments") -> dict[str, Any]:
    """MSK's consumer example: connect, read one topic, use groups starting with app-."""
    topics = cluster_arn.replace(":cluster/", ":topic/")
    groups = cluster_arn.replace(":cluster/", ":group/")
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["kafka-cluster:Connect"], "Resource": cluster_arn},
            {
                "Effect": "Allow",
                "Action": ["kafka-cluster:ReadData", "kafka-cluster:DescribeTopic"],
                "Resource": f"{topics}/{topic}",
            },
            {
                "Effect": "Allow",
                "Action": "kafka-cluster:AlterGroup",
                "Resource": f"{groups}/app-*",
            },
        ],
    }


@pytest.fixture
def service(tmp_path: Path) -> ClusterService:
    settings = Settings(home=tmp_path, zones=ZONES)
    return ClusterService(settings, Store(settings.db_url))


@pytest.fixture
def secured(service: ClusterService) -> str:
    """An ACTIVE cluster with SCRAM only: Kafka runs its authorizer."""
    return active_cluster(service, "secured", **SCRAM_ONLY).arn


@pytest.fixture
def open_cluster(service: ClusterService) -> str:
    """An ACTIVE cluster that lets anyone in: no authorizer."""
    return active_cluster(service, "open").arn


class FakeKafka:
    """Each principal's ACLs as Kafka would keep them; `sync_principal_acls` in its place."""

    def __init__(self) -> None:
        self.acls: dict[str, set[KafkaAcl]] = {}
        self.calls: list[str] = []
        self.failing: str | None = None

    def admin(self, _store: Store, cluster: Any) -> str:
        return f"admin of {cluster.name}"

    def apply(self, admin: Any, principal: str, wanted: Sequence[KafkaAcl]) -> AclChanges:
        self.calls.append(principal)
        if self.failing:
            raise KafkaException(KafkaError(KafkaError._TIMED_OUT, self.failing))
        present = self.acls.get(principal, set())
        self.acls[principal] = set(wanted)
        return AclChanges(tuple(set(wanted) - present), tuple(present - set(wanted)))


@pytest.fixture
def kafka() -> FakeKafka:
    return FakeKafka()


@pytest.fixture
def sync(service: ClusterService, kafka: FakeKafka) -> PolicySync:
    return PolicySync(service.store, service.policies.records, admin=kafka.admin, apply=kafka.apply)


# --- what is kept, what is refused --------------------------------------------------------------
def test_a_policy_is_kept_with_the_acls_it_compiles_to(
    service: ClusterService, secured: str
) -> None:
    policy = service.policies.put(secured, "User:alice", json.dumps(consumer_of(secured)))
    assert policy.status == PENDING and policy.version == 1
    assert {(a.resource_type, a.resource_name, a.operation) for a in policy.acls} == {
        ("TOPIC", "payments", "READ"),
        ("TOPIC", "payments", "DESCRIBE"),
        ("GROUP", "app-", "READ"),
    }
    replaced = service.policies.put(secured, "User:alice", consumer_of(secured, "orders"))
    assert replaced.version == 2 and replaced.creation_time == policy.creation_time
    assert [p.principal for p in service.policies.list(secured)] == ["User:alice"]
    assert service.policies.get(secured, "User:alice").document == consumer_of(secured, "orders")


def test_a_certificate_subject_is_a_principal(service: ClusterService, secured: str) -> None:
    principal = "User:CN=alice,O=Example\\, Inc.,C=DE"  # an escaped comma may have a space
    service.policies.put(secured, principal, consumer_of(secured))
    assert service.policies.get(secured, principal).acls[0].principal == principal


@pytest.mark.parametrize(
    ("principal", "says"),
    [
        ("alice", "must be a Kafka user principal"),
        ("Group:admins", "must be a Kafka user principal"),
        ("User:", "must be a Kafka user principal"),
        ("User: alice", "leading or trailing spaces"),
        ("User:*", "every principal"),
        ("User:steward-internal", "reserved: steward-internal"),
        ("User:CN=steward-internal,O=Example", "reserved: steward-internal"),
        ("User:steward-revoked", "reserved: steward-revoked"),
        ("User:CN=alice, O=Example", "space after a comma"),
    ],
)
def test_a_principal_steward_cannot_serve_is_refused(
    service: ClusterService, secured: str, principal: str, says: str
) -> None:
    with pytest.raises(BadRequestException, match=says) as refused:
        service.policies.put(secured, principal, consumer_of(secured))
    assert refused.value.invalid_parameter == "principal"
    assert service.policies.list(secured) == []


def test_a_document_that_does_not_compile_is_refused_naming_the_statement(
    service: ClusterService, secured: str
) -> None:
    document = consumer_of(secured)
    document["Statement"][1]["Condition"] = {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
    with pytest.raises(BadRequestException, match="Statement 1: Condition") as refused:
        service.policies.put(secured, "User:alice", document)
    assert refused.value.invalid_parameter == "policy"
    with pytest.raises(BadRequestException, match="not valid JSON"):
        service.policies.put(secured, "User:alice", "{'Version': 1}")
    with pytest.raises(NotFoundException):
        service.policies.get(secured, "User:alice")


def test_size_and_count_limits(
    service: ClusterService, secured: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = consumer_of(secured)
    big["Id"] = "x" * MAX_DOCUMENT_BYTES
    with pytest.raises(BadRequestException, match="larger than 20480 bytes"):
        service.policies.put(secured, "User:alice", big)
    monkeypatch.setattr("steward.security.cluster_policies.MAX_PRINCIPALS_PER_CLUSTER", 2)
    service.policies.put(secured, "User:a", consumer_of(secured))
    service.policies.put(secured, "User:b", consumer_of(secured))
    service.policies.put(secured, "User:b", consumer_of(secured, "orders"))  # a replacement
    with pytest.raises(BadRequestException, match="has 2 access policies"):
        service.policies.put(secured, "User:c", consumer_of(secured))


def test_an_unknown_cluster_is_not_found(service: ClusterService) -> None:
    arn = "arn:aws:kafka:us-east-1:000000000000:cluster/none/0000-1"
    with pytest.raises(NotFoundException):
        service.policies.put(arn, "User:alice", consumer_of(arn))


def test_compile_keeps_nothing(service: ClusterService, secured: str) -> None:
    acls = service.policies.compile(secured, "User:alice", consumer_of(secured))
    assert len(acls) == 3
    assert service.policies.list(secured) == []


def test_has_authorizer_once_unauthenticated_access_is_off(
    service: ClusterService, secured: str, open_cluster: str
) -> None:
    assert has_authorizer(service.describe_cluster(secured))
    assert not has_authorizer(service.describe_cluster(open_cluster))


# --- the sync ------------------------------------------------------------------------------------
def test_the_sync_applies_policies_and_removes_the_acls_of_deleted_ones(
    service: ClusterService, secured: str, sync: PolicySync, kafka: FakeKafka
) -> None:
    service.policies.put(secured, "User:alice", consumer_of(secured))
    service.policies.put(secured, "User:bob", consumer_of(secured, "orders"))
    sync.pass_once()
    assert {a.resource_name for a in kafka.acls["User:alice"]} == {"payments", "app-"}
    alice = service.policies.get(secured, "User:alice")
    assert alice.status == APPLIED and alice.applied_time is not None
    kafka.calls.clear()
    sync.pass_once()
    assert kafka.calls == []  # nothing changed, and the check of everything is not due
    service.policies.put(secured, "User:alice", consumer_of(secured, "audit"))
    assert service.policies.get(secured, "User:alice").status == PENDING
    sync.pass_once()
    assert kafka.calls == ["User:alice"]
    assert {a.resource_name for a in kafka.acls["User:alice"]} == {"audit", "app-"}
    service.policies.delete(secured, "User:bob")
    with pytest.raises(NotFoundException):
        service.policies.get(secured, "User:bob")
    sync.pass_once()
    assert kafka.acls["User:bob"] == set()
    assert [p.principal for p in service.policies.records.all(secured)] == ["User:alice"]


def test_sync_now_checks_every_principal_and_only_those_with_a_policy(
    service: ClusterService, secured: str, sync: PolicySync, kafka: FakeKafka
) -> None:
    service.policies.put(secured, "User:alice", consumer_of(secured))
    sync.pass_once()
    kafka.acls["User:alice"].clear()  # someone removed them behind Steward's back
    kafka.acls["User:mallory"] = {KafkaAcl("User:mallory", "TOPIC", "*", "LITERAL", "ALL", "ALLOW")}
    done = sync.sync_now(secured)
    assert [(d.principal, len(d.changes.created)) for d in done if d.changes] == [("User:alice", 3)]
    assert len(kafka.acls["User:mallory"]) == 1  # not Steward's to manage


def test_failures_are_recorded_and_retried(
    service: ClusterService, secured: str, sync: PolicySync, kafka: FakeKafka
) -> None:
    service.policies.put(secured, "User:alice", consumer_of(secured))
    kafka.failing = "no broker answered"
    sync.pass_once()
    failed = service.policies.get(secured, "User:alice")
    assert failed.status == PENDING and "no broker answered" in (failed.last_error or "")
    kafka.failing = None
    sync.pass_once()
    applied = service.policies.get(secured, "User:alice")
    assert applied.status == APPLIED and applied.last_error is None


def test_a_cluster_without_authorizer_keeps_policies_unapplied(
    service: ClusterService, open_cluster: str, sync: PolicySync, kafka: FakeKafka
) -> None:
    kept = service.policies.put(open_cluster, "User:alice", consumer_of(open_cluster))
    assert kept.status == INACTIVE and "unauthenticated access" in (kept.status_reason or "")
    sync.pass_once()
    assert sync.sync_now(open_cluster) == []
    assert kafka.calls == []
    service.policies.delete(open_cluster, "User:alice")  # never in Kafka: simply forgotten
    assert service.policies.records.all(open_cluster) == []


def test_a_cluster_that_does_not_serve_waits_and_a_deleted_one_is_forgotten(
    service: ClusterService, secured: str, sync: PolicySync, kafka: FakeKafka
) -> None:
    service.policies.put(secured, "User:alice", consumer_of(secured))
    cluster = service.describe_cluster(secured)
    cluster.state = ClusterState.CREATING
    service.store.save_cluster(cluster)
    sync.pass_once()
    waiting = service.policies.get(secured, "User:alice")
    assert kafka.calls == [] and "CREATING" in (waiting.status_reason or "")
    service.store.remove_cluster(secured)
    sync.pass_once()
    assert service.policies.records.all() == []


def test_a_policy_changed_during_a_sync_stays_pending(
    service: ClusterService, secured: str, kafka: FakeKafka
) -> None:
    service.policies.put(secured, "User:alice", consumer_of(secured))

    def apply_while_the_user_changes_it(
        admin: Any, principal: str, wanted: Sequence[KafkaAcl]
    ) -> AclChanges:
        service.policies.put(secured, principal, consumer_of(secured, "orders"))
        return kafka.apply(admin, principal, wanted)

    racing = PolicySync(
        service.store,
        service.policies.records,
        admin=kafka.admin,
        apply=apply_while_the_user_changes_it,
    )
    racing.pass_once()
    assert service.policies.get(secured, "User:alice").status == PENDING
    PolicySync(
        service.store, service.policies.records, admin=kafka.admin, apply=kafka.apply
    ).pass_once()
    assert service.policies.get(secured, "User:alice").status == APPLIED
    assert "orders" in {a.resource_name for a in kafka.acls["User:alice"]}


def test_a_woken_sync_applies_a_change_without_a_restart(
    service: ClusterService, secured: str, kafka: FakeKafka
) -> None:
    sync = PolicySync(
        service.store, service.policies.records, interval=3600, admin=kafka.admin, apply=kafka.apply
    )
    tasks = BackgroundTasks()
    tasks.add("policy-sync", sync.pass_once, sync.interval, pace=Pace.DELAY)
    service.policies.wake = tasks.waker("policy-sync")
    tasks.start()
    try:
        service.policies.put(secured, "User:alice", consumer_of(secured))
        for _ in range(200):
            if service.policies.get(secured, "User:alice").status == APPLIED:
                break
            time.sleep(0.02)
        assert service.policies.get(secured, "User:alice").status == APPLIED
    finally:
        tasks.stop()


def test_an_update_security_applies_policies_before_the_store_has_the_authorizer(
    service: ClusterService, open_cluster: str, sync: PolicySync, kafka: FakeKafka
) -> None:
    service.policies.put(open_cluster, "User:alice", consumer_of(open_cluster))
    stored = service.describe_cluster(open_cluster)
    target = dataclasses.replace(stored, spec=stored.spec.replace(**SCRAM_ONLY))
    sync.apply_cluster(stored)  # no authorizer in its future: nothing to write
    assert kafka.calls == []
    kafka.failing = "broker 2 is restarting"
    with pytest.raises(AclSyncError, match="broker 2 is restarting"):
        sync.apply_cluster(target)
    kafka.failing = None
    sync.apply_cluster(target)
    assert len(kafka.acls["User:alice"]) == 3
    (kept,) = service.policies.records.all(open_cluster)
    assert kept.applied


def test_a_cluster_that_does_not_answer_is_given_up_for_the_pass(
    service: ClusterService, secured: str, sync: PolicySync, kafka: FakeKafka
) -> None:
    for name in "abcde":
        service.policies.put(secured, f"User:{name}", consumer_of(secured))
    kafka.failing = "all brokers down"
    sync.pass_once()
    assert kafka.calls == ["User:a", "User:b", "User:c"]

"""IAM-style policies compiled into Kafka ACLs: what a policy from MSK's documentation grants, a
Deny above an Allow, Connect as the gate to everything, and clear refusals."""

from __future__ import annotations

from typing import Any

import pytest

from steward.domain.access_policies import (
    ClusterIdentity,
    KafkaAcl,
    PolicyError,
    compile_policy,
)

ARN = "arn:aws:kafka:us-east-1:000000000000:cluster/orders/5c7e1a2b-aaaa-bbbb-cccc-0123456789ab-1"
CLUSTER = ClusterIdentity.from_arn(ARN)
TOPICS = "arn:aws:kafka:us-east-1:000000000000:topic/orders/*"
GROUPS = "arn:aws:kafka:us-east-1:000000000000:group/orders/*"
USER = "User:alice"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(actions: list[str] | str, resources: list[str] | str) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources}


def deny(actions: list[str] | str, resources: list[str] | str) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": actions, "Resource": resources}


def acl(kind: str, name: str, operation: str, pattern: str = "LITERAL", allowed: bool = True):
    return KafkaAcl(USER, kind, name, pattern, operation, "ALLOW" if allowed else "DENY")


def test_a_consumer_policy_from_the_msk_guide_becomes_read_acls() -> None:
    acls = compile_policy(
        USER,
        policy(
            allow(["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"], ARN),
            allow(
                ["kafka-cluster:ReadData", "kafka-cluster:DescribeTopic"],
                f"{TOPICS[:-1]}5c7e1a2b-aaaa-bbbb-cccc-0123456789ab-1/payments",
            ),
            allow(
                ["kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup"], f"{GROUPS[:-1]}*/app-*"
            ),
        ),
        CLUSTER,
    )
    assert acls == sorted(
        [
            acl("CLUSTER", "kafka-cluster", "DESCRIBE"),
            acl("TOPIC", "payments", "READ"),
            acl("TOPIC", "payments", "DESCRIBE"),
            acl("GROUP", "app-", "READ", "PREFIXED"),
            acl("GROUP", "app-", "DESCRIBE", "PREFIXED"),
        ]
    )


def test_action_wildcards_expand_to_every_matching_action() -> None:
    acls = compile_policy(
        USER,
        policy(allow("kafka-cluster:Connect", ARN), allow("kafka-cluster:*Topic*", "*")),
        CLUSTER,
    )
    assert {a.operation for a in acls} == {
        "CREATE",
        "DESCRIBE",
        "ALTER",
        "DELETE",
        "DESCRIBE_CONFIGS",
        "ALTER_CONFIGS",
    }
    assert {(a.resource_type, a.resource_name) for a in acls} == {("TOPIC", "*")}


def test_nothing_is_granted_without_connect() -> None:
    assert compile_policy(USER, policy(allow("kafka-cluster:ReadData", "*")), CLUSTER) == []


def test_connect_on_another_cluster_does_not_count() -> None:
    other = ARN.replace("cluster/orders/", "cluster/billing/")
    granted = policy(allow("kafka-cluster:Connect", other), allow("kafka-cluster:ReadData", "*"))
    assert compile_policy(USER, granted, CLUSTER) == []


def test_a_deny_stays_a_deny_next_to_an_allow() -> None:
    acls = compile_policy(
        USER,
        policy(
            allow(["kafka-cluster:Connect", "kafka-cluster:WriteData"], ["*"]),
            deny("kafka-cluster:WriteData", TOPICS.replace("/*", "/*/audit-*")),
        ),
        CLUSTER,
    )
    assert acl("TOPIC", "*", "WRITE") in acls
    assert acl("TOPIC", "audit-", "WRITE", "PREFIXED", allowed=False) in acls


def test_a_denied_connect_denies_everything() -> None:
    acls = compile_policy(
        USER, policy(allow("kafka-cluster:*", "*"), deny("kafka-cluster:Connect", "*")), CLUSTER
    )
    denials = {(a.resource_type, a.operation) for a in acls if a.permission == "DENY"}
    assert denials == {
        ("CLUSTER", "ALL"),
        ("TOPIC", "ALL"),
        ("GROUP", "ALL"),
        ("TRANSACTIONAL_ID", "ALL"),
    }
    assert not [a for a in acls if a.permission == "ALLOW"]


def test_other_services_actions_grant_nothing_and_are_not_refused() -> None:
    granted = policy(allow(["kafka:DescribeCluster", "kafka-cluster:Connect"], "*"))
    assert compile_policy(USER, granted, CLUSTER) == []


def test_resources_of_another_type_or_cluster_are_skipped() -> None:
    acls = compile_policy(
        USER,
        policy(
            allow("kafka-cluster:Connect", ARN),
            allow("kafka-cluster:ReadData", [GROUPS, TOPICS.replace("orders", "billing")]),
        ),
        CLUSTER,
    )
    assert acls == []


@pytest.mark.parametrize(
    ("document", "complaint"),
    [
        ("{not json", "not valid JSON"),
        ({"Statement": []}, "Statement"),
        (policy({"Effect": "Maybe", "Action": "*", "Resource": "*"}), "Effect"),
        (policy({"Effect": "Allow", "NotAction": "x", "Resource": "*"}), "NotAction"),
        (policy({**allow("*", "*"), "Condition": {}}), "Condition"),
        (policy(allow("kafka-cluster:Teleport", "*")), "not a kafka-cluster action"),
        (policy(allow("kafka-cluster:*", "arn:aws:s3:::bucket")), "arn:aws:kafka"),
        (policy(allow("kafka-cluster:*", "arn:aws:kafka:us-east-1:0:broker/x/y")), "resource type"),
        (policy(allow("kafka-cluster:*", f"{TOPICS[:-1]}*/a*b")), "literally or by prefix"),
        (policy(allow("kafka-cluster:*", [])), "Resource"),
    ],
)
def test_what_cannot_become_acls_is_refused_with_the_reason(document: Any, complaint: str) -> None:
    with pytest.raises(PolicyError, match=complaint):
        compile_policy(USER, document, CLUSTER)


def test_the_principal_must_be_a_kafka_user() -> None:
    with pytest.raises(PolicyError, match="User:"):
        compile_policy("alice", policy(allow("*", "*")), CLUSTER)

"""IAM users' and roles' kafka-cluster statements become the Kafka ACLs of their principal
`User:<ARN>` on each cluster their resources name, through the access policies the ACL sync
applies; other services' statements grant nothing on Kafka."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from steward.domain.access_policies import ClusterIdentity, KafkaAcl, compile_policy
from steward.iam.errors import MalformedPolicyDocument
from steward.iam.service import IdentityAccess
from steward.iam.store import USER, IamRecords
from steward.security.iam_principals import IamPrincipalPolicies
from steward.security.policy_store import PolicyRecords
from steward.settings import Settings
from steward.store.store import Store

ACCOUNT = "123456789012"
CLUSTER = f"arn:aws:kafka:us-east-1:{ACCOUNT}:cluster/orders/abcd-1"
OTHER = f"arn:aws:kafka:us-east-1:{ACCOUNT}:cluster/billing/efgh-1"
TOPIC = f"arn:aws:kafka:us-east-1:{ACCOUNT}:topic/orders/abcd-1/payments"
PRINCIPAL = f"User:arn:aws:iam::{ACCOUNT}:user/writer"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(Settings(home=tmp_path).db_url)
    yield store
    store.close()


@pytest.fixture
def iam(store: Store) -> IdentityAccess:
    return IdentityAccess(IamRecords(store.engine), store.access_keys, ACCOUNT, "us-east-1")


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_a_policy_allowing_one_topic_becomes_that_principals_acls(
    iam: IdentityAccess, store: Store
) -> None:
    iam.create_user("writer")
    iam.put_inline_policy(
        USER,
        "writer",
        "produce",
        document(
            {"Effect": "Allow", "Action": ["kafka-cluster:Connect"], "Resource": CLUSTER},
            {
                "Effect": "Allow",
                "Action": ["kafka-cluster:WriteData", "kafka-cluster:DescribeTopic", "kafka:List*"],
                "Resource": [TOPIC, "arn:aws:s3:::bucket"],
            },
            {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"},
        ),
    )
    records = PolicyRecords(store.engine)
    projection = IamPrincipalPolicies(store, records, iam.kafka_cluster_documents)
    documents = iam.kafka_cluster_documents()
    assert list(documents) == [PRINCIPAL]
    projection.project_cluster(CLUSTER, documents)
    projection.project_cluster(OTHER, documents)
    stored = records.get(CLUSTER, PRINCIPAL)
    assert stored is not None
    assert records.get(OTHER, PRINCIPAL) is None  # nothing of its names that cluster
    acls = compile_policy(PRINCIPAL, stored.document, ClusterIdentity.from_arn(CLUSTER))
    assert acls == sorted(
        [
            KafkaAcl(PRINCIPAL, "TOPIC", "payments", "LITERAL", "WRITE", "ALLOW"),
            KafkaAcl(PRINCIPAL, "TOPIC", "payments", "LITERAL", "DESCRIBE", "ALLOW"),
        ]
    )


def test_a_detached_policy_takes_the_acls_away(iam: IdentityAccess, store: Store) -> None:
    iam.create_user("writer")
    made = iam.create_policy(
        "all-kafka", document({"Effect": "Allow", "Action": "kafka-cluster:*", "Resource": "*"})
    )
    iam.attach_policy(USER, "writer", made.arn)
    records = PolicyRecords(store.engine)
    projection = IamPrincipalPolicies(store, records, iam.kafka_cluster_documents)
    projection.project_cluster(CLUSTER, iam.kafka_cluster_documents())
    assert records.get(CLUSTER, PRINCIPAL) is not None
    iam.detach_policy(USER, "writer", made.arn)
    projection.project_cluster(CLUSTER, iam.kafka_cluster_documents())
    assert records.get(CLUSTER, PRINCIPAL) is None  # never applied: simply forgotten


def test_a_kafka_cluster_statement_acls_cannot_express_is_refused(iam: IdentityAccess) -> None:
    iam.create_user("writer")
    with pytest.raises(MalformedPolicyDocument, match="Condition"):
        iam.put_inline_policy(
            USER,
            "writer",
            "p",
            document(
                {
                    "Effect": "Allow",
                    "Action": "kafka-cluster:ReadData",
                    "Resource": "*",
                    "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
                }
            ),
        )
    iam.put_inline_policy(  # another service's condition stays: it is checked by the API
        USER,
        "writer",
        "p",
        document(
            {
                "Effect": "Allow",
                "Action": "kafka:Describe*",
                "Resource": "*",
                "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
            }
        ),
    )
    assert iam.kafka_cluster_documents() == {}


def test_what_acls_cannot_say_denies_more_never_allows_more(iam: IdentityAccess) -> None:
    iam.create_user("writer")
    iam.put_inline_policy(
        USER,
        "writer",
        "p",
        document(
            {"Effect": "Allow", "Action": "kafka-cluster:*", "Resource": "*"},
            {
                "Effect": "Allow",
                "Action": "*",
                "Resource": "*",
                "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
            },
            {
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ),
    )
    statements = iam.kafka_cluster_documents()[PRINCIPAL]["Statement"]
    assert statements == [
        {"Effect": "Allow", "Action": ["kafka-cluster:*"], "Resource": ["*"]},
        {"Effect": "Deny", "Action": ["*"], "Resource": ["*"]},
    ]
    acls = compile_policy(PRINCIPAL, {"Statement": statements}, ClusterIdentity.from_arn(CLUSTER))
    assert {a.permission for a in acls} == {"DENY"}


def test_a_refused_sign_in_is_audited_once_with_its_user(iam: IdentityAccess) -> None:
    from datetime import UTC, datetime

    from steward.domain.sign_in_refusals import SignInRefusal

    iam.create_user("writer")
    key = iam.create_access_key("writer").key
    refusal = SignInRefusal(
        CLUSTER,
        1,
        datetime(2026, 12, 6, tzinfo=UTC),
        "OAUTHBEARER",
        "bad signature",
        "the signature does not match",
        key.access_key_id,
        "req-1",
    )
    iam.record_sign_in_refusal(refusal)
    iam.record_sign_in_refusal(refusal)  # handed over again after a restart
    records = iam.audit(action="kafka-cluster:Connect")
    assert len(records) == 1
    assert records[0].principal == PRINCIPAL.removeprefix("User:")
    assert records[0].resource == CLUSTER and records[0].source == "sign-in"
    assert records[0].reason.startswith("bad signature: the signature does not match")

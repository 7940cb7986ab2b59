"""An IAM user's kafka-cluster statements become Kafka ACLs on a real cluster: a user given, with
boto3's `iam` client, a policy allowing one topic gets an access policy of `User:<its ARN>` that
the sync applies to Kafka (APPLIED), holding exactly the ACLs of that topic; a detached policy
takes them away again. (Signing in with the key is the brokers' IAM sign-in, tested with it.)

One single-zone, one-broker cluster with SASL/SCRAM only (so the authorizer runs) serves the
module."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import boto3
import pytest

from tests.integration.harness import REGION, Steward, eventually, signed_in_cluster

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster(steward: Steward) -> str:
    return signed_in_cluster(steward, "iam-acls", {"Scram": {"Enabled": True}})


def iam(steward: Steward) -> Any:
    key_id, secret = steward.credentials()
    return boto3.client(
        "iam",
        endpoint_url=steward.endpoint,
        region_name=REGION,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
    )


def access_policy(steward: Steward, cluster: str, principal: str) -> dict[str, Any] | None:
    path = f"/steward/v1/clusters/{quote(cluster, safe='')}/policies/{quote(principal, safe='')}"
    with steward.http() as http:
        answer = http.get(path)
    if answer.status_code == 404:
        return None
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_a_users_topic_policy_becomes_its_acls_and_leaves_with_the_policy(
    steward: Steward, cluster: str
) -> None:
    client = iam(steward)
    arn = client.create_user(UserName="producer")["User"]["Arn"]
    topic = cluster.replace(":cluster/", ":topic/") + "/payments"
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "kafka-cluster:Connect", "Resource": cluster},
            {
                "Effect": "Allow",
                "Action": ["kafka-cluster:WriteData", "kafka-cluster:DescribeTopic"],
                "Resource": topic,
            },
            {"Effect": "Allow", "Action": "kafka:Describe*", "Resource": "*"},
        ],
    }
    made = client.create_policy(PolicyName="produce-payments", PolicyDocument=json.dumps(document))
    client.attach_user_policy(UserName="producer", PolicyArn=made["Policy"]["Arn"])
    principal = f"User:{arn}"

    def applied() -> bool:
        found = access_policy(steward, cluster, principal)
        return found is not None and found["status"] == "APPLIED"

    eventually(applied, f"the ACLs of {principal}")
    found = access_policy(steward, cluster, principal)
    assert found is not None
    acls = {(a["resourceType"], a["resourceName"], a["operation"]) for a in found["acls"]}
    assert acls == {("TOPIC", "payments", "WRITE"), ("TOPIC", "payments", "DESCRIBE")}

    client.detach_user_policy(UserName="producer", PolicyArn=made["Policy"]["Arn"])
    eventually(
        lambda: access_policy(steward, cluster, principal) is None,
        f"the ACLs of {principal} to be removed",
    )

"""Triggers on a cluster whose clients must sign in with IAM (IAM on, unauthenticated access off):
a mapping without SourceAccessConfigurations signs in as its function's execution role, as
Lambda does, so the role's kafka-cluster policy is what it may read. A role whose policy allows
the topic gets every record; one without ReadData on it gets none, and the mapping says why.

Everything is driven by boto3 (iam, lambda, kafka) and confluent-kafka, whose writer signs in
with Amazon's aws-msk-iam-sasl-signer-python. One single-zone, one-broker cluster serves the
module."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from confluent_kafka import Producer

from tests.iam_signing import oauth_token
from tests.integration.harness import REGION, Steward, eventually, signed_in_cluster
from tests.unit.zips import zip_of

pytestmark = pytest.mark.integration

QUIET = logging.getLogger("tests.triggers.librdkafka")
QUIET.setLevel(logging.CRITICAL)
TOPIC = "iam-orders"
RECORDS = 40
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}

APPEND = """
import base64, os

def handler(event, context):
    with open(os.environ["OUT"], "a") as out:
        for records in event["records"].values():
            for record in records:
                out.write(base64.b64decode(record["value"]).decode() + "\\n")
"""


def client(steward: Steward, service: str) -> Any:
    access_key_id, secret = steward.credentials()
    return boto3.client(
        service,
        endpoint_url=steward.endpoint,
        region_name=REGION,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret,
    )


@pytest.fixture(scope="module")
def cluster(steward: Steward) -> str:
    arn = signed_in_cluster(steward, "iam-triggers", {"Iam": {"Enabled": True}})
    steward.client().create_topic(
        ClusterArn=arn, TopicName=TOPIC, PartitionCount=2, ReplicationFactor=1
    )
    return str(arn)


def kafka_statements(cluster: str, topic_actions: list[str]) -> dict[str, Any]:
    """What AWS tells a Lambda execution role for MSK to allow, with `topic_actions` on TOPIC."""
    topic_arn = cluster.replace(":cluster/", ":topic/") + f"/{TOPIC}"
    group_arn = cluster.replace(":cluster/", ":group/") + "/*"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "kafka-cluster:Connect",
                    "kafka-cluster:DescribeClusterDynamicConfiguration",
                ],
                "Resource": cluster,
            },
            {"Effect": "Allow", "Action": topic_actions, "Resource": topic_arn},
            {
                "Effect": "Allow",
                "Action": ["kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"],
                "Resource": group_arn,
            },
        ],
    }


def execution_role(steward: Steward, cluster: str, name: str, topic_actions: list[str]) -> str:
    iam = client(steward, "iam")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))["Role"][
        "Arn"
    ]
    iam.put_role_policy(
        RoleName=name,
        PolicyName="kafka",
        PolicyDocument=json.dumps(kafka_statements(cluster, topic_actions)),
    )
    return str(arn)


def writer_settings(steward: Steward, cluster: str) -> dict[str, Any]:
    """A producer that signs in with IAM as a user allowed to write TOPIC."""
    iam = client(steward, "iam")
    iam.create_user(UserName="iam-trigger-writer")
    iam.put_user_policy(
        UserName="iam-trigger-writer",
        PolicyName="kafka",
        PolicyDocument=json.dumps(
            kafka_statements(cluster, ["kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"])
        ),
    )
    key = iam.create_access_key(UserName="iam-trigger-writer")["AccessKey"]
    found = steward.client().get_bootstrap_brokers(ClusterArn=cluster)
    with steward.http() as http:
        ca = http.get(f"/steward/v1/clusters/{quote(cluster, safe='')}/ca-certificate").json()

    def oauth_cb(_config: str) -> tuple[str, float]:
        value, expiry_ms = oauth_token(REGION, key["AccessKeyId"], key["SecretAccessKey"])
        return value, expiry_ms / 1000

    return {
        "bootstrap.servers": found["BootstrapBrokerStringSaslIam"],
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "OAUTHBEARER",
        "oauth_cb": oauth_cb,
        "ssl.ca.pem": ca["certificatePem"],
        "acks": "all",
        "message.timeout.ms": 20000,
    }


def produce(settings: dict[str, Any], values: list[str]) -> None:
    deadline = time.time() + 180
    while True:  # the user's key and ACLs reach the broker in the background
        errors: list[Any] = []
        producer = Producer(settings, logger=QUIET)
        for value in values:
            producer.produce(
                TOPIC, value.encode(), on_delivery=lambda e, _m, seen=errors: seen.append(e)
            )
        producer.flush(30)
        if len(errors) == len(values) and not any(errors):
            return
        assert time.time() < deadline, f"the writer could not write: {errors[:1]}"
        time.sleep(2)


def test_a_trigger_signs_in_as_its_functions_role(
    steward: Steward, cluster: str, tmp_path: Path
) -> None:
    functions = client(steward, "lambda")
    read = ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"]
    reader = execution_role(steward, cluster, "trigger-reader", read)
    no_read = execution_role(steward, cluster, "trigger-no-read", ["kafka-cluster:DescribeTopic"])
    outs = {"reader": tmp_path / "reader.txt", "no-read": tmp_path / "no-read.txt"}
    for who, role in (("reader", reader), ("no-read", no_read)):
        functions.create_function(
            FunctionName=f"append-{who}",
            Runtime="python3.11",
            Role=role,
            Handler="app.handler",
            Environment={"Variables": {"OUT": str(outs[who])}},
            Code={"ZipFile": zip_of({"app.py": APPEND})},
        )
    mappings = {
        who: functions.create_event_source_mapping(
            FunctionName=f"append-{who}",
            EventSourceArn=cluster,
            Topics=[TOPIC],
            StartingPosition="TRIM_HORIZON",
        )["UUID"]
        for who in outs
    }
    values = [f"order-{i}" for i in range(RECORDS)]
    produce(writer_settings(steward, cluster), values)

    def arrived() -> bool:
        path = outs["reader"]
        return path.exists() and set(path.read_text().split()) >= set(values)

    eventually(arrived, "every record through the trigger signed in as its role", timeout=240)

    def processed() -> bool:
        shown = functions.get_event_source_mapping(UUID=mappings["reader"])
        return bool(shown["State"] == "Enabled" and shown["LastProcessingResult"] == "OK")

    eventually(processed, "LastProcessingResult OK", timeout=60)

    def refused() -> str:
        shown = functions.get_event_source_mapping(UUID=mappings["no-read"])
        result = str(shown["LastProcessingResult"])
        return result if result.startswith("PROBLEM: Cluster failed to authorize") else ""

    eventually(refused, "the role without ReadData is refused, and the mapping says so", 120)
    assert not outs["no-read"].exists()


def test_a_role_lambda_may_not_assume_is_refused(steward: Steward, cluster: str) -> None:
    iam = client(steward, "iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": cluster.split(":")[4]},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = iam.create_role(RoleName="people-only", AssumeRolePolicyDocument=json.dumps(trust))
    functions = client(steward, "lambda")
    with pytest.raises(functions.exceptions.InvalidParameterValueException) as refused:
        functions.create_function(
            FunctionName="not-lambdas",
            Runtime="python3.11",
            Role=role["Role"]["Arn"],
            Handler="app.handler",
            Code={"ZipFile": zip_of({"app.py": APPEND})},
        )
    assert "cannot be assumed by Lambda" in str(refused.value)

"""Triggers on a cluster that lets nobody in unauthenticated (TLS only, SASL/SCRAM, Kafka's
authorizer on): a mapping with no SourceAccessConfigurations reads as Steward itself does, and
one with `SASL_SCRAM_512_AUTH` reads through the SCRAM listener as the secret's user, within
what that user's access policy allows. Both get every record.

One single-zone, one-broker cluster serves the module."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from confluent_kafka import Producer

from tests.integration.harness import REGION, Steward, eventually, signed_in_cluster
from tests.unit.zips import zip_of

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::123456789012:role/triggers"
PASSWORD = "trigger-pw-51c2e7"
TOPIC = "secured"
RECORDS = 30

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
    arn = signed_in_cluster(steward, "secured", {"Scram": {"Enabled": True}})
    kafka_api = steward.client()
    kafka_api.create_topic(ClusterArn=arn, TopicName=TOPIC, PartitionCount=2, ReplicationFactor=1)
    return str(arn)


@pytest.fixture(scope="module")
def alice(steward: Steward, cluster: str) -> str:
    """alice's secret, associated, with a policy to write and read the topic in any group."""
    secret_arn = client(steward, "secretsmanager").create_secret(
        Name="AmazonMSK_alice",
        SecretString=json.dumps({"username": "alice", "password": PASSWORD}),
    )["ARN"]
    steward.client().batch_associate_scram_secret(ClusterArn=cluster, SecretArnList=[secret_arn])
    topic_arn = cluster.replace(":cluster/", ":topic/") + f"/{TOPIC}"
    group_arn = cluster.replace(":cluster/", ":group/") + "/*"
    statements = [
        {
            "Effect": "Allow",
            "Action": ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"],
            "Resource": cluster,
        },
        {
            "Effect": "Allow",
            "Action": [
                "kafka-cluster:DescribeTopic",
                "kafka-cluster:WriteData",
                "kafka-cluster:ReadData",
            ],
            "Resource": topic_arn,
        },
        {
            "Effect": "Allow",
            "Action": ["kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup"],
            "Resource": group_arn,
        },
    ]
    body = {"principal": "User:alice", "policy": {"Version": "2012-10-17", "Statement": statements}}
    with steward.http() as http:
        answer = http.put(f"/steward/v1/clusters/{quote(cluster, safe='')}/policies", json=body)
    assert answer.status_code == 200, answer.text
    return str(secret_arn)


def _collect(errors: list[Any]) -> Any:
    return lambda error, _message: errors.append(error)


def produce_as_alice(steward: Steward, cluster: str, values: list[str]) -> None:
    found = steward.client().get_bootstrap_brokers(ClusterArn=cluster)
    assert "BootstrapBrokerString" not in found
    with steward.http() as http:
        ca = http.get(f"/steward/v1/clusters/{quote(cluster, safe='')}/ca-certificate").json()
    settings = {
        "bootstrap.servers": found["BootstrapBrokerStringSaslScram"],
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "alice",
        "sasl.password": PASSWORD,
        "ssl.ca.pem": ca["certificatePem"],
        "acks": "all",
    }
    deadline = time.time() + 120
    while True:  # the credential and the ACLs reach Kafka in the background
        errors: list[Any] = []
        producer = Producer(settings)
        for value in values:
            producer.produce(TOPIC, value.encode(), on_delivery=_collect(errors))
        producer.flush(20)
        if len(errors) == len(values) and not any(errors):
            return
        assert time.time() < deadline, f"alice could not write: {errors[:1]}"
        time.sleep(2)


def test_triggers_read_a_cluster_that_requires_authentication(
    steward: Steward, cluster: str, alice: str, tmp_path: Path
) -> None:
    functions = client(steward, "lambda")
    outs = {"steward": tmp_path / "as-steward.txt", "alice": tmp_path / "as-alice.txt"}
    for who, out in outs.items():
        functions.create_function(
            FunctionName=f"append-{who}",
            Runtime="python3.11",
            Role=ROLE,
            Handler="app.handler",
            Environment={"Variables": {"OUT": str(out)}},
            Code={"ZipFile": zip_of({"app.py": APPEND})},
        )
    mappings = [
        functions.create_event_source_mapping(
            FunctionName="append-steward",
            EventSourceArn=cluster,
            Topics=[TOPIC],
            StartingPosition="TRIM_HORIZON",
        ),
        functions.create_event_source_mapping(
            FunctionName="append-alice",
            EventSourceArn=cluster,
            Topics=[TOPIC],
            StartingPosition="TRIM_HORIZON",
            SourceAccessConfigurations=[{"Type": "SASL_SCRAM_512_AUTH", "URI": alice}],
            AmazonManagedKafkaEventSourceConfig={"ConsumerGroupId": "alice-trigger"},
        ),
    ]
    assert mappings[1]["SourceAccessConfigurations"] == [
        {"Type": "SASL_SCRAM_512_AUTH", "URI": alice}
    ]
    values = [f"secret-{i}" for i in range(RECORDS)]
    produce_as_alice(steward, cluster, values)

    for who, out in outs.items():

        def arrived(path: Path = out) -> bool:
            return path.exists() and set(path.read_text().split()) >= set(values)

        eventually(arrived, f"every record through the trigger as {who}", timeout=180)
    for mapping in mappings:

        def processed(uuid: str = mapping["UUID"]) -> bool:
            shown = functions.get_event_source_mapping(UUID=uuid)
            return bool(shown["State"] == "Enabled" and shown["LastProcessingResult"] == "OK")

        eventually(processed, "LastProcessingResult OK", timeout=30)


def test_iam_sign_in_is_refused_until_it_is_built(steward: Steward, cluster: str) -> None:
    functions = client(steward, "lambda")
    functions.create_function(
        FunctionName="iam",
        Runtime="python3.11",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": zip_of({"app.py": APPEND})},
    )
    with pytest.raises(functions.exceptions.InvalidParameterValueException):
        functions.create_event_source_mapping(
            FunctionName="iam",
            EventSourceArn=cluster,
            Topics=[TOPIC],
            StartingPosition="LATEST",
            SourceAccessConfigurations=[{"Type": "IAM_AUTH"}],
        )

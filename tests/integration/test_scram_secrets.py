"""SCRAM secrets against real Kafka: a boto3 user keeps a sign-in in Steward's Secrets Manager,
associates it with a cluster that has SASL/SCRAM on, and Kafka gets the user's SCRAM-SHA-512
credential (seen through Kafka's own DescribeUserScramCredentials). confluent-kafka and
kafka-python then sign in on the brokers' SASL_SSL listener (9096, `BootstrapBrokerStringSaslScram`)
with the secret's username and password, trusting the cluster's CA; a wrong password is refused,
a new value of the secret replaces the old password, and disassociating removes the credential.
The password shows up nowhere but in GetSecretValue: not in the store, the logs or any command
line.

One single-zone, one-broker cluster (two JVMs) with TLS and plaintext listeners serves the module.
"""

from __future__ import annotations

import json
import logging
import ssl
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import kafka.errors
import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from steward.kafka.scram import users_with_credentials
from tests.integration.harness import REGION, Steward, eventually, pids_mentioning, provisioned

pytestmark = pytest.mark.integration

PASSWORD = "integration-pw-6d0f2a9c"
QUIET = logging.getLogger("tests.scram.librdkafka")
QUIET.setLevel(logging.CRITICAL)
TOPIC = "signed-in"


@pytest.fixture(scope="module")
def secretsmanager(steward: Steward) -> Any:
    access_key_id, secret = steward.credentials()
    return boto3.client(
        "secretsmanager",
        endpoint_url=steward.endpoint,
        region_name=REGION,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret,
    )


@pytest.fixture(scope="module")
def cluster(steward: Steward) -> str:
    spec = provisioned(
        brokers=1,
        zones=("az-a",),
        EncryptionInfo={
            "EncryptionInTransit": {"ClientBroker": "TLS_PLAINTEXT", "InCluster": False}
        },
        ClientAuthentication={
            "Sasl": {"Scram": {"Enabled": True}},
            "Unauthenticated": {"Enabled": True},
        },
    )
    spec["BrokerNodeGroupInfo"]["InstanceType"] = "kafka.t3.small"
    arn = steward.client().create_cluster_v2(ClusterName="scram", Provisioned=spec)["ClusterArn"]
    info = steward.wait_for_state(arn, {"ACTIVE", "FAILED"}, timeout=400)
    assert info["State"] == "ACTIVE", info.get("StateInfo")
    return str(arn)


@pytest.fixture(scope="module")
def brokers(steward: Steward, cluster: str) -> dict[str, str]:
    found = steward.client().get_bootstrap_brokers(ClusterArn=cluster)
    with steward.http() as http:
        ca = http.get(f"/steward/v1/clusters/{quote(cluster, safe='')}/ca-certificate").json()
    return {
        "plaintext": found["BootstrapBrokerString"],
        "scram": found["BootstrapBrokerStringSaslScram"],
        "ca": ca["certificatePem"],
    }


def confluent_settings(brokers: dict[str, str], user: str, password: str) -> dict[str, Any]:
    return {
        "bootstrap.servers": brokers["scram"],
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": user,
        "sasl.password": password,
        "ssl.ca.pem": brokers["ca"],
    }


def kafka_python_settings(brokers: dict[str, str], user: str, password: str) -> dict[str, Any]:
    return {
        "bootstrap_servers": brokers["scram"].split(","),
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": user,
        "sasl_plain_password": password,
        "ssl_context": ssl.create_default_context(cadata=brokers["ca"]),
    }


def confluent_signs_in(brokers: dict[str, str], user: str, password: str) -> bool:
    """Whether Kafka lets `user` in; a refusal must be an authentication failure."""
    errors: list[KafkaError] = []
    settings = {**confluent_settings(brokers, user, password), "error_cb": errors.append}
    admin = AdminClient(settings, logger=QUIET)
    try:
        admin.list_topics(timeout=6)
    except KafkaException:
        admin.poll(0)  # serves error_cb
        assert any(e.code() == KafkaError._AUTHENTICATION for e in errors), errors
        return False
    return True


def round_trip_confluent(brokers: dict[str, str], user: str, password: str) -> None:
    settings = confluent_settings(brokers, user, password)
    value = uuid.uuid4().hex.encode()
    producer = Producer({**settings, "acks": "all"})
    producer.produce(TOPIC, value)
    assert producer.flush(30) == 0
    consumer = Consumer(
        {**settings, "group.id": f"g-{uuid.uuid4().hex}", "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([TOPIC])
    seen: list[bytes] = []
    deadline = time.time() + 30
    while value not in seen and time.time() < deadline:
        message = consumer.poll(1.0)
        if message is not None and message.error() is None:
            seen.append(message.value())
    consumer.close()
    assert value in seen


def round_trip_kafka_python(brokers: dict[str, str], user: str, password: str) -> None:
    settings = kafka_python_settings(brokers, user, password)
    value = uuid.uuid4().hex.encode()
    producer = KafkaProducer(acks="all", **settings)
    producer.send(TOPIC, value).get(timeout=30)
    producer.close()
    consumer = KafkaConsumer(
        TOPIC, group_id=f"g-{uuid.uuid4().hex}", auto_offset_reset="earliest", **settings
    )
    seen: list[bytes] = []
    deadline = time.time() + 30
    while value not in seen and time.time() < deadline:
        for records in consumer.poll(timeout_ms=1000).values():
            seen.extend(record.value for record in records)
    consumer.close()
    assert value in seen


def test_an_associated_secret_signs_in_with_scram_and_leaves_with_its_credential(
    steward: Steward, secretsmanager: Any, cluster: str, brokers: dict[str, str]
) -> None:
    kafka_api = steward.client()
    assert all(b.endswith(":9096") for b in brokers["scram"].split(","))
    admin = AdminClient({"bootstrap.servers": brokers["plaintext"]}, logger=QUIET)
    admin.create_topics([NewTopic(TOPIC, 1, 1)])[TOPIC].result(30)
    secret_arn = secretsmanager.create_secret(
        Name="AmazonMSK_alice",
        SecretString=json.dumps({"username": "alice", "password": PASSWORD}),
    )["ARN"]

    answer = kafka_api.batch_associate_scram_secret(ClusterArn=cluster, SecretArnList=[secret_arn])
    assert answer["UnprocessedScramSecrets"] == []
    assert kafka_api.list_scram_secrets(ClusterArn=cluster)["SecretArnList"] == [secret_arn]
    eventually(
        lambda: users_with_credentials(brokers["plaintext"]).get("alice") == ["SCRAM-SHA-512"],
        "alice's SCRAM-SHA-512 credential in Kafka",
    )
    round_trip_confluent(brokers, "alice", PASSWORD)
    round_trip_kafka_python(brokers, "alice", PASSWORD)

    assert not confluent_signs_in(brokers, "alice", PASSWORD + "-wrong")
    # kafka-python reports the refusal as a failed bootstrap; the same settings with the right
    # password got in above, so it is the password that kept it out.
    with pytest.raises(kafka.errors.KafkaError):
        KafkaAdminClient(
            request_timeout_ms=8000,
            bootstrap_timeout_ms=8000,
            **kafka_python_settings(brokers, "alice", PASSWORD + "-wrong"),
        )

    # A new value of the secret: the new password signs in, the old one no longer does.
    secretsmanager.put_secret_value(
        SecretId=secret_arn,
        SecretString=json.dumps({"username": "alice", "password": PASSWORD + "-2"}),
    )
    eventually(
        lambda: confluent_signs_in(brokers, "alice", PASSWORD + "-2"), "the new password in use"
    )
    assert not confluent_signs_in(brokers, "alice", PASSWORD)

    kafka_api.batch_disassociate_scram_secret(ClusterArn=cluster, SecretArnList=[secret_arn])
    assert kafka_api.list_scram_secrets(ClusterArn=cluster)["SecretArnList"] == []
    eventually(lambda: users_with_credentials(brokers["plaintext"]) == {}, "the credential removed")
    assert not confluent_signs_in(brokers, "alice", PASSWORD + "-2")

    home: Path = steward.home
    for path in home.iterdir():
        if path.is_file() and (path.name.startswith("steward.") or path.suffix in (".out", ".log")):
            assert PASSWORD.encode() not in path.read_bytes(), path
    assert pids_mentioning(PASSWORD) == []

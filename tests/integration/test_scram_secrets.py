"""SCRAM secrets against real Kafka: a boto3 user keeps a sign-in in Steward's Secrets Manager,
associates it with a cluster that has SASL/SCRAM on, and Kafka gets the user's SCRAM-SHA-512
credential (seen through Kafka's own DescribeUserScramCredentials); disassociating removes it.
The password shows up nowhere but in GetSecretValue: not in the store, the logs or any command
line.

One single-zone, one-broker cluster (two JVMs) serves the module.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from steward.kafka.scram import users_with_credentials
from tests.integration.harness import REGION, Steward, pids_mentioning, provisioned

pytestmark = pytest.mark.integration

PASSWORD = "integration-pw-6d0f2a9c"


def wait_for(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {timeout} s")


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
        EncryptionInfo={"EncryptionInTransit": {"ClientBroker": "PLAINTEXT", "InCluster": False}},
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


def test_an_associated_secret_becomes_a_kafka_credential_and_leaves_with_it(
    steward: Steward, secretsmanager: Any, cluster: str
) -> None:
    kafka = steward.client()
    bootstrap = kafka.get_bootstrap_brokers(ClusterArn=cluster)["BootstrapBrokerString"]
    secret_arn = secretsmanager.create_secret(
        Name="AmazonMSK_alice",
        SecretString=json.dumps({"username": "alice", "password": PASSWORD}),
    )["ARN"]

    answer = kafka.batch_associate_scram_secret(ClusterArn=cluster, SecretArnList=[secret_arn])
    assert answer["UnprocessedScramSecrets"] == []
    assert kafka.list_scram_secrets(ClusterArn=cluster)["SecretArnList"] == [secret_arn]
    wait_for(
        lambda: users_with_credentials(bootstrap).get("alice") == ["SCRAM-SHA-512"],
        "alice's SCRAM-SHA-512 credential in Kafka",
    )

    secretsmanager.put_secret_value(
        SecretId=secret_arn,
        SecretString=json.dumps({"username": "alice-2", "password": PASSWORD + "-2"}),
    )
    wait_for(
        lambda: set(users_with_credentials(bootstrap)) == {"alice-2"},
        "the credential following the secret's new value",
    )

    kafka.batch_disassociate_scram_secret(ClusterArn=cluster, SecretArnList=[secret_arn])
    assert kafka.list_scram_secrets(ClusterArn=cluster)["SecretArnList"] == []
    wait_for(lambda: users_with_credentials(bootstrap) == {}, "the credential removed")

    home: Path = steward.home
    for path in home.iterdir():
        if path.is_file() and (path.name.startswith("steward.") or path.suffix in (".out", ".log")):
            assert PASSWORD.encode() not in path.read_bytes(), path
    assert pids_mentioning(PASSWORD) == []

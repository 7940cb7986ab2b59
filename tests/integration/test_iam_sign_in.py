"""IAM sign-in against real Kafka, with clients nobody here wrote: a cluster with
`ClientAuthentication.Sasl.Iam` opens its brokers' SASL_SSL listener on 9098
(`BootstrapBrokerStringSaslIam`), and an IAM user's access key signs in there as that user,
`arn:aws:iam::<account>:user/<name>`:
- with Amazon's aws-msk-iam-sasl-signer-python and confluent-kafka (`oauth_cb`) and kafka-python
  (`sasl_oauth_token_provider`), SASL/OAUTHBEARER; with kafka-python's own `AWS_MSK_IAM`;
- with Amazon's aws-msk-iam-auth 2.4.0 (from Maven Central) on the class path of Kafka's own
  console producer and consumer, SASL `AWS_MSK_IAM` and its OAUTHBEARER login handler.
The user's IAM policy allows one topic: it writes there and is refused on another. A wrong
secret, an expired token, a token for another host and a deleted key are refused, and each
refusal's reason is in the brokers' refusal records (`ListSignInRefusals`). UpdateSecurity then
rolls SASL/SCRAM in beside IAM, and the key still signs in.

One single-zone, one-broker cluster (two JVMs), TLS only, no unauthenticated access.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient
from kafka import KafkaProducer
from kafka.net.sasl.oauth import AbstractTokenProvider

from steward.kafka.client_tools import aws_msk_iam_auth_libs
from steward.kafka.distribution import require_distribution
from steward.kafka.java import find_java
from tests.iam_signing import oauth_token
from tests.integration.harness import REGION, Steward, eventually, signed_in_cluster

pytestmark = pytest.mark.integration

QUIET = logging.getLogger("tests.iam.librdkafka")
QUIET.setLevel(logging.CRITICAL)
TOPIC = "iam-allowed"
OTHER = "iam-other"
KAFKA_VERSION = "4.3.1"
STEWARD_CLI = Path(sys.executable).parent / "steward"


@pytest.fixture(scope="module")
def cluster(steward: Steward) -> str:
    arn = signed_in_cluster(steward, "iam", {"Iam": {"Enabled": True}})
    kafka_api = steward.client()
    described = kafka_api.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]
    auth = described["Provisioned"]["ClientAuthentication"]
    assert auth["Sasl"]["Iam"]["Enabled"] is True
    for topic in (TOPIC, OTHER):
        kafka_api.create_topic(
            ClusterArn=arn, TopicName=topic, PartitionCount=1, ReplicationFactor=1
        )
    return str(arn)


@pytest.fixture(scope="module")
def endpoints(steward: Steward, cluster: str) -> dict[str, str]:
    found = steward.client().get_bootstrap_brokers(ClusterArn=cluster)
    with steward.http() as http:
        ca = http.get(f"/steward/v1/clusters/{quote(cluster, safe='')}/ca-certificate").json()
    assert "BootstrapBrokerStringSaslScram" not in found
    return {"iam": found["BootstrapBrokerStringSaslIam"], "ca": ca["certificatePem"]}


def create_key(steward: Steward, name: str) -> tuple[str, str]:
    """A new IAM user `name` and an access key of its."""
    subprocess.run(
        [str(STEWARD_CLI), "iam", "user", "create", name],
        env=steward.env,
        capture_output=True,
        timeout=60,
        check=True,
    )
    done = subprocess.run(
        [str(STEWARD_CLI), "--output", "json", "access-key", "create", "--user", name],
        env=steward.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    made = json.loads(done.stdout)
    return str(made["AccessKeyId"]), str(made["SecretAccessKey"])


def delete_key(steward: Steward, key_id: str) -> None:
    subprocess.run(
        [str(STEWARD_CLI), "access-key", "delete", key_id],
        env=steward.env,
        capture_output=True,
        timeout=60,
        check=True,
    )


def account_of(cluster: str) -> str:
    return cluster.split(":")[4]


def put_policy(steward: Steward, cluster: str, user: str, topic: str) -> None:
    """IAM user `user`'s policy: connect, read and write `topic`, use any group."""
    topic_arn = cluster.replace(":cluster/", ":topic/") + f"/{topic}"
    group_arn = cluster.replace(":cluster/", ":group/") + "/*"
    statements = [
        {"Effect": "Allow", "Action": ["kafka-cluster:Connect"], "Resource": cluster},
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
    document = json.dumps({"Version": "2012-10-17", "Statement": statements})
    subprocess.run(
        [str(STEWARD_CLI), "iam", "user", "put-policy", user, "kafka", "--file", "-"],
        env=steward.env,
        input=document,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    principal = quote(f"User:arn:aws:iam::{account_of(cluster)}:user/{user}", safe="")
    path = f"/steward/v1/clusters/{quote(cluster, safe='')}/policies/{principal}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # the ACL sync applies it within seconds
        with steward.http() as http:
            answer = http.get(path)
        if answer.status_code == 200 and answer.json()["status"] == "APPLIED":
            return
        time.sleep(1)
    raise AssertionError(f"the policy of IAM user {user} was not applied: {answer.text}")


@pytest.fixture(scope="module")
def writer(steward: Steward, cluster: str) -> tuple[str, str]:
    """An access key whose IAM user's policy allows TOPIC."""
    key_id, secret = create_key(steward, "iam-writer")
    put_policy(steward, cluster, "iam-writer", TOPIC)
    return key_id, secret


def confluent_settings(
    endpoints: dict[str, str], token: Callable[[], tuple[str, int]]
) -> dict[str, Any]:
    def oauth_cb(_config: str) -> tuple[str, float]:
        value, expiry_ms = token()
        return value, expiry_ms / 1000

    return {
        "bootstrap.servers": endpoints["iam"],
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "OAUTHBEARER",
        "oauth_cb": oauth_cb,
        "ssl.ca.pem": endpoints["ca"],
    }


def confluent_produce(settings: dict[str, Any], topic: str) -> KafkaError | None:
    """None when the message is written, else the error it got."""
    errors: list[KafkaError] = []
    producer = Producer(
        {**settings, "acks": "all", "message.timeout.ms": 15000, "error_cb": errors.append},
        logger=QUIET,
    )
    delivered: list[KafkaError | None] = []
    producer.produce(
        topic, uuid.uuid4().hex.encode(), on_delivery=lambda e, _m: delivered.append(e)
    )
    producer.flush(20)
    return (
        delivered[0] if delivered else (errors[0] if errors else KafkaError(KafkaError._TIMED_OUT))
    )


def confluent_signs_in(settings: dict[str, Any]) -> bool:
    errors: list[KafkaError] = []
    admin = AdminClient({**settings, "error_cb": errors.append}, logger=QUIET)
    try:
        admin.list_topics(timeout=8)
    except KafkaException:
        admin.poll(0)
        assert any(e.code() == KafkaError._AUTHENTICATION for e in errors), errors
        return False
    return True


def refusal_reasons(steward: Steward, cluster: str) -> list[str]:
    with steward.http() as http:
        answer = http.get(f"/steward/v1/clusters/{quote(cluster, safe='')}/sign-in-refusals")
    assert answer.status_code == 200, answer.text
    return [r["reason"] for r in answer.json()["signInRefusals"]]


def test_a_key_with_a_policy_writes_its_topic_with_the_python_signer_and_not_another(
    steward: Steward, cluster: str, endpoints: dict[str, str], writer: tuple[str, str]
) -> None:
    assert all(b.endswith(":9098") for b in endpoints["iam"].split(","))
    key_id, secret = writer
    settings = confluent_settings(endpoints, lambda: oauth_token(REGION, key_id, secret))
    eventually(lambda: confluent_produce(settings, TOPIC) is None, "the writer's key and policy")
    refused = confluent_produce(settings, OTHER)
    assert refused is not None and refused.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED

    class Tokens(AbstractTokenProvider):  # type: ignore[misc]
        def token(self) -> str:
            return oauth_token(REGION, key_id, secret)[0]

    producer = KafkaProducer(
        bootstrap_servers=endpoints["iam"].split(","),
        security_protocol="SASL_SSL",
        sasl_mechanism="OAUTHBEARER",
        sasl_oauth_token_provider=Tokens(),
        ssl_context=ssl.create_default_context(cadata=endpoints["ca"]),
        acks="all",
    )
    try:
        producer.send(TOPIC, b"from kafka-python").get(timeout=30)
    finally:
        producer.close()


def test_kafka_pythons_own_aws_msk_iam_signs_in_with_the_environments_key(
    cluster: str,
    endpoints: dict[str, str],
    writer: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key_id, secret = writer
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    producer = KafkaProducer(
        bootstrap_servers=endpoints["iam"].split(","),
        security_protocol="SASL_SSL",
        sasl_mechanism="AWS_MSK_IAM",
        ssl_context=ssl.create_default_context(cadata=endpoints["ca"]),
        acks="all",
    )
    try:
        producer.send(TOPIC, b"AWS_MSK_IAM from kafka-python").get(timeout=30)
    finally:
        producer.close()


def java_tool_env(key_id: str, secret: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "AWS_ACCESS_KEY_ID": key_id,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_REGION": REGION,
    }


def java_tool(
    main: str,
    arguments: list[str],
    properties: dict[str, str],
    workdir: Path,
    env: dict[str, str],
    stdin: str = "",
) -> subprocess.CompletedProcess[str]:
    config = workdir / f"{uuid.uuid4().hex}.properties"
    config.write_text("".join(f"{k}={v}\n" for k, v in properties.items()))
    kafka = require_distribution(KAFKA_VERSION).classpath
    classpath = f"{kafka}{os.pathsep}{aws_msk_iam_auth_libs()}/*"
    command = [find_java(), "-Xmx256m", "-cp", classpath, main, *arguments]
    command += ["--command-config", str(config)]
    return subprocess.run(
        command, input=stdin, env=env, capture_output=True, text=True, timeout=180
    )


@pytest.mark.parametrize("mechanism", ["AWS_MSK_IAM", "OAUTHBEARER"])
def test_kafkas_console_tools_sign_in_with_aws_msk_iam_auth(
    steward: Steward,
    cluster: str,
    endpoints: dict[str, str],
    writer: tuple[str, str],
    tmp_path: Path,
    mechanism: str,
) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text(endpoints["ca"])
    properties = {
        "security.protocol": "SASL_SSL",
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(ca),
    }
    if mechanism == "AWS_MSK_IAM":
        properties |= {
            "sasl.mechanism": "AWS_MSK_IAM",
            "sasl.jaas.config": "software.amazon.msk.auth.iam.IAMLoginModule required;",
            "sasl.client.callback.handler.class": (
                "software.amazon.msk.auth.iam.IAMClientCallbackHandler"
            ),
        }
    else:
        handler = "software.amazon.msk.auth.iam.IAMOAuthBearerLoginCallbackHandler"
        properties |= {
            "sasl.mechanism": "OAUTHBEARER",
            "sasl.jaas.config": (
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;"
            ),
            "sasl.login.callback.handler.class": handler,
            "sasl.client.callback.handler.class": handler,
        }
    env = java_tool_env(*writer)
    message = f"{mechanism}-{uuid.uuid4().hex}"
    produced = java_tool(
        "org.apache.kafka.tools.ConsoleProducer",
        ["--bootstrap-server", endpoints["iam"], "--topic", TOPIC],
        properties,
        tmp_path,
        env,
        stdin=message + "\n",
    )
    assert produced.returncode == 0, produced.stderr[-3000:]
    consumed = java_tool(
        "org.apache.kafka.tools.consumer.ConsoleConsumer",
        [
            "--bootstrap-server",
            endpoints["iam"],
            "--topic",
            TOPIC,
            "--from-beginning",
            "--timeout-ms",
            "20000",
            "--group",
            f"g-{uuid.uuid4().hex}",
        ],
        properties,
        tmp_path,
        env,
    )
    assert message in consumed.stdout, consumed.stderr[-3000:]


def test_refused_sign_ins_say_why(
    steward: Steward, cluster: str, endpoints: dict[str, str], writer: tuple[str, str]
) -> None:
    key_id, secret = writer
    eventually(
        lambda: confluent_signs_in(
            confluent_settings(endpoints, lambda: oauth_token(REGION, key_id, secret))
        ),
        "the writer signs in",
    )
    old = datetime.now(UTC) - timedelta(minutes=30)
    refused = {
        "bad signature": lambda: oauth_token(REGION, key_id, secret + "-wrong"),
        # librdkafka takes no token it is told has expired: this one claims another quarter hour
        "expired": lambda: (
            oauth_token(REGION, key_id, secret, when=old)[0],
            int((time.time() + 900) * 1000),
        ),
        "wrong host": lambda: oauth_token("eu-west-1", key_id, secret),
    }
    for reason, token in refused.items():
        assert not confluent_signs_in(confluent_settings(endpoints, token)), reason

    gone_id, gone_secret = create_key(steward, "iam-gone")
    gone = confluent_settings(endpoints, lambda: oauth_token(REGION, gone_id, gone_secret))
    eventually(lambda: confluent_signs_in(gone), "a new key signs in")
    delete_key(steward, gone_id)
    eventually(lambda: not confluent_signs_in(gone), "the deleted key is refused")

    reasons = set(refusal_reasons(steward, cluster))
    assert {"bad signature", "expired", "wrong host", "unknown key"} <= reasons, reasons

    def audited() -> set[str]:
        with steward.http() as http:
            answer = http.get("/steward/v1/iam/audit", params={"action": "kafka-cluster:Connect"})
        return {r["reason"].split(":", 1)[0] for r in answer.json()["records"]}

    eventually(lambda: {"bad signature", "unknown key"} <= audited(), "the refusals in IAM's audit")


def test_update_security_rolls_scram_in_beside_iam_and_iam_keeps_signing_in(
    steward: Steward, cluster: str, endpoints: dict[str, str], writer: tuple[str, str]
) -> None:
    kafka_api = steward.client()
    answer = kafka_api.update_security(
        ClusterArn=cluster,
        CurrentVersion=steward.current_version(cluster),
        ClientAuthentication={"Sasl": {"Scram": {"Enabled": True}, "Iam": {"Enabled": True}}},
    )
    operation = steward.wait_for_operation(answer["ClusterOperationArn"], timeout=600)
    assert operation["OperationState"] == "UPDATE_COMPLETE", operation
    found = kafka_api.get_bootstrap_brokers(ClusterArn=cluster)
    assert found["BootstrapBrokerStringSaslIam"] == endpoints["iam"]
    assert found["BootstrapBrokerStringSaslScram"].endswith(":9096")
    key_id, secret = writer
    settings = confluent_settings(endpoints, lambda: oauth_token(REGION, key_id, secret))
    eventually(lambda: confluent_produce(settings, TOPIC) is None, "IAM after the roll")


def test_a_session_ends_when_its_signature_expires(
    steward: Steward, cluster: str, endpoints: dict[str, str]
) -> None:
    """A client that keeps its token past the signature's expiry loses its session: Kafka ends it
    at the negotiated lifetime (`connections.max.reauth.ms` on the listener), and signing in again
    with the same token is refused as expired."""
    key_id, secret = create_key(steward, "iam-short")
    put_policy(steward, cluster, "iam-short", TOPIC)
    lifetime = 75.0
    signed_at = datetime.now(UTC) - timedelta(seconds=900 - lifetime)
    token = oauth_token(REGION, key_id, secret, when=signed_at)[0]

    class Tokens(AbstractTokenProvider):  # type: ignore[misc]
        def token(self) -> str:
            return token

    producer = KafkaProducer(
        bootstrap_servers=endpoints["iam"].split(","),
        security_protocol="SASL_SSL",
        sasl_mechanism="OAUTHBEARER",
        sasl_oauth_token_provider=Tokens(),
        ssl_context=ssl.create_default_context(cadata=endpoints["ca"]),
        acks="all",
        retries=0,
        max_block_ms=20_000,
    )
    try:
        producer.send(TOPIC, b"before the signature expires").get(timeout=30)
        expiry = signed_at + timedelta(seconds=900)
        time.sleep(max(0.0, (expiry - datetime.now(UTC)).total_seconds()) + 2)

        def refused_as_expired() -> bool:
            with contextlib.suppress(Exception):
                producer.send(TOPIC, b"after it expired").get(timeout=20)
            with steward.http() as http:
                answer = http.get(
                    f"/steward/v1/clusters/{quote(cluster, safe='')}/sign-in-refusals"
                )
            return any(
                r["reason"] == "expired" and r.get("accessKeyId") == key_id
                for r in answer.json()["signInRefusals"]
            )

        eventually(refused_as_expired, "the expired session's sign-in again is refused")
    finally:
        with contextlib.suppress(Exception):  # what the ended session could not deliver
            producer.close(timeout=5)

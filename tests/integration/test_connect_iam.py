"""MSK Connect on a cluster that takes only IAM sign-ins, with its workers' logs in S3.

A connector created with boto3's `kafkaconnect` with client authentication IAM: its workers sign
in to the brokers' IAM listener (9098) with SASL `AWS_MSK_IAM` (Amazon's aws-msk-iam-auth) as
the connector's service execution role, whose kafka-cluster policy is all they may do. The S3
sink exports every record a writer (signed in as an IAM user of its own) put in the topic; the
objects are read back with boto3 from moto's S3 server. The connector's `logDelivery` sends the
workers' logs to a bucket of the same S3 server, in MSK's key layout under `KafkaConnectLogs`,
each line prefixed with its worker's id as MSK Connect prefixes it. A connector whose role MSK
Connect may not assume is refused at once. The AWS SDK a worker signs in with (aws-msk-iam-auth's
own jars) keeps the session of the profile the agent writes until shortly before it expires, then
takes the renewed one the agent wrote over it, with no restart.

One single-zone, one-broker cluster (TLS only, IAM on, unauthenticated access off) serves the
module.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from botocore.exceptions import ClientError
from confluent_kafka import Producer

from steward.agent.aws_profile import aws_profile_jvm_options, write_aws_profile
from steward.kafka.client_tools import aws_msk_iam_auth_libs
from steward.kafka.connect_worker import IAM_PROFILE
from steward.kafka.distribution import DEFAULT_KAFKA_VERSION
from steward.kafka.java import find_java
from steward.kafka.s3_sink import s3_sink_plugin
from tests.iam_signing import oauth_token
from tests.integration.harness import Steward, eventually, signed_in_cluster
from tests.integration.s3_server import ACCESS_KEY, REGION, SECRET_KEY, S3Server, s3_server

pytestmark = pytest.mark.integration

QUIET = logging.getLogger("tests.connect_iam.librdkafka")
QUIET.setLevel(logging.CRITICAL)
TOPIC = "signed-orders"
RECORDS = 60
PLUGINS_BUCKET = "plugins"
EXPORT_BUCKET = "exports"
LOGS_BUCKET = "worker-logs"
CONNECT_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "kafkaconnect.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with s3_server(tmp_path_factory.mktemp("s3")) as server:
        for bucket in (PLUGINS_BUCKET, EXPORT_BUCKET, LOGS_BUCKET):
            server.client().create_bucket(Bucket=bucket)
        yield server


@pytest.fixture(scope="module")
def steward(tmp_path_factory: pytest.TempPathFactory, s3: S3Server) -> Iterator[Steward]:
    instance = Steward(
        tmp_path_factory.mktemp("steward"),
        extra_env={
            "STEWARD_CONNECT_S3_ENDPOINT": s3.endpoint,
            "STEWARD_CONNECT_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "STEWARD_CONNECT_S3_SECRET_ACCESS_KEY": SECRET_KEY,
            "STEWARD_BROKER_LOG_OBJECT_SECONDS": "2",
        },
    )
    instance.start()
    yield instance
    instance.cleanup()


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
    arn = signed_in_cluster(steward, "iam-exports", {"Iam": {"Enabled": True}})
    steward.client().create_topic(
        ClusterArn=arn, TopicName=TOPIC, PartitionCount=2, ReplicationFactor=1
    )
    return arn


def everything_on(cluster: str) -> dict[str, Any]:
    """A policy of every kafka-cluster action on the cluster, its topics and its groups: what a
    Kafka Connect worker does (internal topics, its group, the sink's consumer group)."""
    resources = [
        cluster,
        cluster.replace(":cluster/", ":topic/") + "/*",
        cluster.replace(":cluster/", ":group/") + "/*",
    ]
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "kafka-cluster:*", "Resource": resources}],
    }


@pytest.fixture(scope="module")
def execution_role(steward: Steward, cluster: str) -> str:
    iam = client(steward, "iam")
    role = iam.create_role(
        RoleName="connect-exports", AssumeRolePolicyDocument=json.dumps(CONNECT_TRUST)
    )["Role"]["Arn"]
    iam.put_role_policy(
        RoleName="connect-exports",
        PolicyName="kafka",
        PolicyDocument=json.dumps(everything_on(cluster)),
    )
    return str(role)


def write_records(steward: Steward, cluster: str, values: list[str]) -> None:
    """Write `values` signed in with IAM as a user allowed to write the topic (its key and ACLs
    reach the broker in the background, so the first tries may be refused)."""
    iam = client(steward, "iam")
    iam.create_user(UserName="connect-writer")
    iam.put_user_policy(
        UserName="connect-writer",
        PolicyName="kafka",
        PolicyDocument=json.dumps(everything_on(cluster)),
    )
    key = iam.create_access_key(UserName="connect-writer")["AccessKey"]
    found = steward.client().get_bootstrap_brokers(ClusterArn=cluster)
    with steward.http() as http:
        ca = http.get(f"/steward/v1/clusters/{quote(cluster, safe='')}/ca-certificate").json()

    def oauth_cb(_config: str) -> tuple[str, float]:
        value, expiry_ms = oauth_token(REGION, key["AccessKeyId"], key["SecretAccessKey"])
        return value, expiry_ms / 1000

    settings = {
        "bootstrap.servers": found["BootstrapBrokerStringSaslIam"],
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "OAUTHBEARER",
        "oauth_cb": oauth_cb,
        "ssl.ca.pem": ca["certificatePem"],
        "acks": "all",
        "message.timeout.ms": 20000,
    }
    deadline = time.time() + 180
    while True:
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


@pytest.fixture(scope="module")
def s3_sink(steward: Steward, s3: S3Server) -> str:
    connect = client(steward, "kafkaconnect")
    content = s3_sink_plugin(DEFAULT_KAFKA_VERSION).read_bytes()
    s3.client().put_object(Bucket=PLUGINS_BUCKET, Key="s3-sink.zip", Body=content)
    arn = connect.create_custom_plugin(
        name="s3-sink",
        contentType="ZIP",
        location={
            "s3Location": {"bucketArn": f"arn:aws:s3:::{PLUGINS_BUCKET}", "fileKey": "s3-sink.zip"}
        },
    )["customPluginArn"]

    def settled() -> bool:
        state = connect.describe_custom_plugin(customPluginArn=arn)["customPluginState"]
        return bool(state != "CREATING")

    eventually(settled, "the plugin is ACTIVE", timeout=180)
    plugin = connect.describe_custom_plugin(customPluginArn=arn)
    assert plugin["customPluginState"] == "ACTIVE", plugin.get("stateDescription")
    return str(arn)


def connector_request(
    name: str, cluster: str, plugin: str, role: str, s3: S3Server, **extra: Any
) -> dict[str, Any]:
    return {
        "connectorName": name,
        "capacity": {"provisionedCapacity": {"mcuCount": 1, "workerCount": 1}},
        "connectorConfiguration": {
            "connector.class": "steward.connect.s3.S3SinkConnector",
            "tasks.max": "2",
            "topics": TOPIC,
            "s3.bucket.name": EXPORT_BUCKET,
            "s3.endpoint": s3.endpoint,
            "aws.access.key.id": ACCESS_KEY,
            "aws.secret.access.key": SECRET_KEY,
            "flush.size": "20",
            "rotate.interval.ms": "2000",
        },
        "kafkaCluster": {
            "apacheKafkaCluster": {
                "bootstrapServers": cluster,
                "vpc": {"subnets": ["az-a"], "securityGroups": []},
            }
        },
        "kafkaClusterClientAuthentication": {"authenticationType": "IAM"},
        "kafkaClusterEncryptionInTransit": {"encryptionType": "TLS"},
        "kafkaConnectVersion": "3.7.x",
        "plugins": [{"customPlugin": {"customPluginArn": plugin, "revision": 1}}],
        "serviceExecutionRoleArn": role,
        **extra,
    }


def test_an_iam_connector_exports_as_its_role_and_delivers_its_worker_logs_to_s3(
    steward: Steward,
    s3: S3Server,
    cluster: str,
    execution_role: str,
    s3_sink: str,
) -> None:
    connect = client(steward, "kafkaconnect")
    values = [f"signed-order-{i}" for i in range(RECORDS)]
    write_records(steward, cluster, values)
    log_delivery = {
        "workerLogDelivery": {
            "s3": {"enabled": True, "bucket": LOGS_BUCKET, "prefix": "connect"},
            "cloudWatchLogs": {"enabled": False},
        }
    }
    arn = connect.create_connector(
        **connector_request(
            "signed-to-s3", cluster, s3_sink, execution_role, s3, logDelivery=log_delivery
        )
    )["connectorArn"]

    def settled() -> bool:
        state = connect.describe_connector(connectorArn=arn)["connectorState"]
        return bool(state in ("RUNNING", "FAILED"))

    eventually(settled, "the connector is RUNNING", timeout=500)
    described = connect.describe_connector(connectorArn=arn)
    assert described["connectorState"] == "RUNNING", described.get("stateDescription")
    assert described["kafkaClusterClientAuthentication"] == {"authenticationType": "IAM"}

    def exported() -> list[str]:
        return [
            json.loads(line)["value"]
            for key in s3.objects(EXPORT_BUCKET, f"{TOPIC}/")
            for line in s3.read(EXPORT_BUCKET, key).decode().splitlines()
        ]

    eventually(lambda: len(exported()) >= RECORDS, "every record in S3", timeout=240)
    assert sorted(exported()) == sorted(values)

    connector_id = arn.rsplit("/", 1)[-1]
    layout = re.compile(
        r"^connect/AWSLogs/\d{12}/KafkaConnectLogs/"
        + re.escape(REGION)
        + "/"
        + re.escape(f"signed-to-s3-{connector_id}")
        + r"/\d{4}-\d{2}-\d{2}-\d{2}/"
        + r"Worker-(?P<worker>[0-9a-f]{17})_\d{2}-\d{2}_[0-9a-f]{8}\.log\.gz$"
    )

    def log_lines() -> list[str]:
        lines: list[str] = []
        for key in s3.objects(LOGS_BUCKET, "connect/"):
            match = layout.match(key)
            assert match, key
            text = gzip.decompress(s3.read(LOGS_BUCKET, key)).decode()
            for line in text.splitlines():
                assert line.startswith(f"[Worker-{match['worker']}] "), line
                lines.append(line)
        return lines

    eventually(
        lambda: any("Kafka Connect" in line or "Herder" in line for line in log_lines()),
        "the worker's log lines in S3",
        timeout=120,
    )
    connect.delete_connector(connectorArn=arn)


def test_a_connector_whose_role_msk_connect_may_not_assume_is_refused(
    steward: Steward, s3: S3Server, cluster: str, s3_sink: str
) -> None:
    iam = client(steward, "iam")
    lambda_only = iam.create_role(
        RoleName="not-for-connect",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    connect = client(steward, "kafkaconnect")
    with pytest.raises(ClientError) as refused:
        connect.create_connector(
            **connector_request("not-assumable", cluster, s3_sink, lambda_only, s3)
        )
    assert refused.value.response["Error"]["Code"] == "BadRequestException"
    assert "kafkaconnect.amazonaws.com" in refused.value.response["Error"]["Message"]


RESOLVER = """
import software.amazon.awssdk.auth.credentials.ProfileCredentialsProvider;
import software.amazon.awssdk.profiles.ProfileFileSupplier;

public class Resolve {
    public static void main(String[] args) throws Exception {
        var provider = ProfileCredentialsProvider.builder().profileName(args[0])
                .profileFile(ProfileFileSupplier.defaultSupplier()).build();
        var in = new java.io.BufferedReader(new java.io.InputStreamReader(System.in));
        while (in.readLine() != null) {
            System.out.println(provider.resolveCredentials().accessKeyId());
            System.out.flush();
        }
    }
}
"""


def test_the_workers_sdk_takes_a_renewed_session_from_its_profile_without_a_restart(
    tmp_path: Path,
) -> None:
    """The profile as aws-msk-iam-auth reads it (`awsProfileName`: a ProfileCredentialsProvider
    on the default profile files, here the agent's), asked for credentials as each sign-in asks."""
    profile = tmp_path / "aws"

    def session(key: str, seconds: float) -> dict[str, Any]:
        expiration = time.time() + seconds
        return {
            "AccessKeyId": key,
            "SecretAccessKey": "s",
            "SessionToken": "t",
            "Expiration": expiration,
        }

    write_aws_profile(session("ASIAFIRST", 60), profile)
    source = tmp_path / "Resolve.java"
    source.write_text(RESOLVER)
    command = [
        find_java(),
        "-cp",
        f"{aws_msk_iam_auth_libs()}/*",
        *aws_profile_jvm_options(profile),
        str(source),
        IAM_PROFILE,
    ]
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert process.stdin is not None and process.stdout is not None

    def resolved() -> str:
        process.stdin.write("\n")  # type: ignore[union-attr]
        process.stdin.flush()  # type: ignore[union-attr]
        return process.stdout.readline().strip()  # type: ignore[union-attr]

    try:
        assert resolved() == "ASIAFIRST"
        write_aws_profile(session("ASIASECOND", 3600), profile)  # the agent's renewal
        assert resolved() == "ASIAFIRST"  # held while it is good
        eventually(lambda: resolved() == "ASIASECOND", "the renewed session", timeout=120)
    finally:
        process.stdin.close()
        process.kill()
        process.wait(30)

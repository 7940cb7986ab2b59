"""Client authentication and access policies against real Kafka.

A boto3 user makes a private CA with Steward's ACM-PCA-compatible API and a cluster that trusts
it (`ClientAuthentication.Tls`), with SASL/SCRAM too and unauthenticated access off: Kafka's
authorizer then denies whatever no access policy allows. Client certificates are issued from
CSRs made here; each client gets in, or is kept out, as MSK's model says:

- a certificate with a policy that allows a topic writes and reads it (confluent-kafka,
  kafka-python and Kafka's own console producer);
- a certificate without a policy, and a SCRAM user without one, are refused with an
  authorization error, and nothing they sent is in the topic;
- a Deny in a policy overrides its Allow;
- a certificate of an unknown CA, an expired one, and no certificate at all fail the TLS
  handshake; a revoked certificate is refused once Steward's revocation list reaches the broker,
  without a restart;
- the plaintext port of this TLS-only cluster is closed.

One single-zone, one-broker cluster (two JVMs) serves the module.
"""

from __future__ import annotations

import logging
import socket
import ssl
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from kafka import KafkaConsumer, KafkaProducer

from steward.crypto.certificates import issue_node_certificate, make_certificate_authority
from steward.kafka.distribution import require_distribution
from tests.integration.harness import REGION, Steward, eventually, provisioned
from tests.integration.reading import read_until_seen

pytestmark = pytest.mark.integration

QUIET = logging.getLogger("tests.client_auth.librdkafka")
QUIET.setLevel(logging.CRITICAL)
TOPIC = "orders"
OTHER = "audit"
PASSWORD = "client-auth-pw-81c2"


@pytest.fixture(scope="module")
def pca(steward: Steward) -> Any:
    access_key_id, secret = steward.credentials()
    return boto3.client(
        "acm-pca",
        endpoint_url=steward.endpoint,
        region_name=REGION,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret,
    )


@pytest.fixture(scope="module")
def ca_arn(pca: Any) -> str:
    return new_ca(pca, "Clients of orders")


def new_ca(pca: Any, name: str) -> str:
    arn: str = pca.create_certificate_authority(
        CertificateAuthorityConfiguration={
            "KeyAlgorithm": "EC_prime256v1",
            "SigningAlgorithm": "SHA256WITHECDSA",
            "Subject": {"CommonName": name, "Organization": "Example"},
        },
        CertificateAuthorityType="ROOT",
    )["CertificateAuthorityArn"]
    return arn


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("client-auth")


class Identity:
    """A client's key and certificate chain, as files (kafka-python and Java want files) and
    PEM text (confluent-kafka)."""

    def __init__(self, directory: Path, name: str, key_pem: str, chain_pem: str) -> None:
        self.name = name
        self.key_pem, self.chain_pem = key_pem, chain_pem
        self.key = directory / f"{name}.key"
        self.chain = directory / f"{name}.pem"
        self.key.write_text(key_pem)
        self.chain.write_text(chain_pem)


def issue(
    pca: Any,
    ca: str,
    directory: Path,
    name: str,
    validity: dict[str, Any] | None = None,
    label: str | None = None,
) -> tuple[Identity, str]:
    """A key made here, a CSR for `CN=<name>,O=Example`, a certificate the CA issues for it."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name.from_rfc4514_string(f"CN={name},O=Example")  # Kafka's principal name
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    certificate_arn = pca.issue_certificate(
        CertificateAuthorityArn=ca,
        Csr=csr.public_bytes(serialization.Encoding.PEM),
        SigningAlgorithm="SHA256WITHECDSA",
        Validity=validity or {"Type": "DAYS", "Value": 30},
    )["CertificateArn"]
    issued = pca.get_certificate(CertificateAuthorityArn=ca, CertificateArn=certificate_arn)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    chain = issued["Certificate"].strip() + "\n" + issued.get("CertificateChain", "").strip()
    serial = x509.load_pem_x509_certificate(issued["Certificate"].encode()).serial_number
    return Identity(directory, label or name, key_pem, chain.strip() + "\n"), f"{serial:x}"


def principal(name: str) -> str:
    return f"User:CN={name},O=Example"


@pytest.fixture(scope="module")
def expiring(pca: Any, ca_arn: str, workdir: Path) -> Identity:
    """A certificate that is good for 15 seconds from now: expired by the time it is tried."""
    until = int((datetime.now(UTC) + timedelta(seconds=15)).timestamp())
    identity, _ = issue(pca, ca_arn, workdir, "eve", {"Type": "ABSOLUTE", "Value": until})
    return identity


@pytest.fixture(scope="module")
def cluster(steward: Steward, ca_arn: str, expiring: Identity) -> str:
    spec = provisioned(
        brokers=1,
        zones=("az-a",),
        EncryptionInfo={"EncryptionInTransit": {"ClientBroker": "TLS", "InCluster": True}},
        ClientAuthentication={
            "Tls": {"CertificateAuthorityArnList": [ca_arn], "Enabled": True},
            "Sasl": {"Scram": {"Enabled": True}},
            "Unauthenticated": {"Enabled": False},
        },
    )
    spec["BrokerNodeGroupInfo"]["InstanceType"] = "kafka.t3.small"
    kafka_api = steward.client()
    arn = kafka_api.create_cluster_v2(ClusterName="mtls", Provisioned=spec)["ClusterArn"]
    info = steward.wait_for_state(arn, {"ACTIVE", "FAILED"}, timeout=400)
    assert info["State"] == "ACTIVE", info.get("StateInfo")
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
    assert "BootstrapBrokerString" not in found  # no plaintext, no anonymous access
    return {
        "tls": found["BootstrapBrokerStringTls"],
        "scram": found["BootstrapBrokerStringSaslScram"],
        "ca": ca["certificatePem"],
    }


def put_policy(steward: Steward, cluster: str, who: str, statements: list[dict[str, Any]]) -> None:
    body = {"principal": who, "policy": {"Version": "2012-10-17", "Statement": statements}}
    with steward.http() as http:
        answer = http.put(f"/steward/v1/clusters/{quote(cluster, safe='')}/policies", json=body)
    assert answer.status_code == 200, answer.text


def allow_topic(cluster: str, topic: str, actions: list[str]) -> list[dict[str, Any]]:
    topic_arn = cluster.replace(":cluster/", ":topic/") + f"/{topic}"
    group_arn = cluster.replace(":cluster/", ":group/") + "/*"
    return [
        {"Effect": "Allow", "Action": ["kafka-cluster:Connect"], "Resource": cluster},
        {"Effect": "Allow", "Action": actions, "Resource": topic_arn},
        {
            "Effect": "Allow",
            "Action": ["kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup"],
            "Resource": group_arn,
        },
    ]


READ_WRITE = [
    "kafka-cluster:DescribeTopic",
    "kafka-cluster:WriteData",
    "kafka-cluster:ReadData",
]


def mtls_settings(endpoints: dict[str, str], who: Identity | None) -> dict[str, Any]:
    settings = {
        "bootstrap.servers": endpoints["tls"],
        "security.protocol": "SSL",
        "ssl.ca.pem": endpoints["ca"],
    }
    if who is not None:
        settings["ssl.key.pem"] = who.key_pem
        settings["ssl.certificate.pem"] = who.chain_pem
    return settings


def scram_settings(endpoints: dict[str, str], user: str) -> dict[str, Any]:
    return {
        "bootstrap.servers": endpoints["scram"],
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": user,
        "sasl.password": PASSWORD,
        "ssl.ca.pem": endpoints["ca"],
    }


def produce(settings: dict[str, Any], topic: str, value: bytes) -> KafkaError | None:
    """Send one message with acks=all; None when acknowledged, else the delivery error."""
    outcome: list[KafkaError | None] = []
    producer = Producer({**settings, "acks": "all", "message.timeout.ms": 15000}, logger=QUIET)
    producer.produce(topic, value, on_delivery=lambda error, _message: outcome.append(error))
    producer.flush(30)
    assert outcome, "no delivery report"
    return outcome[0]


def consume_all(settings: dict[str, Any], topic: str, timeout: float = 20.0) -> list[bytes]:
    consumer = Consumer(
        {
            **settings,
            "group.id": f"check-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        },
        logger=QUIET,
    )
    consumer.subscribe([topic])
    seen: list[bytes] = []
    deadline = time.time() + timeout
    quiet_since = None
    while time.time() < deadline:
        message = consumer.poll(1.0)
        if message is None:
            quiet_since = quiet_since or time.time()
            if seen and time.time() - quiet_since > 3:
                break
            continue
        quiet_since = None
        if message.error() is None:
            seen.append(message.value())
    consumer.close()
    return seen


def handshake_refused(settings: dict[str, Any]) -> bool:
    """True when the client cannot get in at all: a TLS or authentication failure."""
    errors: list[KafkaError] = []
    admin = AdminClient({**settings, "error_cb": errors.append}, logger=QUIET)
    try:
        admin.list_topics(timeout=4)
    except KafkaException:
        admin.poll(0)
        codes = {e.code() for e in errors}
        return bool(codes & {KafkaError._SSL, KafkaError._AUTHENTICATION, KafkaError._TRANSPORT})
    return False


@pytest.fixture(scope="module")
def alice(pca: Any, ca_arn: str, workdir: Path, steward: Steward, cluster: str) -> Identity:
    identity, _ = issue(pca, ca_arn, workdir, "alice")
    put_policy(steward, cluster, principal("alice"), allow_topic(cluster, TOPIC, READ_WRITE))
    return identity


def test_a_certificate_with_a_policy_writes_and_reads_with_three_clients(
    alice: Identity, endpoints: dict[str, str], workdir: Path, steward: Steward, cluster: str
) -> None:
    settings = mtls_settings(endpoints, alice)
    try:
        eventually(lambda: produce(settings, TOPIC, b"first") is None, "alice's policy in force")
    except AssertionError:
        with steward.http() as http:
            shown = http.get(f"/steward/v1/clusters/{quote(cluster, safe='')}/policies").text
        print(produce(settings, TOPIC, b"first"), shown, steward.log_tail(60))
        raise

    ca_file = workdir / "cluster-ca.pem"
    ca_file.write_text(endpoints["ca"])
    context = ssl.create_default_context(cafile=str(ca_file))
    context.load_cert_chain(str(alice.chain), str(alice.key))
    kafka_python = {
        "bootstrap_servers": endpoints["tls"].split(","),
        "security_protocol": "SSL",
        "ssl_context": context,
    }
    producer = KafkaProducer(acks="all", **kafka_python)
    producer.send(TOPIC, b"from-kafka-python").get(timeout=30)
    producer.close()

    config = workdir / "alice.properties"
    config.write_text(
        "security.protocol=SSL\n"
        "ssl.truststore.type=PEM\n"
        f"ssl.truststore.location={ca_file}\n"
        "ssl.keystore.type=PEM\n"
        f"ssl.keystore.location={_keystore(workdir, alice)}\n"
    )
    _console_producer(endpoints["tls"], config, b"from-java")

    seen = consume_all(settings, TOPIC)
    assert {b"first", b"from-kafka-python", b"from-java"} <= set(seen)
    consumer = KafkaConsumer(
        TOPIC,
        group_id=f"kp-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        **kafka_python,
    )
    assert b"from-java" in read_until_seen(consumer, [b"from-java"])


def _keystore(directory: Path, who: Identity) -> Path:
    path = directory / f"{who.name}-keystore.pem"
    path.write_text(who.key_pem.strip() + "\n" + who.chain_pem)
    return path


def _console_producer(bootstrap: str, config: Path, value: bytes) -> None:
    libs = require_distribution("4.3.1").classpath
    done = subprocess.run(
        [
            "java",
            "-cp",
            libs,
            "org.apache.kafka.tools.ConsoleProducer",
            "--bootstrap-server",
            bootstrap,
            "--topic",
            TOPIC,
            "--command-config",
            str(config),
        ],
        input=value + b"\n",
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]


def test_a_certificate_without_a_policy_is_refused_and_writes_nothing(
    pca: Any, ca_arn: str, workdir: Path, alice: Identity, endpoints: dict[str, str]
) -> None:
    bob, _ = issue(pca, ca_arn, workdir, "bob")
    error = produce(mtls_settings(endpoints, bob), TOPIC, b"from-bob")
    assert error is not None and error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, error
    assert b"from-bob" not in consume_all(mtls_settings(endpoints, alice), TOPIC)


def test_a_deny_overrides_an_allow(
    pca: Any,
    ca_arn: str,
    workdir: Path,
    steward: Steward,
    cluster: str,
    alice: Identity,
    endpoints: dict[str, str],
) -> None:
    carol, _ = issue(pca, ca_arn, workdir, "carol")
    every_topic = cluster.replace(":cluster/", ":topic/") + "/*"
    statements = [
        {"Effect": "Allow", "Action": ["kafka-cluster:Connect"], "Resource": cluster},
        {
            "Effect": "Allow",
            "Action": ["kafka-cluster:*Topic*", "kafka-cluster:WriteData"],
            "Resource": every_topic,
        },
        {
            "Effect": "Deny",
            "Action": ["kafka-cluster:WriteData"],
            "Resource": cluster.replace(":cluster/", ":topic/") + f"/{TOPIC}",
        },
    ]
    put_policy(steward, cluster, principal("carol"), statements)
    settings = mtls_settings(endpoints, carol)
    eventually(lambda: produce(settings, OTHER, b"carol-audit") is None, "carol's Allow in force")
    error = produce(settings, TOPIC, b"from-carol")
    assert error is not None and error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, error
    assert b"from-carol" not in consume_all(mtls_settings(endpoints, alice), TOPIC)


def test_unknown_expired_and_missing_certificates_fail_the_handshake(
    workdir: Path, expiring: Identity, endpoints: dict[str, str]
) -> None:
    stranger_ca = make_certificate_authority("Somebody else")
    stranger = issue_node_certificate(stranger_ca, "CN=alice", ["client"])
    impostor = Identity(
        workdir,
        "impostor",
        stranger.key_pem,
        stranger.certificate_pem + stranger_ca.certificate_pem,
    )
    assert handshake_refused(mtls_settings(endpoints, impostor))
    assert handshake_refused(mtls_settings(endpoints, None))
    assert x509.load_pem_x509_certificate(
        expiring.chain_pem.encode()
    ).not_valid_after_utc < datetime.now(UTC)
    assert handshake_refused(mtls_settings(endpoints, expiring))


def test_a_revoked_certificate_is_refused_without_a_restart(
    pca: Any,
    ca_arn: str,
    workdir: Path,
    steward: Steward,
    cluster: str,
    alice: Identity,
    endpoints: dict[str, str],
) -> None:
    mallory, serial = issue(pca, ca_arn, workdir, "mallory")
    put_policy(steward, cluster, principal("mallory"), allow_topic(cluster, OTHER, READ_WRITE))
    settings = mtls_settings(endpoints, mallory)
    eventually(lambda: produce(settings, OTHER, b"before") is None, "mallory's policy in force")
    pids = set(steward.kafka_pids())
    pca.revoke_certificate(
        CertificateAuthorityArn=ca_arn, CertificateSerial=serial, RevocationReason="KEY_COMPROMISE"
    )
    eventually(
        lambda: produce(settings, OTHER, b"after-revocation") is not None, "the revocation in force"
    )
    error = produce(settings, OTHER, b"after-revocation-2")
    assert error is not None and error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, error
    assert set(steward.kafka_pids()) == pids  # no broker restarted for it
    assert produce(mtls_settings(endpoints, alice), TOPIC, b"alice-still") is None


def test_scram_users_get_what_their_policy_allows(
    steward: Steward, cluster: str, alice: Identity, endpoints: dict[str, str]
) -> None:
    access_key_id, secret = steward.credentials()
    secrets = boto3.client(
        "secretsmanager",
        endpoint_url=steward.endpoint,
        region_name=REGION,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret,
    )
    arns = [
        secrets.create_secret(
            Name=f"AmazonMSK_{user}",
            SecretString=f'{{"username": "{user}", "password": "{PASSWORD}"}}',
        )["ARN"]
        for user in ("dave", "frank")
    ]
    answer = steward.client().batch_associate_scram_secret(ClusterArn=cluster, SecretArnList=arns)
    assert answer["UnprocessedScramSecrets"] == []
    put_policy(steward, cluster, "User:dave", allow_topic(cluster, TOPIC, READ_WRITE))
    eventually(
        lambda: produce(scram_settings(endpoints, "dave"), TOPIC, b"from-dave") is None,
        "dave signed in with his policy in force",
    )
    error = produce(scram_settings(endpoints, "frank"), TOPIC, b"from-frank")
    assert error is not None and error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, error
    seen = consume_all(mtls_settings(endpoints, alice), TOPIC)
    assert b"from-dave" in seen and b"from-frank" not in seen


def test_the_plaintext_port_is_closed(endpoints: dict[str, str]) -> None:
    host = endpoints["tls"].split(",")[0].rsplit(":", 1)[0]
    with pytest.raises(OSError):
        socket.create_connection((host, 9092), timeout=3).close()


@pytest.fixture(autouse=True)
def _quiet_kafka_python() -> Iterator[None]:
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    yield


def update_security(steward: Steward, cluster: str, authentication: dict[str, Any]) -> None:
    """UpdateSecurity with this ClientAuthentication, waited for until it completes."""
    operation = steward.client().update_security(
        ClusterArn=cluster,
        CurrentVersion=steward.current_version(cluster),
        ClientAuthentication=authentication,
    )["ClusterOperationArn"]
    done = steward.wait_for_operation(operation, timeout=600)
    assert done["OperationState"] == "UPDATE_COMPLETE", done.get("ErrorInfo")


class BackgroundProducer:
    """alice, producing over mutual TLS with acks=all and idempotence, the whole time."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        self.acknowledged: list[bytes] = []
        self.fatal: list[KafkaError] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> BackgroundProducer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(60)

    def _run(self) -> None:
        producer = Producer(
            {**self.settings, "acks": "all", "enable.idempotence": True}, logger=QUIET
        )

        def delivered(error: KafkaError | None, message: Any) -> None:
            if error is None:
                self.acknowledged.append(message.value())
            elif not error.retriable():
                self.fatal.append(error)

        n = 0
        while not self._stop.is_set():
            producer.produce(TOPIC, f"roll-{n}".encode(), on_delivery=delivered)
            producer.poll(0.05)
            n += 1
        producer.flush(60)


def test_update_security_rolls_authentication_out_and_in_and_rotates_trust_without_refusing_alice(
    pca: Any,
    ca_arn: str,
    workdir: Path,
    steward: Steward,
    cluster: str,
    alice: Identity,
    endpoints: dict[str, str],
) -> None:
    """Two UpdateSecurity operations, each a rolling restart, while alice produces the whole
    time: the first lets clients without credentials in and trusts a second CA as well; alice
    moves to a certificate of the new CA; the second turns unauthenticated access off again and
    stops trusting the old CA. She is never refused; her old certificate is at the end."""
    kafka_api = steward.client()
    anonymous = mtls_settings(endpoints, None)
    next_ca = new_ca(pca, "Clients of orders, next")
    renewed, _ = issue(pca, next_ca, workdir, "alice", label="alice-next")
    with BackgroundProducer(mtls_settings(endpoints, alice)) as old_path:
        update_security(
            steward,
            cluster,
            {
                "Unauthenticated": {"Enabled": True},
                "Tls": {"Enabled": True, "CertificateAuthorityArnList": [ca_arn, next_ca]},
            },
        )
        described = kafka_api.describe_cluster_v2(ClusterArn=cluster)["ClusterInfo"]
        auth = described["Provisioned"]["ClientAuthentication"]
        assert auth["Unauthenticated"]["Enabled"] is True
        assert produce(anonymous, OTHER, b"anonymous") is None  # no authorizer now
        assert produce(mtls_settings(endpoints, renewed), TOPIC, b"renewed") is None
    with BackgroundProducer(mtls_settings(endpoints, renewed)) as new_path:
        update_security(
            steward,
            cluster,
            {
                "Unauthenticated": {"Enabled": False},
                "Tls": {"Enabled": True, "CertificateAuthorityArnList": [next_ca]},
            },
        )
    described = kafka_api.describe_cluster_v2(ClusterArn=cluster)["ClusterInfo"]
    auth = described["Provisioned"]["ClientAuthentication"]
    assert auth["Unauthenticated"]["Enabled"] is False
    assert auth["Tls"]["CertificateAuthorityArnList"] == [next_ca]
    assert handshake_refused(anonymous)
    assert handshake_refused(mtls_settings(endpoints, alice))
    for background in (old_path, new_path):
        assert background.fatal == [] and background.acknowledged
    seen = set(consume_all(mtls_settings(endpoints, renewed), TOPIC, timeout=60))
    assert set(old_path.acknowledged) | set(new_path.acknowledged) <= seen

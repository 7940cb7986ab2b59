"""New connections per second one broker accepts with IAM sign-in against SASL/SCRAM, side by
side on the same broker (MSK caps IAM at 100 new connections per second per broker).

A Steward serves a one-broker cluster with both IAM (9098) and SASL/SCRAM (9096) on, TLS to
clients. One access key signs in with IAM, both ways: SASL `AWS_MSK_IAM` (kafka-python's own
implementation, credentials from the environment as botocore finds them) and SASL/OAUTHBEARER (a
token from Amazon's aws-msk-iam-sasl-signer-python per connection); one SCRAM-SHA-512 user with
its password. All three through kafka-python, so the client's own cost is alike (confluent-kafka
waits a second for an `oauth_cb` token in every new client, which would measure librdkafka, not
the broker). For `--seconds` per round, `--clients` threads each open a new client (TLS handshake,
sign-in, metadata) and close it, again and again; rounds alternate between the mechanisms
(`--rounds` of each).

    python bench/iam_connections.py [--seconds 20] [--clients 4] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import ssl
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import kafka.errors
from kafka import KafkaAdminClient
from kafka.net.sasl.oauth import AbstractTokenProvider

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.iam_signing import oauth_token  # noqa: E402
from tests.integration.harness import REGION, Steward, provisioned  # noqa: E402

logging.getLogger("kafka").setLevel(logging.CRITICAL)
SCRAM_USER, SCRAM_PASSWORD = "bench-scram", "bench-password-5c1e"


def wait_for(check: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return
        time.sleep(1.0)
    raise RuntimeError(f"{what}: not within {timeout} s")


class SignerTokens(AbstractTokenProvider):  # type: ignore[misc]
    def __init__(self, key_id: str, secret: str) -> None:
        self.key_id, self.secret = key_id, secret

    def token(self) -> str:
        return oauth_token(REGION, self.key_id, self.secret)[0]


def setup(steward: Steward) -> dict[str, dict[str, Any]]:
    """The cluster, and the client settings of each mechanism."""
    spec = provisioned(
        brokers=1,
        zones=("az-a",),
        EncryptionInfo={"EncryptionInTransit": {"ClientBroker": "TLS", "InCluster": True}},
        ClientAuthentication={
            "Sasl": {"Iam": {"Enabled": True}, "Scram": {"Enabled": True}},
            "Unauthenticated": {"Enabled": False},
        },
    )
    spec["BrokerNodeGroupInfo"]["InstanceType"] = "kafka.m5.large"
    kafka = steward.client()
    arn = kafka.create_cluster_v2(ClusterName="iam-bench", Provisioned=spec)["ClusterArn"]
    info = steward.wait_for_state(arn, {"ACTIVE", "FAILED"}, timeout=600)
    if info["State"] != "ACTIVE":
        raise RuntimeError(f"cluster {info['State']}: {info.get('StateInfo')}")
    brokers = kafka.get_bootstrap_brokers(ClusterArn=arn)
    with steward.http() as http:
        ca = http.get(f"/steward/v1/clusters/{quote(arn, safe='')}/ca-certificate").json()
    key_id, secret = steward.credentials()
    secrets = boto3.client(
        "secretsmanager",
        endpoint_url=steward.endpoint,
        region_name=REGION,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
    )
    secret_arn = secrets.create_secret(
        Name=f"AmazonMSK_{SCRAM_USER}",
        SecretString=json.dumps({"username": SCRAM_USER, "password": SCRAM_PASSWORD}),
    )["ARN"]
    kafka.batch_associate_scram_secret(ClusterArn=arn, SecretArnList=[secret_arn])

    os.environ.update(
        {"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret, "AWS_DEFAULT_REGION": REGION}
    )
    tls = {
        "security_protocol": "SASL_SSL",
        "ssl_context": ssl.create_default_context(cadata=ca["certificatePem"]),
    }
    iam = brokers["BootstrapBrokerStringSaslIam"].split(",")
    settings = {
        "IAM (AWS_MSK_IAM)": {**tls, "bootstrap_servers": iam, "sasl_mechanism": "AWS_MSK_IAM"},
        "IAM (OAUTHBEARER)": {
            **tls,
            "bootstrap_servers": iam,
            "sasl_mechanism": "OAUTHBEARER",
            "sasl_oauth_token_provider": SignerTokens(key_id, secret),
        },
        "SCRAM-SHA-512": {
            **tls,
            "bootstrap_servers": brokers["BootstrapBrokerStringSaslScram"].split(","),
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": SCRAM_USER,
            "sasl_plain_password": SCRAM_PASSWORD,
        },
    }
    for name, each in settings.items():
        wait_for(lambda each=each: signs_in(each), f"{name} sign-in")
    return settings


def signs_in(settings: dict[str, Any]) -> bool:
    """One new client: sign in, fetch metadata (the signed-in session answers it), close."""
    try:
        admin = KafkaAdminClient(request_timeout_ms=10000, bootstrap_timeout_ms=10000, **settings)
    except kafka.errors.KafkaError:
        return False
    admin.close()
    return True


def round_of(settings: dict[str, Any], seconds: float, clients: int) -> tuple[float, int]:
    """(sign-ins per second, failures) of `clients` threads for `seconds`."""
    done = [0] * clients
    failed = [0] * clients
    stop = time.monotonic() + seconds

    def work(i: int) -> None:
        while time.monotonic() < stop:
            if signs_in(settings):
                done[i] += 1
            else:
                failed[i] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.monotonic() - started), sum(failed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="steward-iam-bench-") as home:
        steward = Steward(Path(home))
        steward.start()
        try:
            settings = setup(steward)
            figures: dict[str, list[float]] = {name: [] for name in settings}
            failures = {name: 0 for name in settings}
            for _ in range(args.rounds):
                for name, each in settings.items():
                    rate, failed = round_of(each, args.seconds, args.clients)
                    figures[name].append(rate)
                    failures[name] += failed
            print(
                f"\nNew connections per second, one broker, {args.clients} clients, "
                f"{args.rounds} x {args.seconds:.0f} s rounds each (kafka-python)"
            )
            scram = statistics.median(figures["SCRAM-SHA-512"])
            print(f"{'mechanism':<20}{'median':>10}{'best':>10}{'failed':>8}{'/ SCRAM':>10}")
            for name, rates in figures.items():
                median = statistics.median(rates)
                ratio = f"{median / scram:.2f}" if scram else "-"
                print(f"{name:<20}{median:>10.1f}{max(rates):>10.1f}{failures[name]:>8}{ratio:>10}")
        finally:
            steward.cleanup()  # every process it started


if __name__ == "__main__":
    main()

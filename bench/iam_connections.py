"""New connections per second one broker accepts with IAM sign-in against SASL/SCRAM, side by
side on the same broker (MSK caps IAM at 100 new connections per second per broker).

A Steward serves a one-broker cluster with both IAM (9098) and SASL/SCRAM (9096) on, TLS to
clients. One access key signs in with IAM (SASL/OAUTHBEARER, a token from Amazon's
aws-msk-iam-sasl-signer-python for every connection, through confluent-kafka's `oauth_cb`), one
SCRAM-SHA-512 user with its password. For `--seconds` per round, `--clients` threads each open a
new client, sign in, fetch metadata and close, again and again; the rounds alternate between the
mechanisms (`--rounds` of each). Every new client means a TLS handshake and a sign-in on the
broker, so the figure is sign-ins per second, TLS included on both sides.

    python bench/iam_connections.py [--seconds 20] [--clients 4] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import logging
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
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.iam_signing import oauth_token  # noqa: E402
from tests.integration.harness import REGION, Steward, provisioned  # noqa: E402

QUIET = logging.getLogger("bench.iam.librdkafka")
QUIET.setLevel(logging.CRITICAL)
SCRAM_USER, SCRAM_PASSWORD = "bench-scram", "bench-password-5c1e"


def wait_for(check: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return
        time.sleep(1.0)
    raise RuntimeError(f"{what}: not within {timeout} s")


def setup(steward: Steward) -> tuple[dict[str, Any], dict[str, Any]]:
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

    def oauth_cb(_config: str) -> tuple[str, float]:
        value, expiry_ms = oauth_token(REGION, key_id, secret)
        return value, expiry_ms / 1000

    tls = {"security.protocol": "SASL_SSL", "ssl.ca.pem": ca["certificatePem"]}
    iam = {
        **tls,
        "bootstrap.servers": brokers["BootstrapBrokerStringSaslIam"],
        "sasl.mechanism": "OAUTHBEARER",
        "oauth_cb": oauth_cb,
    }
    scram = {
        **tls,
        "bootstrap.servers": brokers["BootstrapBrokerStringSaslScram"],
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": SCRAM_USER,
        "sasl.password": SCRAM_PASSWORD,
    }
    wait_for(lambda: signs_in(iam), "IAM sign-in")
    wait_for(lambda: signs_in(scram), "SCRAM sign-in")
    return iam, scram


def signs_in(settings: dict[str, Any]) -> bool:
    """One new client: sign in, fetch metadata (the signed-in session answers it), close."""
    admin = AdminClient(settings, logger=QUIET)
    try:
        admin.list_topics(timeout=10)
        return True
    except KafkaException:
        return False


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
            iam, scram = setup(steward)
            figures: dict[str, list[float]] = {"IAM (OAUTHBEARER)": [], "SCRAM-SHA-512": []}
            failures = {name: 0 for name in figures}
            for _ in range(args.rounds):
                for name, settings in zip(figures, (iam, scram), strict=True):
                    rate, failed = round_of(settings, args.seconds, args.clients)
                    figures[name].append(rate)
                    failures[name] += failed
            print(
                f"\nNew connections per second, one broker, {args.clients} clients, "
                f"{args.rounds} x {args.seconds:.0f} s rounds each"
            )
            print(f"{'mechanism':<20}{'median':>10}{'best':>10}{'failed':>8}")
            for name, rates in figures.items():
                print(
                    f"{name:<20}{statistics.median(rates):>10.1f}{max(rates):>10.1f}"
                    f"{failures[name]:>8}"
                )
            iam_rate = statistics.median(figures["IAM (OAUTHBEARER)"])
            scram_rate = statistics.median(figures["SCRAM-SHA-512"])
            print(f"IAM / SCRAM: {iam_rate / scram_rate:.2f}" if scram_rate else "no SCRAM figure")
        finally:
            steward.cleanup()  # every process it started


if __name__ == "__main__":
    main()

"""What encryption in transit costs: producer and consumer throughput of the same cluster shape
with plaintext everywhere and with TLS everywhere (MSK's default), side by side.

One Steward runs two clusters at once, each 3 brokers and 3 KRaft controllers over three zones
(kafka.m5.large, Kafka 4.3.1):

- **plaintext**: `clientBroker=PLAINTEXT`, `inCluster=false`; clients on 9092.
- **tls**: `clientBroker=TLS`, `inCluster=true`; clients on 9094 trusting the cluster's CA, and
  replication and the controllers over TLS too.

Each round, the two sides take turns (same machine, same moment): a new topic (6 partitions,
RF 3, min ISR 2), one confluent-kafka producer writing `--messages` messages of `--size` bytes
with acks=all (MB/s from the first send to the last acknowledgement), then one consumer of a new
group reading them all back (MB/s from the first message to the last). Prints medians of the
rounds and the ratios tls / plaintext.

    make install && .venv/bin/python bench/encryption_in_transit.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from confluent_kafka import Consumer, Producer  # noqa: E402

from steward.kafka.admin import TlsBootstrap, librdkafka_security  # noqa: E402
from steward.kafka.topics import create_topic  # noqa: E402
from tests.integration.harness import (  # noqa: E402
    PLAINTEXT_IN_TRANSIT,
    TLS_IN_TRANSIT,
    Steward,
    provisioned,
)

MODES = {"plaintext": PLAINTEXT_IN_TRANSIT, "tls": TLS_IN_TRANSIT}
MB = 1_000_000


@dataclass
class Round:
    produce_mb_s: float
    consume_mb_s: float


def create(steward: Steward, mode: str) -> str:
    """Start creating the cluster of `mode`; its ARN."""
    client = steward.client()
    spec = provisioned(EncryptionInfo={"EncryptionInTransit": MODES[mode]})
    return str(
        client.create_cluster_v2(ClusterName=f"bench-{mode}", Provisioned=spec)["ClusterArn"]
    )


def bootstrap_of(steward: Steward, arn: str, mode: str) -> str:
    brokers = steward.client().get_bootstrap_brokers(ClusterArn=arn)
    if mode == "plaintext":
        return str(brokers["BootstrapBrokerString"])
    with steward.http() as http:
        ca = http.get(f"/steward/v1/clusters/{quote(arn, safe='')}/ca-certificate").json()
    return TlsBootstrap(brokers["BootstrapBrokerStringTls"], ca["certificatePem"])


def measure(bootstrap: str, messages: int, size: int) -> Round:
    topic = f"bench-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic, partitions=6)
    security = librdkafka_security(bootstrap)
    producer = Producer(
        {
            "bootstrap.servers": str(bootstrap),
            "acks": "all",
            "linger.ms": 5,
            "batch.size": 262144,
            "queue.buffering.max.messages": 200000,
            **security,
        }
    )
    payload = b"x" * size
    started = time.monotonic()
    for _ in range(messages):
        while True:
            try:
                producer.produce(topic, payload)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    if producer.flush(300) != 0:
        raise SystemExit("the producer did not deliver everything")
    produced = time.monotonic() - started
    consumer = Consumer(
        {
            "bootstrap.servers": str(bootstrap),
            "group.id": f"bench-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "fetch.max.bytes": 52428800,
            **security,
        }
    )
    consumer.subscribe([topic])
    received, first, last = 0, 0.0, 0.0
    deadline = time.monotonic() + 300
    while received < messages and time.monotonic() < deadline:
        for message in consumer.consume(num_messages=10000, timeout=1.0):
            if message.error() is None:
                if received == 0:
                    first = time.monotonic()
                received += 1
                last = time.monotonic()
    consumer.close()
    if received < messages:
        raise SystemExit(f"consumed {received} of {messages} messages")
    total = messages * size / MB
    return Round(total / produced, total / max(last - first, 1e-6))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--messages", type=int, default=60000)
    parser.add_argument("--size", type=int, default=1024, help="bytes per message")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="steward-bench-tls-") as home:
        steward = Steward(Path(home))
        steward.start()
        try:
            arns = {mode: create(steward, mode) for mode in MODES}
            for mode, arn in arns.items():
                info = steward.wait_for_state(arn, {"ACTIVE", "FAILED"}, timeout=600)
                if info["State"] != "ACTIVE":
                    raise SystemExit(f"{mode}: cluster not ACTIVE: {info.get('StateInfo')}")
            bootstraps = {mode: bootstrap_of(steward, arn, mode) for mode, arn in arns.items()}
            rounds: dict[str, list[Round]] = {mode: [] for mode in MODES}
            for number in range(1, args.rounds + 1):
                order = list(MODES) if number % 2 else list(reversed(MODES))
                for mode in order:
                    result = measure(bootstraps[mode], args.messages, args.size)
                    rounds[mode].append(result)
                    print(
                        f"round {number} {mode:9}: produce {result.produce_mb_s:6.1f} MB/s, "
                        f"consume {result.consume_mb_s:6.1f} MB/s",
                        flush=True,
                    )
        finally:
            steward.cleanup()
    print()
    print(f"{args.rounds} rounds, {args.messages} messages of {args.size} B, acks=all, RF 3")
    print("| | plaintext (median) | tls (median) | tls / plaintext |")
    print("|---|---|---|---|")
    for label, attribute in (("producer MB/s", "produce_mb_s"), ("consumer MB/s", "consume_mb_s")):
        plain = statistics.median(getattr(r, attribute) for r in rounds["plaintext"])
        tls = statistics.median(getattr(r, attribute) for r in rounds["tls"])
        print(f"| {label} | {plain:.1f} | {tls:.1f} | {tls / plain:.2f}x |")


if __name__ == "__main__":
    main()

"""The throughput cost of encryption at rest: the same cluster shape, with and without.

Two Stewards run side by side on this machine, one with `STEWARD_ENCRYPTION_AT_REST=off`, one with
`on`; each makes a 3-broker, 3-zone cluster (kafka.m5.large, Kafka 4.3.1). Then, in alternating
rounds so that both sides meet the same machine, Kafka's own performance tools (ProducerPerformance
and ConsumerPerformance, from the installed distribution) write and read a fresh topic (6
partitions, replication factor 3, acks=all, 1 KiB records) on one cluster, then on the other.
The consumer reads from the brokers' page cache and the FUSE view alike; the producer's number is
the one that pays for the encryption of every byte written, three times over (RF 3).

    python bench/encryption_at_rest.py [--rounds 2] [--records 200000]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from steward.kafka.distribution import require_distribution  # noqa: E402
from steward.kafka.java import find_java  # noqa: E402
from steward.kafka.topics import create_topic  # noqa: E402
from steward.settings import ENCRYPTION_AT_REST_ENV, encryption_supported  # noqa: E402
from tests.integration.harness import Steward, provisioned  # noqa: E402

VERSION = "4.3.1"
RECORD_BYTES = 1024
_PRODUCED = re.compile(r"records sent, [\d.]+ records/sec \(([\d.]+) MB/sec\)")


@dataclass
class Side:
    name: str
    steward: Steward
    bootstrap: str = ""
    produce_mb_s: list[float] = field(default_factory=list)
    consume_mb_s: list[float] = field(default_factory=list)


def java_tool(main: str, arguments: list[str], timeout: float = 600) -> str:
    classpath = require_distribution(VERSION).classpath
    # A full JIT, unlike Steward's short admin tools: the client must not be the bottleneck.
    command = [find_java(), "-Xmx512m", "-Dlog4j2.level=OFF", "-cp", classpath, main, *arguments]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{main} failed: {done.stderr[-2000:]}")
    return done.stdout


def produce(bootstrap: str, topic: str, records: int) -> float:
    output = java_tool(
        "org.apache.kafka.tools.ProducerPerformance",
        [
            "--topic", topic,
            "--num-records", str(records),
            "--record-size", str(RECORD_BYTES),
            "--throughput", "-1",
            "--producer-props", f"bootstrap.servers={bootstrap}", "acks=all",
            "linger.ms=5", "batch.size=131072", "compression.type=none",
        ],
    )  # fmt: skip
    found = _PRODUCED.findall(output)
    if not found:
        raise RuntimeError(f"no summary in ProducerPerformance's output: {output[-1000:]}")
    return float(found[-1])


def consume(bootstrap: str, topic: str, records: int) -> float:
    output = java_tool(
        "org.apache.kafka.tools.ConsumerPerformance",
        [
            "--bootstrap-server", bootstrap,
            "--topic", topic,
            "--messages", str(records),
            "--group", f"bench-{uuid.uuid4().hex[:8]}",
            "--timeout", "60000",
        ],
    )  # fmt: skip
    lines = [line for line in output.splitlines() if line.strip()]
    header = [h.strip() for h in lines[-2].split(",")]
    values = [v.strip() for v in lines[-1].split(",")]
    return float(values[header.index("MB.sec")])


def start(name: str, work: Path, mode: str) -> Side:
    steward = Steward(work / name, extra_env={ENCRYPTION_AT_REST_ENV: mode})
    steward.start()
    return Side(name, steward)


def create(side: Side) -> None:
    client = side.steward.client()
    arn = client.create_cluster_v2(ClusterName=side.name, Provisioned=provisioned())["ClusterArn"]
    info = side.steward.wait_for_state(arn, {"ACTIVE", "FAILED"}, timeout=600)
    if info["State"] != "ACTIVE":
        raise RuntimeError(f"{side.name}: {info.get('StateInfo')}")
    side.bootstrap = client.get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerString"]


def measure(side: Side, records: int, round_number: int) -> None:
    topic = f"throughput-{round_number}"
    create_topic(side.bootstrap, topic, partitions=6, replication_factor=3)
    side.produce_mb_s.append(produce(side.bootstrap, topic, records))
    side.consume_mb_s.append(consume(side.bootstrap, topic, records))
    print(
        f"  round {round_number} {side.name:>10}: produce {side.produce_mb_s[-1]:7.2f} MB/s, "
        f"consume {side.consume_mb_s[-1]:7.2f} MB/s",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--records", type=int, default=200_000)
    args = parser.parse_args()
    if not encryption_supported():
        raise SystemExit("this host has no gocryptfs/FUSE: nothing to compare")
    with tempfile.TemporaryDirectory(prefix="steward-bench-at-rest-") as tmp:
        work = Path(tmp)
        sides = [start("plain", work, "off"), start("encrypted", work, "on")]
        try:
            for side in sides:
                create(side)
            print(f"{args.records} records of {RECORD_BYTES} B, acks=all, RF 3, 6 partitions")
            for round_number in range(1, args.rounds + 1):
                order = sides if round_number % 2 else list(reversed(sides))
                for side in order:
                    measure(side, args.records, round_number)
        finally:
            for side in sides:
                side.steward.cleanup()
    plain, encrypted = sides
    print("\n| | plain | encrypted at rest | ratio |\n|---|---|---|---|")
    for label, attribute in (("produce MB/s", "produce_mb_s"), ("consume MB/s", "consume_mb_s")):
        a = statistics.median(getattr(plain, attribute))
        b = statistics.median(getattr(encrypted, attribute))
        print(f"| {label} (median) | {a:.2f} | {b:.2f} | {b / a:.2f}x |")


if __name__ == "__main__":
    main()

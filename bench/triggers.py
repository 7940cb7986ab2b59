"""Records per second through a trigger into a no-op function, next to a plain consumer of the
same topic in the same run.

One Steward, one single-broker cluster; a topic of `--partitions` partitions filled with
`--records` records of 100 bytes. Each run measures, alternately:

- plain: a confluent-kafka consumer of a new group reads the topic from the start and commits
  after every batch of `--batch-size` records (what a trigger does), until it has all records;
  its rate counts from its first batch (the group join is reported apart);
- trigger: a no-op function (`return None`) and an event-source mapping with a new consumer
  group, TRIM_HORIZON and the same batch size; the time from CreateEventSourceMapping until the
  group's committed offsets reach the end of every partition, counted from the first commit
  (the poller's start and group join, to that commit, is reported apart). The committed offsets
  are read every 0.25 s: use enough records that this is small beside the run.

    python bench/triggers.py [--records 100000] [--runs 2] [--batch-size 100]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

import boto3
from confluent_kafka import Consumer, Producer, TopicPartition

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.harness import REGION, Steward, provisioned  # noqa: E402

TOPIC = "bench-triggers"
NOOP = "def handler(event, context):\n    return None\n"


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def fill(bootstrap: str, records: int) -> dict[int, int]:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "acks": "all"})
    payload = b"x" * 100
    for i in range(records):
        producer.produce(TOPIC, payload, key=str(i).encode())
        if i % 10000 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0
    probe = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-probe"})
    metadata = probe.list_topics(TOPIC, timeout=30)
    ends = {
        p: probe.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=30)[1]
        for p in metadata.topics[TOPIC].partitions
    }
    probe.close()
    return ends


def plain(bootstrap: str, records: int, batch_size: int) -> tuple[float, float]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"plain-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([TOPIC])
    got = 0
    counted = 0
    started = time.monotonic()
    first: float | None = None
    while got < records:
        batch = [m for m in consumer.consume(batch_size, timeout=1.0) if m.error() is None]
        if batch:
            if first is None:
                first = time.monotonic()  # the rate counts from here, as the trigger's
            else:
                counted += len(batch)
            got += len(batch)
            consumer.commit(asynchronous=False)
    elapsed = time.monotonic() - (first or started)
    consumer.close()
    return max(counted, 1) / max(elapsed, 1e-6), (first or started) - started


def committed_total(bootstrap: str, group: str, partitions: list[int]) -> int:
    probe = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        found = probe.committed([TopicPartition(TOPIC, p) for p in partitions], timeout=30)
    finally:
        probe.close()
    return sum(max(0, p.offset) for p in found)


def trigger(
    functions: Any, arn: str, bootstrap: str, ends: dict[int, int], batch_size: int
) -> tuple[float, float]:
    group = f"trigger-{uuid.uuid4().hex[:8]}"
    total = sum(ends.values())
    started = time.monotonic()
    mapping = functions.create_event_source_mapping(
        FunctionName="noop",
        EventSourceArn=arn,
        Topics=[TOPIC],
        StartingPosition="TRIM_HORIZON",
        BatchSize=batch_size,
        MaximumBatchingWindowInSeconds=1,
        AmazonManagedKafkaEventSourceConfig={"ConsumerGroupId": group},
    )
    first_commit = None
    done_at_first = 0
    while True:
        done = committed_total(bootstrap, group, list(ends))
        if done and first_commit is None:
            first_commit = time.monotonic() - started
            done_at_first = done
        if done >= total:
            break
        time.sleep(0.25)
    elapsed = time.monotonic() - started
    functions.delete_event_source_mapping(UUID=mapping["UUID"])
    streaming = elapsed - (first_commit or 0.0)
    return max(total - done_at_first, 1) / max(streaming, 1e-6), first_commit or 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100000)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-triggers-") as home:
        steward = Steward(Path(home))
        steward.start(timeout=60)
        try:
            kafka = steward.client()
            spec = provisioned(brokers=1, zones=("az-a",))
            arn = kafka.create_cluster_v2(ClusterName="bench", Provisioned=spec)["ClusterArn"]
            state = steward.wait_for_state(arn, {"ACTIVE", "FAILED"}, timeout=400)
            assert state["State"] == "ACTIVE", state
            bootstrap = kafka.get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerString"]
            kafka.create_topic(
                ClusterArn=arn,
                TopicName=TOPIC,
                PartitionCount=args.partitions,
                ReplicationFactor=1,
            )
            time.sleep(2)
            ends = fill(bootstrap, args.records)
            access_key_id, secret = steward.credentials()
            functions = boto3.client(
                "lambda",
                endpoint_url=steward.endpoint,
                region_name=REGION,
                aws_access_key_id=access_key_id,
                aws_secret_access_key=secret,
            )
            functions.create_function(
                FunctionName="noop",
                Runtime="python3.11",
                Role="arn:aws:iam::000000000000:role/bench",
                Handler="app.handler",
                Code={"ZipFile": _zip({"app.py": NOOP})},
            )
            plain_rates, trigger_rates, starts = [], [], []
            for run in range(args.runs):
                plain_rate, join = plain(bootstrap, sum(ends.values()), args.batch_size)
                plain_rates.append(plain_rate)
                rate, start = trigger(functions, arn, bootstrap, ends, args.batch_size)
                trigger_rates.append(rate)
                starts.append(start)
                print(
                    f"run {run + 1}: plain consumer {plain_rate:,.0f} records/s (first batch after "
                    f"{join:.1f} s), "
                    f"trigger {rate:,.0f} records/s (first commit after {start:.1f} s)"
                )
            p, t = statistics.median(plain_rates), statistics.median(trigger_rates)
            print(
                f"\n{sum(ends.values())} records, {args.partitions} partitions, batch "
                f"{args.batch_size}: plain consumer {p:,.0f} records/s, trigger into a no-op "
                f"function {t:,.0f} records/s ({t / p:.2f}x); poller start to first commit "
                f"{statistics.median(starts):.1f} s (median of {args.runs})"
            )
        finally:
            steward.cleanup()


if __name__ == "__main__":
    main()

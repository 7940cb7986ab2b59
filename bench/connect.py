"""Export throughput of MSK Connect on Steward: records/s that Steward's S3 sink connector
delivers to an S3-compatible server, next to a plain consumer reading the same topic in the same
run.

One Steward, a one-broker cluster, moto's S3 server. A topic is filled with `--records` records
first; then a connector (`--workers` workers, `--tasks` tasks) exports it from the beginning
while a confluent-kafka consumer (one process, the topic's partitions assigned) reads it too.
The connector's rate counts from its first object to the object holding the last record (the
offsets in the object names say how many records each holds); the consumer's from its first
record to its last. Time to RUNNING (worker JVMs starting, the group forming) is printed apart.

    python bench/connect.py [--records 200000] [--workers 1] [--tasks 2] [--flush-size 5000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import boto3
from confluent_kafka import Consumer, Producer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from steward.kafka.distribution import DEFAULT_KAFKA_VERSION  # noqa: E402
from steward.kafka.s3_sink import s3_sink_plugin  # noqa: E402
from tests.integration.harness import Steward, provisioned  # noqa: E402
from tests.integration.s3_server import (  # noqa: E402
    ACCESS_KEY,
    REGION,
    SECRET_KEY,
    S3Server,
    s3_server,
)

TOPIC = "bench"
PARTITIONS = 2
BUCKET = "exports"


def fill(bootstrap: str, records: int, size: int) -> None:
    producer = Producer(
        {"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 20, "batch.size": 262144}
    )
    payload = b"x" * size
    for i in range(records):
        while True:
            try:
                producer.produce(TOPIC, payload, key=str(i).encode())
                break
            except BufferError:
                producer.poll(0.1)
        if i % 10000 == 0:
            producer.poll(0)
    assert producer.flush(120) == 0


def plain_consumer(bootstrap: str, records: int, result: dict[str, float]) -> None:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "bench-plain",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([TOPIC])
    seen = 0
    first = last = 0.0
    deadline = time.monotonic() + 600
    while seen < records and time.monotonic() < deadline:
        for message in consumer.consume(1000, timeout=1.0):
            if message.error() is None:
                if seen == 0:
                    first = time.monotonic()
                seen += 1
                last = time.monotonic()
    consumer.close()
    result.update(records=seen, seconds=max(last - first, 1e-9))


def exported_records(s3: S3Server) -> int:
    total = 0
    for key in s3.objects(BUCKET, f"{TOPIC}/"):
        first, last = key.rsplit("/", 1)[-1].removesuffix(".jsonl").split("+")[2:]
        total += int(last) - int(first) + 1
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--size", type=int, default=200, help="value bytes per record")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--tasks", type=int, default=PARTITIONS)
    parser.add_argument("--flush-size", type=int, default=5000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-connect-") as work:
        root = Path(work)
        with s3_server(root) as s3:
            for bucket in ("plugins", BUCKET):
                s3.client().create_bucket(Bucket=bucket)
            steward = Steward(
                root / "steward",
                extra_env={
                    "STEWARD_CONNECT_S3_ENDPOINT": s3.endpoint,
                    "STEWARD_CONNECT_S3_ACCESS_KEY_ID": ACCESS_KEY,
                    "STEWARD_CONNECT_S3_SECRET_ACCESS_KEY": SECRET_KEY,
                },
            )
            steward.start()
            try:
                run(steward, s3, args)
            finally:
                steward.cleanup()


def run(steward: Steward, s3: S3Server, args: argparse.Namespace) -> None:
    kafka = steward.client()
    spec = provisioned(brokers=1, zones=("az-a",))
    arn = kafka.create_cluster_v2(ClusterName="bench", Provisioned=spec)["ClusterArn"]
    info = steward.wait_for_state(arn, {"ACTIVE", "FAILED"}, timeout=600)
    assert info["State"] == "ACTIVE", info
    kafka.create_topic(
        ClusterArn=arn, TopicName=TOPIC, PartitionCount=PARTITIONS, ReplicationFactor=1
    )
    bootstrap = kafka.get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerString"]
    print(f"filling {args.records} records of {args.size} bytes ...", flush=True)
    fill(bootstrap, args.records, args.size)

    access_key_id, secret = steward.credentials()
    connect: Any = boto3.client(
        "kafkaconnect",
        endpoint_url=steward.endpoint,
        region_name=REGION,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret,
    )
    s3.client().put_object(
        Bucket="plugins", Key="s3-sink.zip", Body=s3_sink_plugin(DEFAULT_KAFKA_VERSION).read_bytes()
    )
    plugin = connect.create_custom_plugin(
        name="s3-sink",
        contentType="ZIP",
        location={"s3Location": {"bucketArn": "arn:aws:s3:::plugins", "fileKey": "s3-sink.zip"}},
    )["customPluginArn"]
    while connect.describe_custom_plugin(customPluginArn=plugin)["customPluginState"] == "CREATING":
        time.sleep(1)

    consumer_result: dict[str, float] = {}
    consumer = threading.Thread(
        target=plain_consumer, args=(bootstrap, args.records, consumer_result)
    )
    started = time.monotonic()
    consumer.start()
    connector = connect.create_connector(
        connectorName="bench",
        capacity={"provisionedCapacity": {"mcuCount": 1, "workerCount": args.workers}},
        connectorConfiguration={
            "connector.class": "steward.connect.s3.S3SinkConnector",
            "tasks.max": str(args.tasks),
            "topics": TOPIC,
            "s3.bucket.name": BUCKET,
            "s3.endpoint": s3.endpoint,
            "aws.access.key.id": ACCESS_KEY,
            "aws.secret.access.key": SECRET_KEY,
            "flush.size": str(args.flush_size),
            "rotate.interval.ms": "5000",
        },
        kafkaCluster={
            "apacheKafkaCluster": {"bootstrapServers": arn, "vpc": {"subnets": ["az-a"]}}
        },
        kafkaClusterClientAuthentication={"authenticationType": "NONE"},
        kafkaClusterEncryptionInTransit={"encryptionType": "PLAINTEXT"},
        kafkaConnectVersion="3.7.x",
        plugins=[{"customPlugin": {"customPluginArn": plugin, "revision": 1}}],
        serviceExecutionRoleArn="arn:aws:iam::000000000000:role/bench",
    )["connectorArn"]
    running_at = None
    first_object_at = None
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        if running_at is None:
            state = connect.describe_connector(connectorArn=connector)["connectorState"]
            if state == "RUNNING":
                running_at = time.monotonic()
            elif state == "FAILED":
                raise SystemExit(connect.describe_connector(connectorArn=connector))
        done = exported_records(s3)
        if done and first_object_at is None:
            first_object_at = time.monotonic()
        if done >= args.records:
            break
        time.sleep(0.5)
    finished_at = time.monotonic()
    consumer.join(600)
    exported = exported_records(s3)
    export_seconds = finished_at - (first_object_at or finished_at)
    print()
    print(f"records: {args.records} x {args.size} B, {PARTITIONS} partitions")
    print(
        f"plain consumer: {consumer_result.get('records', 0):.0f} records in "
        f"{consumer_result.get('seconds', 0):.2f} s = "
        f"{consumer_result.get('records', 0) / consumer_result.get('seconds', 1):,.0f} records/s"
    )
    print(
        f"connector ({args.workers} workers, {args.tasks} tasks, flush.size "
        f"{args.flush_size}): {exported} records to S3 in {export_seconds:.2f} s after its "
        f"first object = {exported / max(export_seconds, 1e-9):,.0f} records/s"
    )
    if running_at is not None:
        print(f"connector RUNNING {running_at - started:.1f} s after CreateConnector")
    print(f"connector end to end (from CreateConnector): {finished_at - started:.1f} s")


if __name__ == "__main__":
    main()

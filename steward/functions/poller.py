"""One event-source mapping's poller: a process of its own (`python -m
steward.functions.poller <config.json>`), started and kept alive by `Pollers` in the control
plane.

It reads the mapping's topic as its consumer group, a batch at a time (up to BatchSize records,
or what MaximumBatchingWindowInSeconds gathered), and hands each batch to the function as
Lambda's MSK event. At least once: the group's offsets are committed only once the function
succeeded on the batch (or the batch went to the on-failure topic after the retries), so a
poller killed at any moment, mid-batch included, loses nothing; its successor, with the same
static group membership, takes over the partitions at once and reads again from the last
commit. One batch is in flight per mapping, hence per partition, and records of a partition go
to the function in order.

A failing batch is retried with exponential backoff (MaximumRetryAttempts; -1 is until it
succeeds or the records expire, as Lambda's default). Every Kafka call has a timeout. Progress
(last processing result, errors, lag) goes to a status file the supervisor reads. The poller
ends when its parent (the control plane) does.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import (
    OFFSET_INVALID,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
)
from confluent_kafka import TopicPartition as KafkaPartition

from steward.files import replace_file
from steward.functions.event import KafkaRecord, msk_event, record_json
from steward.functions.filters import matches_any, record_fields
from steward.functions.iam_token import oauth_callback
from steward.functions.runtime import FunctionSpec, Invoker, Outcome, invoker_for

log = logging.getLogger("steward.functions.poller")

KAFKA_TIMEOUT = 30.0
BACKOFF_START = 0.5
BACKOFF_CAP = 30.0
DEFAULT_WINDOW = 0.5
"""Lambda's batching window for Kafka sources when none is given."""
LAG_EVERY = 5.0
OK = "OK"
CLUSTER_REFUSED = "PROBLEM: Cluster failed to authorize Lambda."
SIGN_IN_REFUSED = "PROBLEM: SASL authentication failed."
AUTHORIZATION_ERRORS = frozenset(
    {
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.GROUP_AUTHORIZATION_FAILED,
        KafkaError.CLUSTER_AUTHORIZATION_FAILED,
    }
)
AUTHENTICATION_ERRORS = frozenset(
    {KafkaError._AUTHENTICATION, KafkaError.SASL_AUTHENTICATION_FAILED}
)


@dataclass(frozen=True)
class PollerConfig:
    uuid: str
    function_arn: str
    cluster_arn: str
    servers: str
    kafka_settings: dict[str, str]
    shown_servers: str
    topics: list[str]
    group_id: str
    starting_position: str
    starting_timestamp_ms: int | None
    batch_size: int
    window: float | None
    patterns: list[dict[str, Any]]
    failure_topic: str | None
    max_retries: int
    function: dict[str, Any]
    status_path: str
    region: str | None = None
    credentials_path: str | None = None
    """Set when the poller signs in with IAM (OAUTHBEARER): its role credentials' file."""

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def load(cls, path: Path) -> PollerConfig:
        return cls(**json.loads(path.read_text()))


def _offset_reset(position: str) -> str:
    return "latest" if position == "LATEST" else "earliest"


class Poller:
    def __init__(self, config: PollerConfig) -> None:
        self.config = config
        self.stopping = False
        self.parent = os.getppid()
        self.function = FunctionSpec.from_json(config.function)
        self.invoker: Invoker = invoker_for(self.function)
        self.status: dict[str, Any] = {
            "pid": os.getpid(),
            "last_processing_result": "No records processed",
            "errors": 0,
            "invocations": 0,
            "records": 0,
            "failed_batches": 0,
            "lag": None,
        }
        self._lag_at = 0.0
        self.consumer = Consumer(
            {
                "bootstrap.servers": config.servers,
                **self._client_settings(),
                "group.id": config.group_id,
                # static membership: a restarted poller takes over the dead one's partitions at
                # once, instead of after its session times out
                "group.instance.id": f"steward-poller-{config.uuid}",
                "enable.auto.commit": False,
                "auto.offset.reset": _offset_reset(config.starting_position),
                "session.timeout.ms": 30000,
                "max.poll.interval.ms": 86400000,  # a batch may retry long; its poller lives
                "socket.timeout.ms": int(KAFKA_TIMEOUT * 1000),
                "logger": log,
            }
        )
        self._producer: Producer | None = None

    def _client_settings(self) -> dict[str, Any]:
        """The connection's settings; with IAM, the token callback that signs as the role."""
        settings: dict[str, Any] = dict(self.config.kafka_settings)
        if self.config.credentials_path:
            settings["oauth_cb"] = oauth_callback(
                self.config.region or "us-east-1", Path(self.config.credentials_path)
            )
        return settings

    # --- the loop -------------------------------------------------------------------------------
    def run(self) -> None:
        self.consumer.subscribe(self.config.topics, on_assign=self._on_assign)
        self._write_status()
        try:
            while not self._should_stop():
                batch = self._gather()
                if batch:
                    self._process(batch)
                self._maybe_measure_lag()
        finally:
            self._write_status()
            self.consumer.close()
            self.invoker.close()

    def _should_stop(self) -> bool:
        return self.stopping or os.getppid() != self.parent

    def _on_assign(self, consumer: Consumer, partitions: list[KafkaPartition]) -> None:
        """Partitions the group has no offset for start where the mapping says: LATEST at the
        partition's end as it is now, AT_TIMESTAMP at the first record at or after the
        timestamp; the others where the group left off, as Lambda does. A LATEST start is
        committed at once, so that a poller that dies before its first batch does not skip,
        in its successor, what was written in between."""
        position = self.config.starting_position
        if position == "TRIM_HORIZON" or not partitions:
            return
        committed = consumer.committed(partitions, timeout=KAFKA_TIMEOUT)
        fresh = [p for p in committed if p.offset == OFFSET_INVALID]
        if not fresh:
            return
        if position == "AT_TIMESTAMP":
            stamped = [
                KafkaPartition(p.topic, p.partition, self.config.starting_timestamp_ms or 0)
                for p in fresh
            ]
            found = consumer.offsets_for_times(stamped, timeout=KAFKA_TIMEOUT)
            starts = {(p.topic, p.partition): p.offset for p in found}
        else:
            try:
                starts = {
                    (p.topic, p.partition): consumer.get_watermark_offsets(
                        KafkaPartition(p.topic, p.partition), timeout=KAFKA_TIMEOUT, cached=False
                    )[1]
                    for p in fresh
                }
            except KafkaException as error:
                log.warning("the partitions' ends are unknown (%s): they start at the reset", error)
                return
        for p in partitions:
            if (p.topic, p.partition) in starts:
                p.offset = starts[(p.topic, p.partition)]
        consumer.assign(partitions)
        if position == "LATEST":
            pinned = [KafkaPartition(t, n, offset) for (t, n), offset in starts.items()]
            try:
                consumer.commit(offsets=pinned, asynchronous=False)
            except KafkaException as error:
                log.warning("could not commit the LATEST start %s: %s", pinned, error)

    def _gather(self) -> list[Message]:
        window = DEFAULT_WINDOW if self.config.window is None else self.config.window
        deadline = time.monotonic() + window
        batch: list[Message] = []
        while len(batch) < self.config.batch_size and not self._should_stop():
            left = deadline - time.monotonic()
            if left <= 0 and batch:
                break
            messages = self.consumer.consume(
                num_messages=self.config.batch_size - len(batch),
                timeout=max(0.05, min(left, 1.0)) if left > 0 else 1.0,
            )
            for message in messages:
                error = message.error()
                if error is None:
                    batch.append(message)
                elif not error.retriable() and error.fatal():
                    raise KafkaException(error)
                else:
                    log.warning("consume: %s", error)
                    self._note_refusal(error)
            if left <= 0 and not batch:
                break
        return batch

    def _note_refusal(self, error: KafkaError) -> None:
        """A refused sign-in or a missing permission is the mapping's result, as Lambda reports
        them, so that GetEventSourceMapping says why no records come."""
        if error.code() in AUTHORIZATION_ERRORS:
            result = f"{CLUSTER_REFUSED} {error.str()}"
        elif error.code() in AUTHENTICATION_ERRORS:
            result = f"{SIGN_IN_REFUSED} {error.str()}"
        else:
            return
        if self.status["last_processing_result"] != result:
            self.status["last_processing_result"] = result
            self._write_status()

    def _process(self, batch: list[Message]) -> None:
        before = self.status["last_processing_result"]
        records = [_record(m) for m in batch]
        chosen = [
            r
            for r in records
            if matches_any(self.config.patterns, record_fields(record_json(r), r.value))
        ]
        if chosen:
            event = msk_event(self.config.cluster_arn, self.config.shown_servers, chosen)
            if not self._invoke_until_done(event, chosen):
                return  # stopping with the batch unfinished: the next poller does it again
        self._commit(records)
        self.status["records"] += len(chosen)
        if self.status["last_processing_result"] != before:
            self._write_status()

    def _invoke_until_done(self, event: dict[str, Any], records: list[KafkaRecord]) -> bool:
        attempt = 0
        backoff = BACKOFF_START
        while True:
            outcome = self.invoker.invoke(event)
            self.status["invocations"] += 1
            if not outcome.failed:
                self.status["last_processing_result"] = OK
                return True
            self.status["errors"] += 1
            self.status["last_processing_result"] = "PROBLEM: Function call failed"
            self._write_status()
            retries = self.config.max_retries
            if retries >= 0 and attempt >= retries:
                return self._give_up(event, records, outcome, attempt + 1)
            log.info(
                "batch of %d failed (attempt %d); again in %.1f s",
                len(records),
                attempt + 1,
                backoff,
            )
            if self._sleep(backoff):
                return False
            attempt += 1
            backoff = min(backoff * 2, BACKOFF_CAP)

    def _give_up(
        self, event: dict[str, Any], records: list[KafkaRecord], outcome: Outcome, invokes: int
    ) -> bool:
        """Retries exhausted: the batch goes to the on-failure topic (until Kafka takes it), and
        is then committed; with no destination, it is dropped as Lambda drops it."""
        self.status["failed_batches"] += 1
        if self.config.failure_topic is None:
            log.warning("dropped a batch of %d records after %d attempts", len(records), invokes)
            return True
        body = json.dumps(_invocation_record(self.config, event, records, outcome, invokes))
        backoff = BACKOFF_START
        while True:
            if self._send_failure(body.encode()):
                return True
            if self._sleep(backoff):
                return False
            backoff = min(backoff * 2, BACKOFF_CAP)

    def _send_failure(self, body: bytes) -> bool:
        if self._producer is None:
            self._producer = Producer(
                {
                    "bootstrap.servers": self.config.servers,
                    **self._client_settings(),
                    "enable.idempotence": True,
                    "acks": "all",
                    "message.timeout.ms": int(KAFKA_TIMEOUT * 1000),
                    "logger": log,
                }
            )
        errors: list[Any] = []
        self._producer.produce(
            self.config.failure_topic,
            body,
            on_delivery=lambda error, _message: errors.append(error),
        )
        self._producer.flush(KAFKA_TIMEOUT + 5)
        delivered = bool(errors) and errors[0] is None
        if not delivered:
            log.warning(
                "the failure topic %s did not take the batch: %s",
                self.config.failure_topic,
                errors[:1] or "no answer",
            )
        return delivered

    def _commit(self, records: list[KafkaRecord]) -> None:
        """Commit past the batch, until Kafka takes it. A synchronous commit has no timeout
        argument in confluent-kafka; its requests are bounded by `socket.timeout.ms`."""
        last: dict[tuple[str, int], int] = {}
        for r in records:
            last[(r.topic, r.partition)] = max(last.get((r.topic, r.partition), -1), r.offset)
        offsets = [KafkaPartition(t, p, o + 1) for (t, p), o in sorted(last.items())]
        backoff = BACKOFF_START
        while True:
            try:
                self.consumer.commit(offsets=offsets, asynchronous=False)
                return
            except KafkaException as error:
                log.warning("commit failed: %s; again in %.1f s", error, backoff)
                if self._sleep(backoff):
                    return
                backoff = min(backoff * 2, BACKOFF_CAP)

    def _sleep(self, seconds: float) -> bool:
        """Sleep, waking to see whether to stop; whether the poller is stopping."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self._should_stop():
                return True
            time.sleep(min(0.2, end - time.monotonic()))
        return self._should_stop()

    # --- status ---------------------------------------------------------------------------------
    def _maybe_measure_lag(self) -> None:
        if time.monotonic() - self._lag_at < LAG_EVERY:
            return
        self._lag_at = time.monotonic()
        try:
            assignment = self.consumer.assignment()
            positions = self.consumer.committed(assignment, timeout=KAFKA_TIMEOUT)
            lag = 0
            for p in positions:
                _low, high = self.consumer.get_watermark_offsets(
                    p, timeout=KAFKA_TIMEOUT, cached=False
                )
                lag += max(0, high - p.offset) if p.offset >= 0 else max(0, high - _low)
            self.status["lag"] = lag
        except KafkaException as error:
            log.warning("measuring the lag: %s", error)
        self._write_status()

    def _write_status(self) -> None:
        path = Path(self.config.status_path)
        replace_file(path, json.dumps({**self.status, "updated": time.time()}))


def _record(message: Message) -> KafkaRecord:
    kind, timestamp = message.timestamp()
    return KafkaRecord(
        topic=message.topic() or "",
        partition=message.partition() or 0,
        offset=message.offset() or 0,
        timestamp=timestamp,
        timestamp_type=kind,
        key=message.key(),
        value=message.value(),
        headers=tuple(message.headers() or ()),
    )


def _invocation_record(
    config: PollerConfig,
    event: dict[str, Any],
    records: list[KafkaRecord],
    outcome: Outcome,
    invokes: int,
) -> dict[str, Any]:
    """Lambda's invocation record for a stream batch that failed, with the batch itself
    (`payload`), as Lambda writes it to a Kafka or S3 destination."""
    first = {}
    for r in records:
        first.setdefault((r.topic, r.partition), []).append(r.offset)
    return {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": config.function_arn,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": invokes,
        },
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": outcome.function_error,
        },
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "KafkaBatchInfo": [
            {
                "batchSize": len(offsets),
                "eventSourceArn": config.cluster_arn,
                "bootstrapServers": config.shown_servers,
                "topic": topic,
                "partition": partition,
                "firstOffset": min(offsets),
                "lastOffset": max(offsets),
            }
            for (topic, partition), offsets in sorted(first.items())
        ],
        "payload": event,
    }


def main(argv: list[str]) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("steward.functions.poller").setLevel(logging.INFO)
    poller = Poller(PollerConfig.load(Path(argv[0])))

    def stop(*_: object) -> None:
        poller.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    poller.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

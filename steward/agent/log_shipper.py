"""Delivery of a broker's log lines to its destinations (`steward.agent.log_delivery`), on the
broker's host, by the agent.

A `LogShipper` per broker: a reader thread tails the broker's `server.log` (`LogTailer`) and puts
every line in one bounded queue per destination; a sender thread per destination delivers its
queue. A destination that is down only delays its own lines: its queue holds the newest
`QUEUE_LINES` and drops the oldest beyond that, counting them (`NodeStatus.log_delivery`). The
broker is never slowed: the reader only reads the file Kafka writes anyway.

Progress survives an agent restart: the reader keeps a checkpoint (`log-delivery.json` in the
node's directory) of the position before the oldest line some destination still has to deliver,
written every second and when delivery stops. A new agent reads on from there: nothing is lost,
and a destination that was ahead of the others gets at most the lines it had delivered since.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import os
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from steward.agent.log_delivery import (
    TOPIC_CONFIGS,
    TOPIC_PARTITIONS,
    LogDelivery,
    bucket_object_key,
    bucket_object_path,
    log_group_file,
)
from steward.agent.log_objects import S3ObjectDestination
from steward.agent.log_tail import LogTailer, Position
from steward.agent.tls import KEYSTORE_FILE
from steward.files import replace_file

log = logging.getLogger(__name__)

QUEUE_LINES = 10_000
"""Lines a destination may have waiting; beyond that its oldest are dropped."""
READ_LINES = 1000
"""Lines read from the log at once."""
BATCH_LINES = 500
"""Lines delivered at once to a log group or a topic."""
OBJECT_LINES = 5000
"""Lines after which a bucket object is written out before its time."""
LOG_GROUP_FILE_BYTES = 10 * 1024 * 1024
LOG_GROUP_BACKUPS = 5
OBJECT_SECONDS_ENV = "STEWARD_BROKER_LOG_OBJECT_SECONDS"
CHECKPOINT_FILE = "log-delivery.json"
_LOG_LINE = re.compile(
    r"^\[(?P<timestamp>[^\]]+)\] (?P<level>[A-Z]+) (?P<message>.*?)(?: \((?P<logger>[^()]*)\))?$"
)
"""A line of Kafka's log pattern (`steward.kafka.log4j`): `[time] LEVEL text (logger)`."""


def object_seconds() -> float:
    """How often a broker's lines are written out as a new bucket object (default 60 s)."""
    try:
        return max(0.5, float(os.environ.get(OBJECT_SECONDS_ENV, "60")))
    except ValueError:
        return 60.0


@dataclass(frozen=True)
class QueuedLine:
    seq: int
    text: str
    start: Position


class DeliveryError(Exception):
    """A destination did not take a batch; it is tried again later."""


class DeliveryQueue:
    """The lines one destination has yet to deliver, oldest first, at most `capacity` of them.
    A sender takes a batch (`take`), then reports it `done` or hands it back (`retry`)."""

    def __init__(self, capacity: int = QUEUE_LINES) -> None:
        self.capacity = capacity
        self._lines: deque[QueuedLine] = deque()
        self._taken: list[QueuedLine] = []
        self._ready = threading.Condition()
        self.delivered = 0
        self.dropped = 0

    def put(self, line: QueuedLine) -> None:
        with self._ready:
            self._lines.append(line)
            self._trim()
            self._ready.notify()

    def take(self, limit: int, timeout: float) -> list[QueuedLine]:
        """The lines taken and not yet done, with up to `limit` more added (waiting up to
        `timeout` seconds for one when there are none)."""
        with self._ready:
            if not self._lines and not self._taken:
                self._ready.wait(timeout)
            while self._lines and len(self._taken) < limit:
                self._taken.append(self._lines.popleft())
            return list(self._taken)

    def done(self) -> None:
        with self._ready:
            self.delivered += len(self._taken)
            self._taken = []

    def retry(self) -> None:
        with self._ready:
            self._lines.extendleft(reversed(self._taken))
            self._taken = []
            self._trim()

    def oldest(self) -> QueuedLine | None:
        with self._ready:
            if self._taken:
                return self._taken[0]
            return self._lines[0] if self._lines else None

    def waiting(self) -> int:
        with self._ready:
            return len(self._lines) + len(self._taken)

    def wake(self) -> None:
        with self._ready:
            self._ready.notify_all()

    def _trim(self) -> None:
        while len(self._lines) + len(self._taken) > self.capacity:
            if self._taken:
                self._taken.pop(0)
            else:
                self._lines.popleft()
            self.dropped += 1


class Destination(Protocol):
    name: str
    """MSK's name of the destination: cloudWatchLogs, s3 or firehose."""
    batch_seconds: float
    """How long lines are gathered before a delivery (0: deliver what is there)."""

    def deliver(self, lines: list[QueuedLine]) -> None: ...

    def close(self) -> None: ...


class LogGroupDestination:
    """A broker's stream in a log group: one file, rolled at `max_bytes` with `backups` kept."""

    name = "cloudWatchLogs"
    batch_seconds = 0.0

    def __init__(
        self, path: Path, max_bytes: int = LOG_GROUP_FILE_BYTES, backups: int = LOG_GROUP_BACKUPS
    ) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups

    def deliver(self, lines: list[QueuedLine]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = "".join(f"{line.text}\n" for line in lines).encode()
        with contextlib.suppress(FileNotFoundError):
            if self.path.stat().st_size + len(data) > self.max_bytes:
                self._roll()
        with open(self.path, "ab") as file:
            file.write(data)

    def _roll(self) -> None:
        for index in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{index}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{index + 1}"))
        self.path.replace(self.path.with_name(f"{self.path.name}.1"))

    def close(self) -> None:
        pass


class BucketDestination:
    """A bucket kept as a directory: every `batch_seconds` a new gzip object of the lines since."""

    name = "s3"

    def __init__(
        self,
        root: Path,
        delivery: LogDelivery,
        broker_id: int,
        batch_seconds: float | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.root = root
        self.delivery = delivery
        self.broker_id = broker_id
        self.batch_seconds = object_seconds() if batch_seconds is None else batch_seconds
        self._clock = clock

    def deliver(self, lines: list[QueuedLine]) -> None:
        key = bucket_object_key(self.delivery, self.broker_id, self._clock(), secrets.token_hex(4))
        path = bucket_object_path(self.root, self.delivery, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        with gzip.open(partial, "wb") as file:
            file.write("".join(f"{line.text}\n" for line in lines).encode())
        partial.replace(path)  # an object appears whole or not at all

    def close(self) -> None:
        pass


def log_record(broker_id: int | str, text: str, source: str = "broker") -> dict[str, Any]:
    """A log line as the JSON value of its topic record: `broker` (or a Connect worker's
    `worker`), `timestamp`, `level`, `logger` and `message` (a line that continues the one
    before, e.g. of a stack trace, has only `broker` and `message`)."""
    match = _LOG_LINE.match(text)
    if match is None:
        return {source: broker_id, "message": text}
    return {
        source: broker_id,
        "timestamp": match["timestamp"],
        "level": match["level"],
        "logger": match["logger"],
        "message": match["message"],
    }


class TopicDestination:
    """A Kafka topic of the same cluster, made when missing. Records are keyed by broker id."""

    name = "firehose"
    batch_seconds = 0.0

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        broker_id: int,
        security: dict[str, str] | None = None,
        timeout: float = 15.0,
        worker_id: str | None = None,
    ) -> None:
        self.worker_id = worker_id
        """A Connect worker's id: its records carry `worker` (and are keyed by it)."""
        self.bootstrap = bootstrap
        self.security = dict(security or {})
        """librdkafka's settings of the connection: `security.protocol`, `ssl.ca.pem`."""
        self.topic = topic
        self.broker_id = broker_id
        self.timeout = timeout
        self._producer: Any = None
        self._topic_ready = False

    def deliver(self, lines: list[QueuedLine]) -> None:
        from confluent_kafka import KafkaException, Producer

        self._ensure_topic()
        if self._producer is None:
            self._producer = Producer(
                {
                    "bootstrap.servers": self.bootstrap,
                    "client.id": f"steward-log-delivery-{self.broker_id}",
                    "acks": "all",
                    "enable.idempotence": True,
                    "linger.ms": 50,
                    "message.timeout.ms": int(self.timeout * 1000),
                    "socket.connection.setup.timeout.ms": 3000,
                    "reconnect.backoff.max.ms": 1000,
                    **self.security,
                },
                logger=logging.getLogger("steward.agent.log_shipper.librdkafka"),
            )
        failures: list[str] = []

        def on_delivery(error: Any, _message: Any) -> None:
            if error is not None:
                failures.append(str(error))

        who: int | str = self.broker_id if self.worker_id is None else self.worker_id
        source = "broker" if self.worker_id is None else "worker"
        key = str(who).encode()
        try:
            for line in lines:
                value = json.dumps(log_record(who, line.text, source)).encode()
                self._producer.produce(self.topic, value, key, on_delivery=on_delivery)
            left = self._producer.flush(self.timeout + 5)
        except (BufferError, KafkaException) as error:
            self._discard()
            raise DeliveryError(str(error)) from error
        if left or failures:
            self._discard()
            reason = failures[0] if failures else f"{left} records not acknowledged"
            raise DeliveryError(reason)

    def _ensure_topic(self) -> None:
        if self._topic_ready:
            return
        from confluent_kafka import KafkaError, KafkaException
        from confluent_kafka.admin import NewTopic

        from steward.kafka.admin import admin_client

        topic = NewTopic(self.topic, TOPIC_PARTITIONS, -1, config=dict(TOPIC_CONFIGS))
        client = admin_client(self.bootstrap, **self.security)
        future = client.create_topics([topic], request_timeout=10.0)[self.topic]
        try:
            future.result(timeout=15.0)
        except KafkaException as error:
            if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise DeliveryError(f"cannot create topic {self.topic}: {error}") from error
        except Exception as error:  # no answer in time
            raise DeliveryError(f"cannot create topic {self.topic}: {error}") from error
        self._topic_ready = True

    def _discard(self) -> None:
        """Drop the producer and what it still holds: the batch is sent again, by a new one."""
        if self._producer is not None:
            with contextlib.suppress(Exception):
                self._producer.purge()
                self._producer.flush(0)
            self._producer = None

    def close(self) -> None:
        self._discard()


@dataclass
class _Sender:
    destination: Destination
    queue: DeliveryQueue
    error: str | None = None
    thread: threading.Thread | None = None
    gathering_since: float | None = None
    backoff: float = 0.0


class LogShipper:
    """Delivers one broker's log lines to its destinations until `stop`."""

    def __init__(
        self,
        delivery: LogDelivery,
        broker_id: int,
        log_file: Path,
        checkpoint_file: Path,
        destinations: list[Destination],
        queue_lines: int = QUEUE_LINES,
        interval: float = 0.2,
    ) -> None:
        self.delivery = delivery
        self.broker_id = broker_id
        self._prefix = delivery.line_prefix
        self.checkpoint_file = checkpoint_file
        self.interval = interval
        self._senders = [_Sender(d, DeliveryQueue(queue_lines)) for d in destinations]
        self._tailer = LogTailer(log_file, self._read_checkpoint())
        self._seq = 0
        self._saved: Position | None = None
        self._stopping = threading.Event()
        self._reader: threading.Thread | None = None

    @classmethod
    def for_broker(
        cls, delivery: LogDelivery, broker_id: int, logs_dir: Path, node_dir: Path, root: Path
    ) -> LogShipper:
        """The shipper of a broker whose logs are in `logs_dir`, with its destinations below the
        Steward home `root`."""
        destinations: list[Destination] = []
        if delivery.log_group is not None:
            destinations.append(LogGroupDestination(log_group_file(root, delivery, broker_id)))
        if delivery.bucket is not None and delivery.s3_api:
            destinations.append(S3ObjectDestination(delivery, broker_id, object_seconds()))
        elif delivery.bucket is not None:
            destinations.append(BucketDestination(root, delivery, broker_id))
        if delivery.topic is not None and delivery.bootstrap is not None:
            security = {"security.protocol": delivery.security_protocol}
            if delivery.ca_certificates:
                security["ssl.ca.pem"] = delivery.ca_certificates
            keystore = node_dir / "tls" / KEYSTORE_FILE
            if delivery.node_identity:  # its key and certificate chain, in one PEM file
                security["ssl.key.location"] = security["ssl.certificate.location"] = str(keystore)
            destinations.append(
                TopicDestination(
                    delivery.bootstrap,
                    delivery.topic,
                    broker_id,
                    security,
                    worker_id=delivery.worker_id,
                )
            )
        return cls(
            delivery, broker_id, logs_dir / "server.log", node_dir / CHECKPOINT_FILE, destinations
        )

    def start(self) -> LogShipper:
        name = f"log-delivery-{self.broker_id}"
        self._reader = threading.Thread(target=self._read_loop, name=name, daemon=True)
        self._reader.start()
        for sender in self._senders:
            sender.thread = threading.Thread(
                target=self._send_loop,
                args=(sender,),
                name=f"{name}-{sender.destination.name}",
                daemon=True,
            )
            sender.thread.start()
        return self

    def begin_stop(self) -> None:
        """Ask the threads to stop (`stop` waits for them): to stop many shippers at once."""
        self._stopping.set()
        for sender in self._senders:
            sender.queue.wake()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop reading, deliver what can be delivered within `timeout` seconds, save the
        checkpoint. What is left is read again by the next shipper."""
        deadline = time.monotonic() + timeout
        self.begin_stop()
        if self._reader is not None:
            self._reader.join(timeout)
        for sender in self._senders:
            if sender.thread is not None:
                sender.thread.join(max(0.1, deadline - time.monotonic()))
        self._save_checkpoint()
        self._tailer.close()

    def report(self) -> dict[str, Any]:
        """Per destination: lines delivered, dropped (the queue overflowed) and waiting, and the
        last error while it is failing."""
        return {
            sender.destination.name: {
                "delivered": sender.queue.delivered,
                "dropped": sender.queue.dropped,
                "waiting": sender.queue.waiting(),
                "error": sender.error,
            }
            for sender in self._senders
        }

    # --- reading --------------------------------------------------------------------------------
    def _read_loop(self) -> None:
        last_save = 0.0
        while not self._stopping.is_set():
            read = 0
            try:
                read = self.poll()
            except Exception:
                log.exception("reading the log of broker %d failed", self.broker_id)
            if time.monotonic() - last_save >= 1.0:
                self._save_checkpoint()
                last_save = time.monotonic()
            if read < READ_LINES:  # else more is waiting: read on at once
                self._stopping.wait(self.interval)

    def poll(self) -> int:
        """Read the new lines into every destination's queue; how many there were."""
        lines = self._tailer.read(READ_LINES)
        for line in lines:
            self._seq += 1
            queued = QueuedLine(self._seq, self._prefix + line.text, line.start)
            for sender in self._senders:
                sender.queue.put(queued)
        return len(lines)

    def checkpoint(self) -> Position | None:
        """Where to read from so that no destination misses a line: the start of the oldest line
        still waiting somewhere, else where the reader is."""
        waiting = [line for s in self._senders if (line := s.queue.oldest()) is not None]
        if waiting:
            return min(waiting, key=lambda line: line.seq).start
        return self._tailer.position

    def _save_checkpoint(self) -> None:
        position = self.checkpoint()
        if position is None or position == self._saved:
            return
        try:
            replace_file(self.checkpoint_file, json.dumps(position.to_dict()) + "\n")
            self._saved = position
        except OSError as error:
            log.warning("cannot save the log checkpoint of broker %d: %s", self.broker_id, error)

    def _read_checkpoint(self) -> Position | None:
        try:
            return Position.from_dict(json.loads(self.checkpoint_file.read_text()))
        except (OSError, ValueError):
            return None

    # --- sending --------------------------------------------------------------------------------
    def _send_loop(self, sender: _Sender) -> None:
        gathering = sender.destination.batch_seconds
        limit = OBJECT_LINES if gathering else BATCH_LINES
        while True:
            if sender.backoff and not self._stopping.is_set():
                self._stopping.wait(sender.backoff)  # after a failure; stopping cuts it short
            stopping = self._stopping.is_set()
            lines = sender.queue.take(limit, 0 if stopping else 0.5)
            if not lines:
                if stopping:
                    return
                continue
            if gathering and not stopping and len(lines) < limit:
                now = time.monotonic()
                if sender.gathering_since is None:
                    sender.gathering_since = now
                if now - sender.gathering_since < gathering:
                    self._stopping.wait(min(0.5, gathering))
                    continue
            delivered = self._deliver(sender, lines)
            if stopping and (not delivered or sender.queue.waiting() == 0):
                return  # one last try when stopping: the checkpoint keeps the rest

    def _deliver(self, sender: _Sender, lines: list[QueuedLine]) -> bool:
        try:
            sender.destination.deliver(lines)
        except Exception as error:  # a destination's trouble never ends its sender
            sender.queue.retry()
            if sender.error is None:
                log.warning(
                    "broker %d: %s delivery failed (will retry): %s",
                    self.broker_id,
                    sender.destination.name,
                    error,
                )
            sender.error = str(error)
            sender.backoff = min(10.0, max(0.5, sender.backoff * 2))
            return False
        sender.queue.done()
        sender.error = None
        sender.gathering_since = None
        sender.backoff = 0.0
        return True


def ship_logs(
    current: LogShipper | None,
    delivery: LogDelivery | None,
    broker_id: int,
    logs_dir: Path,
    node_dir: Path,
    root: Path,
) -> LogShipper | None:
    """The shipper a broker should have now: `current` when its delivery is unchanged, else a new
    one (reading on from the checkpoint), or none. Turning delivery off forgets the checkpoint, so
    that turning it on again delivers from then on."""
    if current is not None and current.delivery == delivery:
        return current
    if current is not None:
        current.stop()
    if delivery is None:
        (node_dir / CHECKPOINT_FILE).unlink(missing_ok=True)
        return None
    return LogShipper.for_broker(delivery, broker_id, logs_dir, node_dir, root).start()

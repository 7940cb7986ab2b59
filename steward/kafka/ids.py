"""Kafka's random ids (cluster ids, directory ids): a random uuid in base64url without padding.

As Kafka's own `Uuid.randomUuid()` does, an id whose text starts with "-" is drawn again: Kafka's
command-line tools (the storage tool's `--cluster-id`) would read it as an option. One id in 64
starts with "-", so without this one cluster create in 64 failed in formatting.
"""

from __future__ import annotations

import base64
import uuid


def random_kafka_uuid() -> str:
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        if not text.startswith("-"):
            return text

"""Log objects PUT to an S3 API: the `s3` destination of a Connect worker's log delivery
(`LogDelivery.s3_api`), in MSK's S3 key layout (`bucket_object_key`).

Every `batch_seconds` the lines gathered since are one gzip object, written by one PUT, so an
object appears whole or not at all; a PUT that fails (the endpoint down, a refused key) is a
`DeliveryError` and the same lines go again later, in a new object. Each call has a timeout.
"""

from __future__ import annotations

import gzip
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from steward.agent.log_delivery import LogDelivery, bucket_object_key

if TYPE_CHECKING:
    from steward.agent.log_shipper import QueuedLine

S3_TIMEOUT = 15.0


def s3_client(delivery: LogDelivery) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=delivery.s3_endpoint,
        region_name=delivery.region,
        aws_access_key_id=delivery.s3_access_key_id,
        aws_secret_access_key=delivery.s3_secret_access_key,
        config=Config(
            connect_timeout=S3_TIMEOUT,
            read_timeout=S3_TIMEOUT,
            retries={"max_attempts": 1},
            s3={"addressing_style": "path"},
        ),
    )


class S3ObjectDestination:
    """A bucket of an S3 API: every `batch_seconds` one new gzip object of the lines since."""

    name = "s3"

    def __init__(
        self,
        delivery: LogDelivery,
        node_id: int,
        batch_seconds: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.delivery = delivery
        self.node_id = node_id
        self.batch_seconds = batch_seconds
        self._clock = clock
        self._client: Any = None

    def deliver(self, lines: list[QueuedLine]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        from steward.agent.log_shipper import DeliveryError

        key = bucket_object_key(self.delivery, self.node_id, self._clock(), secrets.token_hex(4))
        body = gzip.compress("".join(f"{line.text}\n" for line in lines).encode())
        try:
            if self._client is None:
                self._client = s3_client(self.delivery)
            self._client.put_object(
                Bucket=self.delivery.bucket,
                Key=key,
                Body=body,
                ContentType="text/plain",
                ContentEncoding="gzip",
            )
        except (BotoCoreError, ClientError) as error:
            raise DeliveryError(f"s3://{self.delivery.bucket}/{key}: {error}") from error

    def close(self) -> None:
        self._client = None

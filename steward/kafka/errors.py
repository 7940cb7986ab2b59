"""The one exception family of Steward's Kafka admin modules, and how client errors become it.

Each module raises its own subclass of `KafkaAdminError` (`HealthError`, `ReassignmentError`, ...)
with a message that says what was being done and what Kafka answered, so a caller can catch one
type and show the message as it is. Errors of confluent-kafka, kafka-python and timeouts are
translated at the module boundary; programming errors (TypeError, ...) are not.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import kafka.errors
from confluent_kafka import KafkaError, KafkaException


class KafkaAdminError(Exception):
    """A question to, or a change of, a Kafka cluster failed."""


def describe_client_error(error: BaseException) -> str:
    """A short, readable reason for an error raised by either Python client."""
    if isinstance(error, KafkaException) and error.args and isinstance(error.args[0], KafkaError):
        detail: KafkaError = error.args[0]
        return f"{detail.name()}: {detail.str()}"
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, kafka.errors.KafkaError):
        return str(error)  # kafka-python's own text names the error: "[Error 39] Invalid...: ..."
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


@contextmanager
def client_errors(error_type: type[KafkaAdminError], doing: str) -> Iterator[None]:
    """Re-raise client and timeout errors inside the block as `error_type("<doing>: <reason>")`."""
    try:
        yield
    except KafkaAdminError:
        raise
    except (KafkaException, kafka.errors.KafkaError, TimeoutError) as error:
        raise error_type(f"{doing}: {describe_client_error(error)}") from error

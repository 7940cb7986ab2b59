"""Errors a user can be told about. Each maps to one MSK error type on the wire."""

from __future__ import annotations


class StewardError(Exception):
    """Base of every error that reaches a user. `status` is the HTTP status MSK uses."""

    status = 500

    def __init__(self, message: str, invalid_parameter: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.invalid_parameter = invalid_parameter

    @property
    def error_type(self) -> str:
        return type(self).__name__


class BadRequestException(StewardError):
    status = 400


class UnauthorizedException(StewardError):
    status = 401


class ForbiddenException(StewardError):
    status = 403


class NotFoundException(StewardError):
    status = 404


class ConflictException(StewardError):
    status = 409


class TooManyRequestsException(StewardError):
    status = 429


class InternalServerErrorException(StewardError):
    status = 500


class ServiceUnavailableException(StewardError):
    status = 503


# --- what MSK's topic operations answer when Kafka refuses ---------------------------------------
class KafkaRequestException(BadRequestException):
    """Kafka refused a request for a reason no other error names."""


class UnknownTopicOrPartitionException(NotFoundException):
    """Kafka does not know the topic a change names."""


class TopicExistsException(ConflictException):
    pass


class ReassignmentInProgressException(ConflictException):
    """Kafka is moving the topic's replicas; partitions cannot be added meanwhile."""


class ClusterConnectivityException(StewardError):
    """Kafka did not answer: no broker reachable, or a request timed out."""

    status = 409


class TemporaryError(Exception):
    """A reconcile step could not finish yet; the reconciler retries it after `delay` seconds."""

    def __init__(self, message: str, delay: float = 1.0) -> None:
        super().__init__(message)
        self.delay = delay


class PermanentError(Exception):
    """A reconcile step can never succeed; the operation fails with this message."""

    def __init__(self, message: str, code: str = "InternalFailure") -> None:
        super().__init__(message)
        self.code = code

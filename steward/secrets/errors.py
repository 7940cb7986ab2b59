"""Secrets Manager's errors, named as its model names them (all HTTP 400 but
InternalServiceError), and the messages several use cases share."""

from __future__ import annotations

from steward.domain.errors import StewardError


class SecretsManagerError(StewardError):
    status = 400


class ResourceNotFoundException(SecretsManagerError):
    pass


class ResourceExistsException(SecretsManagerError):
    pass


class InvalidParameterException(SecretsManagerError):
    pass


class InvalidRequestException(SecretsManagerError):
    pass


class InvalidNextTokenException(SecretsManagerError):
    pass


class LimitExceededException(SecretsManagerError):
    pass


class MalformedPolicyDocumentException(SecretsManagerError):
    pass


class PublicPolicyException(SecretsManagerError):
    pass


class DecryptionFailure(SecretsManagerError):
    pass


class InternalServiceError(SecretsManagerError):
    status = 500


NOT_FOUND = "Secrets Manager can't find the specified secret."
MARKED_FOR_DELETION = (
    "You can't perform this operation on the secret because it was marked for deletion."
)

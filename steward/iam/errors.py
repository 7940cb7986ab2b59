"""IAM's and STS's errors, with the codes their clients read (`NoSuchEntity`, `AccessDenied`...)
and the statuses AWS answers them with."""

from __future__ import annotations

from steward.domain.errors import StewardError


class IamError(StewardError):
    status = 400
    code = "InvalidInput"


class NoSuchEntity(IamError):
    status = 404
    code = "NoSuchEntity"


class EntityAlreadyExists(IamError):
    status = 409
    code = "EntityAlreadyExists"


class DeleteConflict(IamError):
    status = 409
    code = "DeleteConflict"


class LimitExceeded(IamError):
    status = 409
    code = "LimitExceeded"


class MalformedPolicyDocument(IamError):
    status = 400
    code = "MalformedPolicyDocument"


class InvalidInput(IamError):
    status = 400
    code = "InvalidInput"


class ValidationError(IamError):
    status = 400
    code = "ValidationError"


class AccessDenied(IamError):
    status = 403
    code = "AccessDenied"


class InvalidAction(IamError):
    status = 400
    code = "InvalidAction"


class ServiceFailure(IamError):
    status = 500
    code = "ServiceFailure"


class InvalidClientTokenId(IamError):
    status = 403
    code = "InvalidClientTokenId"


class SignatureDoesNotMatch(IamError):
    status = 403
    code = "SignatureDoesNotMatch"


_AS_QUERY_ERROR: dict[str, type[IamError]] = {
    "UnauthorizedException": InvalidClientTokenId,
    "ForbiddenException": SignatureDoesNotMatch,
    "BadRequestException": InvalidInput,
    "InternalServerErrorException": ServiceFailure,
}


def as_query_error(error: StewardError) -> StewardError:
    """How an error of the authentication gate reads to an IAM or STS client: AWS's codes for an
    unknown key (`InvalidClientTokenId`) and a bad signature (`SignatureDoesNotMatch`); an
    error that has a Query code already (`AccessDenied`, `ExpiredToken`) stays as it is."""
    if getattr(error, "code", None):
        return error
    kind = _AS_QUERY_ERROR.get(error.error_type, ServiceFailure)
    return kind(error.message)

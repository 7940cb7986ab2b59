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

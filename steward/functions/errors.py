"""Lambda's own errors, as boto3's `lambda` client reads them: an `X-Amzn-ErrorType` header
naming the error, a JSON body with `Type` (User or Service) and `message`, and the HTTP status
botocore's model gives each."""

from __future__ import annotations

from steward.domain.errors import StewardError


class LambdaError(StewardError):
    status = 400
    fault = "User"


class InvalidParameterValueException(LambdaError):
    status = 400


class ResourceNotFoundException(LambdaError):
    status = 404


class ResourceConflictException(LambdaError):
    status = 409


class ResourceInUseException(LambdaError):
    status = 400


class TooManyRequestsException(LambdaError):
    status = 429


class RequestTooLargeException(LambdaError):
    status = 413


class InvalidRequestContentException(LambdaError):
    status = 400


class UnrecognizedClientException(LambdaError):
    """What Lambda answers a request signed with a key it does not know."""

    status = 403


class InvalidSignatureException(LambdaError):
    status = 403


class AccessDeniedException(LambdaError):
    """The caller's policies do not allow the operation on the function."""

    status = 403


class ServiceException(LambdaError):
    status = 500
    fault = "Service"


AS_LAMBDA: dict[str, type[LambdaError]] = {
    "UnauthorizedException": UnrecognizedClientException,
    "ForbiddenException": InvalidSignatureException,
    "AccessDeniedException": AccessDeniedException,
    "BadRequestException": InvalidRequestContentException,
    "InternalServerErrorException": ServiceException,
}
"""How errors raised outside this service (the authentication gate) read to a `lambda` client."""


def as_lambda_error(error: StewardError) -> LambdaError:
    if isinstance(error, LambdaError):
        return error
    return AS_LAMBDA.get(error.error_type, ServiceException)(error.message)

"""CloudWatch's errors. Each class is named as the shape in CloudWatch's model, which is the
`__type` the JSON and CBOR protocols answer, and has the `code` of AWS Query that CloudWatch
answered before (`ResourceNotFound`, `InvalidParameterValue`...): the Query protocol answers it as
the error's `Code`, the others in the `x-amzn-query-error` header, so clients see the same code
whichever protocol they speak."""

from __future__ import annotations

from steward.domain.errors import StewardError


class CloudWatchError(StewardError):
    status = 400
    code = "InvalidParameterValue"


class ResourceNotFound(CloudWatchError):
    status = 404
    code = "ResourceNotFound"


class ResourceNotFoundException(CloudWatchError):
    """What the tag operations answer for an ARN that names no alarm."""

    status = 404
    code = "ResourceNotFoundException"


class InvalidParameterValueException(CloudWatchError):
    code = "InvalidParameterValue"


class InvalidParameterCombinationException(CloudWatchError):
    code = "InvalidParameterCombination"


class MissingRequiredParameterException(CloudWatchError):
    code = "MissingParameter"


class InvalidNextToken(CloudWatchError):
    code = "InvalidNextToken"


class InvalidFormatFault(CloudWatchError):
    code = "InvalidFormat"


class LimitExceededFault(CloudWatchError):
    code = "LimitExceeded"


class InternalServiceFault(CloudWatchError):
    status = 500
    code = "InternalServiceError"


class UnknownOperationException(CloudWatchError):
    status = 400
    code = "InvalidAction"


class SerializationException(CloudWatchError):
    code = "MalformedQueryString"

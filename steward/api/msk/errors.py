"""MSK's error responses: the status, `x-amzn-ErrorType: <Name>` (which boto3 reads the error code
from) and the body `{"message", "invalidParameter"}`."""

from __future__ import annotations

from starlette.responses import JSONResponse

from steward.domain.errors import StewardError


def error_response(error: StewardError, request_id: str) -> JSONResponse:
    body: dict[str, str] = {"message": error.message}
    if error.invalid_parameter:
        body["invalidParameter"] = error.invalid_parameter
    return JSONResponse(
        body,
        status_code=error.status,
        headers={"x-amzn-ErrorType": error.error_type, "x-amzn-RequestId": request_id},
    )

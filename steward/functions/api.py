"""The Lambda-compatible endpoint: rest-json under `/2015-03-31/...`, as boto3's `lambda` client
sends it (signed for the `lambda` service). MSK's routes live under `/v1/` and `/api/v2/`, and
the JSON 1.1 services under `POST /`, so a dated first path segment is what tells Lambda's
requests apart.

Errors are Lambda's: the `X-Amzn-ErrorType` header names the error, the body is `{"Type":
"User"|"Service", "message": ...}`, with the status botocore's model gives the error.

Operations: CreateFunction, GetFunction, GetFunctionConfiguration, ListFunctions,
UpdateFunctionCode, UpdateFunctionConfiguration, DeleteFunction, Invoke;
CreateEventSourceMapping, GetEventSourceMapping, ListEventSourceMappings,
UpdateEventSourceMapping, DeleteEventSourceMapping. Other Lambda paths answer
ResourceNotFoundException naming the operation as one Steward does not have."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from steward.domain.errors import StewardError
from steward.functions.errors import (
    InvalidParameterValueException,
    InvalidRequestContentException,
    ResourceNotFoundException,
    ServiceException,
    as_lambda_error,
)
from steward.functions.service import Functions, lambda_timestamp
from steward.functions.store import FunctionRecord, MappingRecord

log = logging.getLogger(__name__)

API_VERSION = "2015-03-31"
LAMBDA_PATH = re.compile(r"^/20\d\d-\d\d-\d\d/")
MAX_FUNCTIONS_PAGE = 50
MAX_MAPPINGS_PAGE = 100

Body = dict[str, Any]


def is_lambda_request(scope: Scope) -> bool:
    """Whether a request is one of Lambda's: its path starts with a dated API version."""
    return bool(LAMBDA_PATH.match(scope.get("path", "")))


def error_response(error: StewardError, request_id: str) -> Response:
    shown = as_lambda_error(error)
    return Response(
        json.dumps({"Type": shown.fault, "message": shown.message}),
        status_code=shown.status,
        media_type="application/json",
        headers={"x-amzn-RequestId": request_id, "X-Amzn-ErrorType": shown.error_type},
    )


def _json(body: Body, status: int, request_id: str) -> Response:
    return Response(
        json.dumps(body),
        status_code=status,
        media_type="application/json",
        headers={"x-amzn-RequestId": request_id},
    )


# --- shapes -------------------------------------------------------------------------------------
def function_configuration(functions: Functions, record: FunctionRecord) -> Body:
    config = record.config
    shown: Body = {
        "FunctionName": record.name,
        "FunctionArn": functions.function_arn(record.name),
        "Runtime": config["Runtime"],
        "Role": config.get("Role"),
        "Handler": config.get("Handler"),
        "CodeSize": config["CodeSize"],
        "Description": config.get("Description", ""),
        "Timeout": config["Timeout"],
        "MemorySize": config["MemorySize"],
        "LastModified": lambda_timestamp(record.last_modified),
        "CodeSha256": config["CodeSha256"],
        "Version": "$LATEST",
        "Environment": {"Variables": config["Environment"]["Variables"]},
        "TracingConfig": {"Mode": "PassThrough"},
        "RevisionId": config["RevisionId"],
        "State": record.state,
        "LastUpdateStatus": _update_status(record.state),
        "PackageType": "Zip",
        "Architectures": ["x86_64"],
        "EphemeralStorage": {"Size": 512},
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{record.name}"},
    }
    if record.state_reason:
        shown["StateReason"] = record.state_reason
        shown["StateReasonCode"] = "Creating" if record.state == "Pending" else "InternalError"
    return {k: v for k, v in shown.items() if v is not None}


def _update_status(state: str) -> str:
    return {"Pending": "InProgress", "Failed": "Failed"}.get(state, "Successful")


def mapping_configuration(functions: Functions, record: MappingRecord) -> Body:
    config = record.config
    shown: Body = {
        "UUID": record.uuid,
        "EventSourceMappingArn": functions.mapping_arn(record.uuid),
        "StartingPosition": config["StartingPosition"],
        "StartingPositionTimestamp": config.get("StartingPositionTimestamp"),
        "BatchSize": config["BatchSize"],
        "MaximumBatchingWindowInSeconds": config.get("MaximumBatchingWindowInSeconds"),
        "EventSourceArn": config["EventSourceArn"],
        "FilterCriteria": config.get("FilterCriteria"),
        "FunctionArn": functions.function_arn(record.function_name),
        "LastModified": record.last_modified.timestamp(),
        "LastProcessingResult": record.last_processing_result,
        "State": record.state,
        "StateTransitionReason": record.state_reason,
        "DestinationConfig": config.get("DestinationConfig"),
        "Topics": config["Topics"],
        "SourceAccessConfigurations": config.get("SourceAccessConfigurations") or None,
        "MaximumRetryAttempts": config.get("MaximumRetryAttempts"),
        "AmazonManagedKafkaEventSourceConfig": config["AmazonManagedKafkaEventSourceConfig"],
    }
    return {k: v for k, v in shown.items() if v is not None}


# --- reading requests ---------------------------------------------------------------------------
def _body(raw: bytes) -> Body:
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidRequestContentException("Could not parse request body into json") from None
    if not isinstance(body, dict):
        raise InvalidRequestContentException("The request body must be a JSON object.")
    return body


def _zip(value: Any) -> bytes | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidParameterValueException("ZipFile must be base64.")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise InvalidParameterValueException("ZipFile must be base64.") from None


def _page(items: list[Any], query: dict[str, str], largest: int) -> tuple[list[Any], str | None]:
    try:
        size = int(query.get("MaxItems", largest))
        start = int(query.get("Marker", "0") or 0)
    except ValueError:
        raise InvalidParameterValueException("MaxItems and Marker must be numbers.") from None
    if not 1 <= size <= 10000:
        raise InvalidParameterValueException("MaxItems must be from 1 to 10000.")
    size = min(size, largest)
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


# --- the app ------------------------------------------------------------------------------------
ROUTES: tuple[tuple[str, str, str], ...] = (
    ("POST", "functions", "CreateFunction"),
    ("GET", "functions", "ListFunctions"),
    ("GET", "functions/{}", "GetFunction"),
    ("DELETE", "functions/{}", "DeleteFunction"),
    ("GET", "functions/{}/configuration", "GetFunctionConfiguration"),
    ("PUT", "functions/{}/configuration", "UpdateFunctionConfiguration"),
    ("PUT", "functions/{}/code", "UpdateFunctionCode"),
    ("POST", "functions/{}/invocations", "Invoke"),
    ("POST", "event-source-mappings", "CreateEventSourceMapping"),
    ("GET", "event-source-mappings", "ListEventSourceMappings"),
    ("GET", "event-source-mappings/{}", "GetEventSourceMapping"),
    ("PUT", "event-source-mappings/{}", "UpdateEventSourceMapping"),
    ("DELETE", "event-source-mappings/{}", "DeleteEventSourceMapping"),
)
"""(method, path after the API version with `{}` for the function name or mapping UUID,
Lambda's operation: also its IAM action, `lambda:<Operation>`)."""


def resolve(method: str, segments: list[str]) -> tuple[str, str] | None:
    """The operation a request is, and the function name or mapping UUID its path names ("" for
    none); None for a path Lambda does not have."""
    if segments and segments[-1] == "":
        segments = segments[:-1]
    for route_method, template, operation in ROUTES:
        parts = template.split("/")
        if route_method != method or len(parts) != len(segments):
            continue
        named = [seg for part, seg in zip(parts, segments, strict=True) if part == "{}"]
        if all(part in ("{}", seg) for part, seg in zip(parts, segments, strict=True)):
            return operation, named[0] if named else ""
    return None


def path_segments(raw_path: str) -> list[str]:
    """The segments of a Lambda path after its dated API version."""
    return [unquote(s) for s in raw_path.split("?", 1)[0].strip("/").split("/")[1:]]


class Call:
    """One request, read: the path's segments after the version, the query, the headers, the
    raw body."""

    def __init__(self, request: Request, raw: bytes) -> None:
        raw_path = request.scope.get("raw_path") or request.scope["path"].encode()
        self.segments = path_segments(raw_path.decode("latin-1"))
        self.method = request.method
        self.query = {k: v[0] for k, v in parse_qs(request.url.query).items()}
        self.headers = request.headers
        self.raw = raw

    @property
    def body(self) -> Body:
        return _body(self.raw)


Handler = Callable[[Functions, Call], Response]


class LambdaApi:
    def __init__(self, functions: Functions) -> None:
        self.functions = functions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        request_id = str(uuid.uuid4())
        try:
            call = Call(request, await request.body())
            response = await run_in_threadpool(self._dispatch, call, request_id)
        except StewardError as error:
            log.info(
                "refused Lambda %s %s: %s: %s",
                request.method,
                scope["path"],
                error.error_type,
                error.message,
            )
            response = error_response(error, request_id)
        except Exception:
            log.exception("Lambda %s %s failed", request.method, scope["path"])
            response = error_response(
                ServiceException("Steward failed to process the request."), request_id
            )
        await response(scope, receive, send)

    def _dispatch(self, call: Call, request_id: str) -> Response:
        found = resolve(call.method, call.segments)
        if found is None:
            raise ResourceNotFoundException(
                f"Steward's Lambda has no operation {call.method} /{API_VERSION}/"
                f"{'/'.join(call.segments)}."
            )
        operation, name = found
        handler: Callable[[LambdaApi, Call, str, str], Response] = getattr(
            LambdaApi, f"_op_{operation}"
        )
        return handler(self, call, name, request_id)

    def _op_CreateFunction(self, call: Call, _: str, request_id: str) -> Response:
        return _json(self._create_function(call.body), 201, request_id)

    def _op_ListFunctions(self, call: Call, _: str, request_id: str) -> Response:
        return _json(self._list_functions(call.query), 200, request_id)

    def _op_GetFunction(self, call: Call, name: str, request_id: str) -> Response:
        return _json(self._get_function(self.functions.get_function(name)), 200, request_id)

    def _op_DeleteFunction(self, call: Call, name: str, request_id: str) -> Response:
        self.functions.delete_function(name)
        return Response(status_code=204, headers={"x-amzn-RequestId": request_id})

    def _op_GetFunctionConfiguration(self, call: Call, name: str, request_id: str) -> Response:
        shown = function_configuration(self.functions, self.functions.get_function(name))
        return _json(shown, 200, request_id)

    def _op_UpdateFunctionConfiguration(self, call: Call, name: str, request_id: str) -> Response:
        updated = self.functions.update_configuration(name, call.body)
        return _json(function_configuration(self.functions, updated), 200, request_id)

    def _op_UpdateFunctionCode(self, call: Call, name: str, request_id: str) -> Response:
        body = call.body
        if body.get("S3Bucket") or body.get("ImageUri"):
            raise InvalidParameterValueException("Steward takes a function's code as ZipFile only.")
        updated = self.functions.update_code(name, _zip(body.get("ZipFile")))
        return _json(function_configuration(self.functions, updated), 200, request_id)

    def _op_Invoke(self, call: Call, name: str, request_id: str) -> Response:
        return self._invoke(name, call, request_id)

    def _op_CreateEventSourceMapping(self, call: Call, _: str, request_id: str) -> Response:
        made = self.functions.create_mapping(call.body)
        return _json(mapping_configuration(self.functions, made), 202, request_id)

    def _op_ListEventSourceMappings(self, call: Call, _: str, request_id: str) -> Response:
        return _json(self._list_mappings(call.query), 200, request_id)

    def _op_GetEventSourceMapping(self, call: Call, uuid_: str, request_id: str) -> Response:
        got = self.functions.get_mapping(uuid_)
        return _json(mapping_configuration(self.functions, got), 200, request_id)

    def _op_UpdateEventSourceMapping(self, call: Call, uuid_: str, request_id: str) -> Response:
        updated = self.functions.update_mapping(uuid_, call.body)
        return _json(mapping_configuration(self.functions, updated), 202, request_id)

    def _op_DeleteEventSourceMapping(self, call: Call, uuid_: str, request_id: str) -> Response:
        gone = self.functions.delete_mapping(uuid_)
        return _json(mapping_configuration(self.functions, gone), 202, request_id)

    def _create_function(self, body: Body) -> Body:
        name = body.get("FunctionName")
        if not isinstance(name, str) or not name:
            raise InvalidParameterValueException("FunctionName is required.")
        code = body.get("Code") or {}
        if not isinstance(code, dict):
            raise InvalidParameterValueException("Code must be an object.")
        if code.get("S3Bucket") or code.get("ImageUri") or body.get("PackageType") == "Image":
            raise InvalidParameterValueException("Steward takes a function's code as ZipFile only.")
        record = self.functions.create_function(name, body, _zip(code.get("ZipFile")))
        return function_configuration(self.functions, record)

    def _get_function(self, record: FunctionRecord) -> Body:
        directory = self.functions.code_directory(record)
        return {
            "Configuration": function_configuration(self.functions, record),
            "Code": {"RepositoryType": "Steward", "Location": directory.code.as_uri()},
            "Tags": {},
        }

    def _list_functions(self, query: dict[str, str]) -> Body:
        everything = self.functions.list_functions()
        page, marker = _page(everything, query, MAX_FUNCTIONS_PAGE)
        shown: Body = {"Functions": [function_configuration(self.functions, r) for r in page]}
        if marker:
            shown["NextMarker"] = marker
        return shown

    def _list_mappings(self, query: dict[str, str]) -> Body:
        everything = self.functions.list_mappings(
            query.get("FunctionName"), query.get("EventSourceArn")
        )
        page, marker = _page(everything, query, MAX_MAPPINGS_PAGE)
        shown: Body = {
            "EventSourceMappings": [mapping_configuration(self.functions, r) for r in page]
        }
        if marker:
            shown["NextMarker"] = marker
        return shown

    def _invoke(self, reference: str, call: Call, request_id: str) -> Response:
        qualifier = call.query.get("Qualifier")
        if qualifier and qualifier != "$LATEST":
            raise ResourceNotFoundException(
                f"Function not found: {self.functions.function_arn(reference)}:{qualifier}"
            )
        invocation = self.functions.invoke(
            reference,
            call.raw,
            call.headers.get("x-amz-invocation-type", "RequestResponse"),
            call.headers.get("x-amz-client-context"),
        )
        headers = {"x-amzn-RequestId": request_id, "X-Amz-Executed-Version": "$LATEST"}
        outcome = invocation.outcome
        if outcome is None:
            return Response(status_code=invocation.status, headers=headers)
        if outcome.function_error:
            headers["X-Amz-Function-Error"] = outcome.function_error
        if call.headers.get("x-amz-log-type") == "Tail":
            headers["X-Amz-Log-Result"] = base64.b64encode(outcome.log_tail.encode()).decode()
        return Response(
            outcome.payload,
            status_code=invocation.status,
            media_type="application/json",
            headers=headers,
        )


def with_lambda(other: ASGIApp, functions: Functions | None) -> ASGIApp:
    """Requests on Lambda's paths go to the Lambda API (when this Steward has one), everything
    else to `other`."""
    if functions is None:
        return other
    api = LambdaApi(functions)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_lambda_request(scope):
            await api(scope, receive, send)
        else:
            await other(scope, receive, send)

    return app

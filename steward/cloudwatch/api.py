"""CloudWatch on Steward's shared endpoint, in the three protocols boto3's `cloudwatch` client
has spoken: Smithy RPC v2 CBOR (botocore's default now: `POST
/service/GraniteServiceVersion20100801/operation/<Op>`), AWS JSON 1.0 (`POST /` with
`X-Amz-Target: GraniteServiceVersion20100801.<Op>`) and AWS Query (a form `POST /` with
`Action=<Op>`, signed for `monitoring`). The one table `OPERATIONS` serves all three: each
protocol only reads the request into nested dicts and writes the answer back, by CloudWatch's
botocore model."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from botocore.model import ServiceModel
from starlette.responses import Response
from starlette.types import ASGIApp, Scope

from steward.cloudwatch.errors import (
    CloudWatchError,
    InternalServiceFault,
    InvalidParameterValueException,
    SerializationException,
    UnknownOperationException,
)
from steward.cloudwatch.service import CloudWatch
from steward.domain.errors import StewardError
from steward.wire.json_protocol import JsonEndpoint, json_response, with_json_endpoint
from steward.wire.query_protocol import (
    QueryEndpoint,
    error_code,
    is_form_post,
    service_model,
    signing_service,
)
from steward.wire.query_protocol import error_response as query_error_response
from steward.wire.rpcv2_cbor import CborEndpoint, operation_path, with_cbor_endpoint
from steward.wire.shaped_values import ShapeValueError, epoch_seconds, typed_input, wire_output

log = logging.getLogger(__name__)

MODEL_NAME = "cloudwatch"
TARGET_PREFIX = "GraniteServiceVersion20100801."
JSON_CONTENT_TYPE = "application/x-amz-json-1.0"
ERROR_NAMESPACE = "com.amazonaws.cloudwatch"

Body = dict[str, Any]
Operation = Callable[[CloudWatch, Body], Body]

OPERATIONS: dict[str, Operation] = {
    "ListMetrics": CloudWatch.list_metrics,
    "GetMetricData": CloudWatch.get_metric_data,
    "GetMetricStatistics": CloudWatch.get_metric_statistics,
    "PutMetricData": CloudWatch.put_metric_data,
    "PutMetricAlarm": CloudWatch.put_metric_alarm,
    "DescribeAlarms": CloudWatch.describe_alarms,
    "DescribeAlarmsForMetric": CloudWatch.describe_alarms_for_metric,
    "DeleteAlarms": CloudWatch.delete_alarms,
    "SetAlarmState": CloudWatch.set_alarm_state,
    "DescribeAlarmHistory": CloudWatch.describe_alarm_history,
    "EnableAlarmActions": CloudWatch.enable_alarm_actions,
    "DisableAlarmActions": CloudWatch.disable_alarm_actions,
    "TagResource": CloudWatch.tag_resource,
    "UntagResource": CloudWatch.untag_resource,
    "ListTagsForResource": CloudWatch.list_tags_for_resource,
}


class InvalidClientTokenId(CloudWatchError):
    status = 403
    code = "InvalidClientTokenId"


class SignatureDoesNotMatch(CloudWatchError):
    status = 403
    code = "SignatureDoesNotMatch"


class AccessDenied(CloudWatchError):
    """The caller's policies do not allow the operation."""

    status = 403
    code = "AccessDenied"


_AS_CLOUDWATCH: dict[str, type[CloudWatchError]] = {
    "UnauthorizedException": InvalidClientTokenId,
    "ForbiddenException": SignatureDoesNotMatch,
    "AccessDeniedException": AccessDenied,
    "BadRequestException": InvalidParameterValueException,
}
"""How errors raised outside this API (the authentication gate) read to a CloudWatch client."""


def as_cloudwatch_error(error: StewardError) -> CloudWatchError:
    if isinstance(error, CloudWatchError):
        return error
    return _AS_CLOUDWATCH.get(error.error_type, InternalServiceFault)(error.message)


def json_error_response(error: StewardError, request_id: str) -> Response:
    """AWS JSON 1.0's error: `__type` the shape, the Query code in `x-amzn-query-error`."""
    error = as_cloudwatch_error(error)
    response = json_response(
        {"__type": f"{ERROR_NAMESPACE}#{error.error_type}", "message": error.message},
        request_id,
        error.status,
        content_type=JSON_CONTENT_TYPE,
    )
    kind = "Receiver" if error.status >= 500 else "Sender"
    response.headers["x-amzn-query-error"] = f"{error_code(error)};{kind}"
    return response


def _json_operation(model: ServiceModel, name: str, operation: Operation) -> Operation:
    """The operation as JSON carries it: timestamps as epoch seconds both ways."""
    shapes = model.operation_model(name)

    def run(service: CloudWatch, body: Body) -> Body:
        try:
            members = typed_input(shapes.input_shape, body)
        except ShapeValueError as error:
            raise SerializationException(str(error)) from None
        return wire_output(shapes.output_shape, operation(service, members), epoch_seconds) or {}

    return run


def _unknown(name: str) -> UnknownOperationException:
    return UnknownOperationException(f"Steward's CloudWatch has no operation {name or '(none)'}.")


SIGNING_NAME = "monitoring"


def is_cloudwatch_request(scope: Scope) -> bool:
    """A request for CloudWatch: CBOR by its path, JSON by its target, Query by a form post
    signed for `monitoring`."""
    path = str(scope.get("path", ""))
    if path.startswith(operation_path(service_model(MODEL_NAME))):
        return True
    if is_form_post(scope):
        return signing_service(scope) == SIGNING_NAME
    target: bytes = dict(scope.get("headers") or []).get(b"x-amz-target", b"")
    return path == "/" and target.startswith(TARGET_PREFIX.encode())


def error_response(scope: Scope, error: StewardError, request_id: str) -> Response:
    """The gate's refusal of a CloudWatch request, in the protocol it came in."""
    if str(scope.get("path", "")).startswith("/service/"):
        return _cbor_endpoint_template.error_response(as_cloudwatch_error(error), request_id)
    if is_form_post(scope):
        namespace = service_model(MODEL_NAME).metadata.get("xmlNamespace", "")
        return query_error_response(as_cloudwatch_error(error), request_id, namespace)
    return json_error_response(error, request_id)


def query_endpoint(service: CloudWatch) -> QueryEndpoint[CloudWatch]:
    """CloudWatch's Query endpoint, for `steward.wire.query_protocol.with_query_endpoints`."""
    return QueryEndpoint(
        model_name=MODEL_NAME,
        operations=OPERATIONS,
        service=service,
        unknown_action=_unknown,
        internal=InternalServiceFault,
        log=log,
    )


def _cbor_endpoint(service: Any) -> CborEndpoint[Any]:
    return CborEndpoint(
        model_name=MODEL_NAME,
        operations=OPERATIONS,
        service=service,
        unknown_operation=_unknown,
        serialization=SerializationException,
        internal=InternalServiceFault,
        log=log,
    )


_cbor_endpoint_template = _cbor_endpoint(None)
"""Only its error shape is used, for refusals made before any operation runs."""


def with_cloudwatch(other: ASGIApp, service: CloudWatch) -> ASGIApp:
    """CloudWatch's CBOR and JSON requests go to it, everything else to `other`. Its Query
    requests are the Query endpoints' (`query_endpoint`), mounted with IAM's and STS's."""
    model = service_model(MODEL_NAME)
    json_endpoint = JsonEndpoint(
        target_prefix=TARGET_PREFIX,
        operations={
            name: _json_operation(model, name, operation) for name, operation in OPERATIONS.items()
        },
        service=service,
        error_response=json_error_response,
        unknown_operation=lambda target: _unknown(target.removeprefix(TARGET_PREFIX)),
        serialization=SerializationException,
        internal=InternalServiceFault,
        bare_operations=False,
        log=log,
        content_type=JSON_CONTENT_TYPE,
    )
    return with_cbor_endpoint(_cbor_endpoint(service), with_json_endpoint(json_endpoint, other))

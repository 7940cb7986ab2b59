"""Smithy's RPC v2 CBOR protocol, as botocore speaks it for services whose model lists
`smithy-rpc-v2-cbor` first (CloudWatch among them): `POST /service/<ServiceName>/operation/<Op>`
with the header `smithy-protocol: rpc-v2-cbor` and a CBOR map for a body; the answer is a CBOR map
with timestamps as tag 1 (epoch seconds), an error a map with `__type` (`namespace#Shape`) and
`message`.

A service that used to speak AWS Query (`awsQueryCompatible` in its model) also answers each
error's old Query code in the header `x-amzn-query-error: <Code>;Sender`, which botocore reads as
the error's code: so a client sees the same `Error.Code` on every protocol.

Operations take and return plain nested dicts (`steward.wire.shaped_values`), the same ones the
service's JSON and Query endpoints give them.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC
from typing import Any, Generic, TypeVar

import cbor2
from botocore.model import ServiceModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from steward.domain.errors import StewardError
from steward.wire.query_protocol import error_code, service_model
from steward.wire.shaped_values import ShapeValueError, typed_input, wire_output

CONTENT_TYPE = "application/cbor"
PROTOCOL_HEADER = "smithy-protocol"
PROTOCOL = "rpc-v2-cbor"

Body = dict[str, Any]
Service = TypeVar("Service")
Operation = Callable[[Any, Body], Body | None]


def encode(value: Any) -> bytes:
    """CBOR with datetimes as tag 1 (epoch seconds), as botocore reads them."""
    return bytes(cbor2.dumps(value, datetime_as_timestamp=True, timezone=UTC))


def decode(raw: bytes) -> Any:
    return cbor2.loads(raw) if raw else {}


def operation_path(model: ServiceModel) -> str:
    """The path every operation of the service is under: `/service/<Name>/operation/`."""
    return f"/service/{model.metadata['targetPrefix']}/operation/"


class CborEndpoint(Generic[Service]):
    """ASGI app for one service's RPC v2 CBOR requests; each operation in `operations` runs in a
    thread with `service`. `serialization` makes the service's error for a body it cannot read,
    `unknown_operation` for an operation it does not have, `internal` for Steward's failures."""

    def __init__(
        self,
        *,
        model_name: str,
        operations: Mapping[str, Operation],
        service: Service,
        unknown_operation: Callable[[str], StewardError],
        serialization: Callable[[str], StewardError],
        internal: Callable[[str], StewardError],
        log: logging.Logger,
    ) -> None:
        self.model = service_model(model_name)
        self.prefix = operation_path(self.model)
        self.query_compatible = "awsQueryCompatible" in self.model.metadata
        self.error_namespace = f"com.amazonaws.{model_name}"
        self.operations = operations
        self.service = service
        self.unknown_operation = unknown_operation
        self.serialization = serialization
        self.internal = internal
        self.log = log

    def claims(self, scope: Scope) -> bool:
        return (
            scope.get("type") == "http"
            and scope.get("method") == "POST"
            and str(scope.get("path", "")).startswith(self.prefix)
        )

    def error_response(self, error: StewardError, request_id: str) -> Response:
        headers = {"x-amzn-RequestId": request_id, PROTOCOL_HEADER: PROTOCOL}
        if self.query_compatible:
            kind = "Receiver" if error.status >= 500 else "Sender"
            headers["x-amzn-query-error"] = f"{error_code(error)};{kind}"
        body = {"__type": f"{self.error_namespace}#{error.error_type}", "message": error.message}
        return Response(
            encode(body), status_code=error.status, media_type=CONTENT_TYPE, headers=headers
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await self.handle(request)
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        name = request.url.path.removeprefix(self.prefix)
        try:
            handler = self.operations.get(name)
            if handler is None or name not in self.model.operation_names:
                raise self.unknown_operation(name)
            operation = self.model.operation_model(name)
            raw = await request.body()
            try:
                members = typed_input(operation.input_shape, decode(raw))
            except (cbor2.CBORDecodeError, ShapeValueError) as error:
                raise self.serialization(f"The request body cannot be read: {error}") from None
            result = await run_in_threadpool(handler, self.service, members or {})
            body = encode(wire_output(operation.output_shape, result or {}))
        except StewardError as error:
            self.log.info("refused %s: %s: %s", name, error_code(error), error.message)
            return self.error_response(error, request_id)
        except Exception:
            self.log.exception("%s failed", name)
            return self.error_response(
                self.internal("Steward failed to process the request."), request_id
            )
        return Response(
            body,
            media_type=CONTENT_TYPE,
            headers={"x-amzn-RequestId": request_id, PROTOCOL_HEADER: PROTOCOL},
        )


def with_cbor_endpoint(endpoint: CborEndpoint[Any], other: ASGIApp) -> ASGIApp:
    """Requests under the endpoint's `/service/<Name>/operation/` go to it, the rest to `other`."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if endpoint.claims(scope):
            await endpoint(scope, receive, send)
        else:
            await other(scope, receive, send)

    return app

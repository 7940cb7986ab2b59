"""What Steward's AWS JSON endpoints (1.1: Secrets Manager, AWS Private CA; 1.0: CloudWatch) have
in common: a
`POST /` whose `X-Amz-Target` names `<prefix><Operation>`, a JSON object for a body, an answer in
`application/x-amz-json-1.1` with an `x-amzn-RequestId`. Each service keeps its own operations,
error classes and error shape; this module only reads the request, runs the operation and
answers, so that both services behave the same way on the wire.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from steward.domain.errors import StewardError

CONTENT_TYPE = "application/x-amz-json-1.1"

Body = dict[str, Any]
Service = TypeVar("Service")
ErrorResponse = Callable[[StewardError, str], Response]
"""A service's own error shape: the error and the request id in, the HTTP answer out."""
ErrorFactory = Callable[[str], StewardError]


def json_response(
    body: Body, request_id: str, status_code: int = 200, content_type: str = CONTENT_TYPE
) -> Response:
    """An AWS JSON answer (1.1 unless `content_type` says 1.0); every answer, error or not,
    carries the request id, as AWS's do."""
    return Response(
        json.dumps(body),
        status_code=status_code,
        media_type=content_type,
        headers={"x-amzn-RequestId": request_id},
    )


def names_target(scope: Scope, target_prefix: str) -> bool:
    """Whether a request's `X-Amz-Target` starts with `target_prefix`: this, not the path, is
    what tells one service's requests from another's on the shared `POST /`."""
    target: bytes = dict(scope["headers"]).get(b"x-amz-target", b"")
    return target.startswith(target_prefix.encode())


class JsonEndpoint(Generic[Service]):
    """ASGI app for `POST /` with an `X-Amz-Target` of `target_prefix` + an operation in
    `operations`; each operation runs in a thread (they block on the store) with `service`.

    The error factories make the service's own error classes: `unknown_operation` is given the
    whole target (the message names the service), `serialization` and `internal` a message.
    `bare_operations` says whether a target without the prefix is taken as an operation name as
    it is (rather than as no operation at all)."""

    def __init__(
        self,
        *,
        target_prefix: str,
        operations: Mapping[str, Callable[[Service, Body], Body]],
        service: Service,
        error_response: ErrorResponse,
        unknown_operation: ErrorFactory,
        serialization: ErrorFactory,
        internal: ErrorFactory,
        bare_operations: bool,
        log: logging.Logger,
        content_type: str = CONTENT_TYPE,
    ) -> None:
        self.target_prefix = target_prefix
        self.operations = operations
        self.service = service
        self.error_response = error_response
        self.unknown_operation = unknown_operation
        self.serialization = serialization
        self.internal = internal
        self.bare_operations = bare_operations
        self.log = log
        self.content_type = content_type

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await self.handle(request)
        await response(scope, receive, send)

    def _operation(self, target: str) -> str:
        if self.bare_operations or target.startswith(self.target_prefix):
            return target.removeprefix(self.target_prefix)
        return ""

    async def handle(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        target = request.headers.get("x-amz-target", "")
        operation = self._operation(target)
        try:
            handler = self.operations.get(operation)
            if handler is None:
                raise self.unknown_operation(target)
            raw = await request.body()
            try:
                body = json.loads(raw) if raw.strip() else {}
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise self.serialization("The request body is not valid JSON.") from None
            if not isinstance(body, dict):
                raise self.serialization("The request body must be a JSON object.")
            result = await run_in_threadpool(handler, self.service, body)
        except StewardError as error:
            self.log.info(
                "refused %s%s: %s: %s",
                self.target_prefix,
                operation,
                error.error_type,
                error.message,
            )
            return self.error_response(error, request_id)
        except Exception:
            self.log.exception("%s%s failed", self.target_prefix, operation)
            return self.error_response(
                self.internal("Steward failed to process the request."), request_id
            )
        return json_response(result, request_id, content_type=self.content_type)


def with_json_endpoint(endpoint: JsonEndpoint[Any], other: ASGIApp) -> ASGIApp:
    """One endpoint for several protocols: a `POST /` whose `X-Amz-Target` starts with the
    endpoint's prefix goes to `endpoint`, everything else to `other`."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] == "/"
            and names_target(scope, endpoint.target_prefix)
        ):
            await endpoint(scope, receive, send)
        else:
            await other(scope, receive, send)

    return app

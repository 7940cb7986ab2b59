"""The gate in front of every API route: a request reaches the routes only once its
authenticator let it pass and, when there is an authorizer, the caller's IAM policies allow its
action; otherwise the answer is the service's error. Only the liveness route (`/healthz`) and
what Prometheus reads are open.

The signature covers the body, so the gate reads the whole body first and hands it on to the
routes unchanged."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection
from typing import Protocol

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from steward.api.auth.sigv4 import ReceivedRequest
from steward.api.msk.errors import error_response
from steward.cloudwatch import api as cloudwatch
from steward.connect import api as kafka_connect
from steward.domain.errors import BadRequestException, InternalServerErrorException, StewardError
from steward.functions import api as lambda_api
from steward.iam.api import CURRENT_CALLER
from steward.iam.errors import as_query_error
from steward.iam.service import Caller
from steward.pca import api as acm_pca
from steward.secrets import api as secrets_manager
from steward.wire import query_protocol

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 80 * 1024 * 1024
"""No MSK request comes near this; Lambda's largest, a 50 MB function ZIP in base64 (some 67 MB),
does; a larger body is refused before it is all held in memory."""


class Authenticator(Protocol):
    def authenticate(self, request: ReceivedRequest) -> str | None:
        """Who sent `request` (an access key id, or None when nobody is checked); raises a
        StewardError when the request may not pass."""
        ...


class Authorizer(Protocol):
    def authorize(
        self, request: ReceivedRequest, access_key_id: str, client_host: str, secure: bool
    ) -> Caller:
        """The caller, once its policies allow the request; raises the service's refusal."""
        ...


class AcceptAnyRequest:
    """STEWARD_AUTH=off: every request passes, signed or not (development only)."""

    def authenticate(self, request: ReceivedRequest) -> str | None:
        return None


class _BodyTooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the routes the body already read, then waits as the server's."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def received_request(scope: Scope, body: bytes) -> ReceivedRequest:
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
    headers: dict[str, list[str]] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    return ReceivedRequest(
        method=scope["method"],
        raw_path=raw_path.split(b"?", 1)[0],
        raw_query=scope.get("query_string", b""),
        headers=headers,
        body=body,
    )


class RequireAuthentication:
    """ASGI middleware: `authenticator` decides on every HTTP request but those to
    `open_paths`."""

    def __init__(
        self,
        app: ASGIApp,
        authenticator: Authenticator,
        open_paths: Collection[str] = (),
        authorizer: Authorizer | None = None,
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.authorizer = authorizer
        self.open_paths = frozenset(open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.open_paths:
            await self.app(scope, receive, send)
            return
        try:
            body = await _read_body(receive)
        except _Disconnected:
            return
        except _BodyTooLarge:
            await self._refuse(
                scope, receive, send, BadRequestException("The request body is too large.")
            )
            return
        request = received_request(scope, body)
        caller: Caller | None = None
        try:
            access_key_id = await run_in_threadpool(self.authenticator.authenticate, request)
            if access_key_id is not None and self.authorizer is not None:
                client = scope.get("client") or ("", 0)
                caller = await run_in_threadpool(
                    self.authorizer.authorize,
                    request,
                    access_key_id,
                    str(client[0]),
                    scope.get("scheme") == "https",
                )
        except StewardError as error:
            log.info(
                "refused %s %s: %s %s",
                request.method,
                scope["path"],
                error.error_type,
                error.message,
            )
            await self._refuse(scope, receive, send, error)
            return
        except Exception:
            log.exception("checking the signature of %s %s failed", request.method, scope["path"])
            await self._refuse(
                scope,
                receive,
                send,
                InternalServerErrorException("Steward failed to check the request's signature."),
            )
            return
        token = CURRENT_CALLER.set(caller)
        try:
            await self.app(scope, _replaying(body, receive), send)
        finally:
            CURRENT_CALLER.reset(token)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, error: StewardError) -> None:
        if lambda_api.is_lambda_request(scope):
            response = lambda_api.error_response(error, str(uuid.uuid4()))
        elif secrets_manager.is_secrets_manager_request(scope):
            response = secrets_manager.error_response(error, str(uuid.uuid4()))
        elif acm_pca.is_acm_pca_request(scope):
            response = acm_pca.error_response(error, str(uuid.uuid4()))
        elif kafka_connect.is_kafka_connect_request(scope):
            response = kafka_connect.error_response(error, str(uuid.uuid4()))
        elif cloudwatch.is_cloudwatch_request(scope):
            response = cloudwatch.error_response(scope, error, str(uuid.uuid4()))
        elif query_protocol.is_form_post(scope):
            response = query_protocol.error_response(as_query_error(error), str(uuid.uuid4()))
        else:
            response = error_response(error, str(uuid.uuid4()))
        await response(scope, receive, send)

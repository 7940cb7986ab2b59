"""AWS's Query protocol, as boto3's `iam`, `sts` (and older `cloudwatch`) clients speak it: a
`POST /` with a form body (`Action=...&Version=...&Name.member.1=...`), answered in XML
(`<ActionResponse><ActionResult>...</ActionResult><ResponseMetadata>`), errors as
`<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>`.

The body is read, and the answer written, by the service's own botocore model: the operation's
input shape says which flat `a.member.1.b` keys make which nested values and what type each is,
and its output shape which elements an answer has. So a service's operations take and return
plain nested dicts, the same as its JSON protocol would, and never see the wire.

Several Query services share the one endpoint. What tells them apart is the service named in the
request's SigV4 credential scope (`.../us-east-1/iam/aws4_request`); an unsigned request (with
authentication off) goes to the first service that has its `Action`.
"""

from __future__ import annotations

import base64
import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from steward.domain.errors import StewardError

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
XML_CONTENT_TYPE = "text/xml"

Body = dict[str, Any]
Service = TypeVar("Service")
Operation = Callable[[Any, Body], Body | None]
"""An operation: the service and the request's members in, the result's members out."""


class QueryRequestError(StewardError):
    """A request the protocol cannot read: a value of the wrong type for its member."""

    status = 400
    code = "InvalidParameterValue"


def service_model(name: str) -> ServiceModel:
    """The botocore model of service `name` (`iam`, `sts`, `cloudwatch`...)."""
    return botocore.session.get_session().get_service_model(name)


def signing_service(scope: Scope) -> str | None:
    """The service a request's SigV4 credential scope names, from its `Authorization` header or
    a presigned `X-Amz-Credential`; None for an unsigned request."""
    headers = dict(scope.get("headers") or [])
    authorization = headers.get(b"authorization", b"").decode("latin-1")
    credential = ""
    if "Credential=" in authorization:
        credential = authorization.split("Credential=", 1)[1].split(",", 1)[0].strip()
    else:
        for key, value in parse_qsl(scope.get("query_string", b"").decode("latin-1")):
            if key == "X-Amz-Credential":
                credential = value
    parts = credential.split("/")
    return parts[3] if len(parts) == 5 else None


def is_form_post(scope: Scope) -> bool:
    """A `POST /` with a form body: how every Query request arrives."""
    if scope.get("type") != "http" or scope.get("method") != "POST" or scope.get("path") != "/":
        return False
    content_type = dict(scope.get("headers") or []).get(b"content-type", b"").decode("latin-1")
    return content_type.split(";", 1)[0].strip().lower() == FORM_CONTENT_TYPE


# -- reading a request --------------------------------------------------------------------------


def read_form(raw: bytes) -> dict[str, str]:
    """The flat key/value pairs of a form body (a key given twice keeps its last value)."""
    return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))


def decode_input(operation: OperationModel, params: Mapping[str, str]) -> Body:
    """The nested, typed members of a request whose flat form parameters are `params`."""
    shape = operation.input_shape
    if shape is None:
        return {}
    decoded = _decode_structure(shape, params, "")
    return decoded if isinstance(decoded, dict) else {}


def _key(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _has_prefix(params: Mapping[str, str], prefix: str) -> bool:
    dotted = prefix + "."
    return prefix in params or any(key.startswith(dotted) for key in params)


def _decode(shape: Shape, params: Mapping[str, str], prefix: str) -> Any:
    if isinstance(shape, StructureShape):
        return _decode_structure(shape, params, prefix)
    if isinstance(shape, ListShape):
        return _decode_list(shape, params, prefix)
    if isinstance(shape, MapShape):
        return _decode_map(shape, params, prefix)
    return _decode_scalar(shape, params[prefix], prefix)


def _decode_structure(shape: StructureShape, params: Mapping[str, str], prefix: str) -> Body:
    members: Body = {}
    for name, member in shape.members.items():
        key = _key(prefix, member.serialization.get("name", name))
        if _has_prefix(params, key):
            members[name] = _decode(member, params, key)
    return members


def _decode_list(shape: ListShape, params: Mapping[str, str], prefix: str) -> list[Any]:
    if params.get(prefix) == "":
        return []
    if shape.serialization.get("flattened"):
        item_prefix = prefix
    else:
        item_prefix = f"{prefix}.{shape.member.serialization.get('name', 'member')}"
    items = []
    index = 1
    while _has_prefix(params, f"{item_prefix}.{index}"):
        items.append(_decode(shape.member, params, f"{item_prefix}.{index}"))
        index += 1
    return items


def _decode_map(shape: MapShape, params: Mapping[str, str], prefix: str) -> dict[str, Any]:
    entry = prefix if shape.serialization.get("flattened") else f"{prefix}.entry"
    key_name = shape.key.serialization.get("name", "key")
    value_name = shape.value.serialization.get("name", "value")
    decoded: dict[str, Any] = {}
    index = 1
    while f"{entry}.{index}.{key_name}" in params:
        key = params[f"{entry}.{index}.{key_name}"]
        value_key = f"{entry}.{index}.{value_name}"
        decoded[key] = (
            _decode(shape.value, params, value_key) if _has_prefix(params, value_key) else None
        )
        index += 1
    return decoded


def _decode_scalar(shape: Shape, value: str, key: str) -> Any:
    kind = shape.type_name
    try:
        if kind in ("integer", "long"):
            return int(value)
        if kind in ("float", "double"):
            return float(value)
        if kind == "boolean":
            if value.lower() not in ("true", "false"):
                raise ValueError(value)
            return value.lower() == "true"
        if kind == "timestamp":
            return _parse_timestamp(value)
        if kind == "blob":
            return base64.b64decode(value, validate=True)
    except ValueError:
        raise QueryRequestError(
            f"Value {value!r} for parameter {key} is not a valid {kind}."
        ) from None
    return value


def _parse_timestamp(value: str) -> datetime:
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except ValueError:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# -- writing an answer --------------------------------------------------------------------------


def encode_output(
    model: ServiceModel, operation: OperationModel, result: Body | None, request_id: str
) -> bytes:
    """The XML answer of `operation` whose result members are `result`."""
    namespace = model.metadata.get("xmlNamespace", "")
    name = operation.name
    parts = [f'<{name}Response xmlns="{escape(namespace)}">']
    shape = operation.output_shape
    if shape is not None:
        wrapper = shape.serialization.get("resultWrapper", f"{name}Result")
        parts.append(f"<{wrapper}>")
        parts.extend(_encode_members(shape, result or {}))
        parts.append(f"</{wrapper}>")
    parts.append(f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>")
    parts.append(f"</{name}Response>")
    return "".join(parts).encode("utf-8")


def _encode_members(shape: StructureShape, value: Mapping[str, Any]) -> list[str]:
    parts: list[str] = []
    for name, member in shape.members.items():
        if value.get(name) is None:
            continue
        parts.extend(_encode(member, value[name], member.serialization.get("name", name)))
    return parts


def _encode(shape: Shape, value: Any, element: str) -> list[str]:
    if isinstance(shape, StructureShape):
        return [f"<{element}>", *_encode_members(shape, value), f"</{element}>"]
    if isinstance(shape, ListShape):
        item = shape.member.serialization.get("name", "member")
        if shape.serialization.get("flattened"):
            return [part for entry in value for part in _encode(shape.member, entry, element)]
        inner = [part for entry in value for part in _encode(shape.member, entry, item)]
        return [f"<{element}>", *inner, f"</{element}>"]
    if isinstance(shape, MapShape):
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        entries = []
        for key, entry in value.items():
            entries.append("<entry>")
            entries.extend(_encode(shape.key, key, key_name))
            entries.extend(_encode(shape.value, entry, value_name))
            entries.append("</entry>")
        return [f"<{element}>", *entries, f"</{element}>"]
    return [f"<{element}>{escape(_scalar_text(shape, value))}</{element}>"]


def _scalar_text(shape: Shape, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return str(value)


def error_code(error: StewardError) -> str:
    """The `Code` an error answers with: its class's `code` where it has one (IAM's
    `NoSuchEntity` for `NoSuchEntityException`), else its class name."""
    return str(getattr(error, "code", None) or error.error_type)


def error_response(error: StewardError, request_id: str, namespace: str = "") -> Response:
    """A Query error answer: `Sender` for a client's mistake (4xx), `Receiver` for Steward's."""
    kind = "Receiver" if error.status >= 500 else "Sender"
    attribute = f' xmlns="{escape(namespace)}"' if namespace else ""
    body = (
        f"<ErrorResponse{attribute}><Error><Type>{kind}</Type>"
        f"<Code>{escape(error_code(error))}</Code><Message>{escape(error.message)}</Message>"
        f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return Response(
        body,
        status_code=error.status,
        media_type=XML_CONTENT_TYPE,
        headers={"x-amzn-RequestId": request_id},
    )


# -- the endpoint -------------------------------------------------------------------------------


class QueryEndpoint(Generic[Service]):
    """ASGI app for the Query requests of one service (`model_name` in botocore): each
    `Action` in `operations` runs in a thread (they block on the store) with `service`.

    `unknown_action` and `internal` make the service's own errors for an action it does not have
    and for a failure of Steward's."""

    def __init__(
        self,
        *,
        model_name: str,
        operations: Mapping[str, Operation],
        service: Service,
        unknown_action: Callable[[str], StewardError],
        internal: Callable[[str], StewardError],
        log: logging.Logger,
    ) -> None:
        self.model = service_model(model_name)
        # SigV4 scopes a request by the model's signing name, which defaults to its endpoint
        # prefix: CloudWatch's requests are signed for `monitoring`, not `cloudwatch`.
        self.signing_name = (
            self.model.metadata.get("signingName")
            or self.model.metadata.get("endpointPrefix")
            or model_name
        )
        self.namespace = self.model.metadata.get("xmlNamespace", "")
        self.operations = operations
        self.service = service
        self.unknown_action = unknown_action
        self.internal = internal
        self.log = log

    def claims(self, scope: Scope, form: Mapping[str, str]) -> bool:
        """Whether a form `POST /` is this service's: signed for it, or unsigned and naming one
        of its actions."""
        signed_for = signing_service(scope)
        if signed_for is not None:
            return signed_for == self.signing_name
        return form.get("Action", "") in self.operations

    def error_response(self, error: StewardError, request_id: str) -> Response:
        return error_response(error, request_id, self.namespace)

    async def answer(self, form: Mapping[str, str]) -> Response:
        request_id = str(uuid.uuid4())
        action = form.get("Action", "")
        try:
            handler = self.operations.get(action)
            if handler is None or action not in self.model.operation_names:
                raise self.unknown_action(action)
            operation = self.model.operation_model(action)
            members = decode_input(operation, form)
            result = await run_in_threadpool(handler, self.service, members)
            body = encode_output(self.model, operation, result, request_id)
        except StewardError as error:
            self.log.info(
                "refused %s %s: %s: %s", self.signing_name, action, error_code(error), error.message
            )
            return self.error_response(error, request_id)
        except Exception:
            self.log.exception("%s %s failed", self.signing_name, action)
            return self.error_response(
                self.internal("Steward failed to process the request."), request_id
            )
        return Response(body, media_type=XML_CONTENT_TYPE, headers={"x-amzn-RequestId": request_id})


def with_query_endpoints(endpoints: list[QueryEndpoint[Any]], other: ASGIApp) -> ASGIApp:
    """Form `POST /` requests go to the Query endpoint that claims them; everything else, and a
    form post no endpoint claims, to `other`."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if not is_form_post(scope):
            await other(scope, receive, send)
            return
        request = Request(scope, receive)
        raw = await request.body()
        form = read_form(raw)
        for endpoint in endpoints:
            if endpoint.claims(scope, form):
                response = await endpoint.answer(form)
                await response(scope, receive, send)
                return
        await other(scope, _replaying(raw), send)

    return app


def _replaying(body: bytes) -> Receive:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    return receive

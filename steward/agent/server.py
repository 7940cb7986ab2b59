"""The agent's HTTP API, used by the control plane only.

Started with TLS files (`steward.agent.mtls`), the agent serves HTTPS and takes only connections
that present a client certificate of the agents CA: that certificate is the control plane's
authentication, and a bearer token, when one is given as well, is asked for on top. Started
without (a development setup), it serves plain HTTP and every route except `GET /v1/health`
needs `Authorization: Bearer <token>`. Handlers are plain
`def` functions: Starlette runs them in its thread pool, so a format or a controlled shutdown
never blocks the event loop.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib import metadata
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from steward.agent.iam import NotIamNode, read_refusals, write_credentials
from steward.agent.mtls import ServingTls
from steward.agent.spec import InvalidSpec, NodeSpec
from steward.agent.supervisor import NodeNotFound, NodeSupervisor

StopTimeout = Annotated[float | None, Query(ge=0, le=600)]
"""Seconds a controlled shutdown may take before the process is killed."""


def steward_version() -> str:
    try:
        return metadata.version("steward")
    except metadata.PackageNotFoundError:
        return "unknown"


def build_app(
    supervisor: NodeSupervisor,
    *,
    name: str,
    token: str | None,
    on_shutdown: Callable[[], None] | None = None,
    tls: ServingTls | None = None,
    hosts: tuple[str, ...] = (),
) -> FastAPI:
    """The agent's app. `on_shutdown` runs when the server stops gracefully (e.g. on SIGTERM).
    `tls`: the context it serves with, whose certificate the control plane renews through
    `/v1/tls`; `hosts`, the names its renewal requests ask for."""
    if not token and tls is None:
        raise ValueError("the agent needs a non-empty token, or TLS")
    expected = f"Bearer {token}".encode() if token else None

    def require_token(request: Request) -> None:
        if expected is None:
            return  # the client certificate was checked in the handshake
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            challenge = {"WWW-Authenticate": "Bearer"}
            raise HTTPException(401, "missing or wrong bearer token", challenge)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if on_shutdown is not None:
            on_shutdown()

    app = FastAPI(title=f"Steward agent {name}", version=steward_version(), lifespan=lifespan)

    @app.exception_handler(NodeNotFound)
    def not_found(_: Request, error: NodeNotFound) -> JSONResponse:
        return JSONResponse({"detail": f"no node {error.args[0]!r} on this agent"}, 404)

    @app.exception_handler(InvalidSpec)
    def invalid(_: Request, error: InvalidSpec) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, 422)

    @app.exception_handler(NotIamNode)
    def not_iam(_: Request, error: NotIamNode) -> JSONResponse:
        return JSONResponse({"detail": f"node {error.args[0]!r} has no IAM listener"}, 409)

    @app.get("/v1/health")
    def health() -> dict[str, Any]:
        return {"name": name, "pid": os.getpid(), "version": steward_version()}

    nodes = APIRouter(prefix="/v1/nodes", dependencies=[Depends(require_token)])

    @nodes.get("")
    def list_nodes() -> list[dict[str, Any]]:
        return [status.to_dict() for status in supervisor.statuses()]

    @nodes.get("/{key}")
    def get_node(key: str) -> dict[str, Any]:
        status = supervisor.status(key)
        if status is None:
            raise NodeNotFound(key)
        return status.to_dict()

    @nodes.put("/{key}")
    def put_node(key: str, body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        if body.get("key", key) != key:
            raise InvalidSpec(f"the body's key {body.get('key')!r} is not the path's {key!r}")
        spec = NodeSpec.from_dict({**body, "key": key})
        return supervisor.apply(spec).to_dict()

    @nodes.post("/{key}/stop")
    def stop_node(key: str, timeout: StopTimeout = None) -> dict[str, Any]:
        return supervisor.stop(key, timeout).to_dict()

    @nodes.post("/{key}/start")
    def start_node(key: str) -> dict[str, Any]:
        return supervisor.start(key).to_dict()

    @nodes.post("/{key}/restart")
    def restart_node(key: str, timeout: StopTimeout = None) -> dict[str, Any]:
        return supervisor.restart(key, timeout).to_dict()

    @nodes.delete("/{key}")
    def delete_node(key: str, timeout: StopTimeout = None) -> dict[str, Any]:
        return {"key": key, "removed": supervisor.remove(key, timeout)}

    @nodes.put("/{key}/iam/credentials")
    def put_iam_credentials(key: str, body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        """The signing keys the broker's IAM sign-in checks with (`steward.agent.iam`)."""
        spec = supervisor.spec_of(key)
        text = body.get("text")
        if not isinstance(text, str):
            raise InvalidSpec("the body needs the credentials file's text")
        changed = write_credentials(spec, supervisor.paths(key).iam, text)
        return {"key": key, "changed": changed}

    @nodes.get("/{key}/iam/refusals")
    def get_iam_refusals(key: str, offset: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
        """The broker's refused IAM sign-ins from `offset` on."""
        supervisor.spec_of(key)
        return {"key": key, **read_refusals(supervisor.paths(key).iam, offset)}

    app.include_router(nodes)
    if tls is not None:
        app.include_router(_tls_routes(tls, name, hosts, require_token))
    return app


def _tls_routes(
    tls: ServingTls, name: str, hosts: tuple[str, ...], require_token: Callable[[Request], None]
) -> APIRouter:
    """The renewal of the agent's certificate: a CSR for a new key made here, then the
    certificate signed for it, served from then on."""
    routes = APIRouter(prefix="/v1/tls", dependencies=[Depends(require_token)])

    @routes.post("/certificate-request")
    def certificate_request() -> dict[str, Any]:
        return {"csr": tls.files.request(name, list(hosts) or [name])}

    @routes.put("/certificate")
    def install_certificate(body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        certificate, ca = body.get("certificate"), body.get("caCertificate")
        if not isinstance(certificate, str) or not isinstance(ca, str):
            raise InvalidSpec("the body needs `certificate` and `caCertificate` (PEM)")
        try:
            tls.install(certificate, ca)
        except ValueError as error:
            raise InvalidSpec(str(error)) from error
        return {"certificate": tls.files.certificate_pem()}

    return routes

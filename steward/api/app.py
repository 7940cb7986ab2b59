"""Steward's HTTP front: the MSK-compatible API and Steward's own routes, every one behind the
authentication gate, and `/healthz` for supervisors and tests, open to all."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from steward.api.auth.guard import Authenticator, RequireAuthentication
from steward.api.msk.app import MskApi
from steward.api.secrets_manager import with_secrets_manager
from steward.control.service import ClusterService

OPEN_PATHS = ("/healthz",)
"""What answers without a signature: liveness only, which tells nothing about clusters."""


def build_app(service: ClusterService, authenticator: Authenticator) -> Starlette:
    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Mount("/", app=with_secrets_manager(MskApi(service), service.secrets)),
        ],
        middleware=[
            Middleware(RequireAuthentication, authenticator=authenticator, open_paths=OPEN_PATHS)
        ],
    )

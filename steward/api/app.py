"""Steward's HTTP front: the MSK-compatible API, and `/healthz` for supervisors and tests."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from steward.api.msk.app import MskApi
from steward.control.service import ClusterService


def build_app(service: ClusterService) -> Starlette:
    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Mount("/", app=MskApi(service)),
        ]
    )

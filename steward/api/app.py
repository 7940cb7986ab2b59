"""Steward's HTTP front: the MSK-compatible API and Steward's own routes, every one behind the
authentication gate, and `/healthz` for supervisors and tests, open to all."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from steward.api.auth.guard import Authenticator, RequireAuthentication
from steward.api.msk.app import MskApi
from steward.cloudwatch.api import query_endpoint, with_cloudwatch
from steward.control.service import ClusterService
from steward.monitor.control_metrics import CONTENT_TYPE
from steward.pca.api import with_acm_pca
from steward.secrets.api import with_secrets_manager
from steward.wire.query_protocol import with_query_endpoints

OPEN_PATHS = ("/healthz", "/metrics", "/prometheus/targets")
"""What answers without a signature: liveness, and what Prometheus reads (it cannot sign
requests): Steward's own metrics and the service-discovery document of the brokers' exporters."""


def build_app(service: ClusterService, authenticator: Authenticator) -> Starlette:
    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def metrics(_: Request) -> Response:
        body = await run_in_threadpool(service.metrics.control_plane.exposition)
        return Response(body, media_type=CONTENT_TYPE)

    async def prometheus_targets(_: Request) -> JSONResponse:
        return JSONResponse(await run_in_threadpool(service.metrics.prometheus_targets))

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/prometheus/targets", prometheus_targets, methods=["GET"]),
            Mount(
                "/",
                app=with_query_endpoints(
                    [query_endpoint(service.cloudwatch)],
                    with_cloudwatch(
                        with_acm_pca(
                            with_secrets_manager(MskApi(service), service.secrets),
                            service.private_cas,
                        ),
                        service.cloudwatch,
                    ),
                ),
            ),
        ],
        middleware=[
            Middleware(RequireAuthentication, authenticator=authenticator, open_paths=OPEN_PATHS)
        ],
    )

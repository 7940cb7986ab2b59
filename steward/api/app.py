"""Steward's HTTP front: the MSK-compatible API and Steward's own routes, every one behind the
authentication gate, and `/healthz` for supervisors and tests, open to all."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

from steward.api.auth.actions import service_actions
from steward.api.auth.authorization import RequestAuthorizer
from steward.api.auth.guard import Authenticator, RequireAuthentication
from steward.api.forwarding import ForwardWritesToLeader
from steward.api.host_joins import JOIN_PATH, join_router
from steward.api.msk.app import MskApi, msk_router
from steward.autoscaling.api import with_application_autoscaling
from steward.autoscaling.service import ApplicationAutoScaling
from steward.cloudwatch.api import query_endpoint, with_cloudwatch
from steward.connect.api import with_kafka_connect
from steward.connect.service import MskConnect
from steward.console.assets import console_paths, console_routes
from steward.control.leadership import Leadership
from steward.control.scaling import application_autoscaling
from steward.control.service import ClusterService
from steward.domain.errors import StewardError
from steward.functions.api import with_lambda
from steward.functions.service import Functions
from steward.iam.api import iam_endpoint, sts_endpoint
from steward.monitor.control_metrics import CONTENT_TYPE
from steward.pca.api import with_acm_pca
from steward.secrets.api import with_secrets_manager
from steward.wire.query_protocol import with_query_endpoints

OPEN_PATHS = ("/healthz", "/metrics", "/prometheus/targets", JOIN_PATH)
"""What answers without a signature: liveness, what Prometheus reads (it cannot sign
requests): Steward's own metrics and the service-discovery document of the brokers' exporters,
and the join of a machine as a host, which its single-use join token authenticates (the machine
has no access key to sign with).
The console's static shell (`console_paths()`) is open too: it holds no data, and signs every
call it makes to the API."""


def request_authorizer(service: ClusterService) -> RequestAuthorizer:
    """What asks IAM about every signed request, with each service's table of actions."""

    def secret_arn(secret_id: str) -> str | None:
        try:
            return service.secrets.describe(secret_id).record.arn
        except StewardError:
            return None

    actions = service_actions(
        msk_router(), service.settings.region, service.settings.account_id, secret_arn
    )
    return RequestAuthorizer(service.iam, actions, resource_tags=service.store.tags)


def build_app(
    service: ClusterService,
    authenticator: Authenticator,
    *,
    functions: Functions | None = None,
    connect: MskConnect | None = None,
    autoscaling: ApplicationAutoScaling | None = None,
    leadership: Leadership | None = None,
) -> Starlette:
    """The side services that run background work of their own come from `steward.server`:
    `functions` (Lambda's dated paths) and `connect` (MSK Connect's routes); a Steward without
    one answers its paths as unknown ones. `autoscaling`: the server's Application Auto Scaling
    (whose changes wake its background passes); without one, a service of its own over the
    same store. With `leadership` (control planes sharing a store) this server hands the writes
    it is given to the leader while it does not lead, and `/healthz` says which it is."""
    scaling = autoscaling or application_autoscaling(service)

    async def healthz(_: Request) -> JSONResponse:
        if leadership is None:
            return JSONResponse({"status": "ok"})
        role = await run_in_threadpool(leadership.role)
        return JSONResponse(
            {
                "status": "ok",
                "role": "leader" if role.leader else "follower",
                "leader": role.leader_address,
                "term": role.term,
            }
        )

    async def metrics(_: Request) -> Response:
        body = await run_in_threadpool(service.metrics.control_plane.exposition)
        return Response(body, media_type=CONTENT_TYPE)

    async def prometheus_targets(_: Request) -> JSONResponse:
        return JSONResponse(await run_in_threadpool(service.metrics.prometheus_targets))

    routes: ASGIApp = with_query_endpoints(
        [
            iam_endpoint(service.iam),
            sts_endpoint(service.iam),
            query_endpoint(service.cloudwatch),
        ],
        with_cloudwatch(
            with_lambda(
                with_application_autoscaling(
                    with_acm_pca(
                        with_secrets_manager(MskApi(service), service.secrets),
                        service.private_cas,
                    ),
                    scaling,
                ),
                functions,
            ),
            service.cloudwatch,
        ),
    )
    if connect is not None:
        routes = with_kafka_connect(routes, connect)
    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/prometheus/targets", prometheus_targets, methods=["GET"]),
            Route(JOIN_PATH, MskApi(service, join_router), methods=["POST"]),
            *console_routes(service.settings.region),
            Mount("/", app=routes),
        ],
        middleware=[
            *([Middleware(ForwardWritesToLeader, leadership=leadership)] if leadership else []),
            Middleware(
                RequireAuthentication,
                authenticator=authenticator,
                open_paths=(*OPEN_PATHS, *console_paths()),
                authorizer=request_authorizer(service),
            ),
        ],
    )

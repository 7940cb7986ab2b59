"""The ASGI endpoint serving every MSK route: match the raw path, read the request, call the
use case in a worker thread, answer with MSK's JSON or MSK's error."""

from __future__ import annotations

import logging
import uuid
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from steward.api import (
    access_policies,
    alarms,
    broker_scaling,
    consumer_groups,
    host_joins,
    hosts,
    iam_audit,
    native,
    rebalancing,
    revocation_lists,
    sign_in_refusals,
)
from steward.api.msk import (
    cluster_policy,
    clusters,
    configurations,
    resources,
    scram,
    topics,
    unbuilt,
    updates,
)
from steward.api.msk.errors import error_response
from steward.api.msk.fields import Fields, Query, parse_json_object
from steward.api.msk.routing import MskRequest, Router
from steward.control.service import ClusterService
from steward.domain.errors import InternalServerErrorException, NotFoundException, StewardError

log = logging.getLogger(__name__)


def msk_router() -> Router:
    router = Router()
    for module in (
        clusters,
        configurations,
        resources,
        scram,
        topics,
        updates,
        cluster_policy,
        unbuilt,
        native,
        rebalancing,
        broker_scaling,
        consumer_groups,
        alarms,
        revocation_lists,
        sign_in_refusals,
        access_policies,
        iam_audit,
        host_joins,
        hosts,
    ):
        router.include(module.router)
    return router


class MskApi:
    """ASGI app for MSK's routes; anything else is MSK's NotFoundException."""

    def __init__(self, service: ClusterService, router: Router | None = None) -> None:
        self.service = service
        self.router = router or msk_router()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await self.handle(request)
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        path = raw_path.decode("latin-1").split("?", 1)[0]
        try:
            found = self.router.resolve(request.method, path)
            if found is None:
                raise NotFoundException(
                    f"Steward has no operation at {request.method} {path}.", "path"
                )
            route, params = found
            query = Query(parse_qsl(request.url.query, keep_blank_values=True))
            body = parse_json_object(await request.body())
            msk_request = MskRequest(params, query, Fields(body))
            result = await run_in_threadpool(route.handler, self.service, msk_request)
        except StewardError as error:
            log.info("refused %s %s: %s: %s", request.method, path, error.error_type, error.message)
            return error_response(error, request_id)
        except Exception:
            log.exception("%s %s failed", request.method, path)
            return error_response(
                InternalServerErrorException("Steward failed to process the request."),
                request_id,
            )
        headers = {"x-amzn-RequestId": request_id}
        if result is None:
            return Response(status_code=204, headers=headers)
        return JSONResponse(result, headers=headers, media_type="application/json")

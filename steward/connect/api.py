"""The MSK-Connect-compatible endpoint (boto3's `kafkaconnect`): rest-json under
`/v1/custom-plugins`, `/v1/worker-configurations`, `/v1/connectors` and `/v1/tags/<connect ARN>`
on Steward's one endpoint. MSK's own routes (`/v1/clusters`, `/v1/configurations`,
`/api/v2/...`, `/v1/tags/<kafka ARN>`) are told apart by these prefixes and by the ARN's service.

This layer translates only: wire shapes (camelCase, ISO-8601 times) to the use cases of
`steward.connect.service` and back. Errors are MSK Connect's: the status, `x-amzn-ErrorType:
<Name>` (which boto3 reads the code from) and `{"message": ...}`.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, unquote

from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from steward.connect.service import MskConnect, Page
from steward.connect.store import (
    ConnectorRecord,
    CustomPluginRecord,
    StateDescription,
    WorkerConfigurationRecord,
)
from steward.domain.errors import (
    BadRequestException,
    InternalServerErrorException,
    NotFoundException,
    StewardError,
)

log = logging.getLogger(__name__)

PREFIXES = ("/v1/custom-plugins", "/v1/worker-configurations", "/v1/connectors")
CONNECT_ARN_MARK = ":kafkaconnect:"

Json = dict[str, Any]


def is_kafka_connect_request(scope: Scope) -> bool:
    """Whether a request is for MSK Connect's routes rather than MSK's."""
    path: str = scope.get("path", "")
    if any(path == p or path.startswith(p + "/") for p in PREFIXES):
        return True
    if path.startswith("/v1/connectorOperations/"):
        return True
    return path.startswith("/v1/tags/") and CONNECT_ARN_MARK in unquote(path)


def error_response(error: StewardError, request_id: str) -> JSONResponse:
    return JSONResponse(
        {"message": error.message},
        status_code=error.status,
        headers={"x-amzn-ErrorType": error.error_type, "x-amzn-RequestId": request_id},
    )


# --- wire shapes ----------------------------------------------------------------------------------
def _time(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _state_description(value: StateDescription | None) -> Json | None:
    return None if value is None else {"code": value.code, "message": value.message}


def _plugin_revision(plugin: CustomPluginRecord) -> Json:
    revision: Json = {
        "contentType": plugin.content_type,
        "creationTime": _time(plugin.created_at),
        "location": plugin.location,
        "revision": plugin.revision,
    }
    if plugin.description is not None:
        revision["description"] = plugin.description
    if plugin.file_md5 is not None:
        revision["fileDescription"] = {"fileMd5": plugin.file_md5, "fileSize": plugin.file_size}
    return revision


def plugin_summary(plugin: CustomPluginRecord) -> Json:
    shape: Json = {
        "creationTime": _time(plugin.created_at),
        "customPluginArn": plugin.arn,
        "customPluginState": plugin.state,
        "latestRevision": _plugin_revision(plugin),
        "name": plugin.name,
    }
    if plugin.description is not None:
        shape["description"] = plugin.description
    return shape


def plugin_description(plugin: CustomPluginRecord) -> Json:
    shape = plugin_summary(plugin)
    if plugin.state_description is not None:
        shape["stateDescription"] = _state_description(plugin.state_description)
    return shape


def worker_configuration_summary(configuration: WorkerConfigurationRecord) -> Json:
    latest = configuration.latest
    revision: Json = {"creationTime": _time(latest.created_at), "revision": latest.revision}
    if latest.description is not None:
        revision["description"] = latest.description
    shape: Json = {
        "creationTime": _time(configuration.created_at),
        "latestRevision": revision,
        "name": configuration.name,
        "workerConfigurationArn": configuration.arn,
        "workerConfigurationState": configuration.state,
    }
    if configuration.description is not None:
        shape["description"] = configuration.description
    return shape


def worker_configuration_description(configuration: WorkerConfigurationRecord) -> Json:
    shape = worker_configuration_summary(configuration)
    shape["latestRevision"]["propertiesFileContent"] = configuration.latest.properties_file_content
    return shape


def connector_summary(connector: ConnectorRecord) -> Json:
    spec = connector.spec
    capacity = json.loads(json.dumps(spec["capacity"]))
    shape: Json = {
        "capacity": capacity,
        "connectorArn": connector.arn,
        "connectorName": connector.name,
        "connectorState": connector.state,
        "creationTime": _time(connector.created_at),
        "currentVersion": connector.current_version,
        "kafkaCluster": spec["kafkaCluster"],
        "kafkaClusterClientAuthentication": spec["kafkaClusterClientAuthentication"],
        "kafkaClusterEncryptionInTransit": spec["kafkaClusterEncryptionInTransit"],
        "kafkaConnectVersion": spec["kafkaConnectVersion"],
        "networkType": spec.get("networkType", "IPV4"),
        "plugins": spec["plugins"],
        "serviceExecutionRoleArn": spec["serviceExecutionRoleArn"],
    }
    if connector.description is not None:
        shape["connectorDescription"] = connector.description
    if spec.get("logDelivery") is not None:
        shape["logDelivery"] = spec["logDelivery"]
    if spec.get("workerConfiguration") is not None:
        shape["workerConfiguration"] = spec["workerConfiguration"]
    return shape


def connector_description(connector: ConnectorRecord) -> Json:
    shape = connector_summary(connector)
    shape["connectorConfiguration"] = connector.spec["connectorConfiguration"]
    if connector.state_description is not None:
        shape["stateDescription"] = _state_description(connector.state_description)
    return shape


# --- routes ---------------------------------------------------------------------------------------
@dataclass
class Request:
    params: dict[str, str]
    query: dict[str, list[str]]
    body: Json

    def one(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def max_results(self) -> int | None:
        value = self.one("maxResults")
        if value is None:
            return None
        try:
            return int(value)
        except ValueError as error:
            raise BadRequestException("maxResults must be a number.", "maxResults") from error


Handler = Callable[[MskConnect, Request], Json]


def _page(page: Page, key: str, shape: Callable[[Any], Json]) -> Json:
    answer: Json = {key: [shape(item) for item in page.items]}
    if page.next_token:
        answer["nextToken"] = page.next_token
    return answer


def _create_plugin(connect: MskConnect, request: Request) -> Json:
    plugin = connect.create_custom_plugin(request.body)
    return {
        "customPluginArn": plugin.arn,
        "customPluginState": plugin.state,
        "name": plugin.name,
        "revision": plugin.revision,
    }


def _delete_plugin(connect: MskConnect, request: Request) -> Json:
    plugin = connect.delete_custom_plugin(request.params["arn"])
    return {"customPluginArn": plugin.arn, "customPluginState": plugin.state}


def _create_worker_configuration(connect: MskConnect, request: Request) -> Json:
    configuration = connect.create_worker_configuration(request.body)
    summary = worker_configuration_summary(configuration)
    return {
        "creationTime": summary["creationTime"],
        "latestRevision": summary["latestRevision"],
        "name": configuration.name,
        "workerConfigurationArn": configuration.arn,
        "workerConfigurationState": configuration.state,
    }


def _delete_worker_configuration(connect: MskConnect, request: Request) -> Json:
    configuration = connect.delete_worker_configuration(request.params["arn"])
    return {
        "workerConfigurationArn": configuration.arn,
        "workerConfigurationState": configuration.state,
    }


def _create_connector(connect: MskConnect, request: Request) -> Json:
    connector = connect.create_connector(request.body)
    return {
        "connectorArn": connector.arn,
        "connectorName": connector.name,
        "connectorState": connector.state,
    }


def _update_connector(connect: MskConnect, request: Request) -> Json:
    connector = connect.update_connector(
        request.params["arn"], request.one("currentVersion"), request.body
    )
    return {"connectorArn": connector.arn, "connectorState": connector.state}


def _delete_connector(connect: MskConnect, request: Request) -> Json:
    connector = connect.delete_connector(request.params["arn"], request.one("currentVersion"))
    return {"connectorArn": connector.arn, "connectorState": connector.state}


def _tag(connect: MskConnect, request: Request) -> Json:
    connect.tag_resource(request.params["arn"], request.body.get("tags"))
    return {}


def _untag(connect: MskConnect, request: Request) -> Json:
    connect.untag_resource(request.params["arn"], request.query.get("tagKeys", []))
    return {}


def _unsupported(operation: str) -> Handler:
    def handler(connect: MskConnect, request: Request) -> Json:
        raise BadRequestException(f"{operation} is not supported by Steward yet.")

    return handler


ROUTES: list[tuple[str, str, str, Handler]] = [
    ("CreateCustomPlugin", "POST", "/v1/custom-plugins", _create_plugin),
    (
        "ListCustomPlugins",
        "GET",
        "/v1/custom-plugins",
        lambda c, r: _page(
            c.list_custom_plugins(r.one("namePrefix"), r.max_results(), r.one("nextToken")),
            "customPlugins",
            plugin_summary,
        ),
    ),
    (
        "DescribeCustomPlugin",
        "GET",
        "/v1/custom-plugins/{arn}",
        lambda c, r: plugin_description(c.describe_custom_plugin(r.params["arn"])),
    ),
    ("DeleteCustomPlugin", "DELETE", "/v1/custom-plugins/{arn}", _delete_plugin),
    (
        "CreateWorkerConfiguration",
        "POST",
        "/v1/worker-configurations",
        _create_worker_configuration,
    ),
    (
        "ListWorkerConfigurations",
        "GET",
        "/v1/worker-configurations",
        lambda c, r: _page(
            c.list_worker_configurations(r.one("namePrefix"), r.max_results(), r.one("nextToken")),
            "workerConfigurations",
            worker_configuration_summary,
        ),
    ),
    (
        "DescribeWorkerConfiguration",
        "GET",
        "/v1/worker-configurations/{arn}",
        lambda c, r: worker_configuration_description(
            c.describe_worker_configuration(r.params["arn"])
        ),
    ),
    (
        "DeleteWorkerConfiguration",
        "DELETE",
        "/v1/worker-configurations/{arn}",
        _delete_worker_configuration,
    ),
    ("CreateConnector", "POST", "/v1/connectors", _create_connector),
    (
        "ListConnectors",
        "GET",
        "/v1/connectors",
        lambda c, r: _page(
            c.list_connectors(r.one("connectorNamePrefix"), r.max_results(), r.one("nextToken")),
            "connectors",
            connector_summary,
        ),
    ),
    (
        "DescribeConnector",
        "GET",
        "/v1/connectors/{arn}",
        lambda c, r: connector_description(c.describe_connector(r.params["arn"])),
    ),
    ("UpdateConnector", "PUT", "/v1/connectors/{arn}", _update_connector),
    ("DeleteConnector", "DELETE", "/v1/connectors/{arn}", _delete_connector),
    (
        "PauseConnector",
        "PUT",
        "/v1/connectors/{arn}/pause",
        lambda c, r: {"connectorArn": c.pause_connector(r.params["arn"]).arn},
    ),
    (
        "ResumeConnector",
        "PUT",
        "/v1/connectors/{arn}/resume",
        lambda c, r: {"connectorArn": c.resume_connector(r.params["arn"]).arn},
    ),
    (
        "RestartConnector",
        "POST",
        "/v1/connectors/{arn}/restart",
        lambda c, r: {
            "connectorArn": c.restart_connector(
                r.params["arn"], r.one("onlyFailedTasks") == "true"
            ).arn
        },
    ),
    (
        "ListConnectorOperations",
        "GET",
        "/v1/connectors/{arn}/operations",
        lambda c, r: {"connectorOperations": []},
    ),
    (
        "DescribeConnectorOperation",
        "GET",
        "/v1/connectorOperations/{arn}",
        _unsupported("DescribeConnectorOperation"),
    ),
    (
        "ListTagsForResource",
        "GET",
        "/v1/tags/{arn}",
        lambda c, r: {"tags": c.list_tags(r.params["arn"])},
    ),
    ("TagResource", "POST", "/v1/tags/{arn}", _tag),
    ("UntagResource", "DELETE", "/v1/tags/{arn}", _untag),
]


def match_route(method: str, raw_path: str) -> tuple[str, Handler, dict[str, str]] | None:
    """Matched on the raw path: an ARN arrives percent-encoded, its `/` included."""
    segments = raw_path.strip("/").split("/")
    for operation, route_method, template, handler in ROUTES:
        pattern = template.strip("/").split("/")
        if route_method != method or len(pattern) != len(segments):
            continue
        params: dict[str, str] = {}
        for part, raw in zip(pattern, segments, strict=True):
            value = unquote(raw)
            if part.startswith("{"):
                if not value:
                    break
                params[part[1:-1]] = value
            elif value != part:
                break
        else:
            return operation, handler, params
    return None


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def with_kafka_connect(other: ASGIApp, connect: MskConnect) -> ASGIApp:
    """MSK Connect's routes go to `connect`, everything else to `other`."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_kafka_connect_request(scope):
            await other(scope, receive, send)
            return
        request_id = str(uuid.uuid4())
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        raw_path = raw_path.split("?", 1)[0]
        matched = match_route(scope["method"], raw_path)
        try:
            if matched is None:
                raise NotFoundException(f"No MSK Connect operation at {scope['path']}.")
            _, handler, params = matched
            raw = await _read_body(receive)
            try:
                body = json.loads(raw) if raw.strip() else {}
            except ValueError as error:
                raise BadRequestException("The request body is not JSON.") from error
            if not isinstance(body, dict):
                raise BadRequestException("The request body must be a JSON object.")
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            answer = await run_in_threadpool(handler, connect, Request(params, query, body))
            response = JSONResponse(answer, headers={"x-amzn-RequestId": request_id})
        except StewardError as error:
            response = error_response(error, request_id)
        except Exception:
            log.exception("MSK Connect %s failed", matched[0] if matched else scope["path"])
            response = error_response(
                InternalServerErrorException("Steward failed to answer the request."), request_id
            )
        await response(scope, receive, send)

    return app

"""Configuration routes: named, revisioned sets of broker properties."""

from __future__ import annotations

import base64
import re

from steward.api.msk import shapes
from steward.api.msk.pagination import page, with_token
from steward.api.msk.routing import Body, MskRequest, Router
from steward.control.service import ClusterService
from steward.domain.errors import BadRequestException

router = Router()

CONFIGURATION_NAME = re.compile(r"^[0-9A-Za-z][0-9A-Za-z-]*$")


def _revision(request: MskRequest) -> int:
    raw = request.param("revision")
    if not raw.isdigit() or int(raw) < 1:
        raise BadRequestException("revision must be a positive integer.", "revision")
    return int(raw)


def _server_properties(request: MskRequest) -> bytes:
    properties = request.body.blob("serverProperties", required=True)
    assert properties is not None
    return properties


@router.add("CreateConfiguration", "POST", "/v1/configurations")
def create_configuration(service: ClusterService, request: MskRequest) -> Body:
    body = request.body
    name = body.required_string("name", min_length=1, max_length=64)
    if not CONFIGURATION_NAME.match(name):
        raise BadRequestException(
            "name must start with a letter or digit and contain only letters, digits and hyphens.",
            "name",
        )
    config = service.create_configuration(
        name,
        body.string("description", max_length=1024),
        body.strings("kafkaVersions") or [],
        _server_properties(request),
    )
    return {
        "arn": config.arn,
        "creationTime": shapes.timestamp(config.creation_time),
        "latestRevision": shapes.revision_info(config.latest_revision),
        "name": config.name,
        "state": config.state.value,
    }


@router.add("DescribeConfiguration", "GET", "/v1/configurations/{arn}")
def describe_configuration(service: ClusterService, request: MskRequest) -> Body:
    return shapes.configuration(service.describe_configuration(request.param("arn")))


@router.add("ListConfigurations", "GET", "/v1/configurations")
def list_configurations(service: ClusterService, request: MskRequest) -> Body:
    items, token = page(service.list_configurations(), request.query)
    return with_token({"configurations": [shapes.configuration(c) for c in items]}, token)


@router.add("UpdateConfiguration", "PUT", "/v1/configurations/{arn}")
def update_configuration(service: ClusterService, request: MskRequest) -> Body:
    config = service.update_configuration(
        request.param("arn"),
        request.body.string("description", max_length=1024),
        _server_properties(request),
    )
    return {"arn": config.arn, "latestRevision": shapes.revision_info(config.latest_revision)}


@router.add("DeleteConfiguration", "DELETE", "/v1/configurations/{arn}")
def delete_configuration(service: ClusterService, request: MskRequest) -> Body:
    config = service.delete_configuration(request.param("arn"))
    return {"arn": config.arn, "state": config.state.value}


@router.add("ListConfigurationRevisions", "GET", "/v1/configurations/{arn}/revisions")
def list_configuration_revisions(service: ClusterService, request: MskRequest) -> Body:
    revisions = service.list_configuration_revisions(request.param("arn"))
    items, token = page(revisions, request.query)
    return with_token({"revisions": [shapes.revision_info(r) for r in items]}, token)


@router.add("DescribeConfigurationRevision", "GET", "/v1/configurations/{arn}/revisions/{revision}")
def describe_configuration_revision(service: ClusterService, request: MskRequest) -> Body:
    config, revision = service.describe_configuration_revision(
        request.param("arn"), _revision(request)
    )
    return {
        "arn": config.arn,
        "creationTime": shapes.timestamp(revision.creation_time),
        "description": revision.description or "",
        "revision": revision.revision,
        "serverProperties": base64.b64encode(revision.server_properties).decode(),
    }

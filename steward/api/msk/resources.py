"""Routes about resources of every kind: tags, and the Kafka versions clusters can run."""

from __future__ import annotations

from steward.api.msk.pagination import page, with_token
from steward.api.msk.routing import Body, MskRequest, Router
from steward.control.service import ClusterService
from steward.domain.errors import BadRequestException

router = Router()


@router.add("ListKafkaVersions", "GET", "/v1/kafka-versions")
def list_kafka_versions(service: ClusterService, request: MskRequest) -> Body:
    items, token = page(service.list_kafka_versions(), request.query)
    return with_token(
        {"kafkaVersions": [{"version": v.version, "status": v.status} for v in items]}, token
    )


@router.add("TagResource", "POST", "/v1/tags/{resourceArn}")
def tag_resource(service: ClusterService, request: MskRequest) -> Body:
    tags = request.body.string_map("tags", required=True)
    assert tags is not None
    service.tag_resource(request.param("resourceArn"), tags)
    return None


@router.add("UntagResource", "DELETE", "/v1/tags/{resourceArn}")
def untag_resource(service: ClusterService, request: MskRequest) -> Body:
    keys = request.query.get_all("tagKeys")
    if not keys:
        raise BadRequestException("The tagKeys parameter is required.", "tagKeys")
    service.untag_resource(request.param("resourceArn"), keys)
    return None


@router.add("ListTagsForResource", "GET", "/v1/tags/{resourceArn}")
def list_tags_for_resource(service: ClusterService, request: MskRequest) -> Body:
    return {"tags": service.list_tags(request.param("resourceArn"))}

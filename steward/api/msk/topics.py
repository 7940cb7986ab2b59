"""Topic routes (MSK's Topics API): a cluster's Kafka topics, listed, described, created,
updated and deleted. `configs` is base64 of the topic's settings, a JSON object or properties
text on the way in and a JSON object of strings on the way out."""

from __future__ import annotations

from steward.api.msk import shapes
from steward.api.msk.pagination import page, with_token
from steward.api.msk.routing import Body, MskRequest, Router
from steward.control.service import ClusterService

router = Router()

MAX_PARTITIONS = 2**31 - 1
"""Kafka counts partitions in an int32 and replicas in an int16."""
MAX_REPLICATION_FACTOR = 2**15 - 1

TOPICS = "/v1/clusters/{clusterArn}/topics"
TOPIC = "/v1/clusters/{clusterArn}/topics/{topicName}"


@router.add("ListTopics", "GET", TOPICS)
def list_topics(service: ClusterService, request: MskRequest) -> Body:
    topics = service.topics.list_topics(
        request.param("clusterArn"), request.query.get("topicNameFilter") or None
    )
    items, token = page(topics, request.query)
    return with_token({"topics": [shapes.topic_info(t) for t in items]}, token)


@router.add("CreateTopic", "POST", TOPICS)
def create_topic(service: ClusterService, request: MskRequest) -> Body:
    body = request.body
    topic = service.topics.create_topic(
        request.param("clusterArn"),
        body.required_string("topicName", min_length=1),
        body.required_integer("partitionCount", minimum=1, maximum=MAX_PARTITIONS),
        body.required_integer("replicationFactor", minimum=1, maximum=MAX_REPLICATION_FACTOR),
        body.blob("configs"),
    )
    return shapes.topic_change(topic)


@router.add("DescribeTopic", "GET", TOPIC)
def describe_topic(service: ClusterService, request: MskRequest) -> Body:
    topic = service.topics.describe_topic(request.param("clusterArn"), request.param("topicName"))
    return shapes.topic_description(topic)


@router.add("UpdateTopic", "PUT", TOPIC)
def update_topic(service: ClusterService, request: MskRequest) -> Body:
    body = request.body
    topic = service.topics.update_topic(
        request.param("clusterArn"),
        request.param("topicName"),
        configs=body.blob("configs"),
        partition_count=body.integer("partitionCount", minimum=1, maximum=MAX_PARTITIONS),
    )
    return shapes.topic_change(topic)


@router.add("DeleteTopic", "DELETE", TOPIC)
def delete_topic(service: ClusterService, request: MskRequest) -> Body:
    topic = service.topics.delete_topic(request.param("clusterArn"), request.param("topicName"))
    return shapes.topic_change(topic)


@router.add("DescribeTopicPartitions", "GET", f"{TOPIC}/partitions")
def describe_topic_partitions(service: ClusterService, request: MskRequest) -> Body:
    topic = service.topics.describe_topic(
        request.param("clusterArn"), request.param("topicName"), with_configs=False
    )
    items, token = page(topic.partitions, request.query)
    return with_token({"partitions": [shapes.topic_partition_info(p) for p in items]}, token)

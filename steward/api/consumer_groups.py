"""Steward's consumer group routes (MSK has none; MSK shows consumer lag only as CloudWatch
metrics): list a cluster's groups with their lag, describe one, reset its offsets, delete it.
Same conventions as the MSK routes: camelCase JSON, MSK's pagination and error shapes."""

from __future__ import annotations

from typing import Any

from steward.api.msk.pagination import page, with_token
from steward.api.msk.routing import Body, MskRequest, Router
from steward.control.consumer_groups import RESET_TARGETS, OffsetReset, ResetTarget
from steward.control.service import ClusterService
from steward.kafka.group_lag import ConsumerGroup

router = Router()

MAX_OFFSET = 2**63 - 1

GROUPS = "/steward/v1/clusters/{clusterArn}/consumer-groups"
GROUP = f"{GROUPS}/{{groupId}}"


@router.add("ListConsumerGroups", "GET", GROUPS)
def list_consumer_groups(service: ClusterService, request: MskRequest) -> Body:
    """Each group's state, protocol, member count and total lag (over its committed
    partitions), by group id; `prefix` filters."""
    arn = request.param("clusterArn")
    groups = service.consumer_groups
    ids, token = page(groups.group_ids(arn, request.query.get("prefix") or None), request.query)
    found = groups.groups(arn, ids) if ids else []
    return with_token({"consumerGroups": [_summary(g) for g in found]}, token)


@router.add("DescribeConsumerGroup", "GET", GROUP)
def describe_consumer_group(service: ClusterService, request: MskRequest) -> Body:
    group = service.consumer_groups.describe_group(
        request.param("clusterArn"), request.param("groupId")
    )
    return {
        "groupId": group.group_id,
        "state": group.state,
        "protocolType": group.protocol_type,
        "groupType": group.group_type,
        "coordinator": group.coordinator,
        "partitionAssignor": group.partition_assignor,
        "members": [
            {
                "memberId": m.member_id,
                "clientId": m.client_id,
                "host": m.host,
                "groupInstanceId": m.group_instance_id,
                "assignedPartitions": [{"topic": t, "partition": p} for t, p in m.assignment],
            }
            for m in group.members
        ],
        "totalLag": group.total_lag,
        "partitions": [
            {
                "topic": p.topic,
                "partition": p.partition,
                "committedOffset": p.committed_offset,
                "logEndOffset": p.log_end_offset,
                "lag": p.lag,
                "memberId": p.member_id,
            }
            for p in group.partitions
        ],
        "topics": [
            {"topic": t.topic, "sumOffsetLag": t.sum_offset_lag, "maxOffsetLag": t.max_offset_lag}
            for t in group.topics
        ],
    }


@router.add("ResetConsumerGroupOffsets", "POST", f"{GROUP}/reset-offsets")
def reset_consumer_group_offsets(service: ClusterService, request: MskRequest) -> Body:
    """Move the group's committed offsets of one topic, as `kafka-consumer-groups
    --reset-offsets` does; `dryRun` only answers where they would go."""
    body = request.body
    target = ResetTarget(
        to=body.required_string("to", choices=RESET_TARGETS),
        timestamp=body.integer("timestamp", minimum=0, maximum=MAX_OFFSET),
        offset=body.integer("offset", minimum=0, maximum=MAX_OFFSET),
    )
    reset = service.consumer_groups.reset_offsets(
        request.param("clusterArn"),
        request.param("groupId"),
        body.required_string("topic", min_length=1),
        target,
        partitions=body.integers("partitions", minimum=0),
        dry_run=bool(body.boolean("dryRun")),
    )
    return _reset(reset)


@router.add("DeleteConsumerGroup", "DELETE", GROUP)
def delete_consumer_group(service: ClusterService, request: MskRequest) -> Body:
    group_id = request.param("groupId")
    service.consumer_groups.delete_group(request.param("clusterArn"), group_id)
    return {"groupId": group_id, "state": "DELETED"}


def _summary(group: ConsumerGroup) -> dict[str, Any]:
    return {
        "groupId": group.group_id,
        "state": group.state,
        "protocolType": group.protocol_type,
        "groupType": group.group_type,
        "members": len(group.members),
        "totalLag": group.total_lag,
    }


def _reset(reset: OffsetReset) -> dict[str, Any]:
    return {
        "groupId": reset.group_id,
        "topic": reset.topic,
        "dryRun": reset.dry_run,
        "partitions": [
            {
                "topic": c.topic,
                "partition": c.partition,
                "previousOffset": c.previous_offset,
                "newOffset": c.new_offset,
            }
            for c in reset.partitions
        ],
    }

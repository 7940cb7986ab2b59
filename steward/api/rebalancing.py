"""Balancing routes: MSK's `UpdateRebalancing` (continuous balancing on or off), and Steward's
own routes to look at one plan (the dry run), run it, and follow it."""

from __future__ import annotations

from typing import Any

from steward.api.msk.routing import Body, MskRequest, Router
from steward.api.msk.shapes import operation_info
from steward.control.rebalancing import STATUSES, RebalancePreview
from steward.control.service import ClusterService

router = Router()

MOVES_SHOWN = 200
"""Moves a plan lists in full (the totals always count every one)."""


@router.add("UpdateRebalancing", "PUT", "/v1/clusters/{clusterArn}/rebalancing")
def update_rebalancing(service: ClusterService, request: MskRequest) -> Body:
    body = request.body
    current_version = body.required_string("currentVersion", min_length=1)
    rebalancing = body.object("rebalancing", required=True)
    assert rebalancing is not None
    status = rebalancing.choice("status", STATUSES, required=True)
    assert status is not None
    threshold = rebalancing.number("imbalanceThreshold")
    cluster = service.rebalancing.update_rebalancing(
        request.param("clusterArn"), current_version, status, threshold
    )
    return {"clusterArn": cluster.arn}


@router.add("GetRebalancePlan", "GET", "/steward/v1/clusters/{clusterArn}/rebalance/plan")
def get_rebalance_plan(service: ClusterService, request: MskRequest) -> Body:
    """The plan a rebalance would carry out now: moves, bytes, time at the throttle, and each
    goal's imbalance before and after. Nothing moves."""
    return preview_json(service.rebalancing.plan(request.param("clusterArn")))


@router.add("StartRebalance", "POST", "/steward/v1/clusters/{clusterArn}/rebalance")
def start_rebalance(service: ClusterService, request: MskRequest) -> Body:
    operation = service.rebalancing.apply(request.param("clusterArn"))
    return {"clusterArn": operation.cluster_arn, "clusterOperationArn": operation.arn}


@router.add("GetRebalanceStatus", "GET", "/steward/v1/clusters/{clusterArn}/rebalance")
def get_rebalance_status(service: ClusterService, request: MskRequest) -> Body:
    status = service.rebalancing.status(request.param("clusterArn"))
    answer: dict[str, Any] = {
        "clusterArn": status.cluster_arn,
        "status": status.status,
        "imbalanceThreshold": status.threshold,
    }
    if status.last is not None:
        answer["lastRebalance"] = {
            **operation_info(status.last),
            "plan": status.last.progress.get("PLAN_BALANCE"),
            "batches": status.last.progress.get("MOVE_IN_BATCHES"),
        }
    return answer


def preview_json(preview: RebalancePreview) -> Body:
    plan = preview.plan
    return {
        "clusterArn": preview.cluster_arn,
        "moves": len(plan.moves),
        "bytesToMove": plan.bytes_moved,
        "leadershipChanges": plan.leadership_changes,
        "estimatedSeconds": round(preview.seconds, 1),
        "throttleBytesPerSecond": preview.throttle_bytes_per_s,
        "goals": [
            {
                "goal": goal.value,
                "before": round(plan.before[goal].relative, 4),
                "after": round(plan.after[goal].relative, 4),
                "met": plan.after[goal].met,
            }
            for goal in plan.before
        ],
        "notes": plan.notes,
        "partitions": [
            {"topic": t, "partition": p, "replicas": r}
            for (t, p), r in sorted(plan.target.items())[:MOVES_SHOWN]
        ],
    }

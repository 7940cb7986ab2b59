"""Steward's route that previews broker autoscaling: what it would decide now (and the metric
values behind it), and what moving to that size, or to a size given, would move and take."""

from __future__ import annotations

from steward.api.msk.routing import Body, MskRequest, Router
from steward.control.scaling import application_autoscaling
from steward.control.service import ClusterService

router = Router()


@router.add("GetBrokerScalingPlan", "GET", "/steward/v1/clusters/{clusterArn}/autoscaling/plan")
def get_broker_scaling_plan(service: ClusterService, request: MskRequest) -> Body:
    brokers = request.query.integer("brokers", 1, 1000)
    decision, preview = application_autoscaling(service).plan_brokers(
        request.param("clusterArn"), brokers
    )
    return {
        "currentBrokers": decision.current,
        "desiredBrokers": decision.desired,
        "direction": decision.direction,
        "readings": [
            {
                "policyName": r.policy,
                "metric": r.metric,
                "targetValue": r.target,
                "latest": round(r.latest, 3),
                "forecast": round(r.forecast, 3),
            }
            for r in decision.readings
        ],
        "plan": {
            "brokers": preview.brokers_to,
            "replicasToMove": preview.replicas_to_move,
            "bytesToMove": preview.bytes_to_move,
            "estimatedSeconds": preview.seconds,
        },
    }

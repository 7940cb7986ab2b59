"""Steward's own route for the IAM sign-ins a cluster's brokers refused, each with the check
that failed (unknown key, bad signature, expired, wrong host, clock skew, missing token, ...):
what MSK answers only with "Access denied". The conventions of Steward's other own routes (ARN
percent-encoded in the path, camelCase JSON, MSK's error shapes)."""

from __future__ import annotations

from steward.api.msk.routing import Body, MskRequest, Router
from steward.api.msk.shapes import timestamp
from steward.control.service import ClusterService

router = Router()


@router.add("ListSignInRefusals", "GET", "/steward/v1/clusters/{clusterArn}/sign-in-refusals")
def list_sign_in_refusals(service: ClusterService, request: MskRequest) -> Body:
    """Every refused IAM sign-in the brokers recorded, oldest first."""
    refusals = service.iam_sign_in_refusals(request.param("clusterArn"))
    return {
        "signInRefusals": [
            {
                "brokerId": r.broker_id,
                "time": timestamp(r.time),
                "mechanism": r.mechanism,
                "reason": r.reason,
                "detail": r.detail,
                "accessKeyId": r.access_key_id,
                "requestId": r.request_id,
            }
            for r in refusals
        ]
    }

"""Steward's route for IAM's audit: GET /steward/v1/iam/audit lists refusals (API requests a
caller's policies did not allow, and refused broker sign-ins), newest first, filtered by
`principal`, `action` and `since` (ISO 8601), at most `maxResults`."""

from __future__ import annotations

from datetime import UTC, datetime

from steward.api.msk.routing import Body, MskRequest, Router
from steward.api.msk.shapes import timestamp
from steward.control.service import ClusterService
from steward.domain.errors import BadRequestException

router = Router()

AUDIT = "/steward/v1/iam/audit"
AUDIT_OPERATION = "ListAuditRecords"
AUDIT_ACTION = "iam:ListAuditRecords"
"""The route is IAM's: its action is an `iam:` one (a Steward addition, as is the route)."""


@router.add(AUDIT_OPERATION, "GET", AUDIT)
def list_audit_records(service: ClusterService, request: MskRequest) -> Body:
    since = request.query.get("since")
    when = None
    if since:
        try:
            when = datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError:
            raise BadRequestException("since must be an ISO 8601 time.", "since") from None
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
    limit = request.query.integer("maxResults", 1, 1000) or 100
    records = service.iam.audit(
        request.query.get("principal"), request.query.get("action"), when, limit
    )
    return {
        "records": [
            {
                "time": timestamp(r.time),
                "source": r.source,
                "principal": r.principal,
                "action": r.action,
                "resource": r.resource,
                "decision": r.decision,
                "reason": r.reason,
            }
            for r in records
        ]
    }

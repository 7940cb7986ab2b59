"""The check after authentication: is the caller's identity allowed the request's action on its
resource? A refusal answers in the service's own words: MSK's ForbiddenException, IAM's and STS's
AccessDenied, Secrets Manager's and Private CA's AccessDeniedException, each naming the principal,
the action, the resource, and whether a policy denied it or none allowed it, as AWS's messages
do. IAM records every refusal in its audit (`steward iam audit`).

With authentication off there is no caller, and nothing is checked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from steward.api.auth.actions import ALWAYS_ALLOWED, RequestedAction, ServiceActions
from steward.api.auth.sigv4 import ReceivedRequest
from steward.domain.errors import ForbiddenException, StewardError, UnauthorizedException
from steward.domain.policy_evaluation import EXPLICIT_DENY, Decision
from steward.iam.errors import AccessDenied
from steward.iam.service import Caller, IdentityAccess

log = logging.getLogger(__name__)


class AccessDeniedException(ForbiddenException):
    """Secrets Manager's and Private CA's refusal of a request no policy allows."""


def denial_message(caller: Caller, requested: RequestedAction, decision: Decision) -> str:
    """AWS's wording: `User: <arn> is not authorized to perform: <action> on resource: <arn>
    because no identity-based policy allows the <action> action` (or `with an explicit deny in
    an identity-based policy`), and which statement denied."""
    head = (
        f"User: {caller.arn} is not authorized to perform: {requested.action} on resource: "
        f"{requested.resource}"
    )
    if decision.outcome == EXPLICIT_DENY:
        return (
            f"{head} with an explicit deny in an identity-based policy ({decision.statement} of "
            f"{decision.policy})"
        )
    return f"{head} because no identity-based policy allows the {requested.action} action"


def denial_error(requested: RequestedAction, message: str) -> StewardError:
    if requested.service in ("iam", "sts"):
        return AccessDenied(message)
    if requested.service in (
        "secretsmanager",
        "acm-pca",
        "lambda",
        "cloudwatch",
        "application-autoscaling",
    ):
        return AccessDeniedException(message)
    return ForbiddenException(message)


def _no_tags(_: str) -> dict[str, str]:
    return {}


@dataclass
class RequestAuthorizer:
    iam: IdentityAccess
    services: Sequence[ServiceActions]
    resource_tags: Callable[[str], dict[str, str]] = field(default=_no_tags)
    """The tags of an MSK resource, for `aws:ResourceTag/<key>` conditions."""

    def authorize(
        self, request: ReceivedRequest, access_key_id: str, client_host: str, secure: bool
    ) -> Caller:
        """The caller of `request` once its policies allow it; raises the service's refusal."""
        caller = self.iam.caller_of(access_key_id)
        if caller is None:
            raise UnauthorizedException(
                f"The security token included in the request is invalid: access key "
                f"{access_key_id} belongs to no user or role."
            )
        requested = self.requested(request, caller)
        if requested is None or requested.action in ALWAYS_ALLOWED:
            return caller  # a path no service has: its route answers NotFound
        context = {"aws:SecureTransport": "true" if secure else "false"}
        if client_host:
            context["aws:SourceIp"] = client_host
        if requested.service == "kafka" and requested.resource.startswith("arn:"):
            for key, value in self.resource_tags(requested.resource).items():
                context[f"aws:ResourceTag/{key}"] = value
        decision = self.iam.authorize(caller, requested.action, requested.resource, context)
        if not decision.allowed:
            raise denial_error(requested, denial_message(caller, requested, decision))
        return caller

    def requested(self, request: ReceivedRequest, caller: Caller) -> RequestedAction | None:
        user_arn = caller.arn if caller.user_name else None
        for service in self.services:
            found = service.action_of(request, user_arn)
            if found is not None:
                return found
        return None

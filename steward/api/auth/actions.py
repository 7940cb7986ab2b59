"""Which IAM action, on which resource, each request to Steward's API is: what the caller's
policies are asked about before the request reaches its route.

Each service on the endpoint declares its requests' actions here, as one `ServiceActions`:

- MSK's routes (and Steward's own routes beside them): `kafka:<Operation>` (the operation names of
  the MSK router, `steward.api.msk.app.msk_router`, which are MSK's IAM action names; Steward's own
  routes, such as `GetClusterHealth` or `PutAccessPolicy`, are `kafka:` actions of the same
  names), on the ARN the path names (cluster, configuration, operation, tagged resource), else `*`;
- Secrets Manager: `secretsmanager:<Operation>` of `X-Amz-Target`, on the secret named by
  `SecretId` (an ARN, or a name looked up);
- AWS Private CA: `acm-pca:<Operation>`, on `CertificateAuthorityArn`;
- Application Auto Scaling: `application-autoscaling:<Operation>`, on `*` (as in AWS, whose
  scaling actions take no resource-level permissions);
- IAM: `iam:<Action>` on the user, role or policy the request names (a key operation without a
  user names the caller's own); STS: `sts:<Action>` (AssumeRole on the role; GetCallerIdentity
  needs no permission, as in AWS).

A service added later (CloudWatch, Lambda) adds its `ServiceActions` to `service_actions`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from steward.api.auth.sigv4 import ReceivedRequest
from steward.api.msk.routing import Router
from steward.iam import arns
from steward.wire.query_protocol import read_form, signing_service

ALWAYS_ALLOWED = frozenset({"sts:GetCallerIdentity"})
"""Actions AWS lets every authenticated caller perform, whatever its policies say."""

MSK_RESOURCE_PARAMS = ("clusterArn", "arn", "resourceArn", "clusterOperationArn")
"""Path parameters that name the resource of an MSK route, in the order looked for."""


@dataclass(frozen=True)
class RequestedAction:
    service: str
    """The signing name of the service: kafka, secretsmanager, acm-pca, iam, sts."""
    action: str
    """`kafka:DeleteCluster`."""
    resource: str
    """An ARN, or `*`."""


class ServiceActions(Protocol):
    def action_of(
        self, request: ReceivedRequest, caller_user_arn: str | None
    ) -> RequestedAction | None:
        """The request's action when it is this service's; None when it is another's."""
        ...


def _target(request: ReceivedRequest) -> str:
    return request.header("x-amz-target") or ""


def _json_body(request: ReceivedRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


@dataclass
class TargetActions:
    """A JSON 1.1 service (`X-Amz-Target: <prefix>.<Operation>`): `service:<Operation>` on the
    ARN `resource_of` finds in the body."""

    service: str
    target_prefix: str
    resource_of: Callable[[dict[str, Any]], str]

    def action_of(
        self, request: ReceivedRequest, caller_user_arn: str | None
    ) -> RequestedAction | None:
        target = _target(request)
        if not target.startswith(self.target_prefix + "."):
            return None
        operation = target.split(".", 1)[1]
        return RequestedAction(
            self.service, f"{self.service}:{operation}", self.resource_of(_json_body(request))
        )


@dataclass
class QueryActions:
    """A Query service (form `POST /`, `Action=...`), told apart by its signing name."""

    service: str
    resource_of: Callable[[str, Mapping[str, str], str | None], str]

    def action_of(
        self, request: ReceivedRequest, caller_user_arn: str | None
    ) -> RequestedAction | None:
        if request.method != "POST" or request.raw_path != b"/":
            return None
        authorization = request.header("authorization") or ""
        scope = {"headers": [(b"authorization", authorization.encode("latin-1"))]}
        if signing_service(scope) != self.service:
            return None
        form = read_form(request.body)
        action = form.get("Action", "")
        return RequestedAction(
            self.service,
            f"{self.service}:{action}",
            self.resource_of(action, form, caller_user_arn),
        )


@dataclass
class RouteActions:
    """MSK's REST routes (and Steward's own): `kafka:<Operation>` on the ARN in the path."""

    router: Router
    overrides: Mapping[str, str]
    """Operation -> IAM action, where AWS names the action otherwise than the operation."""

    def action_of(
        self, request: ReceivedRequest, caller_user_arn: str | None
    ) -> RequestedAction | None:
        path = request.raw_path.decode("latin-1")
        found = self.router.resolve(request.method, path)
        if found is None:
            return None
        route, params = found
        resource = next((params[p] for p in MSK_RESOURCE_PARAMS if p in params), "*")
        return RequestedAction("kafka", self.action_name(route.operation), resource)

    def action_name(self, operation: str) -> str:
        return self.overrides.get(operation, f"kafka:{operation}")

    def table(self) -> list[tuple[str, str, str, str]]:
        """(method, path, action, resource parameter) of every route: docs/iam.md's table."""
        rows = []
        for route in self.router.routes:
            params = [s[1:-1] for s in route.segments if s.startswith("{")]
            resource = next((p for p in MSK_RESOURCE_PARAMS if p in params), "*")
            rows.append((route.method, route.template, self.action_name(route.operation), resource))
        return rows


MSK_ACTION_OVERRIDES: dict[str, str] = {"ListAuditRecords": "iam:ListAuditRecords"}
"""Where a route's action is not `kafka:<Operation>`: MSK's own are all named as their
operations; Steward's IAM audit route is IAM's."""


def iam_resource(account: str) -> Callable[[str, Mapping[str, str], str | None], str]:
    """The resource of an IAM action: the user, role or policy it names."""

    def resource_of(action: str, form: Mapping[str, str], caller_user_arn: str | None) -> str:
        if form.get("PolicyArn"):
            return form["PolicyArn"]
        if action == "CreatePolicy" and form.get("PolicyName"):
            return arns.policy_arn(account, form["PolicyName"], form.get("Path", "/"))
        if form.get("RoleName"):
            return arns.role_arn(account, form["RoleName"], form.get("Path", "/"))
        if form.get("UserName"):
            return arns.user_arn(account, form["UserName"], form.get("Path", "/"))
        if "AccessKey" in action or action in ("GetUser",):
            return caller_user_arn or "*"
        return "*"

    return resource_of


def sts_resource(action: str, form: Mapping[str, str], caller_user_arn: str | None) -> str:
    return form.get("RoleArn", "*") if action == "AssumeRole" else "*"


def service_actions(
    router: Router, account: str, secret_arn: Callable[[str], str | None]
) -> list[ServiceActions]:
    """Every service's actions, looked through in order."""

    def secret_resource(body: dict[str, Any]) -> str:
        secret_id = body.get("SecretId") or body.get("Name")
        if not isinstance(secret_id, str) or not secret_id:
            return "*"
        if secret_id.startswith("arn:"):
            return secret_id
        return secret_arn(secret_id) or "*"

    def ca_resource(body: dict[str, Any]) -> str:
        arn = body.get("CertificateAuthorityArn")
        return arn if isinstance(arn, str) and arn else "*"

    return [
        TargetActions("secretsmanager", "secretsmanager", secret_resource),
        TargetActions("acm-pca", "ACMPrivateCA", ca_resource),
        TargetActions("application-autoscaling", "AnyScaleFrontendService", lambda _body: "*"),
        QueryActions("iam", iam_resource(account)),
        QueryActions("sts", sts_resource),
        RouteActions(router, MSK_ACTION_OVERRIDES),
    ]

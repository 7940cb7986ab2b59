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
- CloudWatch: `cloudwatch:<Operation>` (whichever of its three protocols carries it), on the
  alarm's ARN when the request names one alarm, else `*`;
- Lambda: `lambda:<Operation>` of its dated path (`steward.functions.api.ROUTES`), on the
  function's or event-source mapping's ARN;
- MSK Connect: `kafkaconnect:<Operation>`, on the connector, custom plugin or worker
  configuration ARN the path names, else `*`;
- IAM: `iam:<Action>` on the user, role or policy the request names (a key operation without a
  user names the caller's own); STS: `sts:<Action>` (AssumeRole on the role; GetCallerIdentity
  needs no permission, as in AWS).

A service added later adds its `ServiceActions` to `service_actions`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import cbor2

from steward.api.auth.sigv4 import ReceivedRequest
from steward.api.msk.routing import Router
from steward.cloudwatch.api import MODEL_NAME as CLOUDWATCH_MODEL
from steward.cloudwatch.api import SIGNING_NAME as CLOUDWATCH_SIGNING_NAME
from steward.cloudwatch.api import TARGET_PREFIX as CLOUDWATCH_TARGET
from steward.connect.api import is_kafka_connect_request, match_route
from steward.functions.api import LAMBDA_PATH, path_segments, resolve
from steward.iam import arns
from steward.wire.query_protocol import read_form, service_model, signing_service
from steward.wire.rpcv2_cbor import operation_path

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


@dataclass
class LambdaActions:
    """Lambda's rest-json paths: `lambda:<Operation>` on the function (or event-source mapping)
    the path names, or for a create the one the body names."""

    region: str
    account: str

    def action_of(
        self, request: ReceivedRequest, caller_user_arn: str | None
    ) -> RequestedAction | None:
        path = request.raw_path.decode("latin-1")
        if not LAMBDA_PATH.match(path):
            return None
        found = resolve(request.method, path_segments(path))
        if found is None:
            return None
        operation, name = found
        if not name and operation == "CreateFunction":
            name = str(_json_body(request).get("FunctionName") or "")
        return RequestedAction("lambda", f"lambda:{operation}", self.resource(operation, name))

    def resource(self, operation: str, name: str) -> str:
        if not name:
            return "*"
        if name.startswith("arn:"):
            return name
        kind = "event-source-mapping" if "EventSourceMapping" in operation else "function"
        return f"arn:aws:lambda:{self.region}:{self.account}:{kind}:{name}"


@dataclass
class CloudWatchActions:
    """CloudWatch's requests, in RPC v2 CBOR (by path), JSON 1.0 (by target) or Query (a form
    post signed for `monitoring`): `cloudwatch:<Operation>`."""

    region: str
    account: str

    def action_of(
        self, request: ReceivedRequest, caller_user_arn: str | None
    ) -> RequestedAction | None:
        found = self._operation(request)
        if found is None:
            return None
        operation, members = found
        names = members.get("AlarmNames")
        name = members.get("AlarmName")
        if name is None and isinstance(names, list) and len(names) == 1:
            name = names[0]
        resource = "*"
        if isinstance(name, str) and name:
            resource = f"arn:aws:cloudwatch:{self.region}:{self.account}:alarm:{name}"
        return RequestedAction("cloudwatch", f"cloudwatch:{operation}", resource)

    @staticmethod
    def _operation(request: ReceivedRequest) -> tuple[str, dict[str, Any]] | None:
        path = request.raw_path.decode("latin-1")
        prefix = operation_path(service_model(CLOUDWATCH_MODEL))
        if path.startswith(prefix):
            try:
                members = cbor2.loads(request.body) if request.body else {}
            except (cbor2.CBORDecodeError, ValueError):
                members = {}
            return path[len(prefix) :], members if isinstance(members, dict) else {}
        target = _target(request)
        if path == "/" and target.startswith(CLOUDWATCH_TARGET):
            return target[len(CLOUDWATCH_TARGET) :], _json_body(request)
        authorization = request.header("authorization") or ""
        scope = {"headers": [(b"authorization", authorization.encode("latin-1"))]}
        if path == "/" and signing_service(scope) == CLOUDWATCH_SIGNING_NAME:
            form = read_form(request.body)
            alarms = [v for k, v in form.items() if k.startswith("AlarmNames.member.")]
            members: dict[str, Any] = {"AlarmNames": alarms} if alarms else {}
            if form.get("AlarmName"):
                members["AlarmName"] = form["AlarmName"]
            return form.get("Action", ""), members
        return None


class KafkaConnectActions:
    """MSK Connect's REST routes (`steward.connect.api`): `kafkaconnect:<Operation>` on the ARN
    in the path. Looked at before MSK's, whose `/v1/tags/{resourceArn}` has the same shape."""

    def action_of(
        self, request: ReceivedRequest, caller_user_arn: str | None
    ) -> RequestedAction | None:
        path = request.raw_path.decode("latin-1")
        if not is_kafka_connect_request({"path": path}):
            return None
        found = match_route(request.method, path)
        if found is None:
            return None
        operation, _, params = found
        return RequestedAction("kafkaconnect", f"kafkaconnect:{operation}", params.get("arn", "*"))


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
    router: Router, region: str, account: str, secret_arn: Callable[[str], str | None]
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
        LambdaActions(region, account),
        CloudWatchActions(region, account),
        KafkaConnectActions(),
        RouteActions(router, MSK_ACTION_OVERRIDES),
    ]

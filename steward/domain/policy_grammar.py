"""IAM's policy language, read once for every use Steward has of it: identity policies of IAM
users and roles (evaluated on each API request, `steward.domain.policy_evaluation`), roles' trust
policies, and MSK's `kafka-cluster:*` documents compiled to Kafka ACLs
(`steward.domain.access_policies`, which narrows this grammar to what ACLs can say).

A document is `{"Version", "Id"?, "Statement": object | [object, ...]}`; a statement has an
`Effect` (Allow or Deny), exactly one of `Action`/`NotAction`, at most one of
`Resource`/`NotResource` (an identity policy needs one: `require_resource`), an optional
`Principal`/`NotPrincipal` (trust and resource policies) and `Condition` (operator -> key ->
values). Anything else is refused, with the statement it is in.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from typing import Any

VERSIONS = ("2012-10-17", "2008-10-17")
_DOCUMENT_KEYS = {"Version", "Id", "Statement"}
_STATEMENT_KEYS = {
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Principal",
    "NotPrincipal",
    "Condition",
}


class PolicyError(ValueError):
    """A policy document IAM would refuse, or one that cannot be used as asked, and why."""


@dataclass(frozen=True)
class Statement:
    index: int
    effect: str
    """Allow or Deny."""
    sid: str | None = None
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    principals: dict[str, tuple[str, ...]] | None = None
    """`Principal` by kind (`AWS`, `Service`, `Federated`, or `*` for `"Principal": "*"`)."""
    not_principals: dict[str, tuple[str, ...]] | None = None
    conditions: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    """Operator -> condition key -> values, as written."""
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def allow(self) -> bool:
        return self.effect == "Allow"

    @property
    def name(self) -> str:
        """How a message names the statement: its Sid, else its position (from 0)."""
        return f"statement {self.sid!r}" if self.sid else f"statement {self.index}"


@dataclass(frozen=True)
class Policy:
    version: str
    statements: tuple[Statement, ...]
    id: str | None = None


def parse_document(document: str | dict[str, Any]) -> dict[str, Any]:
    """The policy as a JSON object; PolicyError when it is not one."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError as error:
            raise PolicyError(f"The policy document is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise PolicyError("The policy document must be a JSON object.")
    return document


def parse_policy(document: str | dict[str, Any], require_resource: bool = True) -> Policy:
    """The statements of `document`; PolicyError naming what is wrong."""
    parsed = parse_document(document)
    version = parsed.get("Version", "2012-10-17")
    if version not in VERSIONS:
        raise PolicyError(f"Version {version!r} is not an IAM policy language version.")
    unknown = sorted(set(parsed) - _DOCUMENT_KEYS)
    if unknown:
        raise PolicyError(f"The policy has members IAM does not know: {', '.join(unknown)}.")
    raw = parsed.get("Statement")
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise PolicyError("The policy needs a Statement: an object or a non-empty list.")
    statements = tuple(_statement(item, i, require_resource) for i, item in enumerate(raw))
    sids = [s.sid for s in statements if s.sid]
    if len(sids) != len(set(sids)):
        raise PolicyError("Statement IDs (SID) in a single policy must be unique.")
    policy_id = parsed.get("Id")
    return Policy(version, statements, policy_id if isinstance(policy_id, str) else None)


def _statement(item: Any, index: int, require_resource: bool) -> Statement:
    where = f"Statement {index}"
    if not isinstance(item, dict):
        raise PolicyError(f"{where} must be an object.")
    unknown = sorted(set(item) - _STATEMENT_KEYS)
    if unknown:
        raise PolicyError(f"{where} has members IAM does not know: {', '.join(unknown)}.")
    sid = item.get("Sid")
    if sid is not None and (not isinstance(sid, str) or not re.fullmatch(r"[A-Za-z0-9]*", sid)):
        raise PolicyError(f"{where}: Sid must be letters and digits.")
    effect = item.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f"{where}: Effect must be Allow or Deny.")
    if ("Action" in item) == ("NotAction" in item):
        raise PolicyError(f"{where} needs exactly one of Action and NotAction.")
    if "Resource" in item and "NotResource" in item:
        raise PolicyError(f"{where} has both Resource and NotResource.")
    if require_resource and "Resource" not in item and "NotResource" not in item:
        raise PolicyError(f"{where} needs a Resource or NotResource.")
    if "Principal" in item and "NotPrincipal" in item:
        raise PolicyError(f"{where} has both Principal and NotPrincipal.")
    actions = _strings(item, "Action", where)
    not_actions = _strings(item, "NotAction", where)
    for key, patterns in (("Action", actions), ("NotAction", not_actions)):
        for pattern in patterns:
            if pattern != "*" and not re.fullmatch(r"[A-Za-z0-9*?-]+:[A-Za-z0-9*?]*", pattern):
                raise PolicyError(f"{where}: {key} {pattern!r} is not of the form service:Action.")
    return Statement(
        index=index,
        effect=effect,
        sid=sid,
        actions=actions,
        not_actions=not_actions,
        resources=_strings(item, "Resource", where),
        not_resources=_strings(item, "NotResource", where),
        principals=_principals(item.get("Principal"), where) if "Principal" in item else None,
        not_principals=(
            _principals(item.get("NotPrincipal"), where) if "NotPrincipal" in item else None
        ),
        conditions=_conditions(item.get("Condition"), where) if "Condition" in item else {},
        raw=item,
    )


def _strings(item: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    if key not in item:
        return ()
    value = item[key]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise PolicyError(f"{where}: {key} must be a string or a non-empty list of strings.")
    return tuple(value)


def _principals(value: Any, where: str) -> dict[str, tuple[str, ...]]:
    if value == "*":
        return {"*": ("*",)}
    if not isinstance(value, dict) or not value:
        raise PolicyError(f'{where}: Principal must be "*" or an object such as {{"AWS": ...}}.')
    kinds: dict[str, tuple[str, ...]] = {}
    for kind, names in value.items():
        if kind not in ("AWS", "Service", "Federated", "CanonicalUser"):
            raise PolicyError(f"{where}: Principal kind {kind!r} is not one IAM knows.")
        kinds[kind] = _strings({"v": names}, "v", f"{where}: Principal {kind}")
    return kinds


def _conditions(value: Any, where: str) -> dict[str, dict[str, tuple[str, ...]]]:
    if not isinstance(value, dict):
        raise PolicyError(f"{where}: Condition must be an object of operators.")
    conditions: dict[str, dict[str, tuple[str, ...]]] = {}
    for operator, keys in value.items():
        if not isinstance(keys, dict) or not keys:
            raise PolicyError(f"{where}: Condition {operator} must map keys to values.")
        values: dict[str, tuple[str, ...]] = {}
        for key, given in keys.items():
            listed = given if isinstance(given, list) else [given]
            if not listed or not all(isinstance(v, (str, bool, int, float)) for v in listed):
                raise PolicyError(f"{where}: Condition {operator} {key} has no usable value.")
            values[key] = tuple(_condition_text(v) for v in listed)
        conditions[operator] = values
    return conditions


def _condition_text(value: str | bool | float) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def wildcard(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    """IAM's wildcards: `*` any run of characters (a `/` too), `?` one character."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def matches_action(pattern: str, action: str) -> bool:
    """Whether action pattern `pattern` (`kafka:Describe*`, `*`) names `action`; as in IAM,
    case does not matter."""
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def matches_resource(pattern: str, resource: str) -> bool:
    """Whether resource pattern `pattern` (an ARN with `*`/`?`, or `*`) names `resource`; ARNs
    match case-sensitively, as in IAM."""
    return pattern == "*" or bool(wildcard(pattern).match(resource))


def action_services(statement: Statement) -> set[str]:
    """The services (lower-case) whose actions the statement's `Action` patterns can name;
    `*` for a pattern that names every service."""
    services = set()
    for pattern in statement.actions:
        service = pattern.partition(":")[0].lower() if pattern != "*" else "*"
        services.add(service)
    return services

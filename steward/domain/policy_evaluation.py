"""Deciding a request against identity policies as IAM does: a statement that matches and denies
wins over everything; else one that matches and allows lets the request pass; else it is denied
implicitly. A statement matches when its Action (or NotAction) names the action, its Resource (or
NotResource) the resource, and every condition holds for the request's context keys.

The decision says why, naming the policy and statement that decided (or that none allowed), for
the refusal message and the audit record.

Conditions: the String*, Arn*, Numeric*, Date*, Bool, IpAddress/NotIpAddress and Null operators,
each with `...IfExists`, and the `ForAnyValue:`/`ForAllValues:` set qualifiers. Keys are matched
case-insensitively, values of String/Arn operators case-sensitively (but for `...IgnoreCase`).
Policy variables such as `${aws:username}` in resources and condition values are replaced by the
request's context values.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from steward.domain.policy_grammar import (
    Policy,
    PolicyError,
    Statement,
    matches_action,
    matches_resource,
    wildcard,
)

ContextValue = str | Sequence[str]
Context = Mapping[str, ContextValue]
"""Condition keys of one request (any case) -> value or values, as strings."""

ALLOWED = "Allow"
IMPLICIT_DENY = "ImplicitDeny"
EXPLICIT_DENY = "ExplicitDeny"


@dataclass(frozen=True)
class NamedPolicy:
    """A policy as the caller holds it: `name` says which it is in messages (a managed policy's
    ARN, or `inline policy <name> of user <user>`)."""

    name: str
    policy: Policy


@dataclass(frozen=True)
class Decision:
    outcome: str
    """Allow, ExplicitDeny or ImplicitDeny."""
    policy: str | None = None
    """The policy whose statement decided; None for an implicit deny."""
    statement: str | None = None

    @property
    def allowed(self) -> bool:
        return self.outcome == ALLOWED

    @property
    def reason(self) -> str:
        """Why, in words (for refusals and the audit)."""
        if self.outcome == EXPLICIT_DENY:
            return f"explicitly denied by {self.statement} of {self.policy}"
        if self.outcome == ALLOWED:
            return f"allowed by {self.statement} of {self.policy}"
        return "no identity-based policy allows the action"


def evaluate(
    policies: Sequence[NamedPolicy], action: str, resource: str, context: Context
) -> Decision:
    """The decision of `policies` on `action` (`kafka:DeleteCluster`) on `resource` (an ARN or
    `*`) in `context`."""
    keys = {k.lower(): v for k, v in context.items()}
    allowed: Decision | None = None
    for named in policies:
        for statement in named.policy.statements:
            if not statement_matches(statement, action, resource, keys):
                continue
            if not statement.allow:
                return Decision(EXPLICIT_DENY, named.name, statement.name)
            if allowed is None:
                allowed = Decision(ALLOWED, named.name, statement.name)
    return allowed or Decision(IMPLICIT_DENY)


def statement_matches(
    statement: Statement, action: str, resource: str, context: Mapping[str, ContextValue]
) -> bool:
    """Whether `statement` applies to the request (`context` keys lower-case)."""
    if statement.actions:
        if not any(matches_action(p, action) for p in statement.actions):
            return False
    elif any(matches_action(p, action) for p in statement.not_actions):
        return False
    if statement.resources:
        patterns = [substitute(p, context) for p in statement.resources]
        if not any(matches_resource(p, resource) for p in patterns):
            return False
    elif statement.not_resources:
        patterns = [substitute(p, context) for p in statement.not_resources]
        if any(matches_resource(p, resource) for p in patterns):
            return False
    return conditions_hold(statement.conditions, context)


_VARIABLE = re.compile(r"\$\{([^}]+)\}")


def substitute(text: str, context: Mapping[str, ContextValue]) -> str:
    """`text` with each policy variable `${key}` replaced by the context's value (`${*}`, `${?}`
    and `${$}` are the literal characters, as in IAM); a key the request has no single value for
    is left as it is, so it matches nothing."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in ("*", "?", "$"):
            return name
        value = context.get(name.lower())
        return value if isinstance(value, str) else match.group(0)

    return _VARIABLE.sub(replace, text)


def conditions_hold(
    conditions: Mapping[str, Mapping[str, Sequence[str]]], context: Mapping[str, ContextValue]
) -> bool:
    """Every operator's every key holds (IAM ANDs them; a key's values are ORed)."""
    for operator, keys in conditions.items():
        for key, values in keys.items():
            if not _holds(operator, key.lower(), [substitute(v, context) for v in values], context):
                return False
    return True


def _holds(
    operator: str, key: str, values: Sequence[str], context: Mapping[str, ContextValue]
) -> bool:
    qualifier, _, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists")
    base = name.removesuffix("IfExists")
    present = context.get(key)
    if base == "Null":
        wanted = values[0].lower() == "true"
        return (present is None) == wanted
    if present is None:
        return if_exists or _negated(base)
    given = [present] if isinstance(present, str) else list(present)
    test = _OPERATORS.get(base)
    if test is None:
        raise PolicyError(f"Condition operator {operator} is not one IAM knows.")
    negated = _negated(base)
    if qualifier == "ForAllValues":
        return all(_one(test, negated, v, values) for v in given)
    if qualifier == "ForAnyValue" or len(given) > 1:
        return any(_one(test, negated, v, values) for v in given)
    return _one(test, negated, given[0], values)


def _negated(base: str) -> bool:
    return "Not" in base and base not in ("Null",)


def _one(test: _Test, negated: bool, value: str, wanted: Sequence[str]) -> bool:
    """A negated operator holds when the value matches none of the wanted ones; another when it
    matches any."""
    try:
        hits = any(test(value, w) for w in wanted)
    except ValueError:
        return False
    return not hits if negated else hits


class _Test:
    """A comparison of a request's value with one of the condition's."""

    def __init__(self, compare: object) -> None:
        self.compare = compare

    def __call__(self, value: str, wanted: str) -> bool:
        return bool(self.compare(value, wanted))  # type: ignore[operator]


def _number(text: str) -> float:
    return float(text)


def _date(text: str) -> datetime:
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _in_network(value: str, network: str) -> bool:
    return ipaddress.ip_address(value) in ipaddress.ip_network(network, strict=False)


_OPERATORS: dict[str, _Test] = {
    "StringEquals": _Test(lambda v, w: v == w),
    "StringNotEquals": _Test(lambda v, w: v == w),
    "StringEqualsIgnoreCase": _Test(lambda v, w: v.lower() == w.lower()),
    "StringNotEqualsIgnoreCase": _Test(lambda v, w: v.lower() == w.lower()),
    "StringLike": _Test(lambda v, w: bool(wildcard(w).match(v))),
    "StringNotLike": _Test(lambda v, w: bool(wildcard(w).match(v))),
    "ArnEquals": _Test(lambda v, w: bool(wildcard(w).match(v))),
    "ArnNotEquals": _Test(lambda v, w: bool(wildcard(w).match(v))),
    "ArnLike": _Test(lambda v, w: bool(wildcard(w).match(v))),
    "ArnNotLike": _Test(lambda v, w: bool(wildcard(w).match(v))),
    "NumericEquals": _Test(lambda v, w: _number(v) == _number(w)),
    "NumericNotEquals": _Test(lambda v, w: _number(v) == _number(w)),
    "NumericLessThan": _Test(lambda v, w: _number(v) < _number(w)),
    "NumericLessThanEquals": _Test(lambda v, w: _number(v) <= _number(w)),
    "NumericGreaterThan": _Test(lambda v, w: _number(v) > _number(w)),
    "NumericGreaterThanEquals": _Test(lambda v, w: _number(v) >= _number(w)),
    "DateEquals": _Test(lambda v, w: _date(v) == _date(w)),
    "DateNotEquals": _Test(lambda v, w: _date(v) == _date(w)),
    "DateLessThan": _Test(lambda v, w: _date(v) < _date(w)),
    "DateLessThanEquals": _Test(lambda v, w: _date(v) <= _date(w)),
    "DateGreaterThan": _Test(lambda v, w: _date(v) > _date(w)),
    "DateGreaterThanEquals": _Test(lambda v, w: _date(v) >= _date(w)),
    "Bool": _Test(lambda v, w: v.lower() == w.lower()),
    "IpAddress": _Test(_in_network),
    "NotIpAddress": _Test(_in_network),
}
"""Each operator's comparison; the `Not` ones hold where it fails for every value."""

OPERATORS = frozenset(_OPERATORS) | {"Null"}


def check_conditions(policy: Policy) -> None:
    """PolicyError when a statement uses a condition operator IAM does not have."""
    for statement in policy.statements:
        for operator in statement.conditions:
            qualifier, _, name = operator.rpartition(":")
            if qualifier not in ("", "ForAnyValue", "ForAllValues"):
                raise PolicyError(
                    f"{statement.name}: {operator} is not a condition operator IAM knows."
                )
            base = name.removesuffix("IfExists")
            if base not in OPERATORS or (base == "Null" and name != "Null"):
                raise PolicyError(
                    f"{statement.name}: {operator} is not a condition operator IAM knows."
                )

"""A secret's resource-based policy (PutResourcePolicy, GetResourcePolicy, DeleteResourcePolicy,
ValidateResourcePolicy). Steward records the policy and checks it as Secrets Manager does before
keeping it: its syntax (an IAM policy document: JSON with a Statement of Effect, Principal and
Action or NotAction) and whether it grants broad access (an Allow to every principal, `*`, without
a Condition). Steward's API admits callers by their access keys: the policy is kept for the tools
that read it back, not enforced.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from steward.secrets.errors import InvalidParameterException, MalformedPolicyDocumentException

MAX_POLICY_LENGTH = 20480
DEFAULT_POLICY_NAME = "default"
POLICY_VERSIONS = ("2012-10-17", "2008-10-17")
BROAD_ACCESS_CHECK = "BROAD_ACCESS"
"""The CheckName of ValidateResourcePolicy's finding for a policy open to every principal."""


@dataclass(frozen=True)
class ValidationError:
    check_name: str
    message: str


def check_policy_name(name: str | None) -> str:
    """The policy a request names: Secrets Manager keeps one, `default`."""
    if name is None or name == DEFAULT_POLICY_NAME:
        return DEFAULT_POLICY_NAME
    raise InvalidParameterException(
        f"A secret has one resource policy, named {DEFAULT_POLICY_NAME}: there is no {name}."
    )


def _malformed(reason: str) -> MalformedPolicyDocumentException:
    return MalformedPolicyDocumentException(f"The resource policy has syntax errors: {reason}")


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def parse_policy(text: str) -> dict[str, Any]:
    """The policy document; MalformedPolicyDocumentException when it is not one."""
    if not 1 <= len(text) <= MAX_POLICY_LENGTH:
        raise InvalidParameterException(
            f"ResourcePolicy is 1 to {MAX_POLICY_LENGTH} characters long."
        )
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        raise _malformed("it is not JSON.") from None
    if not isinstance(document, dict):
        raise _malformed("it is not a JSON object.")
    version = document.get("Version")
    if version is not None and version not in POLICY_VERSIONS:
        raise _malformed(f"Version must be one of {', '.join(POLICY_VERSIONS)}.")
    statements = document.get("Statement")
    if not statements:
        raise _malformed("it has no Statement.")
    for statement in _listed(statements):
        if not isinstance(statement, dict):
            raise _malformed("each Statement is a JSON object.")
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise _malformed("each Statement has an Effect, Allow or Deny.")
        if "Action" not in statement and "NotAction" not in statement:
            raise _malformed("each Statement has an Action or a NotAction.")
        if "Principal" not in statement and "NotPrincipal" not in statement:
            raise _malformed("each Statement of a resource policy has a Principal.")
    return document


def _names_everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return any("*" in _listed(value) for value in principal.values())
    return False


def broad_access(document: dict[str, Any]) -> list[ValidationError]:
    """What in a (parsed) policy grants access to every principal."""
    return [
        ValidationError(
            BROAD_ACCESS_CHECK,
            "A statement allows access to every principal (*) without a Condition.",
        )
        for statement in _listed(document["Statement"])
        if statement["Effect"] == "Allow"
        and _names_everyone(statement.get("Principal"))
        and not statement.get("Condition")
    ]

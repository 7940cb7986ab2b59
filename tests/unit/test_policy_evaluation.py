"""IAM's evaluation of identity policies: explicit deny, then allow, else implicit deny; action
and resource wildcards; NotAction and NotResource; conditions with IfExists, Null, set
qualifiers and policy variables."""

from __future__ import annotations

from typing import Any

import pytest

from steward.domain.policy_evaluation import NamedPolicy, check_conditions, evaluate
from steward.domain.policy_grammar import PolicyError, parse_policy

ARN = "arn:aws:kafka:us-east-1:1:cluster/orders/x-1"


def policies(*statements: dict[str, Any]) -> list[NamedPolicy]:
    return [
        NamedPolicy("p", parse_policy({"Version": "2012-10-17", "Statement": list(statements)}))
    ]


def test_explicit_deny_then_allow_then_implicit_deny() -> None:
    both = policies(
        {"Effect": "Allow", "Action": "kafka:*", "Resource": "*"},
        {"Sid": "NoDelete", "Effect": "Deny", "Action": "kafka:Delete*", "Resource": ARN},
    )
    assert evaluate(both, "kafka:DescribeCluster", ARN, {}).allowed
    denied = evaluate(both, "kafka:DeleteCluster", ARN, {})
    assert denied.outcome == "ExplicitDeny" and "'NoDelete'" in denied.reason
    assert evaluate(both, "iam:ListUsers", "*", {}).outcome == "ImplicitDeny"


def test_not_action_and_not_resource() -> None:
    found = policies(
        {"Effect": "Allow", "NotAction": "kafka:Delete*", "Resource": "*"},
        {"Effect": "Deny", "Action": "*", "NotResource": "arn:aws:kafka:*:*:cluster/orders/*"},
    )
    assert evaluate(found, "kafka:DescribeCluster", ARN, {}).allowed
    assert not evaluate(found, "kafka:DeleteCluster", ARN, {}).allowed
    other = ARN.replace("orders", "billing")
    assert evaluate(found, "kafka:DescribeCluster", other, {}).outcome == "ExplicitDeny"


@pytest.mark.parametrize(
    ("condition", "context", "allowed"),
    [
        ({"StringEquals": {"aws:username": "alice"}}, {"aws:username": "alice"}, True),
        ({"StringEquals": {"AWS:UserName": "alice"}}, {"aws:username": "bob"}, False),
        ({"StringNotEquals": {"aws:username": "alice"}}, {}, True),
        ({"StringEqualsIfExists": {"aws:username": "alice"}}, {}, True),
        ({"StringEquals": {"aws:username": "alice"}}, {}, False),
        (
            {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/a*"}},
            {"aws:PrincipalArn": "arn:aws:iam::1:user/al"},
            True,
        ),
        (
            {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::1:role/*"}},
            {"aws:PrincipalArn": "arn:aws:iam::1:user/al"},
            False,
        ),
        ({"NumericLessThan": {"aws:EpochTime": "100"}}, {"aws:EpochTime": "99"}, True),
        (
            {"DateGreaterThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}},
            {"aws:CurrentTime": "2026-12-06T00:00:00Z"},
            False,
        ),
        ({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": "false"}, False),
        ({"Null": {"aws:TokenIssueTime": "true"}}, {}, True),
        ({"Null": {"aws:TokenIssueTime": "false"}}, {}, False),
        (
            {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "127.0.0.1/32"]}},
            {"aws:SourceIp": "127.0.0.1"},
            True,
        ),
        ({"NotIpAddress": {"aws:SourceIp": "127.0.0.0/8"}}, {"aws:SourceIp": "127.0.0.1"}, False),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {"aws:TagKeys": ["a"]}, True),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["c"]}}, {"aws:TagKeys": ["a", "b"]}, False),
    ],
)
def test_conditions(condition: dict[str, Any], context: dict[str, Any], allowed: bool) -> None:
    found = policies({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition})
    assert evaluate(found, "kafka:ListClusters", "*", context).allowed is allowed


def test_policy_variables_in_resources() -> None:
    found = policies(
        {
            "Effect": "Allow",
            "Action": "iam:*AccessKey*",
            "Resource": "arn:aws:iam::1:user/${aws:username}",
        }
    )
    context = {"aws:username": "alice"}
    assert evaluate(found, "iam:CreateAccessKey", "arn:aws:iam::1:user/alice", context).allowed
    assert not evaluate(found, "iam:CreateAccessKey", "arn:aws:iam::1:user/bob", context).allowed


def test_unknown_operators_are_refused() -> None:
    parsed = parse_policy(
        {
            "Statement": {
                "Effect": "Allow",
                "Action": "*",
                "Resource": "*",
                "Condition": {"StringSounds": {"a": "b"}},
            }
        }
    )
    with pytest.raises(PolicyError, match="StringSounds"):
        check_conditions(parsed)

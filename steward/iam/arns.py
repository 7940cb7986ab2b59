"""The ARNs and names of IAM's entities, and the AWS managed policies Steward knows."""

from __future__ import annotations

import json

AWS_MANAGED_PREFIX = "arn:aws:iam::aws:policy/"

AWS_MANAGED_POLICIES: dict[str, str] = {
    "AdministratorAccess": json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        }
    ),
    "AmazonMSKFullAccess": json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["kafka:*"], "Resource": "*"}],
        }
    ),
    "AmazonMSKReadOnlyAccess": json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["kafka:Describe*", "kafka:List*", "kafka:Get*"],
                    "Resource": "*",
                }
            ],
        }
    ),
    "IAMFullAccess": json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["iam:*", "sts:*"], "Resource": "*"}],
        }
    ),
}
"""AWS managed policies that can be attached by ARN (`arn:aws:iam::aws:policy/<name>`): the
ones whose meaning carries over to Steward's services, with AWS's documents (the MSK ones cut to
the `kafka:` actions Steward has)."""


def user_arn(account: str, name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{account}:user{path}{name}"


def role_arn(account: str, name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{account}:role{path}{name}"


def policy_arn(account: str, name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{account}:policy{path}{name}"


def assumed_role_arn(account: str, role: str, session: str) -> str:
    return f"arn:aws:sts::{account}:assumed-role/{role}/{session}"


def name_of(arn: str) -> str:
    """The last part of an ARN's resource (`alice` of `...:user/team/alice`)."""
    return arn.rsplit("/", 1)[-1]

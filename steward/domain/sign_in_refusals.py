"""A refused IAM sign-in on a broker, as the control plane reads it back: which broker, when,
with which mechanism and access key, and why (the check that failed), so that a refusal can be
explained instead of answered with "Access denied" alone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

UNKNOWN_KEY = "unknown key"
BAD_SIGNATURE = "bad signature"
EXPIRED = "expired"
WRONG_HOST = "wrong host"
WRONG_REGION = "wrong region"
CLOCK_SKEW = "clock skew"
MISSING_TOKEN = "missing token"
WRONG_TOKEN = "wrong token"
WRONG_ACTION = "wrong action"
MALFORMED = "malformed"
REASONS = frozenset(
    {
        UNKNOWN_KEY,
        BAD_SIGNATURE,
        EXPIRED,
        WRONG_HOST,
        WRONG_REGION,
        CLOCK_SKEW,
        MISSING_TOKEN,
        WRONG_TOKEN,
        WRONG_ACTION,
        MALFORMED,
    }
)
"""Every `reason` a broker gives (the Java verifier's constants of the same names)."""


@dataclass(frozen=True)
class SignInRefusal:
    cluster_arn: str
    broker_id: int
    time: datetime
    mechanism: str
    """`AWS_MSK_IAM` or `OAUTHBEARER`."""
    reason: str
    detail: str
    access_key_id: str | None
    request_id: str
    """Also in the error the client was given (`Access denied (request ...)` with AWS_MSK_IAM)."""

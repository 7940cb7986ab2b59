"""Who may sign in to a cluster with IAM (SASL `AWS_MSK_IAM` or `OAUTHBEARER`): an access key,
the secret that signs with it, and the IAM principal it acts as.

IAM (`steward.iam`) owns users, roles and their keys; the brokers' sign-in (`steward.security`)
only reads these records, so neither needs the other's store. On a broker an identity is the Kafka
principal `User:<principal ARN>`, which the identity's `kafka-cluster:*` policies are compiled to
ACLs for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

KAFKA_PRINCIPAL_TYPE = "User"


@dataclass(frozen=True)
class SigningIdentity:
    """One access key that may sign a Kafka sign-in."""

    access_key_id: str
    secret_access_key: str
    principal_arn: str
    """`arn:aws:iam::<account>:user/<name>`, or for a role's temporary credentials
    `arn:aws:sts::<account>:assumed-role/<role>/<session>`."""
    session_token: str | None = None
    """Set for temporary credentials: a signature must carry it (`x-amz-security-token`)."""
    expires: datetime | None = None
    """When temporary credentials stop signing; None for a user's long-term key."""

    @property
    def kafka_principal(self) -> str:
        return f"{KAFKA_PRINCIPAL_TYPE}:{self.principal_arn}"

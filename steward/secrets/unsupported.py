"""The operations of Secrets Manager's model that Steward does not serve, each with what its
InvalidRequestException tells the caller (a modeled error of every one of them, so an SDK raises
it as such)."""

from __future__ import annotations

_NO_ROTATION = (
    "Steward does not rotate secrets (there is no rotation Lambda): give a secret a new value "
    "with PutSecretValue or UpdateSecret."
)
_NO_REPLICATION = "Steward does not replicate secrets to other regions."
_NO_CROSS_ACCOUNT = "Steward has one account: it keeps no cross-account replicas."

UNSUPPORTED_OPERATIONS: dict[str, str] = {
    "RotateSecret": _NO_ROTATION,
    "CancelRotateSecret": _NO_ROTATION,
    "ReplicateSecretToRegions": _NO_REPLICATION,
    "RemoveRegionsFromReplication": _NO_REPLICATION,
    "StopReplicationToReplica": _NO_REPLICATION,
    "AssociateCrossAccountReplica": _NO_CROSS_ACCOUNT,
    "DisassociateCrossAccountReplica": _NO_CROSS_ACCOUNT,
    "BatchGetSecretValue": (
        "Steward does not serve BatchGetSecretValue: read each secret with GetSecretValue."
    ),
    "ListResourcePolicies": (
        "Steward does not serve ListResourcePolicies: a secret has one resource policy, "
        "read with GetResourcePolicy."
    ),
}

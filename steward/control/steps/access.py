"""APPLY_ACCESS_POLICIES: the cluster's access policies written as Kafka ACLs.

With unauthenticated access going off (UpdateSecurity), the brokers get Kafka's authorizer and
deny by default. The roll writes the policies as soon as the first broker with the authorizer is
back, and after each one (`turns_authorizer_on`), so a client a policy allows is never refused by
a broker that has just turned deny-by-default on; this step writes them once more at the end.
Steward reaches the cluster the whole time over the brokers' REPLICATION listeners, which speak
mutual TLS before and after the change (UpdateSecurity refuses a change that would alter that).
"""

from __future__ import annotations

from steward.control.context import ReconcileContext
from steward.control.step import NoProgress, StepRun
from steward.domain.errors import TemporaryError
from steward.domain.model import Cluster
from steward.kafka.node_config import has_authorizer


def apply_access_policies(run: StepRun[NoProgress]) -> None:
    apply_policies(run.ctx, run.cluster)


def turns_authorizer_on(cluster: Cluster) -> bool:
    """Whether the cluster's desired spec has Kafka's authorizer and what runs has not."""
    return has_authorizer(cluster.spec.client_authentication) and not has_authorizer(
        cluster.observed_spec.client_authentication
    )


def apply_policies(ctx: ReconcileContext, cluster: Cluster) -> None:
    if ctx.apply_policies is None or not has_authorizer(cluster.spec.client_authentication):
        return
    try:
        ctx.apply_policies(cluster)
    except Exception as error:
        raise TemporaryError(f"writing the access policies as ACLs: {error}", 2.0) from error

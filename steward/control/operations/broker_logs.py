"""A cluster's new `LoggingInfo` taking effect, restarting nothing: the step an UpdateMonitoring
operation runs for broker log delivery (`steward.control.broker_logs`).

`apply_broker_logging(ctx, cluster)` with the cluster as the operation wants it (its target spec)
gives every placed broker's agent the broker's spec again. Only its `log_delivery` differs from
what the broker runs with, and that is outside the launch settings (`NodeSpec.spec_hash`): the
agent starts, changes or stops the delivery live.
"""

from __future__ import annotations

from steward.agent.client import AgentUnavailable
from steward.control.context import ReconcileContext
from steward.control.model import Cluster, NodeRole
from steward.control.node_specs import build_node_spec, node_key, user_properties
from steward.errors import TemporaryError


def apply_broker_logging(ctx: ReconcileContext, cluster: Cluster) -> None:
    """Give every broker of `cluster` its log delivery. Idempotent; a TemporaryError while an
    agent cannot be reached."""
    nodes = ctx.store.nodes(cluster.arn)
    configured = user_properties(ctx.store, cluster)
    for node in (n for n in nodes if n.role is NodeRole.BROKER):
        try:
            client = ctx.agents.client(node.agent, timeout=60.0)
            status = client.node(node_key(cluster, node))
            if status is None:
                continue  # not placed yet: its spec will carry the delivery
            spec = build_node_spec(cluster, node, nodes, configured)
            if status.spec_hash not in (None, spec.spec_hash):
                raise TemporaryError(
                    f"broker {node.node_id} runs other launch settings; waiting for them", 5.0
                )
            client.apply(spec)
        except AgentUnavailable as error:
            raise TemporaryError(f"agent {node.agent} is unavailable: {error}", 2.0) from error

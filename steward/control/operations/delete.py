"""DELETE: stop every node and purge its data through its agent, then forget the cluster."""

from __future__ import annotations

from steward.agent.client import AgentUnavailable
from steward.control.context import ReconcileContext
from steward.control.node_specs import node_key
from steward.domain.errors import PermanentError, TemporaryError
from steward.domain.model import Cluster, Node, NodeRole, Operation

STEPS = ("STOP_NODES", "REMOVE_CLUSTER")


def run_step(ctx: ReconcileContext, cluster: Cluster, op: Operation, step: str) -> None:
    if step == "STOP_NODES":
        stop_nodes(ctx, cluster)
    elif step == "REMOVE_CLUSTER":
        ctx.store.remove_cluster(cluster.arn)
    else:
        raise PermanentError(f"unknown step {step}")


def stop_nodes(ctx: ReconcileContext, cluster: Cluster) -> None:
    """Brokers first, then the controllers: a broker's controlled shutdown needs the quorum, and
    without it the broker only ends when its agent kills it after the stop timeout."""

    def remove(node: Node) -> None:
        try:
            ctx.agents.client(node.agent).remove(node_key(cluster, node))
        except AgentUnavailable as error:
            raise TemporaryError(f"agent {node.agent} is unavailable: {error}", 2.0) from error

    nodes = ctx.store.nodes(cluster.arn)
    for role in (NodeRole.BROKER, NodeRole.CONTROLLER):
        ctx.in_parallel(remove, [n for n in nodes if n.role is role])


def on_failure(ctx: ReconcileContext, cluster: Cluster, op: Operation) -> None:
    """Deleting never gives up for good: a new DeleteCluster request starts it again."""

"""GROW_VOLUMES: give every broker the volume size of the spec, restarting nothing.

Where brokers have volumes of their own (`steward.agent.volumes`), GROW_VOLUMES gives each
broker's agent the new size, and the agent grows the volume under the running Kafka. Where they
have plain directories, the size is what Steward reports usage against (`KafkaDataLogsDiskUsed`).
Storage never shrinks, as on MSK; the request layer refuses that.
"""

from __future__ import annotations

from steward.agent.client import AgentUnavailable
from steward.control.context import ReconcileContext
from steward.control.node_specs import node_key
from steward.control.step import NoProgress, StepRun
from steward.domain.errors import TemporaryError
from steward.domain.model import Cluster, NodeRole


def grow(run: StepRun[NoProgress]) -> None:
    grow_volumes(run.ctx, run.cluster)


def grow_volumes(ctx: ReconcileContext, cluster: Cluster) -> None:
    """Give every broker the volume size of `cluster`'s spec; done once each agent reports it
    (or has no volume to grow). Applying a spec that differs only in its volume size restarts
    nothing."""
    nodes = ctx.store.nodes(cluster.arn)
    wanted = cluster.spec.broker_node_group.volume_size_gb * 1024**3
    waiting = []
    for node in (n for n in nodes if n.role is NodeRole.BROKER):
        try:
            client = ctx.agents.client(node.agent, timeout=60.0)
            status = client.node(node_key(cluster, node))
            if status is None:
                continue  # not placed yet: its spec will carry the size
            status = client.apply(ctx.render(cluster, node, nodes))
        except AgentUnavailable as error:
            raise TemporaryError(f"agent {node.agent} is unavailable: {error}", 2.0) from error
        size = status.volume_size_bytes
        if size is not None and size < wanted * 0.9:  # a filesystem keeps some for itself
            waiting.append(f"broker {node.node_id}")
    if waiting:
        raise TemporaryError(f"waiting for the volumes of {', '.join(waiting)} to grow", 2.0)

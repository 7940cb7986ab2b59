"""UPDATE_MONITORING: a cluster's new `EnhancedMonitoring`, `OpenMonitoring` and `LoggingInfo`.

The enhanced monitoring level only changes which metrics Steward keeps (`steward.monitor`). The
JMX exporter runs inside each node's JVM, so switching it on or off rolls every node with its
new command line under the rolling rule; without that change each broker's agent is just given
its new spec, whose node metrics and log delivery it applies live, restarting nothing.
"""

from __future__ import annotations

import dataclasses

from steward.agent.client import AgentUnavailable
from steward.agent.spec import NodeSpec
from steward.control.context import ReconcileContext
from steward.control.node_specs import build_node_spec, node_key, user_properties
from steward.control.operations.common import finish_update, keep_serving, target_spec
from steward.control.rolling import roll
from steward.domain.errors import PermanentError, TemporaryError
from steward.domain.model import Cluster, Node, NodeRole, Operation

STEPS = ("UPDATE_NODES", "FINALIZE")


def run_step(ctx: ReconcileContext, cluster: Cluster, op: Operation, step: str) -> None:
    if step == "UPDATE_NODES":
        update_nodes(ctx, cluster, op)
    elif step == "FINALIZE":
        finish_update(cluster, op)
    else:
        raise PermanentError(f"unknown step {step}")


def update_nodes(ctx: ReconcileContext, cluster: Cluster, op: Operation) -> None:
    target = dataclasses.replace(cluster, spec=target_spec(op))
    nodes = ctx.store.nodes(cluster.arn)
    configured = user_properties(ctx.store, cluster)

    def render(node: Node) -> NodeSpec:
        return build_node_spec(target, node, nodes, configured)

    jmx_before = cluster.spec.open_monitoring.jmx_exporter
    if target.spec.open_monitoring.jmx_exporter != jmx_before:
        view = ctx.cluster_view(cluster)
        roll(ctx, cluster, op, name="monitoring", nodes=nodes, view=view, render=render)
        return
    for node in (n for n in nodes if n.role is NodeRole.BROKER):
        try:
            client = ctx.agents.client(node.agent)
            if client.node(node_key(cluster, node)) is None:
                continue  # not placed yet: it starts with the new spec
            client.apply(render(node))
        except AgentUnavailable as error:
            raise TemporaryError(f"agent {node.agent} is unavailable: {error}", 2.0) from error


def on_failure(ctx: ReconcileContext, cluster: Cluster, op: Operation) -> None:
    keep_serving(cluster)

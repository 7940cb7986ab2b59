"""Hosts that come back: what they still run of nodes that moved away is removed.

A host whose brokers were moved while it was dead (`steward.control.host_replacement`) still has
them when it answers again, and its agent starts them again: a stale broker with the node id of
one that now serves elsewhere. The sweep asks every host's agent what it runs and removes (stops
and deletes) each node the store places on another host. A host of this machine that runs no node
of any cluster is started again first when it does not answer (it was powered off and is back);
hosts that run nodes are left to the health monitor's repairs.
"""

from __future__ import annotations

import logging

from steward.agent.client import AgentError, AgentUnavailable
from steward.agent.launcher import AgentStartError
from steward.control.context import ReconcileContext
from steward.control.host_replacement import stale_node_keys
from steward.control.node_specs import node_key

log = logging.getLogger(__name__)


def placed_nodes(ctx: ReconcileContext) -> dict[str, str]:
    """Every node of every cluster: its key -> the agent it is placed on."""
    placed = {}
    for cluster in ctx.store.list_clusters():
        for node in ctx.store.nodes(cluster.arn):
            placed[node_key(cluster, node)] = node.agent
    return placed


def remove_stale_nodes(ctx: ReconcileContext, timeout: float = 1.0) -> list[str]:
    """One sweep over every host; the keys of the nodes it removed."""
    placed = placed_nodes(ctx)
    busy = set(placed.values())
    removed = []
    for host in ctx.agents.hosts:
        client = ctx.agents.client(host.name, timeout=timeout)
        try:
            try:
                reported = [status.key for status in client.nodes()]
            except AgentUnavailable:
                if host.name in busy or not _start_idle_agent(ctx, host.name):
                    continue
                reported = [status.key for status in client.nodes()]
        except (AgentUnavailable, AgentError) as error:
            log.info("agent %s did not say what it runs: %s", host.name, error)
            continue
        ctx.agents.seen(host.name)
        for key in stale_node_keys(host.name, reported, placed):
            log.warning("removing %s from host %s: it runs on %s now", key, host.name, placed[key])
            try:
                ctx.agents.client(host.name, timeout=30.0).remove(key, timeout=0.0)
            except (AgentUnavailable, AgentError) as error:
                log.info("removing %s from host %s failed: %s", key, host.name, error)
                continue
            removed.append(key)
    return removed


def _start_idle_agent(ctx: ReconcileContext, agent: str) -> bool:
    """Start the agent of a host that runs no node; whether it answers now."""
    try:
        ctx.agents.ensure_local_agent(agent, timeout=5.0)
    except AgentStartError as error:
        log.debug("idle host %s is not back: %s", agent, error)
        return False
    log.info("the agent of idle host %s answers", agent)
    return True

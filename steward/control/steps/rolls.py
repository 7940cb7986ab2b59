"""Rolling what differs: every node whose spec, as the cluster's desired state renders it, has
other launch settings than the process its agent runs (`NodeSpec.spec_hash`) is restarted onto
it through the roller (`steward.control.rolling`), controllers first (followers before the
active one), then brokers.

- ROLL_CONTROLLERS / ROLL_BROKERS: a new Kafka release, instance type, security settings, JMX
  exporter, or static configuration settings. A node that differs only by the settings
  `APPLY_DYNAMIC_SETTINGS` gave Kafka at run time is not restarted for them.
- REBOOT_BROKER: the brokers RebootBroker named, restarted as they are.
- UPDATE_NODES: each broker is given its new spec live (node metrics, log delivery); a node
  whose launch settings change (the JMX exporter was switched) rolls instead.
- UPGRADE_METADATA_VERSION: once every node runs the new release, the cluster's
  `metadata.version` is raised to it, the step of an upgrade that cannot be undone.
"""

from __future__ import annotations

from collections.abc import Sequence

from steward.agent.client import AgentUnavailable
from steward.agent.spec import NodeSpec
from steward.control.context import ReconcileContext
from steward.control.node_specs import desired_node, node_key, revision_properties, user_properties
from steward.control.rolling import RollProgress, roll
from steward.control.step import NoProgress, StepRun
from steward.control.steps.access import apply_policies, turns_authorizer_on
from steward.control.steps.settings import DynamicSettings, previous_configuration
from steward.domain.changes import describe_changes
from steward.domain.errors import TemporaryError
from steward.domain.model import Cluster, Node, NodeRole, Operation
from steward.kafka import features


def roll_controllers(run: StepRun[RollProgress]) -> None:
    _roll_changed(run, {NodeRole.CONTROLLER})


def roll_brokers(run: StepRun[RollProgress]) -> None:
    _roll_changed(run, {NodeRole.CONTROLLER, NodeRole.BROKER})


def reboot_broker(run: StepRun[RollProgress]) -> None:
    wanted = set(reboot_targets(run.op))
    nodes = [n for n in run.ctx.store.nodes(run.cluster.arn) if n.node_id in wanted]
    roll(run, nodes=nodes, view=run.ctx.cluster_view(run.cluster), reason="RebootBroker")


def reboot_targets(op: Operation) -> list[int]:
    """The broker ids a REBOOT_NODE operation restarts (as RebootBroker named them)."""
    raw = op.progress.get("broker_ids", [])
    return [int(i) for i in raw] if isinstance(raw, list) else []


def update_nodes(run: StepRun[RollProgress]) -> None:
    ctx, cluster = run.ctx, run.cluster
    nodes = ctx.store.nodes(cluster.arn)
    rolling = _changed(run, nodes, {NodeRole.CONTROLLER, NodeRole.BROKER})
    if rolling:
        _roll(run, rolling, nodes)
    for node in (n for n in nodes if n.role is NodeRole.BROKER):
        try:
            client = ctx.agents.client(node.agent)
            status = client.node(node_key(cluster, node))
            if status is None:
                continue  # not placed yet: it starts with the new spec
            spec = ctx.render(cluster, node, nodes)
            if status.spec_hash in (None, spec.spec_hash):
                client.apply(spec)  # live: restarts nothing
        except AgentUnavailable as error:
            raise TemporaryError(f"agent {node.agent} is unavailable: {error}", 2.0) from error


def upgrade_metadata_version(run: StepRun[NoProgress]) -> None:
    try:
        features.upgrade_metadata_version(run.ctx.bootstrap(run.cluster), run.cluster.spec.release)
    except features.FeatureError as error:
        raise TemporaryError(f"metadata.version upgrade: {error}", 2.0) from error


# --- shared -------------------------------------------------------------------------------------
def _roll_changed(run: StepRun[RollProgress], roles: set[NodeRole]) -> None:
    nodes = run.ctx.store.nodes(run.cluster.arn)
    _roll(run, _changed(run, nodes, roles), nodes)


def _changed(run: StepRun[RollProgress], nodes: Sequence[Node], roles: set[NodeRole]) -> list[Node]:
    """The nodes of `roles` whose rendered spec differs from what runs, and those this roll has
    begun already (a node rolled, or being rolled, before a crash stays in the roll)."""
    begun = {*run.progress.done, run.progress.current}
    ctx, cluster = run.ctx, run.cluster
    live = _live_settings(run)
    changed = []
    for node in (n for n in nodes if n.role in roles):
        if node.node_id in begun:
            changed.append(node)
            continue
        accepted = {ctx.render(cluster, node, nodes).spec_hash}
        if live is not None:
            accepted.add(ctx.render(cluster, node, nodes, configured=live).spec_hash)
        if _running_hash(ctx, cluster, node) not in accepted:
            changed.append(node)
    return changed


def _live_settings(run: StepRun[RollProgress]) -> dict[str, str] | None:
    """The configuration's properties as a node that only lacks the settings Kafka took at run
    time has them (its old values of those), or None when none were taken."""
    taken = run.progress_of("APPLY_DYNAMIC_SETTINGS", DynamicSettings).dynamic
    if not taken:
        return None
    store = run.ctx.store
    old = revision_properties(store, previous_configuration(run))
    live = dict(user_properties(store, run.cluster))
    for key in taken:
        if key in old:
            live[key] = old[key]
        else:
            live.pop(key, None)
    return live


def _running_hash(ctx: ReconcileContext, cluster: Cluster, node: Node) -> str | None:
    try:
        status = ctx.agents.client(node.agent).node(node_key(cluster, node))
    except AgentUnavailable as error:
        raise TemporaryError(f"agent {node.agent} is unavailable: {error}", 2.0) from error
    return None if status is None else status.spec_hash


def _roll(run: StepRun[RollProgress], rolling: list[Node], nodes: Sequence[Node]) -> None:
    ctx, cluster = run.ctx, run.cluster
    reason = describe_changes(cluster.observed_spec, cluster.spec) or "its spec changed"
    if run.op.progress.get("rollback_of"):
        reason = f"rolling back the failed {run.op.type.value}"
    policies = turns_authorizer_on(cluster)

    def render(node: Node) -> NodeSpec:
        return ctx.render(cluster, node, nodes)

    def back(node: Node) -> None:
        wanted = desired_node(cluster, node)
        if wanted is not node:
            ctx.store.update_nodes(
                cluster.arn,
                [node.node_id],
                kafka_version=wanted.kafka_version,
                instance_type=wanted.instance_type,
            )
        if policies and node.role is NodeRole.BROKER:
            # A broker that has just turned deny-by-default on refuses no client a policy
            # allows: the ACLs are written before the next broker goes down.
            apply_policies(ctx, cluster)

    roll(
        run,
        nodes=rolling,
        view=ctx.cluster_view(cluster),
        reason=reason,
        render=render,
        after_node=back,
    )

"""The replication throttle a failed move leaves behind, cleared.

A rebalance and a broker count change set Kafka's replication throttle (the rate on every broker
involved, the throttled replica lists on the topics that move) and clear it in the step that
sees the last move finish. When the operation fails before that step, the throttle would stay
set: every later reassignment, and a follower catching up after a restart, would then be held to
the rate with nothing to show why. So a failed operation that moves replicas clears it when it
fails (`release_after_failure`); when Kafka cannot be reached at that moment the cluster keeps
the condition THROTTLE_LEFT, and a later pass (`release_left_throttles`) clears it once the
cluster is idle: every broker's rates and every topic's throttled replica lists, which is safe
while no operation moves anything.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from steward.domain.model import Cluster, ClusterState, NodeRole, Operation, OperationType
from steward.kafka import reassignment
from steward.security.certificates import steward_bootstrap
from steward.store.store import Store

log = logging.getLogger(__name__)

THROTTLE_LEFT = "ReplicationThrottleLeft"
"""The cluster condition saying a failed operation's replication throttle may still be set."""
CLEAR_TIMEOUT = 10.0
"""Seconds each of Kafka's config changes may take while the throttle is cleared."""

MOVES_REPLICAS = frozenset(
    {
        OperationType.REBALANCE,
        OperationType.INCREASE_BROKER_COUNT,
        OperationType.DECREASE_BROKER_COUNT,
    }
)
PLAN_STEPS = ("PLAN_BALANCE", "REASSIGN_PARTITIONS")
"""The steps whose progress keeps the plan's target (`[topic, partition, replicas]` lists)."""


def planned_topics(op: Operation) -> list[str]:
    """The topics an operation's plan moves (and so may have throttled)."""
    topics: set[str] = set()
    for name in PLAN_STEPS:
        progress = op.progress.get(name)
        target = progress.get("target") if isinstance(progress, dict) else None
        if isinstance(target, list):
            topics.update(str(entry[0]) for entry in target if entry)
    return sorted(topics)


def clear(bootstrap: str, brokers: Iterable[int], topics: Iterable[str]) -> str | None:
    """Clear the rates on `brokers` and the replica lists on `topics`; why it could not, or
    None."""
    try:
        reassignment.clear_replication_throttle(
            bootstrap, sorted(brokers), sorted(topics), timeout=CLEAR_TIMEOUT
        )
    except reassignment.ReassignmentError as error:
        return str(error)
    return None


def release_after_failure(store: Store, cluster: Cluster, op: Operation) -> None:
    """After `op` failed: clear the throttle it may have set, or note on the cluster that it
    may still be set."""
    if op.type not in MOVES_REPLICAS:
        return
    topics = planned_topics(op)
    if not topics:
        return  # nothing was planned, so nothing was throttled
    brokers = [n for n in store.nodes(cluster.arn) if n.role is NodeRole.BROKER]
    if not brokers:
        return
    why = clear(steward_bootstrap(store, cluster, brokers), [b.node_id for b in brokers], topics)
    if why is None:
        log.info("%s: cleared the replication throttle of the failed %s", cluster.name, op.arn)
        if cluster.status.condition(THROTTLE_LEFT) is not None:
            cluster.status.set_condition(THROTTLE_LEFT, False, "Cleared")
        return
    log.warning("%s: the replication throttle is still set: %s", cluster.name, why)
    cluster.status.set_condition(
        THROTTLE_LEFT, True, "ClearFailed", f"after {op.type.value} {op.arn} failed: {why}"
    )


def release_left_throttles(store: Store) -> list[str]:
    """Clear the throttle on every idle cluster whose condition says one was left; the ARNs of
    the clusters cleared."""
    cleared = []
    for cluster in store.list_clusters():
        condition = cluster.status.condition(THROTTLE_LEFT)
        if condition is None or not condition.status:
            continue
        if cluster.state is not ClusterState.ACTIVE or cluster.active_operation_arn:
            continue
        brokers = [n for n in store.nodes(cluster.arn) if n.role is NodeRole.BROKER]
        bootstrap = steward_bootstrap(store, cluster, brokers)
        try:
            topics = sorted({t for t, _ in reassignment.current_assignment(bootstrap)})
        except reassignment.ReassignmentError as error:
            log.info("%s: the throttle stays until Kafka answers: %s", cluster.name, error)
            continue
        why = clear(bootstrap, [b.node_id for b in brokers], topics)
        if why is not None:
            log.info("%s: the throttle stays until Kafka answers: %s", cluster.name, why)
            continue
        cluster.status.set_condition(THROTTLE_LEFT, False, "Cleared")
        if store.save_idle_cluster(cluster):
            cleared.append(cluster.arn)
            log.info("%s: cleared the replication throttle a failed operation left", cluster.name)
    return cleared

"""Kafka's own view of a running cluster, as operations consult it: partition health for rolling
restarts, the controller quorum, leadership. Everything comes from Kafka through the cluster's
client listeners; nothing here is Steward's bookkeeping."""

from __future__ import annotations

import logging
import time
from typing import Protocol

from steward.kafka import health, membership, reassignment

log = logging.getLogger(__name__)


class ClusterView(Protocol):
    """What a roll needs to know about the running cluster (Kafka's view, not the agents')."""

    def blockers(self, broker_id: int) -> list[str]:
        """Why stopping `broker_id` now would hurt: partitions under-replicated for want of
        another broker, or partitions whose in-sync set would drop below min.insync.replicas.
        Empty when it is safe."""
        ...

    def broker_back(self, broker_id: int) -> bool:
        """The broker serves again and is in the in-sync set of every partition it holds, and
        no partition of the cluster is under-replicated."""
        ...

    def quorum_leader(self) -> int | None: ...

    def quorum_caught_up(self) -> bool:
        """Every controller voter follows the leader's log closely."""
        ...

    def after_broker_back(self, broker_id: int) -> None:
        """Hand leadership back (preferred leader election) once a broker is back."""
        ...


QUORUM_MAX_LAG = 100
"""Records of the metadata log a voter may trail the high watermark by and count as caught up."""
QUORUM_MAX_SILENCE = 10.0
"""Seconds since a voter last reached the leader's log end, beyond which it is not caught up."""


def quorum_caught_up(quorum: membership.Quorum, now: float) -> bool:
    """Every voter has fetched the leader's log recently and trails it by little."""
    for voter in quorum.voters:
        if voter.node_id == quorum.leader_id:
            continue
        if quorum.high_watermark - voter.log_end_offset > QUORUM_MAX_LAG:
            return False
        seen = voter.last_caught_up_ms
        if seen is None or now - seen / 1000 > QUORUM_MAX_SILENCE:
            return False
    return True


class KafkaClusterView:
    """`ClusterView` of a real cluster. A question Kafka cannot answer right now (a broker is
    restarting, a request timed out) is answered "not yet", never "yes"."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap

    def blockers(self, broker_id: int) -> list[str]:
        try:
            states = health.partition_states(self.bootstrap)
            # A partition short of only this broker's replica (it is down, or behind) loses
            # nothing more when it restarts: a broker that does not run is restarted first.
            lagging = [
                p
                for p in health.under_replicated(states)
                if set(p.replicas) - set(p.isr) - {broker_id}
            ]
            if lagging:
                return [f"{p.topic}-{p.partition} is under-replicated" for p in lagging]
            min_isr = health.min_insync_replicas(self.bootstrap, {p.topic for p in states})
            # A partition with no more replicas than its min.insync.replicas loses acks=all
            # writes whenever any replica stops; no order of restarts can help it, so it does
            # not hold the roll up (as Strimzi's roller decides too).
            unsafe = [
                p
                for p in health.unsafe_to_stop(states, broker_id, min_isr)
                if len(p.replicas) > min_isr.get(p.topic, 1)
            ]
        except Exception as error:  # Kafka could not tell: not safe yet
            return [f"cannot read the cluster's partitions: {error}"]
        return [f"{p.topic}-{p.partition} would drop below min.insync.replicas" for p in unsafe]

    def broker_back(self, broker_id: int) -> bool:
        try:
            if not health.broker_serving(self.bootstrap, broker_id):
                return False
            return not health.under_replicated(health.partition_states(self.bootstrap))
        except Exception:
            return False

    def quorum_leader(self) -> int | None:
        try:
            return membership.quorum(self.bootstrap).leader_id
        except Exception:
            return None

    def quorum_caught_up(self) -> bool:
        try:
            return quorum_caught_up(membership.quorum(self.bootstrap), time.time())
        except Exception:
            return False

    def after_broker_back(self, broker_id: int) -> None:
        try:
            reassignment.elect_preferred_leaders(self.bootstrap)
        except Exception as error:  # leadership also returns by itself (auto leader rebalance)
            log.warning("preferred leader election after broker %d failed: %s", broker_id, error)

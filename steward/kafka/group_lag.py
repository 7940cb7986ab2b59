"""A consumer group as Steward reports it: its members and, per partition, its lag, Kafka's
arithmetic (the partition's log end offset minus the group's committed offset), summed and
maximised per topic as MSK's SumOffsetLag and MaxOffsetLag are."""

from __future__ import annotations

from dataclasses import dataclass

from steward.kafka.consumer_groups import GroupMember


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    committed_offset: int | None
    """None when the group has committed nothing for the partition (yet)."""
    log_end_offset: int | None
    """None when Kafka could not tell (e.g. the topic is gone)."""
    member_id: str | None = None
    """The member the partition is assigned to, if any."""

    @property
    def lag(self) -> int | None:
        if self.committed_offset is None or self.log_end_offset is None:
            return None
        return self.log_end_offset - self.committed_offset


@dataclass(frozen=True)
class TopicLag:
    """MSK's per-topic consumer lag metrics of a group."""

    topic: str
    sum_offset_lag: int
    max_offset_lag: int


@dataclass(frozen=True)
class ConsumerGroup:
    group_id: str
    state: str
    """Kafka's state, MSK-style: STABLE, EMPTY, PREPARING_REBALANCE, COMPLETING_REBALANCE, ..."""
    protocol_type: str
    """`consumer`, or empty for a group with committed offsets and no membership protocol."""
    group_type: str
    """CLASSIC, or CONSUMER (KIP-848)."""
    coordinator: int | None
    partition_assignor: str
    members: tuple[GroupMember, ...]
    partitions: tuple[PartitionLag, ...]
    """By (topic, partition): the committed ones, and in a description the assigned ones too."""

    @property
    def total_lag(self) -> int:
        return sum(p.lag for p in self.partitions if p.lag is not None)

    @property
    def topics(self) -> list[TopicLag]:
        lags: dict[str, list[int]] = {}
        for p in self.partitions:
            if p.lag is not None:
                lags.setdefault(p.topic, []).append(p.lag)
        return [TopicLag(topic, sum(values), max(values)) for topic, values in sorted(lags.items())]

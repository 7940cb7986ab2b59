"""Each cluster's continuous balancing setting (MSK's `Rebalancing.Status`) as the store keeps
it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine

from steward.store import schema
from steward.store.codec import aware

_columns = schema.rebalancing.c


@dataclass(frozen=True)
class RebalancingSetting:
    cluster_arn: str
    status: str
    """ACTIVE or PAUSED."""
    threshold: float
    update_time: datetime


class RebalancingRecords:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, cluster_arn: str) -> RebalancingSetting | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(schema.rebalancing).where(_columns.cluster_arn == cluster_arn)
            ).first()
        if row is None:
            return None
        return RebalancingSetting(
            row.cluster_arn,
            row.status,
            float(row.threshold),
            aware(row.update_time),  # type: ignore[arg-type]
        )

    def active(self) -> list[RebalancingSetting]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(schema.rebalancing).where(_columns.status == "ACTIVE")
            ).fetchall()
        return [
            RebalancingSetting(r.cluster_arn, r.status, float(r.threshold), aware(r.update_time))  # type: ignore[arg-type]
            for r in rows
        ]

    def put(self, setting: RebalancingSetting) -> None:
        values = {
            "status": setting.status,
            "threshold": setting.threshold,
            "update_time": setting.update_time,
        }
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(schema.rebalancing)
                .where(_columns.cluster_arn == setting.cluster_arn)
                .values(**values)
            ).rowcount
            if not changed:
                conn.execute(
                    insert(schema.rebalancing).values(cluster_arn=setting.cluster_arn, **values)
                )

    def delete(self, cluster_arn: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(schema.rebalancing).where(_columns.cluster_arn == cluster_arn))

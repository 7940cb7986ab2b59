"""Cluster policies (MSK's resource-based policy of a cluster) as the store keeps them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from steward.store import schema
from steward.store.codec import aware

_columns = schema.resource_policies.c


@dataclass(frozen=True)
class StoredResourcePolicy:
    cluster_arn: str
    document: str
    version: str
    update_time: datetime


class ResourcePolicyRecords:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, cluster_arn: str) -> StoredResourcePolicy | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(schema.resource_policies).where(_columns.cluster_arn == cluster_arn)
            ).first()
        if row is None:
            return None
        return StoredResourcePolicy(
            row.cluster_arn,
            row.document,
            row.version,
            aware(row.update_time),  # type: ignore[arg-type]
        )

    def put(self, policy: StoredResourcePolicy, expected_version: str | None) -> bool:
        """Write `policy` if the stored one is still `expected_version` (None: there is none);
        False when another change came first."""
        values = {
            "document": policy.document,
            "version": policy.version,
            "update_time": policy.update_time,
        }
        if expected_version is None:
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        insert(schema.resource_policies).values(
                            cluster_arn=policy.cluster_arn, **values
                        )
                    )
            except IntegrityError:
                return False
            return True
        with self.engine.begin() as conn:
            result = conn.execute(
                update(schema.resource_policies)
                .where(
                    (_columns.cluster_arn == policy.cluster_arn)
                    & (_columns.version == expected_version)
                )
                .values(**values)
            )
            return result.rowcount == 1

    def delete(self, cluster_arn: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                delete(schema.resource_policies).where(_columns.cluster_arn == cluster_arn)
            )

"""Access policies of principals and what of each the sync has applied, as the store keeps them.

Every change counts the row's `version` up, and the sync records the version it applied, so that
a policy changed while the sync was applying the one before is seen as pending, never as done.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, select, update
from sqlalchemy.engine import Engine

from steward.store import schema
from steward.store.codec import aware

_columns = schema.access_policies.c


@dataclass(frozen=True)
class StoredPolicy:
    cluster_arn: str
    principal: str
    document: str
    """Compact JSON."""
    version: int
    deleting: bool
    """Deleted by the user; kept until the sync has removed the principal's ACLs."""
    creation_time: datetime
    update_time: datetime
    in_kafka: bool
    """Steward may have written ACLs of this principal (set before it first tries)."""
    applied_version: int | None = None
    applied_time: datetime | None = None
    detail: str | None = None
    """Why the last attempt to apply failed; None after a success."""

    @property
    def applied(self) -> bool:
        return self.applied_version == self.version


def _policy(row: Any) -> StoredPolicy:
    return StoredPolicy(
        cluster_arn=row.cluster_arn,
        principal=row.principal,
        document=row.document,
        version=row.version,
        deleting=bool(row.deleting),
        creation_time=aware(row.creation_time),  # type: ignore[arg-type]
        update_time=aware(row.update_time),  # type: ignore[arg-type]
        in_kafka=bool(row.in_kafka),
        applied_version=row.applied_version,
        applied_time=aware(row.applied_time),
        detail=row.detail,
    )


def _key(cluster_arn: str, principal: str) -> ColumnElement[bool]:
    return (_columns.cluster_arn == cluster_arn) & (_columns.principal == principal)


class PolicyRecords:
    """Repository of access policies, over the store's engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, cluster_arn: str, principal: str) -> StoredPolicy | None:
        """The principal's row, a deleted policy's too while it is `deleting`."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(schema.access_policies).where(_key(cluster_arn, principal))
            ).first()
        return None if row is None else _policy(row)

    def all(self, cluster_arn: str | None = None) -> list[StoredPolicy]:
        """Every row (deleting ones too), by cluster and principal."""
        query = select(schema.access_policies).order_by(_columns.cluster_arn, _columns.principal)
        if cluster_arn is not None:
            query = query.where(_columns.cluster_arn == cluster_arn)
        with self.engine.connect() as conn:
            return [_policy(r) for r in conn.execute(query).all()]

    def cluster_arns(self) -> list[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(_columns.cluster_arn).distinct()).all()
        return sorted(arn for (arn,) in rows)

    def count(self, cluster_arn: str) -> int:
        """Policies of the cluster that are not deleted."""
        with self.engine.connect() as conn:
            found = conn.execute(
                select(func.count()).where(
                    _columns.cluster_arn == cluster_arn, _columns.deleting.is_(False)
                )
            ).scalar_one()
        return int(found)

    def put(self, cluster_arn: str, principal: str, document: str, now: datetime) -> StoredPolicy:
        """Create the policy, or replace its document (a deleted one that is still `deleting`
        comes back, as new)."""
        with self.engine.begin() as conn:
            row = conn.execute(
                select(schema.access_policies).where(_key(cluster_arn, principal))
            ).first()
            if row is None:
                conn.execute(
                    insert(schema.access_policies).values(
                        cluster_arn=cluster_arn,
                        principal=principal,
                        document=document,
                        version=1,
                        deleting=False,
                        creation_time=now,
                        update_time=now,
                        in_kafka=False,
                    )
                )
            else:
                values: dict[str, Any] = {
                    "document": document,
                    "version": row.version + 1,
                    "deleting": False,
                    "update_time": now,
                }
                if row.deleting:
                    values["creation_time"] = now
                conn.execute(
                    update(schema.access_policies)
                    .where(_key(cluster_arn, principal))
                    .values(**values)
                )
        found = self.get(cluster_arn, principal)
        assert found is not None
        return found

    def mark_deleting(self, cluster_arn: str, principal: str, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(schema.access_policies)
                .where(_key(cluster_arn, principal))
                .values(deleting=True, version=_columns.version + 1, update_time=now)
            )

    def remove(self, cluster_arn: str, principal: str, version: int | None = None) -> None:
        """Forget the policy; with `version`, only if it has not changed since."""
        where = _key(cluster_arn, principal)
        if version is not None:
            where = where & (_columns.version == version)
        with self.engine.begin() as conn:
            conn.execute(delete(schema.access_policies).where(where))

    def remove_unapplied(self, cluster_arn: str, principal: str) -> bool:
        """Forget the policy if Steward never wrote ACLs for it; whether it did."""
        with self.engine.begin() as conn:
            removed = conn.execute(
                delete(schema.access_policies).where(
                    _key(cluster_arn, principal) & _columns.in_kafka.is_(False)
                )
            ).rowcount
        return bool(removed)

    def remove_cluster(self, cluster_arn: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(schema.access_policies).where(_columns.cluster_arn == cluster_arn))

    def mark_in_kafka(self, cluster_arn: str, principal: str, version: int) -> bool:
        """Record, before the first write, that Kafka may hold ACLs of the principal; False (and
        nothing recorded) when the policy changed or went since `version` was read."""
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(schema.access_policies)
                .where(
                    _key(cluster_arn, principal)
                    & (_columns.version == version)
                    & _columns.deleting.is_(False)
                )
                .values(in_kafka=True)
            ).rowcount
        return bool(changed)

    def record_applied(self, cluster_arn: str, principal: str, version: int, now: datetime) -> None:
        """Kafka's ACLs of the principal are what `version` compiles to."""
        with self.engine.begin() as conn:
            conn.execute(
                update(schema.access_policies)
                .where(_key(cluster_arn, principal))
                .values(applied_version=version, applied_time=now, detail=None)
            )

    def record_failure(self, cluster_arn: str, principal: str, detail: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(schema.access_policies)
                .where(_key(cluster_arn, principal))
                .values(detail=detail)
            )

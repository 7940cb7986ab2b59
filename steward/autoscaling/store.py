"""Scalable targets, scaling policies and scaling activities as the store keeps them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.engine import Engine

from steward.store import schema
from steward.store.codec import aware

TargetKey = tuple[str, str, str]
"""(service namespace, resource id, scalable dimension)"""


@dataclass
class ScalableTarget:
    service_namespace: str
    resource_id: str
    scalable_dimension: str
    arn: str
    min_capacity: int
    max_capacity: int
    role_arn: str
    creation_time: datetime
    suspended: dict[str, bool] = field(default_factory=dict)

    @property
    def key(self) -> TargetKey:
        return (self.service_namespace, self.resource_id, self.scalable_dimension)


@dataclass
class ScalingPolicy:
    arn: str
    name: str
    service_namespace: str
    resource_id: str
    scalable_dimension: str
    policy_type: str
    configuration: dict[str, Any]
    """The TargetTrackingScalingPolicyConfiguration as given."""
    creation_time: datetime

    @property
    def key(self) -> TargetKey:
        return (self.service_namespace, self.resource_id, self.scalable_dimension)


@dataclass
class ScalingActivity:
    activity_id: str
    service_namespace: str
    resource_id: str
    scalable_dimension: str
    description: str
    cause: str
    start_time: datetime
    status_code: str
    """Pending, InProgress, Successful, Failed (Application Auto Scaling's codes)."""
    end_time: datetime | None = None
    status_message: str | None = None
    operation_arn: str | None = None


def _where(table: Any, key: TargetKey) -> Any:
    namespace, resource, dimension = key
    return and_(
        table.c.service_namespace == namespace,
        table.c.resource_id == resource,
        table.c.scalable_dimension == dimension,
    )


class AutoscalingRecords:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- targets --------------------------------------------------------------------------------
    def put_target(self, target: ScalableTarget) -> None:
        values = {
            "arn": target.arn,
            "min_capacity": target.min_capacity,
            "max_capacity": target.max_capacity,
            "role_arn": target.role_arn,
            "suspended": target.suspended,
            "creation_time": target.creation_time,
        }
        table = schema.scalable_targets
        with self.engine.begin() as conn:
            if not conn.execute(
                update(table).where(_where(table, target.key)).values(**values)
            ).rowcount:
                namespace, resource, dimension = target.key
                conn.execute(
                    insert(table).values(
                        service_namespace=namespace,
                        resource_id=resource,
                        scalable_dimension=dimension,
                        **values,
                    )
                )

    def target(self, key: TargetKey) -> ScalableTarget | None:
        table = schema.scalable_targets
        with self.engine.connect() as conn:
            row = conn.execute(select(table).where(_where(table, key))).first()
        return _target(row) if row is not None else None

    def targets(self, namespace: str | None = None) -> list[ScalableTarget]:
        table = schema.scalable_targets
        query = select(table).order_by(table.c.creation_time, table.c.resource_id)
        if namespace is not None:
            query = query.where(table.c.service_namespace == namespace)
        with self.engine.connect() as conn:
            return [_target(row) for row in conn.execute(query)]

    def delete_target(self, key: TargetKey) -> bool:
        with self.engine.begin() as conn:
            for table in (schema.scaling_policies,):
                conn.execute(delete(table).where(_where(table, key)))
            table = schema.scalable_targets
            return bool(conn.execute(delete(table).where(_where(table, key))).rowcount)

    # --- policies -------------------------------------------------------------------------------
    def put_policy(self, policy: ScalingPolicy) -> None:
        table = schema.scaling_policies
        with self.engine.begin() as conn:
            conn.execute(
                delete(table).where(and_(_where(table, policy.key), table.c.name == policy.name))
            )
            conn.execute(
                insert(table).values(
                    arn=policy.arn,
                    name=policy.name,
                    service_namespace=policy.service_namespace,
                    resource_id=policy.resource_id,
                    scalable_dimension=policy.scalable_dimension,
                    policy_type=policy.policy_type,
                    configuration=policy.configuration,
                    creation_time=policy.creation_time,
                )
            )

    def policies(self, namespace: str | None = None) -> list[ScalingPolicy]:
        table = schema.scaling_policies
        query = select(table).order_by(table.c.creation_time, table.c.name)
        if namespace is not None:
            query = query.where(table.c.service_namespace == namespace)
        with self.engine.connect() as conn:
            return [
                ScalingPolicy(
                    r.arn,
                    r.name,
                    r.service_namespace,
                    r.resource_id,
                    r.scalable_dimension,
                    r.policy_type,
                    dict(r.configuration),
                    aware(r.creation_time),  # type: ignore[arg-type]
                )
                for r in conn.execute(query)
            ]

    def delete_policy(self, key: TargetKey, name: str) -> bool:
        table = schema.scaling_policies
        with self.engine.begin() as conn:
            result = conn.execute(
                delete(table).where(and_(_where(table, key), table.c.name == name))
            )
            return bool(result.rowcount)

    # --- activities -----------------------------------------------------------------------------
    def add_activity(self, activity: ScalingActivity) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(schema.scaling_activities).values(**activity.__dict__))

    def update_activity(self, activity: ScalingActivity) -> None:
        table = schema.scaling_activities
        values = {k: v for k, v in activity.__dict__.items() if k != "activity_id"}
        with self.engine.begin() as conn:
            conn.execute(
                update(table).where(table.c.activity_id == activity.activity_id).values(**values)
            )

    def activities(self, namespace: str | None = None) -> list[ScalingActivity]:
        """Newest first."""
        table = schema.scaling_activities
        query = select(table).order_by(table.c.start_time.desc(), table.c.activity_id)
        if namespace is not None:
            query = query.where(table.c.service_namespace == namespace)
        with self.engine.connect() as conn:
            rows = list(conn.execute(query))
        return [
            ScalingActivity(
                r.activity_id,
                r.service_namespace,
                r.resource_id,
                r.scalable_dimension,
                r.description,
                r.cause,
                aware(r.start_time),  # type: ignore[arg-type]
                r.status_code,
                aware(r.end_time) if r.end_time is not None else None,
                r.status_message,
                r.operation_arn,
            )
            for r in rows
        ]


def _target(row: Any) -> ScalableTarget:
    return ScalableTarget(
        row.service_namespace,
        row.resource_id,
        row.scalable_dimension,
        row.arn,
        row.min_capacity,
        row.max_capacity,
        row.role_arn,
        aware(row.creation_time),  # type: ignore[arg-type]
        dict(row.suspended or {}),
    )

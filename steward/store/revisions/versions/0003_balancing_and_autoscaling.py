"""Continuous balancing of a cluster (MSK's UpdateRebalancing) and Application Auto Scaling's
scalable targets, scaling policies and scaling activities.

Revision ID: 0003_balancing_and_autoscaling
Revises: 0002_control_plane_leases
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_balancing_and_autoscaling"
down_revision = "0002_control_plane_leases"
branch_labels = None
depends_on = None

MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "rebalancing",
        sa.Column("cluster_arn", sa.String, primary_key=True),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("threshold", sa.JSON, nullable=False),
        sa.Column("update_time", MOMENT, nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "scalable_targets",
        sa.Column("service_namespace", sa.String, primary_key=True),
        sa.Column("resource_id", sa.String, primary_key=True),
        sa.Column("scalable_dimension", sa.String, primary_key=True),
        sa.Column("arn", sa.String, nullable=False),
        sa.Column("min_capacity", sa.Integer, nullable=False),
        sa.Column("max_capacity", sa.Integer, nullable=False),
        sa.Column("role_arn", sa.String, nullable=False),
        sa.Column("suspended", sa.JSON, nullable=False),
        sa.Column("creation_time", MOMENT, nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "scaling_policies",
        sa.Column("arn", sa.String, primary_key=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("service_namespace", sa.String, nullable=False),
        sa.Column("resource_id", sa.String, nullable=False),
        sa.Column("scalable_dimension", sa.String, nullable=False),
        sa.Column("policy_type", sa.String, nullable=False),
        sa.Column("configuration", sa.JSON, nullable=False),
        sa.Column("creation_time", MOMENT, nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "scaling_activities",
        sa.Column("activity_id", sa.String, primary_key=True),
        sa.Column("service_namespace", sa.String, nullable=False),
        sa.Column("resource_id", sa.String, nullable=False),
        sa.Column("scalable_dimension", sa.String, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("cause", sa.Text, nullable=False),
        sa.Column("start_time", MOMENT, nullable=False),
        sa.Column("end_time", MOMENT),
        sa.Column("status_code", sa.String, nullable=False),
        sa.Column("status_message", sa.Text),
        sa.Column("operation_arn", sa.String),
        if_not_exists=True,
    )


def downgrade() -> None:
    for table in ("scaling_activities", "scaling_policies", "scalable_targets", "rebalancing"):
        op.drop_table(table)

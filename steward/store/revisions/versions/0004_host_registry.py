"""The host registry: every host the control plane drives, embedded or joined, with its zone,
agent address, capacity and state.

Revision ID: 0004_host_registry
Revises: 0003_balancing_and_autoscaling
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_host_registry"
down_revision = "0003_balancing_and_autoscaling"
branch_labels = None
depends_on = None

MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "hosts",
        sa.Column("name", sa.String, primary_key=True),
        sa.Column("zone", sa.String, nullable=False),
        sa.Column("agent_address", sa.String, nullable=False),
        sa.Column("node_addresses", sa.JSON, nullable=False),
        sa.Column("cores", sa.Float, nullable=False),
        sa.Column("memory_bytes", sa.BigInteger, nullable=False),
        sa.Column("disks", sa.JSON, nullable=False),
        sa.Column("state", sa.String, nullable=False),
        sa.Column("origin", sa.String, nullable=False),
        sa.Column("labels", sa.JSON, nullable=False),
        sa.Column("registered_at", MOMENT, nullable=False),
        sa.Column("last_seen", MOMENT),
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_table("hosts")

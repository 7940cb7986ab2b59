"""The lease of the control planes sharing one store: who leads, where, until when.

Revision ID: 0002_control_plane_leases
Revises: 0001_baseline
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_control_plane_leases"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "control_plane_leases",
        sa.Column("name", sa.String, primary_key=True),
        sa.Column("holder", sa.String, nullable=False),
        sa.Column("address", sa.String, nullable=False),
        sa.Column("term", sa.Integer, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("renewed_at", sa.Float, nullable=False),
        if_not_exists=True,  # a store whose tables were made whole, without Alembic
    )


def downgrade() -> None:
    op.drop_table("control_plane_leases")

"""Hosts that join with a single-use token, and mutual TLS between the control plane and the
agents: the agents CA and the control plane's client certificate, each agent's certificate, and
the join tokens (their hashes only).

Revision ID: 0005_join_tokens
Revises: 0004_host_registry
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_join_tokens"
down_revision = "0004_host_registry"
branch_labels = None
depends_on = None

MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "agent_credentials",
        sa.Column("name", sa.String, primary_key=True),
        sa.Column("certificate_pem", sa.Text, nullable=False),
        sa.Column("sealed_key", sa.LargeBinary, nullable=False),
        sa.Column("creation_time", MOMENT, nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "agent_certificates",
        sa.Column("host", sa.String, primary_key=True),
        sa.Column("zone", sa.String, nullable=False),
        sa.Column("address", sa.String, nullable=False),
        sa.Column("port", sa.Integer, nullable=False),
        sa.Column("certificate_pem", sa.Text, nullable=False),
        sa.Column("not_after", MOMENT, nullable=False),
        sa.Column("issue_time", MOMENT, nullable=False),
        sa.Column("joined", sa.Boolean, nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "join_tokens",
        sa.Column("token_id", sa.String, primary_key=True),
        sa.Column("token_hash", sa.String, nullable=False, unique=True),
        sa.Column("zone", sa.String),
        sa.Column("creation_time", MOMENT, nullable=False),
        sa.Column("expires_at", MOMENT, nullable=False),
        sa.Column("used_at", MOMENT),
        sa.Column("used_by", sa.String),
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_table("join_tokens")
    op.drop_table("agent_certificates")
    op.drop_table("agent_credentials")

"""Initial schema: users, agents, interactions, agent state changes.

Revision ID: 0001
Revises:
Create Date: 2026-01-05
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out here rather than imported from tables.py: a migration must keep
# producing the same schema whatever the models become later.
_json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, nullable: bool = True) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(150), nullable=False),
        sa.Column("display_name", sa.String(), nullable=False),
        sa.Column("password_hash", sa.String(), nullable=False),
        sa.Column("roles", sa.String(), nullable=False),
        sa.Column("agent_id", sa.String(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        _ts("created_at", nullable=False),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    op.create_table(
        "agents",
        sa.Column("agent_id", sa.String(), primary_key=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("extension", sa.String(), nullable=False),
        sa.Column("platform", sa.String(), nullable=False),
        sa.Column("skills", _json, nullable=False),
    )
    op.create_table(
        "interactions",
        sa.Column("interaction_id", sa.String(), primary_key=True),
        sa.Column("call_id", sa.String(), nullable=True),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("direction", sa.String(), nullable=False),
        sa.Column("customer_number", sa.String(), nullable=True),
        sa.Column("customer_name", sa.String(), nullable=True),
        sa.Column("agent_id", sa.String(), nullable=True),
        sa.Column("queue", sa.String(), nullable=True),
        sa.Column("attached", _json, nullable=False),
        _ts("created_at", nullable=False),
        _ts("queued_at"),
        _ts("offered_at"),
        _ts("accepted_at"),
        _ts("ended_at"),
        _ts("wrapped_at"),
        sa.Column("disposition", sa.String(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("end_cause", sa.String(), nullable=True),
    )
    op.create_index("ix_interactions_call_id", "interactions", ["call_id"])
    op.create_index("ix_interactions_agent_created", "interactions", ["agent_id", "created_at"])
    op.create_index("ix_interactions_created", "interactions", ["created_at"])
    op.create_table(
        "agent_state_changes",
        sa.Column("id", _big_id, primary_key=True, autoincrement=True),
        sa.Column("agent_id", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=True),
        _ts("deadline"),
        _ts("at", nullable=False),
        _ts("ended_at"),
    )
    op.create_index("ix_agent_state_changes_agent_at", "agent_state_changes", ["agent_id", "at"])


def downgrade() -> None:
    op.drop_table("agent_state_changes")
    op.drop_table("interactions")
    op.drop_table("agents")
    op.drop_table("users")

"""Open digital interactions, kept so that a restarted hub queues them again.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out rather than imported from tables.py (see 0001).
_json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _ts(name: str, nullable: bool = True) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "digital_interactions",
        sa.Column("interaction_id", sa.String(), primary_key=True),
        sa.Column("platform", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("queue", sa.String(), nullable=True),
        sa.Column("sender", _json, nullable=False),
        sa.Column("subject", sa.String(), nullable=True),
        sa.Column("preview", sa.String(), nullable=True),
        sa.Column("content_url", sa.String(), nullable=True),
        sa.Column("attached", _json, nullable=False),
        _ts("opened_at", nullable=False),
        _ts("closed_at"),
    )
    op.create_index("ix_digital_interactions_open", "digital_interactions",
                    ["platform", "closed_at"])


def downgrade() -> None:
    op.drop_index("ix_digital_interactions_open", table_name="digital_interactions")
    op.drop_table("digital_interactions")

"""Digital intake: message ids already received, and open conversations.

Revision ID: 0003
Revises: 0002
Create Date: 2026-01-14
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out rather than imported from tables.py (see 0001).
_big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, nullable: bool = True) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    # The primary key is the idempotency key: a repeated (platform, message id)
    # cannot be inserted twice, whatever the timing.
    op.create_table(
        "digital_messages",
        sa.Column("platform", sa.String(), primary_key=True),
        sa.Column("message_id", sa.String(), primary_key=True),
        sa.Column("interaction_id", sa.String(), nullable=False),
        _ts("received_at", nullable=False),
    )
    op.create_index("ix_digital_messages_interaction_id", "digital_messages",
                    ["interaction_id"])
    op.create_table(
        "digital_conversations",
        sa.Column("id", _big_id, primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(), nullable=False),
        sa.Column("conversation_id", sa.String(), nullable=False),
        sa.Column("interaction_id", sa.String(), nullable=False),
        _ts("opened_at", nullable=False),
        _ts("closed_at"),
    )
    op.create_index("ix_digital_conversations_interaction_id", "digital_conversations",
                    ["interaction_id"])
    # One open conversation per thread; a closed one lets the next message start anew.
    op.create_index(
        "uq_digital_conversations_open", "digital_conversations",
        ["platform", "conversation_id"], unique=True,
        sqlite_where=sa.text("closed_at IS NULL"),
        postgresql_where=sa.text("closed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_digital_conversations_open", table_name="digital_conversations")
    op.drop_index("ix_digital_conversations_interaction_id", table_name="digital_conversations")
    op.drop_table("digital_conversations")
    op.drop_index("ix_digital_messages_interaction_id", table_name="digital_messages")
    op.drop_table("digital_messages")

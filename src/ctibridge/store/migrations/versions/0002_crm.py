"""CRM: the call-log outbox and the CRM record an interaction is logged against.

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-12
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out rather than imported from tables.py (see 0001).
_json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _ts(name: str, nullable: bool = True) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "call_log_outbox",
        # The interaction id is also the idempotency key sent to the CRM:
        # one row, one activity, however often it is delivered.
        sa.Column("interaction_id", sa.String(), primary_key=True),
        sa.Column("crm", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),  # pending | delivered | failed
        sa.Column("attempts", sa.Integer(), nullable=False),
        _ts("next_attempt_at", nullable=False),
        _ts("lease_until"),
        sa.Column("lease_owner", sa.String(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("activity_id", sa.String(), nullable=True),
        _ts("created_at", nullable=False),
        _ts("delivered_at"),
    )
    op.create_index(
        "ix_call_log_outbox_status_next", "call_log_outbox", ["status", "next_attempt_at"]
    )
    with op.batch_alter_table("interactions") as batch:
        batch.add_column(sa.Column("crm_record", _json, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("interactions") as batch:
        batch.drop_column("crm_record")
    op.drop_index("ix_call_log_outbox_status_next", table_name="call_log_outbox")
    op.drop_table("call_log_outbox")

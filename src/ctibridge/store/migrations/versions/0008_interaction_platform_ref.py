"""Each interaction keeps where its call is (platform and the platform's reference), and
the interactions not yet wrapped up are indexed: a starting hub sweeps what a crash left.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("interactions") as batch:
        batch.add_column(sa.Column("platform", sa.String(), nullable=True))
        batch.add_column(sa.Column("platform_ref", sa.String(), nullable=True))
    op.create_index("ix_interactions_unwrapped", "interactions", ["created_at"],
                    sqlite_where=sa.text("wrapped_at IS NULL"),
                    postgresql_where=sa.text("wrapped_at IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_interactions_unwrapped", table_name="interactions")
    with op.batch_alter_table("interactions") as batch:
        batch.drop_column("platform_ref")
        batch.drop_column("platform")

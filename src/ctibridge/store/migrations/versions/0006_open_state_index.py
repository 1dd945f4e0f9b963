"""Index each agent's open state row: closing it is one lookup, however long the history.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every batch of state changes closes the agent's open row
    # (agent_id = ? AND ended_at IS NULL); without this it scans their whole history.
    op.create_index("ix_agent_state_changes_open", "agent_state_changes", ["agent_id"],
                    sqlite_where=sa.text("ended_at IS NULL"),
                    postgresql_where=sa.text("ended_at IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_agent_state_changes_open", table_name="agent_state_changes")

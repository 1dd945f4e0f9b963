"""Each agent state row keeps where the agent is logged in when it is not their
configured phone (a station login), so a new core after a takeover or a restart puts
them back at that station instead of their configured one.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agent_state_changes") as batch:
        batch.add_column(sa.Column("station_platform", sa.String(), nullable=True))
        batch.add_column(sa.Column("station_device", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agent_state_changes") as batch:
        batch.drop_column("station_device")
        batch.drop_column("station_platform")

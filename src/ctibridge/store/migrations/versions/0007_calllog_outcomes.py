"""Call log: outcomes a CRM cannot de-duplicate, fallbacks, the CRM's status.

``in_doubt``: a write left and its outcome is unknown (checked, or made
``uncertain``, before anything is sent again). ``last_status``: the CRM's HTTP
status with ``last_error``. ``log_record``: the record a fallback, a creation or
the agent chose. ``fallback_step``: where the fallback policy resumes.
``choices``/``agent_id``: what the agent may pick from while the row waits.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("call_log_outbox") as batch:
        batch.add_column(sa.Column("in_doubt", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("last_status", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("log_record", _json, nullable=True))
        batch.add_column(sa.Column("fallback_step", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("choices", _json, nullable=True))
        batch.add_column(sa.Column("agent_id", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("call_log_outbox") as batch:
        for name in ("agent_id", "choices", "fallback_step", "log_record", "last_status",
                     "in_doubt"):
            batch.drop_column(name)

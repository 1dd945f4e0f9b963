"""Insert-or-update by primary key, in each dialect's own words."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase


async def upsert(
    session: AsyncSession, model: type[DeclarativeBase], rows: Sequence[dict[str, Any]]
) -> None:
    """Write ``rows`` (every column given), replacing rows with the same key."""
    if not rows:
        return
    table = model.__table__
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(table)  # type: ignore[arg-type]
    keys = [c.name for c in table.primary_key]  # type: ignore[attr-defined]
    stmt = stmt.on_conflict_do_update(
        index_elements=keys,
        set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys},
    )
    # One statement, many parameter sets: the driver batches them.
    await session.execute(stmt, list(rows))

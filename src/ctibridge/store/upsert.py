"""Insert-or-update by primary key, in each dialect's own words."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import ColumnCollection, Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.dml import Insert


async def upsert(
    session: AsyncSession, model: type[DeclarativeBase], rows: Sequence[dict[str, Any]]
) -> None:
    """Write ``rows`` (every column given), replacing rows with the same key."""
    if not rows:
        return
    table = cast(Table, model.__table__)
    keys = [c.name for c in table.primary_key]

    def changes(excluded: ColumnCollection[str, Any]) -> dict[str, Any]:
        return {c.name: excluded[c.name] for c in table.columns if c.name not in keys}

    stmt: Insert
    if session.get_bind().dialect.name == "postgresql":
        pg = pg_insert(table)
        stmt = pg.on_conflict_do_update(index_elements=keys, set_=changes(pg.excluded))
    else:
        lite = sqlite_insert(table)
        stmt = lite.on_conflict_do_update(index_elements=keys, set_=changes(lite.excluded))
    # One statement, many parameter sets: the driver batches them.
    await session.execute(stmt, list(rows))

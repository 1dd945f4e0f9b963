"""Insert-or-update by primary key, in each dialect's own words."""

from __future__ import annotations

import functools
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
    stmt = _statement(cast(Table, model.__table__), session.get_bind().dialect.name)
    # One statement, many parameter sets: the driver batches them.
    await session.execute(stmt, list(rows))


@functools.cache
def _statement(table: Table, dialect: str) -> Insert:
    """Built once per table: ``excluded`` is a new alias of the whole table each time it
    is read, a reference cycle of hundreds of objects per write otherwise left to the
    garbage collector's full collections (gcpolicy.py)."""
    keys = [c.name for c in table.primary_key]

    def changes(excluded: ColumnCollection[str, Any]) -> dict[str, Any]:
        return {c.name: excluded[c.name] for c in table.columns if c.name not in keys}

    if dialect == "postgresql":
        pg = pg_insert(table)
        return pg.on_conflict_do_update(index_elements=keys, set_=changes(pg.excluded))
    lite = sqlite_insert(table)
    return lite.on_conflict_do_update(index_elements=keys, set_=changes(lite.excluded))

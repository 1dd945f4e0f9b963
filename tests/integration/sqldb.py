"""A customer database of its own for a test: a SQLite file, or a fresh PostgreSQL
database (dropped after) on the server named by CTIBRIDGE_TEST_PG."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from ctibridge.store.db import async_url
from tests.needs import unavailable

PG_ADMIN = os.environ.get("CTIBRIDGE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextlib.asynccontextmanager
async def customer_db(kind: str, tmp_path: Path, prefix: str,
                      statements: Callable[[str], list[str]]) -> AsyncIterator[str]:
    """The database's URL, with ``statements(dialect)`` run in it ("sqlite"/"postgresql")."""
    admin = None
    name = ""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'crm.db'}"
    else:
        name = f"{prefix}_{secrets.token_hex(5)}"
        try:
            admin = await asyncpg.connect(PG_ADMIN, timeout=5)
        except (OSError, asyncpg.PostgresError) as exc:
            unavailable(f"PostgreSQL is not reachable at {PG_ADMIN}: {exc}")
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    engine = create_async_engine(async_url(url))
    async with engine.begin() as conn:
        for statement in statements(engine.dialect.name):
            await conn.execute(text(statement))
    await engine.dispose()
    try:
        yield url
    finally:
        if admin is not None:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


def serial(dialect: str) -> str:
    """An auto-numbered primary key column's type."""
    return "INTEGER PRIMARY KEY" if dialect == "sqlite" else "SERIAL PRIMARY KEY"

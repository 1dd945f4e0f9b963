"""Every store test runs twice: on a fresh SQLite file and on PostgreSQL.

PostgreSQL: the server at 127.0.0.1:5432 (trust auth, user postgres), or the
admin DSN in ``CTIBRIDGE_TEST_PG``. One uniquely named database is created
for the test session and dropped at its end; each test starts from an empty
schema. If the server cannot be reached the PostgreSQL variants are skipped,
or fail when ``CI`` is set (CI must never silently test less).
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]
import pytest
from argon2 import PasswordHasher

from ctibridge.store import Database, Store
from tests.needs import unavailable

T = TypeVar("T")

PG_ADMIN = os.environ.get("CTIBRIDGE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
# Cheap argon2 parameters so tests hash in microseconds; production keeps the defaults.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def run_async(fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine from sync fixture code, on its own loop in its own thread
    (so pytest-asyncio's loops are never disturbed)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, fn()).result()


def _with_db(dsn: str, name: str) -> str:
    return dsn.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of a PostgreSQL database created for this test session."""
    name = f"ctibridge_test_{secrets.token_hex(6)}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        run_async(lambda: admin(f'CREATE DATABASE "{name}"'))
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        msg = (f"PostgreSQL is not reachable at {PG_ADMIN} ({type(exc).__name__}: {exc}); "
               "start it (scripts/test.sh does) or set CTIBRIDGE_TEST_PG")
        unavailable(msg)
    try:
        yield _with_db(PG_ADMIN, name)
    finally:
        run_async(lambda: admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _reset_pg(url: str) -> None:
    async def reset() -> None:
        conn = await asyncpg.connect(url, timeout=5)
        try:
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        finally:
            await conn.close()

    run_async(reset)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of the current backend."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("pg_url")
    _reset_pg(url)
    return url


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    await database.start()
    try:
        yield database
    finally:
        await database.stop()


@pytest.fixture
def store(db: Database) -> Store:
    return Store(db, hasher=FAST_HASHER)

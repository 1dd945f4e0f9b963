"""The schema is created by the migrations at start, and only once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from ctibridge.store import Database, Store
from ctibridge.store.db import alembic_config
from ctibridge.store.tables import Base

from .conftest import FAST_HASHER

TABLES = {"users", "agents", "interactions", "agent_state_changes", "call_log_outbox",
          "digital_messages", "digital_conversations", "digital_interactions", "audit_log",
          "auth_sessions",
          "alembic_version"}


def _head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def _tables(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def _revision(db: Database) -> str | None:
    async with db.engine.connect() as conn:
        return (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()


async def test_migrations_create_every_table_on_an_empty_database(db_url: str) -> None:
    db = Database(db_url)
    await db.start()
    try:
        assert await _tables(db) == TABLES
        assert await _revision(db) == _head()
    finally:
        await db.stop()


async def test_restarting_on_the_same_database_keeps_data_and_migrates_nothing(
    db_url: str,
) -> None:
    first = Database(db_url)
    await first.start()
    await first.start()  # a second start() on a started Database is a no-op
    await Store(first, hasher=FAST_HASHER).users.create("ann", "pw-ann-1", ["agent"])
    await first.stop()

    again = Database(db_url)
    await again.start()
    try:
        assert await _revision(again) == _head()
        assert await Store(again).users.get("ann") is not None
    finally:
        await again.stop()


async def test_two_processes_starting_together_both_succeed(db_url: str) -> None:
    a, b = Database(db_url), Database(db_url)
    try:
        await asyncio.gather(a.start(), b.start())
        assert await _revision(a) == _head()
    finally:
        await a.stop()
        await b.stop()


async def test_migrated_schema_matches_the_models(db: Database) -> None:
    def diff(conn: Connection) -> list[object]:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, Base.metadata))

    async with db.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'wal.db'}")
    await db.start()
    try:
        async with db.engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    finally:
        await db.stop()


async def test_relative_sqlite_path_works_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A directory with no alembic.ini or migrations: they must come from the package.
    work = tmp_path / "elsewhere"
    work.mkdir()
    monkeypatch.chdir(work)
    db = Database("sqlite:///data/nested/relative.db")  # parent folders do not exist yet
    monkeypatch.chdir(tmp_path)  # the path was resolved when the Database was made
    await db.start()
    try:
        assert await _tables(db) == TABLES
    finally:
        await db.stop()
    assert (work / "data" / "nested" / "relative.db").is_file()
    assert not (tmp_path / "data").exists()


async def test_closing_an_agents_open_state_is_an_index_lookup_not_a_scan(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'plan.db'}")
    await db.start()
    try:
        async with db.engine.connect() as conn:
            plan = (await conn.execute(text(
                "EXPLAIN QUERY PLAN UPDATE agent_state_changes SET ended_at = :t "
                "WHERE agent_id = :a AND ended_at IS NULL"), {"t": None, "a": "alice"})).all()
        assert "ix_agent_state_changes_open" in " ".join(str(row[-1]) for row in plan), plan
    finally:
        await db.stop()

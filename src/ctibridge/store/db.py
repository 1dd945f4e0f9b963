"""The database: one async engine, migrations applied at start, sessions.

SQLite (aiosqlite) by default, PostgreSQL (asyncpg) by URL. Plain
``sqlite:///`` and ``postgresql://`` URLs are accepted and turned into their
async drivers, so the configuration never has to mention a driver.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import structlog
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import StaticPool

from ..model.errors import ConfigError

log = structlog.get_logger("ctibridge.store")

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Any constant will do: it only has to be the same for every ctibridge node, so
# that two nodes starting together do not both run the migrations.
_MIGRATION_LOCK = 0x63746962  # "ctib"
_CONNECT_TIMEOUT = 10.0


def mask_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (for messages and logs)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # ValueError: e.g. a port that is not a number
        # Unparseable: mask whatever sits between "user:" and "@".
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def async_url(url: str) -> URL:
    """Parse ``url`` and select the async driver of its database.

    Relative SQLite paths are resolved against the current directory now, so
    a later ``chdir`` cannot move the database.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: e.g. a port that is not a number
        raise ConfigError(
            f"the database URL {mask_url(url)!r} is not a valid URL; "
            "use sqlite:///path/to/file.db or postgresql://user:password@host/dbname",
            code="bad-database-url",
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
        db = parsed.database
        if db and db != ":memory:" and not db.startswith("file:"):
            parsed = parsed.set(database=str(Path(db).expanduser().absolute()))
        return parsed
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg")
    raise ConfigError(
        f"the database URL {mask_url(url)!r} names {backend!r}, which ctibridge does not "
        "support; use sqlite:///path/to/file.db or postgresql://user:password@host/dbname",
        code="bad-database-url",
    )


class Database:
    """Owns the engine. ``await start()`` before use, ``await stop()`` after."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self._raw_url = url
        self.url = async_url(url)
        self.masked_url = mask_url(url)
        self._echo = echo
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.url.get_backend_name()

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("Database.start() was not awaited")
        return self._engine

    async def start(self) -> None:
        """Connect and migrate to the newest schema. Calling it again is a no-op."""
        if self._engine is not None:
            return
        engine = self._create_engine()
        try:
            await self._check_connection(engine)
            await self._migrate(engine)
        except BaseException:
            await engine.dispose()
            raise
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        log.info("store.started", url=self.masked_url)

    async def stop(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
        self._engine = None
        self._sessions = None

    @asynccontextmanager
    async def session(self, *, write: bool = False) -> AsyncIterator[AsyncSession]:
        """A session inside a transaction: committed on exit, rolled back on error.

        ``write=True`` for a transaction that reads then writes: on SQLite it takes
        the write lock at BEGIN (IMMEDIATE). A deferred one fails at once with
        "database is locked" when another connection committed in between (the
        hub's writer vs the call-log worker): SQLite can wait for a lock taken at
        BEGIN, not for that conflict. Never open a session inside a write session.
        """
        if self._sessions is None:
            raise RuntimeError("Database.start() was not awaited")
        async with self._sessions.begin() as session:
            if write and self.dialect == "sqlite":
                await session.connection(execution_options={"sqlite_begin": "BEGIN IMMEDIATE"})
            yield session

    # ------------------------------------------------------------ internals

    def _create_engine(self) -> AsyncEngine:
        kwargs: dict[str, Any] = {"echo": self._echo}
        if self.dialect == "sqlite":
            db = self.url.database
            if not db or db == ":memory:":
                # One shared connection, or every session would see its own empty db.
                kwargs["poolclass"] = StaticPool
            elif not db.startswith("file:"):
                self._make_parent(Path(db))
            # A writer waits this long for another's lock instead of failing at once.
            kwargs["connect_args"] = {"timeout": 15}
        else:
            kwargs["pool_pre_ping"] = True  # survive a PostgreSQL restart
            kwargs["connect_args"] = {"timeout": _CONNECT_TIMEOUT}
        engine = create_async_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            _sqlite_setup(engine)
        return engine

    async def _migrate(self, engine: AsyncEngine) -> None:
        # Two processes may start together on one database (the server and a
        # `ctibridge user add`): make the second wait, then find nothing to do.
        async with engine.connect() as conn:
            if self.dialect == "sqlite":
                # Take the write lock at BEGIN: a read-then-write transaction
                # could otherwise fail at once with SQLITE_BUSY_SNAPSHOT.
                await conn.execution_options(sqlite_begin="BEGIN IMMEDIATE")
            async with conn.begin():
                if self.dialect == "postgresql":
                    # Released when this transaction ends.
                    await conn.execute(
                        text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK}
                    )
                await conn.run_sync(_upgrade)

    def _make_parent(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the folder of the database {self.masked_url!r}: "
                f"{exc.strerror or exc}",
                code="database-unreachable",
            ) from None

    async def _check_connection(self, engine: AsyncEngine) -> None:
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # every driver has its own errors; all mean "cannot connect"
            raise ConfigError(
                f"cannot connect to the database {self.masked_url!r}: {self._reason(exc)}",
                code="database-unreachable",
            ) from None

    def _reason(self, exc: BaseException) -> str:
        # SQLAlchemy wraps the driver's error; the driver's own message is the useful one.
        orig = getattr(exc, "orig", None) or exc
        reason = (str(orig) or type(orig).__name__).strip().splitlines()[0]
        password = self.url.password
        if password:
            reason = reason.replace(str(password), "***")
        return reason.rstrip(".")


def _sqlite_setup(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself (below): Python's sqlite3 otherwise
        # skips it before SELECT and DDL, which breaks atomic migrations.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
        cur.execute("PRAGMA synchronous=NORMAL")  # safe with WAL, much faster commits
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get("sqlite_begin", "BEGIN"))


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration built in code: no alembic.ini at runtime."""
    cfg = Config()
    # ConfigParser interpolation: a '%' in the install path must be doubled.
    cfg.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")

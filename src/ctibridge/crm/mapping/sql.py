"""SQL to the CRM's own database: bound parameters only, async drivers only."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    Numeric,
    String,
    TextClause,
    bindparam,
    text,
)
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ...store.db import async_url, mask_url
from .http import Fault


class SqlClient:
    def __init__(self, url: str, *, timeout: float) -> None:
        self.url = url
        self.shown_url = mask_url(url)
        self.timeout = timeout
        self._engine: AsyncEngine | None = None

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            self._engine = create_async_engine(async_url(self.url), pool_pre_ping=True)
        return self._engine

    async def stop(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    def statement(self, sql: str, params: dict[str, Any]) -> tuple[TextClause, dict[str, Any]]:
        """The query with each parameter bound as the type of its value (see ``typed``)."""
        return typed(sql, params, self.engine.dialect.name)

    async def query(self, sql: str, params: dict[str, Any], *,
                    trace: list[str] | None = None) -> list[dict[str, Any]]:
        async def run() -> list[dict[str, Any]]:
            async with self.engine.connect() as conn:
                result = await conn.execute(*self.statement(sql, params))
                return [dict(row._mapping) for row in result]

        rows: list[dict[str, Any]] = await self._traced(run(), sql, params, trace,
                                                        lambda r: f"{len(r)} row(s)")
        return rows

    async def _traced(self, work: Any, sql: str, params: dict[str, Any],
                      trace: list[str] | None, outcome: Any, *, write: bool = False) -> Any:
        if trace is None:
            return await self._guard(work, write=write)
        shown = " ".join(sql.split())
        trace.append(f"→ SQL {shown}\n  params: {params!r}")
        started = time.perf_counter()
        try:
            result = await self._guard(work, write=write)
        except Fault as fault:
            trace.append(f"← {fault.reason}")
            raise
        trace.append(f"← {outcome(result)} in {(time.perf_counter() - started) * 1000:.0f} ms")
        return result

    async def execute(self, sql: str, params: dict[str, Any], *,
                      trace: list[str] | None = None) -> tuple[int, Any]:
        """Run a write in its own transaction: rows touched, and the first value it
        returned (``RETURNING id``), if any."""
        async def run() -> tuple[int, Any]:
            async with self.engine.begin() as conn:
                result = await conn.execute(*self.statement(sql, params))
                if result.returns_rows:
                    rows = result.fetchall()
                    return len(rows), (rows[0][0] if rows else None)
                return int(result.rowcount or 0), None

        done: tuple[int, Any] = await self._traced(
            run(), sql, params, trace,
            lambda r: f"{r[0]} row(s) written" + (f", returned {r[1]!r}" if r[1] is not None
                                                  else ""), write=True)
        return done

    async def _guard(self, work: Any, *, write: bool = False) -> Any:
        try:
            async with asyncio.timeout(self.timeout):
                return await work
        except TimeoutError:
            # A write cut off by the timeout may have committed.
            raise Fault(f"no answer within {self.timeout:g} s from the database "
                        f"{self.shown_url}", transient=True, maybe_sent=write) from None
        except (DBAPIError, SQLAlchemyError, OSError) as exc:
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:300]
            if "invalid input for query argument" in reason:  # asyncpg: text for a typed slot
                reason += ("; give the parameter its type with a filter: | as_datetime, "
                           "| as_int, | as_float or | as_bool (docs/crm-mapping.md)")
            # A broken query will not heal by itself; a lost connection may.
            retryable = (isinstance(exc, OSError | OperationalError | InterfaceError)
                         or getattr(exc, "connection_invalidated", False))
            # Refused before anything ran: nothing written. Lost while running: maybe.
            refused = isinstance(exc, ConnectionRefusedError) or isinstance(
                getattr(exc, "orig", None), ConnectionRefusedError) or "refused" in reason
            raise Fault(f"database {self.shown_url}: {type(exc).__name__}: {reason}",
                        retryable=bool(retryable), transient=bool(retryable),
                        maybe_sent=write and bool(retryable) and not refused) from None


def typed(sql: str, params: dict[str, Any], dialect: str) -> tuple[TextClause, dict[str, Any]]:
    """``text(sql)`` with each parameter typed after its value, and the values to bind.

    A datetime is bound as a timestamp with time zone (PostgreSQL: ``timestamptz``, so
    ``CAST(:x AS timestamptz)`` and comparisons with such columns work; SQLite has no
    such type: UTC text ``YYYY-MM-DD HH:MM:SS.ffffff``, what SQLite's date functions
    read), an int as a bigint, a float as a double, a bool as a boolean (SQLite: 1/0),
    None as NULL, a list or mapping as JSON text. Text stays untyped, as before: the
    database reads it in the type the query gives it.
    """
    binds = []
    values: dict[str, Any] = {}
    for name, value in params.items():
        kind: Any = None
        if isinstance(value, bool):
            kind = Boolean()
        elif isinstance(value, int):
            kind = BigInteger()
        elif isinstance(value, float):
            kind = Float()
        elif isinstance(value, Decimal):
            kind = Numeric()
        elif isinstance(value, datetime):
            value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
            if dialect == "sqlite":  # no time zones there: naive UTC, as the docstring says
                value = value.replace(tzinfo=None)
            kind = DateTime(timezone=True)
        elif isinstance(value, date):
            kind = Date()
        elif isinstance(value, dict | list):
            value, kind = json.dumps(value, ensure_ascii=False), String()
        values[name] = value
        if kind is not None:
            binds.append(bindparam(name, type_=kind))
    statement = text(sql)
    return (statement.bindparams(*binds) if binds else statement), values

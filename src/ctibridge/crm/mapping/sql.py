"""SQL to the CRM's own database: bound parameters only, async drivers only."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text
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

    async def query(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        async def run() -> list[dict[str, Any]]:
            async with self.engine.connect() as conn:
                result = await conn.execute(text(sql), params)
                return [dict(row._mapping) for row in result]

        return await self._guard(run())

    async def execute(self, sql: str, params: dict[str, Any]) -> tuple[int, Any]:
        """Run a write in its own transaction: rows touched, and the first value it
        returned (``RETURNING id``), if any."""
        async def run() -> tuple[int, Any]:
            async with self.engine.begin() as conn:
                result = await conn.execute(text(sql), params)
                if result.returns_rows:
                    rows = result.fetchall()
                    return len(rows), (rows[0][0] if rows else None)
                return int(result.rowcount or 0), None

        return await self._guard(run(), write=True)

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
            # A broken query will not heal by itself; a lost connection may.
            retryable = (isinstance(exc, OSError | OperationalError | InterfaceError)
                         or getattr(exc, "connection_invalidated", False))
            # Refused before anything ran: nothing written. Lost while running: maybe.
            refused = isinstance(exc, ConnectionRefusedError) or isinstance(
                getattr(exc, "orig", None), ConnectionRefusedError) or "refused" in reason
            raise Fault(f"database {self.shown_url}: {type(exc).__name__}: {reason}",
                        retryable=bool(retryable), transient=bool(retryable),
                        maybe_sent=write and bool(retryable) and not refused) from None

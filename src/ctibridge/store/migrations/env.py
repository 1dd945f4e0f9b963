"""Alembic environment, async-capable.

At runtime :class:`ctibridge.store.db.Database` hands us an open connection
(``config.attributes["connection"]``) inside its transaction. A developer
running ``alembic -c src/ctibridge/store/alembic.ini upgrade head`` gets an
async engine built from ``sqlalchemy.url`` or ``CTIBRIDGE_DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from ctibridge.store.db import async_url
from ctibridge.store.tables import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: future migrations get copy-and-move.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = os.environ.get("CTIBRIDGE_DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set CTIBRIDGE_DATABASE_URL or sqlalchemy.url in alembic.ini")
    return url


async def _run_async() -> None:
    engine = create_async_engine(async_url(_url()))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run)
    finally:
        await engine.dispose()


def _run_offline() -> None:
    context.configure(url=str(async_url(_url())), target_metadata=target_metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _run_offline()
elif (given := config.attributes.get("connection")) is not None:
    _run(given)
else:
    if config.config_file_name is not None:
        from logging.config import fileConfig

        fileConfig(config.config_file_name)
    asyncio.run(_run_async())

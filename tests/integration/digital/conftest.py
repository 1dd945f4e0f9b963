"""The store fixtures (SQLite file and PostgreSQL) for the digital repository tests."""

from ..store.conftest import backend, db, db_url, pg_url  # noqa: F401

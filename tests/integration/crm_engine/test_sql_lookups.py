"""SQL lookups and the SQL call log, on SQLite files and on the PostgreSQL server,
through the in-house SQL example mapping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from ctibridge.crm.base import LookupContext
from ctibridge.crm.mapping import MappingConnector, load_mapping
from ctibridge.model.interaction import Interaction
from ctibridge.model.party import Channel, Direction, Party
from ctibridge.store.db import async_url

from ..sqldb import customer_db, serial
from .conftest import ROOT, Pauses

INHOUSE_SQL = ROOT / "examples/mappings/inhouse-sql.yaml"

SCHEMA = [
    """CREATE TABLE customers (id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT,
       company TEXT, phone TEXT, mobile TEXT, customer_no TEXT UNIQUE)""",
    """CREATE TABLE call_log (id {serial}, customer_id INTEGER, phone TEXT,
       direction TEXT, started_at TEXT, duration_s INTEGER, agent TEXT, disposition TEXT,
       notes TEXT, ext_key TEXT UNIQUE)""",
    """INSERT INTO customers VALUES
       (1, 'Jeanne', 'Martin', 'Boulangerie Martin', '+33612345678', NULL, 'C10042'),
       (2, 'Paul', 'Durand', NULL, '04 72 00 00 01', '06 11 22 33 44', 'C10043'),
       (3, 'Alice', 'Bernard', 'Bernard SA', '0123456789', NULL, 'C10044'),
       (4, 'Bob', 'Bernard', 'Bernard SA', '0123456789', NULL, 'C10045')""",
]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    def schema(dialect: str) -> list[str]:
        return [statement.format(serial=serial(dialect)) for statement in SCHEMA]

    async with customer_db(request.param, tmp_path, "ctibridge_crm", schema) as url:
        yield url


@pytest.fixture
async def crm(db_url: str) -> AsyncIterator[MappingConnector]:
    connector = load_mapping(INHOUSE_SQL, {"crm_url": "https://crm.example"},
                             environ={"CRM_DATABASE_URL": db_url}, sleep=Pauses())
    await connector.start()
    try:
        yield connector
    finally:
        await connector.stop()


def ctx(**attached: str) -> LookupContext:
    return LookupContext(attached=attached)


@pytest.mark.parametrize("number", ["06 12 34 56 78", "06.12.34.56.78", "+33 6 12 34 56 78",
                                    "0033612345678"])
async def test_a_caller_is_found_in_the_database_whatever_the_form(crm, number: str) -> None:
    result = await crm.lookup(Party(number=number), ctx())
    assert [(m.record_id, m.name, m.company) for m in result.matches] == [
        ("1", "Jeanne Martin", "Boulangerie Martin")]
    assert result.matches[0].url == "https://crm.example/customers/1"
    assert result.matches[0].fields == {"customer_no": "C10042"}


async def test_a_mobile_stored_spaced_is_found(crm) -> None:
    result = await crm.lookup(Party(number="+33611223344"), ctx())
    assert result.matches[0].name == "Paul Durand" and result.lookup == "by_phone"


async def test_ivr_customer_number_and_record_id_come_first(crm) -> None:
    by_ivr = await crm.lookup(Party(number="+33612345678"), ctx(customer_id="C10044"))
    assert (by_ivr.lookup, by_ivr.matches[0].name) == ("by_customer_id", "Alice Bernard")
    by_record = await crm.lookup(Party(number="+33612345678"), ctx(crm_record_id="2"))
    assert (by_record.lookup, by_record.matches[0].name) == ("by_record_id", "Paul Durand")


async def test_several_and_no_match_in_the_database(crm) -> None:
    several = await crm.lookup(Party(number="01 23 45 67 89"), ctx())
    assert [m.record_id for m in several.matches] == ["3", "4"]
    none = await crm.lookup(Party(number="+33 9 99 99 99 99"), ctx())
    assert none.outcome == "none"
    assert none.create_url == "https://crm.example/customers/new?phone=%2B33999999999"


async def test_a_call_is_logged_once_per_idempotency_key(crm, db_url: str) -> None:
    start = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)
    interaction = Interaction(
        "int-1", Channel.VOICE, Direction.INBOUND, Party("+33612345678"), start,
        accepted_at=start, ended_at=start + timedelta(seconds=125), agent_id="alice",
        disposition="resolved", notes="asked for a refund")
    first = await crm.log_interaction(interaction, "call-1:alice")
    again = await crm.log_interaction(interaction, "call-1:alice")
    assert first.created and first.activity_id is not None
    assert not again.created
    engine = create_async_engine(async_url(db_url))
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT customer_id, phone, direction, started_at, "
                                        "duration_s, agent, disposition, ext_key "
                                        "FROM call_log"))).all()
    await engine.dispose()
    # No record was given: the number was looked up again and the row linked to customer 1.
    assert [tuple(r) for r in rows] == [(1, "+33612345678", "I", "2025-03-04T09:30:00Z", 125,
                                         "alice", "resolved", "call-1:alice")]


async def test_a_broken_query_is_an_error_naming_the_lookup(db_url: str, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(INHOUSE_SQL.read_text().replace("FROM customers WHERE phone",
                                                      "FROM customer WHERE phone"))
    connector = load_mapping(broken, {"crm_url": "x"}, environ={"CRM_DATABASE_URL": db_url})
    try:
        result = await connector.lookup(Party(number="0612345678"), ctx())
    finally:
        await connector.stop()
    assert result.unavailable
    assert (result.error or "").startswith("lookup 'by_phone': database ")
    assert "customer" in (result.error or "")

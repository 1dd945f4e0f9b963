"""SQL mappings on real SQLite files and the real PostgreSQL server: parameters keep
their types (datetimes, numbers, booleans, NULL), and a lookup step can read the row
the step before found (the company from a second query)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from ctibridge.crm.base import CrmError, LookupContext
from ctibridge.crm.mapping import MappingConnector, load_mapping
from ctibridge.model.interaction import Interaction
from ctibridge.model.party import Channel, Direction, Party
from ctibridge.store.db import async_url

from ..sqldb import customer_db

SCHEMA = {
    "postgresql": [
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT)",
        """CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT, phone TEXT,
           account_id INTEGER, vip BOOLEAN NOT NULL DEFAULT false)""",
        """CREATE TABLE calls (id SERIAL PRIMARY KEY, contact_id INTEGER,
           started_at TIMESTAMPTZ NOT NULL, duration_s INTEGER, score DOUBLE PRECISION,
           callback BOOLEAN NOT NULL, notes TEXT, ext_key TEXT UNIQUE)""",
    ],
    "sqlite": [
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT)",
        """CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT, phone TEXT,
           account_id INTEGER, vip BOOLEAN NOT NULL DEFAULT 0)""",
        """CREATE TABLE calls (id INTEGER PRIMARY KEY, contact_id INTEGER,
           started_at TEXT NOT NULL, duration_s INTEGER, score REAL,
           callback BOOLEAN NOT NULL, notes TEXT, ext_key TEXT UNIQUE)""",
    ],
}
DATA = [
    "INSERT INTO accounts VALUES (7, 'Boulangerie Petit')",
    "INSERT INTO contacts VALUES (42, 'Camille Petit', '+33612345678', 7, true)",
    "INSERT INTO contacts VALUES (43, 'Hugo Blanc', '+33699887766', NULL, false)",
]

# What a user writes for PostgreSQL (the cast the issue saw fail with '| iso').
STARTED = {"postgresql": "CAST(:started AS timestamptz)", "sqlite": ":started"}

MAPPING = """
name: sqlcrm
connection:
  database_url: "{{{{ env.CRM_DB }}}}"
phone: {{default_region: FR, formats: [e164]}}
record: {{id: id, name: name, company: company, fields: {{vip: vip}}}}
lookups:
  - name: by_customer_no
    when: attached.customer_no
    sql: "SELECT id, name, account_id, vip FROM contacts WHERE id = :id"
    params: {{id: "{{{{ attached.customer_no | as_int }}}}"}}
    then:
      sql: "SELECT name AS company FROM accounts WHERE id = :account_id"
      params: {{account_id: "{{{{ record.account_id }}}}"}}
  - name: by_phone
    phone: true
    sql: "SELECT id, name, account_id, vip FROM contacts WHERE phone = :number"
    params: {{number: "{{{{ number }}}}"}}
    then:
      sql: "SELECT name AS company FROM accounts WHERE id = :account_id"
      params: {{account_id: "{{{{ record.account_id }}}}"}}
  - name: vip_since
    when: attached.since
    sql: >-
      SELECT c.id, c.name, NULL AS company, c.vip FROM contacts c
      WHERE c.vip = :vip AND EXISTS (SELECT 1 FROM calls k WHERE k.contact_id = c.id
      AND k.started_at >= {started_since})
    params:
      vip: "{{{{ attached.vip | as_bool }}}}"
      since: "{{{{ attached.since | as_datetime }}}}"
log:
  when_no_record: log
  sql: >-
    INSERT INTO calls (contact_id, started_at, duration_s, score, callback, notes, ext_key)
    VALUES (:contact, {started}, :duration, :score, :callback, :notes, :key)
  params:
    contact: "{{{{ record.id | as_int if record else none }}}}"
    started: "{{{{ interaction.started_at | as_datetime }}}}"
    duration: "{{{{ interaction.duration_seconds | seconds }}}}"
    score: "{{{{ attached.score | as_float }}}}"
    callback: "{{{{ interaction.disposition == 'callback' }}}}"
    notes: "{{{{ interaction.notes }}}}"
    key: "{{{{ idempotency_key }}}}"
"""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with customer_db(request.param, tmp_path, "ctibridge_typed",
                           lambda dialect: SCHEMA[dialect] + DATA) as url:
        yield url


def dialect(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


@pytest.fixture
async def crm(db_url: str, tmp_path: Path) -> AsyncIterator[MappingConnector]:
    d = dialect(db_url)
    path = tmp_path / "sqlcrm.yaml"
    path.write_text(MAPPING.format(started=STARTED[d],
                                   started_since=STARTED[d].replace("started", "since")),
                    encoding="utf-8")
    connector = load_mapping(path, environ={"CRM_DB": db_url})
    await connector.start()
    try:
        yield connector
    finally:
        await connector.stop()


async def rows(url: str, sql: str) -> list[Any]:
    engine = create_async_engine(async_url(url))
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(text(sql))).all())
    finally:
        await engine.dispose()


def a_call(**kw: Any) -> Interaction:
    accepted = datetime(2026, 12, 5, 9, 30, 15, 250000, tzinfo=UTC)
    return Interaction("i-typed-1", Channel.VOICE, Direction.INBOUND, Party("+33612345678"),
                       accepted - timedelta(seconds=20), agent_id="alice",
                       accepted_at=accepted, ended_at=accepted + timedelta(seconds=95), **kw)


async def test_the_second_query_gives_the_company(crm: MappingConnector) -> None:
    result = await crm.lookup(Party("+33612345678"), LookupContext())
    [camille] = result.matches
    assert (camille.record_id, camille.name, camille.company) == (
        "42", "Camille Petit", "Boulangerie Petit")
    assert result.lookup == "by_phone"


async def test_a_number_from_the_ivr_is_bound_as_a_number(crm: MappingConnector) -> None:
    # On PostgreSQL, id = '42' (text) against an integer column is an error.
    result = await crm.lookup(Party("+33000000000"), LookupContext(attached={
        "customer_no": " 42 "}))
    assert [(m.record_id, m.company) for m in result.matches] == [("42", "Boulangerie Petit")]
    assert result.lookup == "by_customer_no"


async def test_a_value_that_is_not_a_number_fails_the_lookup_with_its_reason(
    crm: MappingConnector,
) -> None:
    result = await crm.lookup(Party("+33000000000"), LookupContext(attached={
        "customer_no": "C-42"}))
    assert result.unavailable
    assert "as_int: 'C-42' is not a whole number" in (result.error or "")


async def test_the_call_log_binds_a_datetime_numbers_a_boolean_and_null(
    crm: MappingConnector, db_url: str,
) -> None:
    found = await crm.lookup(Party("+33612345678"), LookupContext())
    it = a_call(attached={"score": "4.5"}, disposition="callback")
    receipt = await crm.log_interaction(it, "key-1", record=found.matches[0])
    assert receipt.created
    [(contact, started, duration, score, callback, notes)] = await rows(
        db_url, "SELECT contact_id, started_at, duration_s, score, callback, notes FROM calls")
    assert (contact, duration, score, notes) == (42, 95, 4.5, None)
    assert callback in (True, 1)
    if dialect(db_url) == "postgresql":
        assert started == it.accepted_at  # a timestamptz, to the microsecond
    else:  # SQLite: UTC text, as SQLite's date functions read it
        assert started == "2026-12-05 09:30:15.250000"
    # And the stored time reads back as a time, for a later typed query.
    vip = await crm.lookup(Party(None), LookupContext(attached={
        "vip": "yes", "since": "2026-12-05T10:30:00+01:00"}))
    assert [m.record_id for m in vip.matches] == ["42"]
    later = await crm.lookup(Party(None), LookupContext(attached={
        "vip": "yes", "since": "2026-12-05T09:30:16Z"}))
    assert later.matches == ()


async def test_a_missing_value_is_bound_as_null(crm: MappingConnector, db_url: str) -> None:
    receipt = await crm.log_interaction(a_call(notes=None), "key-2", record=None)
    assert receipt.created
    assert await rows(db_url, "SELECT contact_id, score, notes, callback FROM calls") in (
        [(None, None, None, False)], [(None, None, None, 0)])


async def test_text_where_postgresql_wants_a_datetime_says_which_filter_to_use(
    db_url: str, tmp_path: Path,
) -> None:
    d = dialect(db_url)
    path = tmp_path / "iso.yaml"
    path.write_text(MAPPING.format(started=STARTED[d], started_since=":since")
                    .replace("started_at | as_datetime", "started_at | iso"), encoding="utf-8")
    connector = load_mapping(path, environ={"CRM_DB": db_url})
    try:
        if d == "sqlite":  # SQLite stores any text anywhere: the ISO string as given
            assert (await connector.log_interaction(a_call(), "key-3", record=None)).created
            assert await rows(db_url, "SELECT started_at FROM calls") == [
                ("2026-12-05T09:30:15.250000Z",)]
            return
        with pytest.raises(CrmError) as err:
            await connector.log_interaction(a_call(), "key-3", record=None)
    finally:
        await connector.stop()
    assert "expected a datetime" in err.value.message
    assert "| as_datetime" in err.value.message

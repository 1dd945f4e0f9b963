"""The SQL call log with a check step, on SQLite and PostgreSQL, across a hub crash.

The CRM's ``call_log`` table has no unique key (nothing de-duplicates), so the
mapping declares ``log.find_existing``: a SELECT by the key written in the row.
A hub that died while its INSERT ran leaves its outbox row leased and in doubt;
the hub restarted on the same node checks, and writes only if the row is absent.
Both outcomes of the crash are tried: committed before the death, and not.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from ctibridge.clock import FakeClock
from ctibridge.core.calllog import CallLogWorker
from ctibridge.crm.base import LogReceipt
from ctibridge.crm.mapping import load_mapping
from ctibridge.model.interaction import Interaction
from ctibridge.model.party import Channel, Direction, Party
from ctibridge.store import Database, Store
from ctibridge.store.db import async_url

from ..sqldb import customer_db, serial

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)

MAPPING = """
name: sqlcrm
connection:
  database_url: "{{ vars.db }}"
phone: {default_region: FR, formats: [e164]}
record: {id: id, name: name}
lookups:
  - name: by_phone
    phone: true
    sql: SELECT id, name FROM customers WHERE phone = :number
    params: {number: "{{ number }}"}
log:
  when_no_record: lookup
  sql: >
    INSERT INTO call_log (customer_id, notes, ext_key)
    VALUES (:customer_id, :notes, :ext_key) RETURNING id
  params:
    customer_id: "{{ record.id | int if record else none }}"
    notes: "{{ interaction.notes or '' }}"
    ext_key: "{{ idempotency_key }}"
  find_existing:
    sql: SELECT id FROM call_log WHERE ext_key = :ext_key
    params: {ext_key: "{{ idempotency_key }}"}
    id: id
"""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def crm_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    def schema(dialect: str) -> list[str]:
        return [
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, phone TEXT)",
            # No unique key on ext_key: the CRM cannot de-duplicate.
            f"CREATE TABLE call_log (id {serial(dialect)}, customer_id INTEGER, "
            "notes TEXT, ext_key TEXT)",
            "INSERT INTO customers VALUES (1, 'Jeanne Martin', '+33612345678')",
        ]

    async with customer_db(request.param, tmp_path, "ctibridge_crm", schema) as url:
        yield url


async def logged(url: str, key: str) -> list[Any]:
    engine = create_async_engine(async_url(url))
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT customer_id FROM call_log WHERE ext_key = "
                                           ":k"), {"k": key})
            return [r[0] for r in rows]
    finally:
        await engine.dispose()


@pytest.mark.parametrize("committed", [True, False], ids=["committed", "not-committed"])
async def test_a_hub_dead_mid_insert_logs_the_call_once_after_a_restart(
    tmp_path: Path, crm_db: str, committed: bool,
) -> None:
    path = tmp_path / "sqlcrm.yaml"
    path.write_text(MAPPING, encoding="utf-8")
    crm = load_mapping(path, {"db": crm_db})
    assert crm.log_guarantee == "checkable"
    db = Database(f"sqlite:///{tmp_path / 'hub.db'}")
    await db.start()
    store = Store(db)
    clock = FakeClock(T0 + timedelta(minutes=5))
    it = Interaction("i-1", Channel.VOICE, Direction.INBOUND, Party("+33612345678"), T0,
                     accepted_at=T0, ended_at=T0 + timedelta(seconds=90), agent_id="alice",
                     wrapped_at=T0 + timedelta(seconds=100), notes="asked for a refund")
    try:
        await store.write(interactions=[it], call_log="sqlcrm")
        # The first run of this node claims the row, says it is sending, INSERTs (or
        # not yet), and dies before it can record the outcome.
        [row] = await store.outbox.claim("node-1", clock.now(), 60)
        assert await store.outbox.sending("i-1", "node-1", clock.now() + timedelta(seconds=60))
        if committed:
            await crm.log_interaction(it, "i-1")
        # Restarted on the same node: its leases are freed, the row is in doubt.
        worker = CallLogWorker(store, crm, clock, owner="node-1")
        await worker.store.outbox.release_owner("node-1")
        assert await worker.run_once() == 1
        done = await store.outbox.get("i-1")
        assert done is not None and done.status == "delivered", done
        assert await logged(crm_db, "i-1") == [1]  # once, against Jeanne
        assert done.activity_id is not None
    finally:
        await crm.stop()
        await db.stop()


async def test_mapping_check_warns_when_a_log_can_be_neither_deduplicated_nor_checked(
    tmp_path: Path,
) -> None:
    from ctibridge.crm.mapping.schema import log_warnings

    path = tmp_path / "sqlcrm.yaml"
    path.write_text(MAPPING.split("  find_existing:")[0], encoding="utf-8")
    crm = load_mapping(path, {"db": "sqlite:///x.db"})
    assert crm.log_guarantee == "none"
    [(where, warning), *_] = log_warnings(crm.mapping)
    assert where == ("log",) and "uncertain" in warning and "find_existing" in warning


class SlowCrm:
    """A CRM that takes its time over the first log: long enough for the row's lease to
    run out while the write is still in flight. It de-duplicates nothing, and can be
    searched: a log shows up in a search once its write has finished."""

    log_guarantee = "checkable"

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.stored: dict[str, str] = {}
        self.first_arrived = asyncio.Event()
        self.answer = asyncio.Event()

    async def log_interaction(self, it: Interaction, idempotency_key: str, **_: Any) -> Any:
        self.sent.append(idempotency_key)
        self.first_arrived.set()
        await self.answer.wait()
        self.stored[idempotency_key] = f"A{len(self.sent)}"
        return LogReceipt(activity_id=self.stored[idempotency_key])

    async def find_logged(self, it: Interaction, key: str, **_: Any) -> Any:
        found = self.stored.get(key)
        return LogReceipt(activity_id=found) if found else None


async def test_a_log_slower_than_its_lease_is_never_sent_twice(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'hub.db'}")
    await db.start()
    store = Store(db)
    clock = FakeClock(T0 + timedelta(minutes=5))
    it = Interaction("i-1", Channel.VOICE, Direction.INBOUND, Party("+33612345678"), T0,
                     accepted_at=T0, ended_at=T0 + timedelta(seconds=90), agent_id="alice",
                     wrapped_at=T0 + timedelta(seconds=100))
    crm = SlowCrm()
    worker = CallLogWorker(store, crm, clock, owner="node-1",  # type: ignore[arg-type]
                           lease_seconds=60, timeout_seconds=30, poll_seconds=0.02)
    try:
        await store.write(interactions=[it], call_log="crm")
        await worker.start()
        await asyncio.wait_for(crm.first_arrived.wait(), 10)
        # The write is still in flight when its lease would have run out: the worker
        # looks for due rows again and again meanwhile.
        await clock.advance(600)
        for _ in range(20):
            worker.nudge()
            await asyncio.sleep(0.02)
        crm.answer.set()
        for _ in range(500):
            row = await store.outbox.get("i-1")
            if row is not None and row.status == "delivered":
                break
            await asyncio.sleep(0.02)
        assert crm.sent == ["i-1"]
        assert row is not None and row.status == "delivered" and row.activity_id == "A1"
    finally:
        await worker.stop()
        await db.stop()


async def test_a_node_whose_lease_was_taken_sends_nothing(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'hub.db'}")
    await db.start()
    store = Store(db)
    try:
        await store.outbox.add("crm", ["i-1"], T0)
        await store.outbox.claim("node-a", T0, 60)
        # node-a stalled past its lease; node-b took the row.
        await store.outbox.claim("node-b", T0 + timedelta(seconds=61), 60)
        assert not await store.outbox.sending("i-1", "node-a", T0 + timedelta(seconds=121))
        assert await store.outbox.sending("i-1", "node-b", T0 + timedelta(seconds=121))
    finally:
        await db.stop()

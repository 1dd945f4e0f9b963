"""The outbox's rules: backoff, leases, insert-once; on a real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from ctibridge.core.calllog import backoff, match_of
from ctibridge.store import Database
from ctibridge.store.outbox import OutboxStore

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_backoff_doubles_with_jitter_and_stops_at_the_cap() -> None:
    assert [backoff(n, 1.0, 300.0, lambda: 1.0) for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert backoff(3, 1.0, 300.0, lambda: 0.0) == 2.0  # jitter: half to all of the delay
    assert backoff(30, 1.0, 300.0, lambda: 1.0) == 300.0


def test_a_stored_record_becomes_the_match_logged_against() -> None:
    m = match_of({"record_id": "C1", "name": "Camille", "kind": "contact", "fields": {"a": 1}})
    assert m is not None and (m.record_id, m.name, m.fields) == ("C1", "Camille", {"a": 1})
    assert match_of(None) is None and match_of({"name": "no id"}) is None


async def started(tmp_path: Path) -> tuple[Database, OutboxStore]:
    db = Database(f"sqlite:///{tmp_path / 'hub.db'}")
    await db.start()
    return db, OutboxStore(db)


async def test_a_row_is_inserted_once_however_often_it_is_written(tmp_path: Path) -> None:
    db, outbox = await started(tmp_path)
    try:
        await outbox.add("crm", ["i-1", "i-1"], T0)
        await outbox.add("crm", ["i-1"], T0 + timedelta(seconds=5))
        [row] = await outbox.list()
        assert (row.interaction_id, row.status, row.created_at) == ("i-1", "pending", T0)
    finally:
        await db.stop()


async def test_two_nodes_never_hold_the_same_row_until_its_lease_expires(tmp_path: Path) -> None:
    db, outbox = await started(tmp_path)
    try:
        await outbox.add("crm", ["i-1", "i-2"], T0)
        a = await outbox.claim("node-a", T0, 60)
        b = await outbox.claim("node-b", T0 + timedelta(seconds=30), 60)
        assert [r.interaction_id for r in a] == ["i-1", "i-2"] and b == []
        # node-a died: once its lease is over, node-b takes the rows, attempts counted.
        b = await outbox.claim("node-b", T0 + timedelta(seconds=61), 60)
        assert [(r.interaction_id, r.attempts) for r in b] == [("i-1", 2), ("i-2", 2)]
        # A late answer from node-a cannot reschedule what node-b now holds.
        await outbox.retry_at("i-1", "node-a", "late", T0 + timedelta(hours=1))
        assert (await outbox.get("i-1")).lease_owner == "node-b"  # type: ignore[union-attr]
    finally:
        await db.stop()


async def test_a_restarted_node_frees_its_own_leases_at_once(tmp_path: Path) -> None:
    db, outbox = await started(tmp_path)
    try:
        await outbox.add("crm", ["i-1"], T0)
        await outbox.claim("host:8000", T0, 60)
        assert await outbox.claim("host:8000", T0, 60) == []
        assert await outbox.release_owner("host:8000") == 1
        assert [r.interaction_id for r in await outbox.claim("host:8000", T0, 60)] == ["i-1"]
    finally:
        await db.stop()


async def test_retries_wait_their_turn_failed_rows_wait_for_an_admin(tmp_path: Path) -> None:
    db, outbox = await started(tmp_path)
    try:
        await outbox.add("crm", ["i-1", "i-2"], T0)
        await outbox.claim("n", T0, 60)
        await outbox.retry_at("i-1", "n", "HTTP 500", T0 + timedelta(seconds=10))
        await outbox.failed("i-2", "n", "HTTP 400")
        assert await outbox.claim("n", T0 + timedelta(seconds=9), 60) == []
        assert await outbox.next_due() == T0 + timedelta(seconds=10)
        assert await outbox.counts() == {"pending": 1, "delivered": 0, "failed": 1,
                                         "uncertain": 0, "waiting": 0, "skipped": 0}
        retried = await outbox.retry("i-2", T0)
        assert retried is not None and (retried.status, retried.attempts) == ("pending", 0)
        due = await outbox.claim("n", T0 + timedelta(seconds=10), 60)
        assert sorted(r.interaction_id for r in due) == ["i-1", "i-2"]
        await outbox.delivered("i-1", "A1", T0)
        assert (await outbox.retry("i-1", T0)).status == "delivered"  # type: ignore[union-attr]
    finally:
        await db.stop()

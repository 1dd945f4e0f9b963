"""The audit log's repository, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ctibridge.store import Store
from ctibridge.store.audit import AuditEntry, AuditStore

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


async def test_audit_entries_come_back_newest_first_filtered_by_agent_and_limited(
        store: Store) -> None:
    audit = AuditStore(store.db)
    await audit.add([
        AuditEntry(T0, "sam", "alice", "agent.not_ready", "training", "ok"),
        AuditEntry(T0 + timedelta(minutes=1), "admin", "bob", "agent.logout", "meeting", "ok"),
        AuditEntry(T0 + timedelta(minutes=2), "alice", "bob", "agent.not_ready", "break",
                   "forbidden", "agent alice may only change their own state, not bob's"),
    ])
    everything = await audit.list()
    assert [(e.actor, e.agent_id, e.outcome) for e in everything] == [
        ("alice", "bob", "forbidden"), ("admin", "bob", "ok"), ("sam", "alice", "ok")]
    assert everything[0].at == T0 + timedelta(minutes=2)  # aware UTC on both backends
    assert everything[0].to_dict()["detail"].endswith("not bob's")
    assert [e.op for e in await audit.list(agent_id="alice")] == ["agent.not_ready"]
    assert len(await audit.list(agent_id="bob", limit=1)) == 1
    assert await audit.list(agent_id="carol") == []

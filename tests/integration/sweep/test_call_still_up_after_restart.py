"""A hub stops (or dies) while a customer is on the phone with an agent; when it starts
again, Asterisk still has the call. The restarted hub must take the call back as the
same interaction (same id, same call id), not end it and not open a second one, and
log it once in the CRM when it really ends.

The PBX is the fake AMI server replaying the real capture 13-resync-mid-call (call A,
Linkedid 1795572767.60, connected to 6001; call B waiting in the queue), once per hub
run: the second run's resync lists the same call under the same Linkedid.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn

from ctibridge.api.app import create_app
from ctibridge.clock import FakeClock
from ctibridge.config import Settings
from ctibridge.model.interaction import Interaction
from ctibridge.model.party import Channel, Direction, Party
from ctibridge.store import Database, Store
from ctibridge.telephony.asterisk.connector import AsteriskConnector

from ...unit.asterisk.fake_ami import FakeAmi, Member, script_from
from ...unit.asterisk.replay import options
from ..crm.hubs import eventually
from ..crm.testcrm import TestCrm, TestCrmConnector, serve_crm
from ..harness import RunningHub, free_port

CALL_A = "1795572767.60"  # the Linkedid of the call connected to 6001 in the capture
AGENTS = [
    {"id": "alice", "name": "Alice Martin", "extension": "6001", "platform": "pbx"},
    {"id": "bob", "name": "Bob Durand", "extension": "6002", "platform": "pbx"},
]
MEMBERS = [Member("support", "Local/6001@agents", "Agent 6001"),
           Member("support", "Local/6002@agents", "Agent 6002", paused=True, reason="Training")]


@contextlib.asynccontextmanager
async def hub_on(tmp_path: Path, ami_port: int, crm_url: str, clock: FakeClock
                 ) -> AsyncIterator[tuple[RunningHub, AsteriskConnector]]:
    connector = AsteriskConnector("pbx", options(port=ami_port, ping_interval=0,
                                                 reconnect_min=1.0, reconnect_max=2.0),
                                  clock=clock)
    port = free_port()
    settings = Settings.load(None, **{
        "demo": True, "database": {"url": f"sqlite:///{tmp_path / 'hub.db'}"},
        "server": {"host": "127.0.0.1", "port": port}, "agents": AGENTS,
        "telephony": [{"name": "pbx", "type": "asterisk"}], "wrap_up_seconds": 0,
        "crm": {"mapping": "(given by the test)"}})
    app = create_app(settings, connectors={"pbx": connector}, clock=clock,
                     crm=TestCrmConnector(crm_url))
    server_ = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on",
                                            log_config=None, access_log=False))
    task = asyncio.create_task(server_.serve())
    while not server_.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield RunningHub(f"http://127.0.0.1:{port}", app, None, clock, settings), connector  # type: ignore[arg-type]
    finally:
        server_.should_exit = True
        await task


def rows(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return conn.execute(sql, args).fetchall()


async def test_a_call_asterisk_still_has_after_a_restart_is_the_same_interaction_logged_once(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    db = tmp_path / "hub.db"
    first_run, second_run = asyncio.Event(), asyncio.Event()  # hold the calls' ends
    scripts = [script_from("13-resync-mid-call.ami", gate=first_run),
               script_from("13-resync-mid-call.ami", gate=second_run)]
    async with serve_crm(TestCrm()) as crm, FakeAmi(scripts, members=MEMBERS) as server:
        async with hub_on(tmp_path, server.port, crm.url, clock) as (h, connector):
            await connector.wait_up()
            await eventually(lambda: h.hub.calls.by_ref("pbx", CALL_A) is not None,
                             "the hub sees call A")
            call_id = h.hub.calls.by_ref("pbx", CALL_A).call_id
            await eventually(lambda: rows(db, "SELECT 1 FROM interactions WHERE "
                                              "platform_ref = ?", CALL_A),
                             "alice's interaction on disk while she talks")
        # The hub is gone with the customer still talking to alice: nothing ended it.
        [(iid, agent, ended, platform)] = rows(
            db, "SELECT interaction_id, agent_id, ended_at, platform FROM interactions "
                "WHERE platform_ref = ?", CALL_A)
        assert (agent, ended, platform) == ("alice", None, "pbx")

        async with hub_on(tmp_path, server.port, crm.url, clock) as (h, connector):
            alice = await h.agent("alice")
            await connector.wait_up()
            await eventually(lambda: h.hub.calls.by_ref("pbx", CALL_A) is not None,
                             "the restarted hub sees call A again")
            call = h.hub.calls.by_ref("pbx", CALL_A)
            assert call.call_id == call_id  # the same call, not a new one
            it = h.hub.interactions.find(call_id, "alice")
            assert it is not None and it.interaction_id == iid and it.ended_at is None
            assert h.hub.leftovers is not None and h.hub.leftovers.adopted == 1
            second_run.set()  # the customer hangs up on Asterisk
            ended = await alice.event("call.ended", where=lambda d: d["call"]["call_id"]
                                      == call_id)
            assert ended["cause"] != "hub-restart"
            await eventually(lambda: len(crm.activities_of(iid)) == 1,
                             "the call logged in the CRM", within=10)
            await alice.close()
        first_run.set()
    # One interaction for alice's part of the call, ended by the call's real end.
    [(same, cause, wrapped)] = rows(db, "SELECT interaction_id, end_cause, wrapped_at FROM "
                                        "interactions WHERE platform_ref = ? AND agent_id = "
                                        "'alice'", CALL_A)
    assert same == iid and cause != "hub-restart" and wrapped is not None
    assert rows(db, "SELECT count(*) FROM call_log_outbox WHERE interaction_id = ?",
                iid) == [(1,)]
    assert len(crm.activities_of(iid)) == 1


async def test_a_leftover_whose_pbx_never_comes_back_is_ended_after_the_grace_period(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    db = tmp_path / "hub.db"
    held = asyncio.Event()
    async with serve_crm(TestCrm()) as crm:
        async with FakeAmi([script_from("13-resync-mid-call.ami", gate=held)],
                           members=MEMBERS) as server:
            async with hub_on(tmp_path, server.port, crm.url, clock) as (h, connector):
                await connector.wait_up()
                await eventually(lambda: rows(db, "SELECT 1 FROM interactions WHERE "
                                                  "platform_ref = ?", CALL_A),
                                 "alice's interaction on disk while she talks")
            held.set()
        # Asterisk is gone for good: nothing listens on its port any more.
        async with hub_on(tmp_path, free_port(), crm.url, clock) as (h, _):
            [(iid,)] = rows(db, "SELECT interaction_id FROM interactions WHERE "
                                "platform_ref = ?", CALL_A)
            assert h.hub.leftovers is not None and h.hub.leftovers.pending == 1
            await clock.advance(29)
            assert rows(db, "SELECT ended_at FROM interactions WHERE interaction_id = ?",
                        iid) == [(None,)]
            await clock.advance(2)
            await eventually(lambda: len(crm.activities_of(iid)) == 1,
                             "the leftover logged in the CRM", within=10)
    [(cause, ended, wrapped)] = rows(db, "SELECT end_cause, ended_at, wrapped_at FROM "
                                         "interactions WHERE interaction_id = ?", iid)
    assert cause == "hub-restart" and ended is not None and wrapped is not None
    assert rows(db, "SELECT count(*) FROM call_log_outbox WHERE interaction_id = ?",
                iid) == [(1,)]


async def test_each_kind_of_leftover_is_taken_back_ended_wrapped_or_left_alone(
    tmp_path: Path,
) -> None:
    crashed = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)  # the last run's last sign of life
    clock = FakeClock(crashed + timedelta(hours=2))  # restarted two hours later

    def it(iid: str, agent: str | None, ref: str | None, platform: str | None = "pbx",
           **kw: Any) -> Interaction:
        start = crashed - timedelta(minutes=5)
        return Interaction(iid, Channel.VOICE, Direction.INBOUND, Party("+33123456789"),
                           kw.pop("created_at", start), agent_id=agent, accepted_at=start,
                           platform=platform, platform_ref=ref, **kw)

    leftovers = [
        it("i-talking", "alice", CALL_A),  # Asterisk still has it, alice on it
        it("i-left", "bob", "1795572772.64"),  # call B is still up, bob is not on it
        it("i-gone", "bob", "1795570000.1"),  # Asterisk no longer has that call
        it("i-wrapping", "alice", "1795570000.2", ended_at=crashed - timedelta(minutes=1),
           end_cause="customer-hangup", disposition="resolved", notes="sent the quote"),
        it("i-old", "bob", None, platform=None),  # written before the reference was kept
        it("i-other-hub", "bob", "x-1", platform="oldpbx"),  # a platform this hub lacks
        it("i-newest", "bob", "1795570000.3", created_at=crashed),
    ]
    db = Database(f"sqlite:///{tmp_path / 'hub.db'}")
    await db.start()
    await Store(db).write(interactions=leftovers)
    await db.stop()

    held = asyncio.Event()
    async with serve_crm(TestCrm()) as crm, \
            FakeAmi([script_from("13-resync-mid-call.ami", gate=held)],
                    members=MEMBERS) as server:
        async with hub_on(tmp_path, server.port, crm.url, clock) as (h, connector):
            await connector.wait_up()
            await eventually(lambda: h.hub.leftovers.pending == 0, "the resync swept")
            assert h.hub.leftovers.adopted == 1
            talking = h.hub.interactions.find(h.hub.calls.by_ref("pbx", CALL_A).call_id,
                                              "alice")
            assert talking is not None and talking.interaction_id == "i-talking"
            logged = {"i-left", "i-gone", "i-wrapping", "i-old", "i-newest"}
            await eventually(lambda: all(crm.activities_of(i) for i in logged),
                             "the swept interactions logged", within=10)
            held.set()
    db_file = tmp_path / "hub.db"
    got = {r[0]: r[1:] for r in rows(db_file, "SELECT interaction_id, end_cause, ended_at, "
                                              "wrapped_at IS NOT NULL, disposition, notes "
                                              "FROM interactions")}
    last_sign = "2026-12-05 09:00:00.000000"  # i-newest's start: not the restart time
    for iid in ("i-left", "i-gone", "i-old", "i-newest"):
        assert got[iid][:3] == ("hub-restart", last_sign, 1), (iid, got[iid])
    assert got["i-wrapping"] == ("customer-hangup", "2026-12-05 08:59:00.000000", 1,
                                 "resolved", "sent the quote")
    assert got["i-other-hub"][:3] == (None, None, 0)  # not ours: left alone
    assert rows(db_file, "SELECT count(*) FROM call_log_outbox WHERE interaction_id IN "
                         "('i-left','i-gone','i-wrapping','i-old','i-newest')") == [(5,)]
    assert [len(crm.activities_of(i)) for i in sorted(logged)] == [1] * 5
    assert rows(db_file, "SELECT count(*) FROM call_log_outbox WHERE interaction_id = "
                         "'i-other-hub'") == [(0,)]

"""kill -9 under traffic: after the restart no interaction is left open, and every one
that ended has exactly one call-log outbox row (one CRM activity) when an agent
talked to the customer, none otherwise.

The hub is a real ``ctibridge serve`` process with the simulator and its traffic
generator (customers calling, talking, hanging up), agents answering through the
REST API, and a real HTTP CRM. It is SIGKILLed with calls ringing, live and in
wrap-up, then started again on the same database (SQLite file, then PostgreSQL).
The simulator lives in the hub's process, so after the restart it has no call: every
leftover is ended with cause ``hub-restart`` (the case of a call the platform still
has is test_call_still_up_after_restart.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from ctibridge.store.db import async_url
from tests.needs import unavailable

from ..crm.test_exactly_once import AGENTS, MAPPING, admin_client, agent_clients, hub_process, tail
from ..crm.testcrm import TestCrm, serve_crm
from ..harness import free_port

PG_ADMIN = os.environ.get("CTIBRIDGE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hub.db'}"
        return
    name = f"ctibridge_sweep_{secrets.token_hex(5)}"
    try:
        admin = await asyncpg.connect(PG_ADMIN, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        unavailable(f"PostgreSQL is not reachable at {PG_ADMIN}: {exc}")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def write_config(tmp_path: Path, name: str, port: int, db_url: str, crm_url: str, *,
                 traffic: bool) -> Path:
    mapping = tmp_path / "testcrm.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    devices = [f"10{i:02d}" for i in range(1, len(AGENTS) + 1)]
    config: dict[str, Any] = {
        "demo": True,
        "server": {"host": "127.0.0.1", "port": port},
        "database": {"url": db_url},
        "telephony": [{"name": "sim", "type": "simulator", "options": {
            "devices": devices, "ring_timeout": 3, "answer_delay": [0.05, 0.1]}}],
        "agents": [{"id": a, "name": a.capitalize(), "extension": d}
                   for a, d in zip(AGENTS, devices, strict=True)],
        "wrap_up_seconds": 1,
        "crm": {"mapping": str(mapping), "variables": {"crm_url": crm_url}},
        "log": {"level": "warning"},
    }
    if traffic:  # customers call, talk about a second, hang up
        config["traffic"] = {"platform": "sim", "calls_per_minute": 400,
                             "handle_time_seconds": 1.5, "patience_seconds": 3}
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


async def query(db_url: str, sql: str) -> list[Any]:
    engine = create_async_engine(async_url(db_url))
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(text(sql))).all())
    finally:
        await engine.dispose()


async def answer_every_call(http: httpx.AsyncClient,
                            agents: dict[str, httpx.AsyncClient]) -> None:
    """The agents, each signed in on their own: pick up whatever rings at their device."""
    while True:
        with contextlib.suppress(httpx.HTTPError):
            for call in (await http.get("/api/calls")).json():
                for conn in call["connections"]:
                    if conn["agent_id"] in agents and conn["state"] == "alerting":
                        await agents[conn["agent_id"]].post("/api/commands", json={
                            "op": "call.answer", "call_id": call["call_id"]})
        await asyncio.sleep(0.02)


async def test_no_interaction_is_left_open_after_a_kill_9_and_each_is_logged_once(
    tmp_path: Path, db_url: str,
) -> None:
    port = free_port()
    log = tmp_path / "hub.log"
    url = f"http://127.0.0.1:{port}"
    async with serve_crm(TestCrm()) as crm:
        busy = write_config(tmp_path, "busy.yaml", port, db_url, crm.url, traffic=True)
        async with hub_process(busy, port, log) as proc:
            async with await admin_client(url) as http, agent_clients(url) as agents:
                for agent, client in agents.items():
                    for op in ("agent.login", "agent.ready"):
                        r = await client.post("/api/commands", json={"op": op})
                        assert r.status_code == 200, (agent, r.text)
                answering = asyncio.create_task(answer_every_call(http, agents))
                # Traffic for a while, then kill it when calls are live on disk.
                await asyncio.sleep(3)
                # Up to a minute: a loaded machine is slow to get two calls answered.
                for _ in range(3000):
                    live = await query(db_url, "SELECT count(*) FROM interactions WHERE "
                                               "ended_at IS NULL AND accepted_at IS NOT NULL")
                    if live[0][0] >= 2:
                        break
                    await asyncio.sleep(0.02)
                proc.send_signal(signal.SIGKILL)
                await asyncio.to_thread(proc.wait, 10)
                answering.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await answering
        before = await query(db_url, "SELECT interaction_id, ended_at IS NULL, accepted_at IS "
                                     "NOT NULL FROM interactions WHERE wrapped_at IS NULL")
        live_at_kill = [iid for iid, open_, talked in before if open_ and talked]
        assert len(live_at_kill) >= 2, before  # else the test proves nothing
        # The same database, without traffic: only the sweep touches the leftovers.
        quiet = write_config(tmp_path, "quiet.yaml", port, db_url, crm.url, traffic=False)
        async with hub_process(quiet, port, log), await admin_client(url) as http:
            for _ in range(1500):
                counts = dict((await http.get("/api/calllog", params={"limit": 1})).json()
                              ["counts"])
                left = await query(db_url, "SELECT count(*) FROM interactions WHERE "
                                           "wrapped_at IS NULL OR ended_at IS NULL")
                if counts["pending"] == 0 and left[0][0] == 0:
                    break
                await asyncio.sleep(0.02)
            assert left[0][0] == 0, tail(log)
            assert counts["failed"] == 0, counts
    rows = await query(db_url, "SELECT i.interaction_id, i.accepted_at IS NOT NULL, "
                               "i.end_cause, count(o.interaction_id) FROM interactions i "
                               "LEFT JOIN call_log_outbox o ON o.interaction_id = "
                               "i.interaction_id GROUP BY i.interaction_id, i.accepted_at, "
                               "i.end_cause")
    outbox = {iid: n for iid, _, _, n in rows}
    talked = {iid for iid, t, _, _ in rows if t}
    assert {iid: outbox[iid] for iid in talked} == dict.fromkeys(talked, 1)
    assert all(outbox[iid] == 0 for iid in outbox if iid not in talked)
    causes = {iid: cause for iid, _, cause, _ in rows}
    assert {causes[iid] for iid in live_at_kill} == {"hub-restart"}
    per_interaction = Counter(a["interaction_id"] for a in crm.activities.values())
    assert {iid: per_interaction[iid] for iid in talked} == dict.fromkeys(talked, 1)
    assert sum(per_interaction.values()) == len(talked)
    print(f"\n{len(rows)} interactions, {len(talked)} logged, {len(before)} left open by the "
          f"kill ({len(live_at_kill)} live calls)")

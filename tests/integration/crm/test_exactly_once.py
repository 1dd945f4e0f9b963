"""Exactly-once call logging across a crash.

The hub runs as a real process (``ctibridge serve``) on a SQLite file; the CRM
is a real HTTP server in this test's loop, driven through the mapping engine.
The CRM fails for a while, then hangs with deliveries in flight, the hub is
killed with SIGKILL, the CRM finishes the requests the dead hub sent (so some
activities exist that the hub never heard of), the hub restarts, and every
wrapped interaction ends with exactly one activity in the CRM.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import yaml

from ..harness import free_port
from .hubs import eventually
from .testcrm import TestCrm, serve_crm

CTIBRIDGE = str(Path(sys.executable).with_name("ctibridge"))
AGENTS = ["alice", "bob", "carol"]
CALLS_PER_AGENT = 6

MAPPING = """
name: testcrm
connection:
  base_url: "{{ vars.crm_url }}"
  timeout_seconds: 20
phone:
  default_region: FR
  formats: [e164]
record:
  id: id
  name: name
lookups:
  - name: by_phone
    phone: true
    request:
      path: /contacts
      query: {phone: "{{ number }}"}
    results: contacts
screen_pop:
  record_url: "{{ vars.crm_url }}/contacts/{{ record.id }}"
log:
  when_no_record: log
  idempotent: true  # the test CRM answers a repeated Idempotency-Key with its activity
  request:
    method: POST
    path: /activities
    headers:
      Idempotency-Key: "{{ idempotency_key }}"
    json:
      interaction_id: "{{ interaction.interaction_id }}"
      contact_id: "{{ record.id if record else none }}"
      disposition: "{{ interaction.disposition or 'none' }}"
  activity_id: id
"""


def hub_config(tmp_path: Path, port: int, crm: dict[str, Any]) -> Path:
    """The hub's config file: a SQLite file, the AGENTS on the simulator, no wrap-up
    time (a hung-up call is wrapped at once: logged), and the ``crm`` settings."""
    config = {
        "demo": True,
        "server": {"host": "127.0.0.1", "port": port},
        "database": {"url": f"sqlite:///{tmp_path / 'hub.db'}"},
        "telephony": [{"name": "sim", "type": "simulator", "options": {
            "devices": ["1001", "1002", "1003"], "answer_delay": [0.05, 0.1]}}],
        "agents": [{"id": a, "name": a.capitalize(), "extension": f"100{i + 1}"}
                   for i, a in enumerate(AGENTS)],
        "wrap_up_seconds": 0,
        "crm": crm,
        "log": {"level": "warning"},
    }
    path = tmp_path / "ctibridge.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def write_config(tmp_path: Path, port: int, crm_url: str) -> Path:
    mapping = tmp_path / "testcrm.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    return hub_config(tmp_path, port, {"mapping": str(mapping), "variables": {"crm_url": crm_url}})


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:]


@contextlib.asynccontextmanager
async def hub_process(config: Path, port: int, log: Path
                      ) -> AsyncIterator[subprocess.Popen[bytes]]:
    out = log.open("ab")  # noqa: ASYNC230 - a log file, opened once
    # The hub must be a real OS process, to be killed with SIGKILL.
    proc = subprocess.Popen(  # noqa: ASYNC220
        [CTIBRIDGE, "serve", "--config", str(config)], stdout=out, stderr=subprocess.STDOUT,
        env={**os.environ, "NO_COLOR": "1"})
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(500):
                if proc.poll() is not None:
                    raise AssertionError(f"the hub exited: {tail(log)}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                        break
                await asyncio.sleep(0.02)
            else:
                raise AssertionError(f"the hub never got ready: {tail(log)}")
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            await asyncio.to_thread(proc.wait, 10)
        out.close()


async def admin_client(url: str) -> httpx.AsyncClient:
    async with httpx.AsyncClient(base_url=url) as http:
        r = await http.post("/api/login", json={"username": "admin", "password": "admin"})
        r.raise_for_status()
        token = r.json()["token"]
    return httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"},
                             timeout=10)


async def command(http: httpx.AsyncClient, op: str, **args: Any) -> dict[str, Any]:
    r = await http.post("/api/commands", json={"op": op, **args})
    assert r.status_code == 200, f"{op} {args}: {r.status_code} {r.text}"
    return dict(r.json()["result"])


async def until(http: httpx.AsyncClient, path: str, check: Any, what: str) -> Any:
    for _ in range(500):
        body = (await http.get(path)).json()
        if check(body):
            return body
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}; last {path}: {body}")


async def every_agent_ready(http: httpx.AsyncClient) -> None:
    for agent in AGENTS:
        await command(http, "agent.login", agent_id=agent)
        await command(http, "agent.ready", agent_id=agent)


def _agent_legs(calls: list[dict[str, Any]], state: str) -> list[tuple[str, str]]:
    return [(c["call_id"], conn["agent_id"]) for c in calls for conn in c["connections"]
            if conn["agent_id"] and conn["state"] == state]


@contextlib.asynccontextmanager
async def agent_clients(url: str) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """Each agent signed in on their own: only an agent answers and hangs up their calls."""
    clients: dict[str, httpx.AsyncClient] = {}
    try:
        for agent in AGENTS:
            async with httpx.AsyncClient(base_url=url) as http:
                r = await http.post("/api/login", json={"username": agent, "password": agent})
                r.raise_for_status()
                token = r.json()["token"]
            clients[agent] = httpx.AsyncClient(
                base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        yield clients
    finally:
        for c in clients.values():
            await c.aclose()


async def a_round_of_calls(http: httpx.AsyncClient, rnd: int, number: str | None = None,
                           agents: dict[str, httpx.AsyncClient] | None = None) -> None:
    """One customer call per agent: offered, answered, hung up by the agent."""
    for i, _ in enumerate(AGENTS):
        r = await http.post("/api/simulator/sim/calls",
                            json={"queue": "support",
                                  "number": number or f"+336123{rnd:02d}{i:03d}"})
        assert r.status_code == 200, r.text
    ringing = await until(http, "/api/calls", lambda b: len(_agent_legs(b, "alerting")) == 3,
                          "every agent offered a call")
    legs = _agent_legs(ringing, "alerting")
    for call_id, agent in legs:
        await command((agents or {}).get(agent, http), "call.answer", agent_id=agent,
                      call_id=call_id)
    await until(http, "/api/calls", lambda b: len(_agent_legs(b, "connected")) == 3,
                "every call answered")
    for call_id, agent in legs:
        await command((agents or {}).get(agent, http), "call.hangup", agent_id=agent,
                      call_id=call_id)
    await until(http, "/api/agents", lambda b: all(a["state"]["status"] == "ready" for a in b),
                "every agent free again")


def logged_interactions(db: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT interaction_id FROM interactions WHERE wrapped_at IS NOT "
                            "NULL AND accepted_at IS NOT NULL").fetchall()
    return [r[0] for r in rows]


async def outbox_counts(http: httpx.AsyncClient) -> dict[str, int]:
    r = await http.get("/api/calllog", params={"limit": 1})
    assert r.status_code == 200, r.text
    return dict(r.json()["counts"])


async def test_every_interaction_has_exactly_one_activity_after_a_sigkill(
    tmp_path: Path,
) -> None:
    port = free_port()
    log = tmp_path / "hub.log"
    async with serve_crm(TestCrm(fault="500")) as crm:
        config = write_config(tmp_path, port, crm.url)
        url = f"http://127.0.0.1:{port}"
        async with hub_process(config, port, log) as proc:
            async with await admin_client(url) as http, agent_clients(url) as agents:
                await every_agent_ready(http)
                # The CRM answers 500 to everything while the calls are made.
                for rnd in range(CALLS_PER_AGENT):
                    await a_round_of_calls(http, rnd, agents=agents)
                await eventually(lambda: crm.posts >= 3, "deliveries failing", within=10)
                # Every interaction's end is in the database (the hub batches its writes
                # for ~50 ms: a crash inside that window loses the rows not yet written,
                # interaction and outbox row together; see docs/call-logging.md).
                total = len(AGENTS) * CALLS_PER_AGENT
                await until(http, "/api/calllog",
                            lambda b: sum(b["counts"].values()) == total, "every row in the outbox")
                # Now it hangs: deliveries are in flight when the hub dies.
                crm.fault = "hang"
                await eventually(lambda: crm.in_flight >= 1, "a delivery in flight", within=10)
                before = await outbox_counts(http)
            proc.send_signal(signal.SIGKILL)
            await asyncio.to_thread(proc.wait, 10)
        assert before["pending"] > 0, before
        # The CRM finishes what the dead hub asked (activities it will never hear of).
        crm.fault = None
        crm.gate.set()
        await eventually(lambda: crm.in_flight == 0, "the CRM done with the dead hub's requests")
        orphans = len(crm.activities)
        async with hub_process(config, port, log), await admin_client(url) as http:
            for _ in range(1500):
                counts = await outbox_counts(http)
                if counts["pending"] == 0:
                    break
                await asyncio.sleep(0.02)
            assert counts == {"pending": 0, "failed": 0, "delivered": counts["delivered"],
                              "uncertain": 0, "waiting": 0, "skipped": 0}
        wrapped = logged_interactions(tmp_path / "hub.db")
        assert len(wrapped) == len(AGENTS) * CALLS_PER_AGENT, (before, tail(log))
        per_interaction = Counter(a["interaction_id"] for a in crm.activities.values())
        assert {iid: per_interaction[iid] for iid in wrapped} == dict.fromkeys(wrapped, 1)
        assert sum(per_interaction.values()) == len(wrapped)  # and nothing else
        print(f"\n{len(wrapped)} interactions, {crm.posts} log requests, {orphans} activities "
              f"created while the hub was dead or unaware, {before} before the kill")

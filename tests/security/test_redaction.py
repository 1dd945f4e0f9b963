"""Secrets stay secret: a CRM password in the mapping's base URL, an API key in its
query string and WebSocket tickets never reach a log line, an agent, /readyz or
/api/crm/health.

The hub is a real ``ctibridge serve`` process logging JSON at INFO (as in
production); the CRM is a real HTTP server failing every lookup, so the hub
reports (and logs) errors naming the request it sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import websockets
import yaml

from ctibridge import redact
from tests.integration.crm.testcrm import TestCrm, serve_crm

from .conftest import free_port

CTIBRIDGE = str(Path(sys.executable).with_name("ctibridge"))
PASSWORD = "Crm-Pa55word-9f3k"
API_KEY = "AKIAsecretapikey77Q"
MAPPING = """
name: testcrm
connection:
  base_url: "{{ vars.crm_url }}"
  timeout_seconds: 5
phone: {default_region: FR, formats: [e164]}
record: {id: id, name: name}
lookups:
  - name: by_phone
    phone: true
    request:
      path: /contacts
      query: {phone: "{{ number }}", api_key: "{{ vars.api_key }}"}
    results: contacts
screen_pop:
  record_url: "{{ vars.crm_url }}/contacts/{{ record.id }}"
"""


@contextlib.asynccontextmanager
async def hub_process(tmp: Path, crm_url: str) -> AsyncIterator[tuple[str, Path]]:
    port = free_port()
    (tmp / "crm.yaml").write_text(MAPPING, encoding="utf-8")
    host = crm_url.removeprefix("http://")
    config = {
        "demo": True,
        "server": {"host": "127.0.0.1", "port": port},
        "database": {"url": f"sqlite:///{tmp / 'hub.db'}"},
        "telephony": [{"name": "sim", "type": "simulator", "options": {"devices": ["1001"]}}],
        "agents": [{"id": "alice", "name": "Alice", "extension": "1001"}],
        "crm": {"mapping": "crm.yaml", "log_calls": False, "variables": {
            "crm_url": f"http://crmuser:{PASSWORD}@{host}", "api_key": API_KEY}},
        "log": {"json": True, "level": "info"},
    }
    (tmp / "ctibridge.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    log = tmp / "hub.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: ASYNC220 - a real process, stopped below
            [CTIBRIDGE, "serve", "--config", str(tmp / "ctibridge.yaml")], stdout=out,
            stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        url = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient(base_url=url) as http:
                for _ in range(300):
                    assert proc.poll() is None, log.read_text()
                    with contextlib.suppress(httpx.TransportError):
                        if (await http.get("/readyz")).status_code == 200:
                            break
                    await asyncio.sleep(0.1)
            yield url, log
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def login(http: httpx.AsyncClient, user: str) -> dict[str, str]:
    r = await http.post("/api/login", json={"username": user, "password": user})
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def frames_until(ws: Any, pred: Any) -> dict[str, Any]:
    async with asyncio.timeout(20):
        while True:
            frame = json.loads(await ws.recv())
            if pred(frame):
                return dict(frame)


def leaks(text: str, ticket: str) -> list[str]:
    return [s for s in (PASSWORD, API_KEY, ticket) if s in text]


async def test_crm_credentials_and_tickets_never_leave_the_hub(tmp_path: Path) -> None:
    async with serve_crm(TestCrm(fault="500")) as crm, \
            hub_process(tmp_path, crm.url) as (url, log), \
            httpx.AsyncClient(base_url=url) as http:
        alice, admin = await login(http, "alice"), await login(http, "admin")
        ticket = (await http.post("/api/ws-ticket", headers=alice)).json()["ticket"]
        async with websockets.connect(f"{url.replace('http', 'ws')}/ws?ticket={ticket}") as ws:
            await frames_until(ws, lambda f: f["type"] == "snapshot")
            for n, op in enumerate(("agent.login", "agent.ready")):
                await ws.send(json.dumps({"type": "command", "id": str(n), "op": op}))
                assert (await frames_until(ws, lambda f, n=n: f.get("id") == str(n))
                        )["type"] == "ack"
            r = await http.post("/api/simulator/sim/calls", headers=admin,
                                json={"queue": "support", "number": "+33612345678"})
            assert r.status_code == 200, r.text
            pop = await frames_until(ws, lambda f: f.get("name") == "screenpop")
        error = pop["data"]["error"]
        # The agent is told what failed, and where, without the credentials.
        assert "HTTP 500" in error and "crmuser:***@127.0.0.1" in error, error
        assert not leaks(json.dumps(pop), ticket)

        ready = (await http.get("/readyz", headers=admin)).json()
        assert "crmuser:***@" in ready["crm"]["last_lookup"]["error"]
        assert not leaks(json.dumps(ready), ticket)
        health = await http.get("/api/crm/health", headers=alice)
        assert health.status_code == 200 and "***" in health.text, health.text
        assert not leaks(health.text, ticket)
        assert crm.lookups, "the CRM was asked"
        await asyncio.sleep(0.5)  # the last log lines reach the file

    text = log.read_text(encoding="utf-8", errors="replace")
    assert '"WebSocket /ws?ticket=***"' in text.replace("\\", "")  # uvicorn's line, redacted
    assert "crmuser:***@" in text  # the lookup failure is logged, redacted
    assert not leaks(text, ticket), [line for line in text.splitlines()
                                     if leaks(line, ticket)][:3]
    assert "HTTP Request:" not in text  # httpx's INFO lines (URLs with keys) are quiet


def test_redaction_covers_urls_pairs_headers_and_fields() -> None:
    assert redact.url(f"https://bob:{PASSWORD}@crm.example.com/a?key={API_KEY}&phone=1") \
        == "https://bob:***@crm.example.com/a?key=***&phone=1"
    assert redact.text('127.0.0.1 - "WebSocket /ws?ticket=abcDEF123" [accepted]') \
        == '127.0.0.1 - "WebSocket /ws?ticket=***" [accepted]'
    assert redact.text("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig") \
        == "Authorization: Bearer ***"
    assert redact.headers({"Authorization": "Basic Ym9iOnB3", "X-Api-Key": API_KEY,
                           "Accept": "application/json"}) == {
        "Authorization": "***", "X-Api-Key": "***", "Accept": "application/json"}
    assert redact.scrub({"client_secret": "s", "accessToken": "t", "token_ttl_seconds": 60,
                         "auth": {"password": "p"}, "name": "ok"}) == {
        "client_secret": "***", "accessToken": "***", "token_ttl_seconds": 60,
        "auth": {"password": "***"}, "name": "ok"}
    assert redact.text("nothing secret here: queue=support") == \
        "nothing secret here: queue=support"

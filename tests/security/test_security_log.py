"""The security event log (logger ``ctibridge.security``): one JSON object per line
for logins good and bad, lockouts, 401/403, user changes, webhook signature failures,
forbidden commands and supervisors' actions, driven over a real port."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..integration.harness import running_hub

DIGITAL = [{"name": "web", "type": "webhook", "secret": "whsec-security-log-0123456789",
            "options": {"queue": "support"}}]


def events(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    out = []
    for record in caplog.records:
        if record.name == "ctibridge.security":
            line = record.getMessage()
            assert "\n" not in line and "\r" not in line
            out.append(json.loads(line))
    return out


async def test_security_events_are_logged_as_they_happen(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ctibridge.security")
    limits = {"login": {"user_failures": 2}}
    async with running_hub(tmp_path, auth=limits, digital=DIGITAL) as h, \
            httpx.AsyncClient(base_url=h.url) as http:
        for _ in range(3):
            await http.post("/api/login", json={"username": "bob\r\nforged", "password": "x"})
        await http.post("/api/login", json={"username": "bob\r\nforged", "password": "x"})
        admin = {"Authorization": f"Bearer {await h.token('admin')}"}
        alice = {"Authorization": f"Bearer {await h.token('alice')}"}
        await http.get("/api/users")                             # 401: no token
        await http.get("/api/users", headers=alice)              # 403: not an admin
        await http.post("/api/users", headers=admin, json={
            "username": "dave", "password": "dave-pw-123", "roles": ["agent"]})
        await http.patch("/api/users/dave", headers=admin, json={"roles": ["supervisor"]})
        await http.delete("/api/users/dave", headers=admin)
        await http.post("/api/digital/web/webhook", content=b"{}",
                        headers={"X-Ctibridge-Signature": "t=1,v1=00"})
        bar = await h.agent("alice")
        await bar.ok("agent.login")
        await bar.command("agent.ready", agent_id="bob")          # forbidden
        sam = await h.agent("sam")
        await sam.ok("agent.not_ready", agent_id="alice", reason="training")
        await http.post("/api/logout", headers=alice)
        await bar.close()
        await sam.close()

    seen = events(caplog)
    names = [e["event"] for e in seen]
    for name in ("login.failed", "login.lockout", "login.refused", "login.ok",
                 "http.unauthorized", "http.forbidden", "user.created", "user.changed",
                 "user.deleted", "webhook.refused", "command.forbidden", "supervisor.action",
                 "logout"):
        assert name in names, (name, names)
    failed = next(e for e in seen if e["event"] == "login.failed")
    assert failed["user"] == "bob\r\nforged" and failed["address"] == "127.0.0.1"
    changed = next(e for e in seen if e["event"] == "user.changed")
    assert (changed["actor"], changed["user"], changed["changed"]) == (
        "admin", "dave", ["roles"])
    action = next(e for e in seen if e["event"] == "supervisor.action")
    assert (action["actor"], action["agent_id"], action["op"], action["outcome"]) == (
        "sam", "alice", "agent.not_ready", "ok")
    forbidden = next(e for e in seen if e["event"] == "command.forbidden")
    assert (forbidden["user"], forbidden["op"], forbidden["agent_id"]) == (
        "alice", "agent.ready", "bob")
    assert all("password" not in json.dumps(e).lower() or e["event"] == "user.changed"
               for e in seen)

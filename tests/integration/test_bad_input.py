"""Hostile or broken input gets a clear error with a stable code and changes nothing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
import websockets

from ctibridge.telephony.base import ALL_CAPABILITIES, Capability
from ctibridge.telephony.simulator import SimulatorConnector

from .harness import running_hub


async def test_malformed_frames_get_errors_and_the_socket_stays_open(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as h:
        alice = await h.agent("alice")
        cases = [
            ("{not json", "bad-json"),
            ("[1, 2]", "bad-message"),
            (json.dumps({"type": "dance"}), "bad-message"),
            (json.dumps({"type": "command", "op": "agent.ready"}), "bad-message"),  # no id
            (json.dumps({"type": "command", "id": "x1", "op": "call.teleport"}), "unknown-op"),
            (json.dumps({"type": "command", "id": "x2", "op": "call.hold"}), "bad-message"),
            (json.dumps({"type": "command", "id": "x3", "op": "call.hold",
                         "call_id": "c-nope"}), "no-such-call"),
            (json.dumps({"type": "command", "id": "x4", "op": "agent.not_ready",
                         "reason": "nap"}), "unknown-reason"),
            (json.dumps({"type": "command", "id": "x5", "op": "call.dial",
                         "number": "<script>"}), "bad-number"),
            (json.dumps({"type": "resume", "since": "yesterday"}), "bad-message"),
            ("[" * 30_000, "bad-json"),  # nested past what a parser recurses into
            ('{"type": "command", "id": "x\\ud800", "op": "agent.login"}', "bad-json"),
        ]
        for text, code in cases:
            start = len(alice.frames)
            await alice.send(text)
            err = await alice.wait_for(lambda f: f["type"] == "error", f"error for {text[:60]}",
                                       start=start)
            assert err["code"] == code, (text, err)
            assert err["message"]
        start = len(alice.frames)
        await alice.send(b"\x00\x01")  # binary frame
        err = await alice.wait_for(lambda f: f["type"] == "error", "error", start=start)
        assert err["code"] == "bad-message"
        # Still open and working, and nothing changed.
        reply = await alice.command("agent.login")
        assert reply["type"] == "ack"
        assert h.hub.agents["alice"].state.reason == "login"
        # A message over 64 KiB is refused unread: the socket closes with 1009.
        await alice.send(json.dumps({"type": "command", "id": "big", "op": "agent.ready",
                                     "pad": "x" * (65 * 1024)}))
        assert await alice.closed_by_hub() == 1009
        assert h.hub.agents["alice"].state.status == "not_ready"


async def test_an_agent_cannot_touch_another_agents_call_or_state(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as h:
        alice, bob = await h.agent("alice"), await h.agent("bob")
        await alice.ok("agent.login")
        await alice.ok("agent.ready")
        h.sim.customer_calls("support", number="+33612345678")
        call_id = (await alice.event("call.offered"))["call"]["call_id"]
        reply = await bob.command("call.answer", call_id=call_id)
        assert (reply["type"], reply["code"]) == ("error", "forbidden")
        reply = await bob.command("agent.not_ready", reason="break", agent_id="alice")
        assert (reply["type"], reply["code"]) == ("error", "forbidden")
        assert h.hub.agents["alice"].state.status == "ready"
        # A supervisor may.
        sam = await h.agent("sam")
        assert sam.snapshot["agent"] is None and len(sam.snapshot["agents"]) == 3
        await sam.ok("agent.not_ready", reason="meeting", agent_id="bob")
        for c in (alice, bob, sam):
            await c.close()


async def test_going_ready_while_logged_out_is_refused(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as h:
        alice = await h.agent("alice")
        reply = await alice.command("agent.ready")
        assert reply["code"] == "agent-not-logged-in"
        assert "log in" in reply["message"]
        assert h.hub.agents["alice"].state.status == "logged_out"
        await alice.close()


async def test_a_command_the_platform_cannot_do_is_refused_before_reaching_it(
    tmp_path: Path,
) -> None:
    from ctibridge.clock import FakeClock

    clock = FakeClock()
    sim = SimulatorConnector("sim", clock=clock, devices=["1001", "1002", "1003"],
                             capabilities=ALL_CAPABILITIES - {Capability.HOLD})
    async with running_hub(tmp_path, clock=clock, sim=sim) as h:
        alice = await h.agent("alice")
        assert alice.snapshot["capabilities"]["call.hold"] is False
        assert alice.snapshot["capabilities"]["call.answer"] is True
        await alice.ok("agent.login")
        await alice.ok("agent.ready")
        sim.customer_calls("support", number="+33612345678")
        call_id = (await alice.event("call.offered"))["call"]["call_id"]
        await alice.ok("call.answer", call_id=call_id)
        await alice.event("call.answered")
        reply = await alice.command("call.hold", call_id=call_id)
        assert reply["code"] == "capability-missing"
        assert "hold" in reply["message"]
        await alice.close()


async def test_tickets_work_once_and_origins_are_checked(tmp_path: Path) -> None:
    async with running_hub(tmp_path,
                           server={"allowed_origins": ["https://crm.example.com"]}) as h:
        ticket = await h.ticket("alice")
        async with websockets.connect(h.ws_url(ticket)) as ws:
            assert json.loads(await ws.recv())["type"] == "hello"
        async with websockets.connect(h.ws_url(ticket)) as ws:
            err = json.loads(await ws.recv())
            assert err["code"] == "ticket-invalid"
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd.code == 4002
        async with websockets.connect(h.url.replace("http", "ws") + "/ws") as ws:
            assert json.loads(await ws.recv())["code"] == "ticket-missing"
        # An allowed CRM origin is fine, another one is not.
        ok = await h.agent("alice", origin="https://crm.example.com")
        await ok.close()
        ticket = await h.ticket("alice")
        async with websockets.connect(h.ws_url(ticket),
                                      additional_headers={"Origin": "https://evil.example"}) as ws:
            assert json.loads(await ws.recv())["code"] == "origin-not-allowed"
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd.code == 4003
        # The refused origin did not burn the ticket of a legitimate page? It did:
        # tickets are redeemed only after the origin check, so it is still valid.
        async with websockets.connect(h.ws_url(ticket)) as ws:
            assert json.loads(await ws.recv())["type"] == "hello"


async def test_an_expired_ticket_is_refused(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as h:
        ticket = await h.ticket("alice")
        await h.clock.advance(31)  # type: ignore[attr-defined]
        async with websockets.connect(h.ws_url(ticket)) as ws:
            assert json.loads(await ws.recv())["code"] == "ticket-expired"


async def test_rest_refuses_without_a_valid_token(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as h, httpx.AsyncClient(base_url=h.url) as http:
        r = await http.get("/api/calls")
        assert r.status_code == 401 and r.json()["code"] == "token-missing"
        r = await http.get("/api/calls", headers={"Authorization": "Bearer forged"})
        assert r.status_code == 401 and r.json()["code"] == "token-invalid"
        r = await http.post("/api/login", json={"username": "alice", "password": "wrong"})
        assert r.status_code == 401 and r.json()["code"] == "login-failed"
        token = await h.token("alice")
        r = await http.get("/api/users", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 403 and r.json()["code"] == "forbidden"


async def test_text_that_is_no_character_is_a_clear_400_not_a_crash(tmp_path: Path) -> None:
    # "\ud800" is valid JSON, but no character: it can be neither stored nor echoed as is.
    lone = "\\ud800"
    async with running_hub(tmp_path) as h, httpx.AsyncClient(base_url=h.url) as http:
        json_body = {"Content-Type": "application/json"}
        r = await http.post("/api/login", headers=json_body,
                            content=f'{{"username": "a{lone}", "password": "x"}}')
        assert r.status_code == 400 and r.json()["code"] == "bad-text", r.text
        token = await h.token("alice")
        r = await http.post("/api/commands", headers={**json_body,
                                                      "Authorization": f"Bearer {token}"},
                            content=f'{{"op": "call.hold", "call_id": "c{lone}"}}')
        assert r.status_code == 404 and r.json()["code"] == "no-such-call", r.text
        assert r.json()["message"] == "call c\ud800 does not exist"  # escaped, not lost
        r = await http.post("/api/login", json={"username": "alice", "password": "alice"})
        assert r.status_code == 200  # and the hub goes on


async def test_a_flooding_client_is_rate_limited_and_does_not_starve_others(
    tmp_path: Path,
) -> None:
    async with running_hub(tmp_path) as h:
        flooder, calm = await h.agent("alice"), await h.agent("bob")
        burst = 2000
        await asyncio.gather(*(flooder.send({"type": "ping", "id": i}) for i in range(burst)))
        reply = await calm.command("agent.login")
        assert reply["type"] == "ack"
        # Bob was answered before Alice's flood was fully worked through...
        answered_to_flooder = len(flooder.frames)
        assert answered_to_flooder < burst
        # ...and Alice was told to slow down rather than served without limit.
        await flooder.wait_for(lambda f: f.get("code") == "rate-limited", "rate-limited",
                               timeout=10)
        for c in (flooder, calm):
            await c.close()


async def test_only_the_configured_crm_origins_may_frame_the_bar(tmp_path: Path) -> None:
    async with running_hub(tmp_path,
                           server={"allowed_origins": ["https://crm.example.com"]}) as h:
        async with httpx.AsyncClient(base_url=h.url) as http:
            page = await http.get("/agentbar/")
        assert page.status_code == 200
        csp = page.headers["content-security-policy"]
        assert "frame-ancestors 'self' https://crm.example.com" in csp.split("; ")
        assert page.headers["x-content-type-options"] == "nosniff"

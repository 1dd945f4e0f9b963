"""Supervision on a real hub: queue statistics over the supervisor socket, supervisor
commands on agents, the audit and its REST route."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from ctibridge.clock import FakeClock

from .harness import AgentClient, RunningHub, console_view, running_hub

QUEUES = [{"name": "support", "channels": ["voice", "chat"], "sl_seconds": 30}]


async def login_ready(agent: AgentClient) -> None:
    await agent.ok("agent.login")
    await agent.ok("agent.ready")
    await agent.event("agent.state", where=lambda d: d["agent"]["state"]["status"] == "ready")


def support(data: dict[str, Any]) -> dict[str, Any]:
    return next(q for q in data["queues"] if q["queue"] == "support")


async def get(h: RunningHub, path: str, user: str | None, **params: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {await h.token(user)}"} if user else {}
    async with httpx.AsyncClient(base_url=h.url) as http:
        return await http.get(path, params=params, headers=headers)


async def test_a_supervisor_socket_gets_queue_stats_as_calls_queue_are_answered_and_abandoned(
    tmp_path: Path,
) -> None:
    async with running_hub(tmp_path, queues=QUEUES) as h:
        assert isinstance(h.clock, FakeClock)
        sam = await h.agent("sam")
        empty = support(sam.snapshot)
        assert (empty["waiting"], empty["service_level"], empty["sl_seconds"]) == (0, None, 30)
        alice = await h.agent("alice")
        await alice.ok("agent.login")  # logged in, not ready: calls wait

        ref = h.sim.customer_calls("support", number="+33612345678", name="Camille Petit")
        stats = await sam.event("queue.stats", where=lambda d: support(d)["waiting"] == 1)
        assert support(stats)["waiting_by_channel"] == {"voice": 1}
        assert support(stats)["oldest_since"] == h.clock.now().isoformat()
        # A supervisor arriving now finds the waiting call in the snapshot.
        late = await h.agent("admin")
        assert support(late.snapshot)["waiting"] == 1
        await late.close()

        await h.clock.advance(12)
        await alice.ok("agent.ready")
        offered = await alice.event("call.offered")
        await alice.ok("call.answer", call_id=offered["call"]["call_id"])
        done = await sam.event("queue.stats", where=lambda d: support(d)["answered"] == 1)
        assert (support(done)["waiting"], support(done)["service_level"]) == (0, 100.0)

        # Another customer waits 40 s and hangs up: a missed call, SL 1/2.
        await h.clock.advance(5)
        gone = h.sim.customer_calls("support", number="+33700000001")
        await sam.event("queue.stats", where=lambda d: support(d)["waiting"] == 1)
        await h.clock.advance(40)
        h.sim.customer_hangs_up(gone)
        missed = await sam.event("queue.stats", where=lambda d: support(d)["abandoned"] == 1)
        assert (support(missed)["waiting"], support(missed)["service_level"]) == (0, 50.0)

        assert not [f for f in alice.frames if f.get("name") == "queue.stats"]  # agents: never
        h.sim.customer_hangs_up(ref)
        r = await get(h, "/api/queues", "sam")
        assert r.status_code == 200 and support({"queues": r.json()})["abandoned"] == 1


async def test_a_supervisor_sets_an_agent_not_ready_then_logs_them_out_and_both_are_audited(
    tmp_path: Path,
) -> None:
    async with running_hub(tmp_path) as h:
        alice = await h.agent("alice")
        await login_ready(alice)
        sam = await h.agent("sam")

        result = await sam.ok("agent.not_ready", agent_id="alice", reason="training")
        assert result["agent"]["state"]["reason"] == "training"
        state = await alice.event(
            "agent.state", where=lambda d: d["agent"]["state"]["reason"] == "training")
        assert state["agent"]["state"]["status"] == "not_ready"
        await sam.event("agent.state", where=lambda d: d["agent"]["state"]["reason"] == "training")

        await h.clock.advance(30)
        await sam.ok("agent.logout", agent_id="alice", reason="meeting")
        await alice.event("agent.state",
                          where=lambda d: d["agent"]["state"]["status"] == "logged_out")
        refused = await sam.command("agent.not_ready", agent_id="alice", reason="no-such-code")
        assert refused["type"] == "error" and refused["code"] == "unknown-reason"

        r = await get(h, "/api/audit", "sam", agent_id="alice")
        assert r.status_code == 200
        entries = [(e["actor"], e["agent_id"], e["op"], e["reason"], e["outcome"])
                   for e in r.json()]
        assert entries == [
            ("sam", "alice", "agent.not_ready", "no-such-code", "unknown-reason"),
            ("sam", "alice", "agent.logout", "meeting", "ok"),
            ("sam", "alice", "agent.not_ready", "training", "ok"),
        ]
        assert r.json()[1]["at"] == h.clock.now().isoformat()
        assert (await get(h, "/api/audit", "sam", agent_id="bob")).json() == []
        assert len((await get(h, "/api/audit", "admin", limit=1)).json()) == 1


async def test_an_agent_cannot_set_a_colleague_not_ready_or_log_them_out(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as h:
        alice = await h.agent("alice")
        bob = await h.agent("bob")
        await login_ready(bob)
        seen = len(bob.frames)
        for op, args in (("agent.not_ready", {"reason": "break"}), ("agent.logout", {})):
            reply = await alice.command(op, agent_id="bob", **args)
            assert reply["type"] == "error" and reply["code"] == "forbidden", reply
            assert "bob" in reply["message"]
        token = await h.token("alice")
        async with httpx.AsyncClient(base_url=h.url) as http:
            r = await http.post("/api/commands", headers={"Authorization": f"Bearer {token}"},
                                json={"op": "agent.logout", "agent_id": "bob"})
        assert r.status_code == 403 and r.json()["code"] == "forbidden"
        assert h.hub.agents["bob"].state.status == "ready"
        assert not [f for f in bob.frames[seen:] if f.get("name") == "agent.state"]
        # The attempts are on record, as refused.
        outcomes = [(e["actor"], e["op"], e["outcome"])
                    for e in (await get(h, "/api/audit", "admin", agent_id="bob")).json()]
        assert outcomes == [("alice", "agent.logout", "forbidden")] * 2 + [
            ("alice", "agent.not_ready", "forbidden")]


async def test_the_audit_and_queue_routes_are_for_supervisors_and_admins_only(
    tmp_path: Path,
) -> None:
    async with running_hub(tmp_path) as h:
        anonymous = await get(h, "/api/audit", None)
        assert anonymous.status_code == 401 and anonymous.json()["code"] == "token-missing"
        for path in ("/api/audit", "/api/queues"):
            agent = await get(h, path, "alice")
            assert agent.status_code == 403, path
            assert agent.json()["code"] == "forbidden" and "supervisor" in agent.json()["message"]
        assert (await get(h, "/api/audit", "sam")).status_code == 200
        assert (await get(h, "/api/audit", "admin")).status_code == 200
        bad = await get(h, "/api/audit", "sam", limit=0)
        assert bad.status_code == 422 and "limit" in bad.text


async def test_after_a_resync_the_supervisor_hears_which_calls_of_the_platform_are_live(
    tmp_path: Path,
) -> None:
    async with running_hub(tmp_path, queues=QUEUES) as h:
        sam = await h.agent("sam")
        alice = await h.agent("alice")
        await login_ready(alice)
        h.sim.customer_calls("support", number="+33612345678", name="Camille Petit")
        talking = (await alice.event("call.offered"))["call"]["call_id"]
        await alice.ok("call.answer", call_id=talking)
        await sam.event("call.answered")
        # Alice is busy: two more callers wait.
        numbers = ("+33700000002", "+33700000003")
        refs = [h.sim.customer_calls("support", number=n) for n in numbers]
        queued = [(await sam.event("call.queued", where=lambda d, n=n:
                                    d["call"]["customer"]["number"] == n))["call"]["call_id"]
                  for n in numbers]

        # The link to the platform drops; a caller gives up meanwhile (the hub cannot
        # hear it); the link comes back and the platform says what it has.
        h.sim.link_down()
        await sam.event("platform.status", where=lambda d: not d["up"])
        marks = len(sam.frames), len(alice.frames)
        h.sim.customer_hangs_up(refs[1])
        h.sim.link_up()

        # The first calls.live the console gets is the supervisors' own: every live call
        # of the platform, the one no agent is on included; not an agent's list.
        frame = await sam.wait_for(lambda f: f.get("name") == "calls.live",
                                   "the live calls after the resync", start=marks[0])
        assert frame["data"]["platform"] == "sim"
        assert [c["call_id"] for c in frame["data"]["calls"]] == [talking, queued[0]]
        mine = await alice.wait_for(lambda f: f.get("name") == "calls.live",
                                    "her live calls", start=marks[1])
        assert [c["call_id"] for c in mine["data"]["calls"]] == [talking]  # as before
        # The console shows what a supervisor connecting now is told, in the same shape.
        late = await h.agent("admin")
        assert frame["data"]["calls"] == late.snapshot["calls"]
        assert console_view(sam) == {c["call_id"]: c for c in late.snapshot["calls"]}
        assert queued[1] not in console_view(sam)
        await late.close()
        assert sum(f.get("name") == "calls.live" for f in sam.frames[marks[0]:]) == 1

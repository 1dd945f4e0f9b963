"""Who may do what, over the real socket and REST: supervisors act on agents only as
the docs allow, and a user who is no agent reads nobody's history."""

from __future__ import annotations

from pathlib import Path

import httpx

from ..integration.harness import running_hub


async def test_an_agent_role_user_without_an_agent_reads_no_history(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as h, httpx.AsyncClient(base_url=h.url) as http:
        admin = {"Authorization": f"Bearer {await h.token('admin')}"}
        r = await http.post("/api/users", headers=admin, json={
            "username": "temp", "password": "temp-pw-123", "roles": ["agent"]})
        assert r.status_code == 201 and r.json()["agent_id"] is None
        # Some history exists: alice took a call.
        alice = await h.agent("alice")
        await alice.ok("agent.login")
        call = await alice.ok("call.dial", number="0612345678")
        await h.clock.advance(3)  # the simulated customer answers
        await alice.event("call.answered")
        await alice.ok("call.hangup", call_id=call["call_id"])
        await alice.event("call.ended")
        sup = await http.get("/api/interactions", headers=admin)
        assert sup.status_code == 200

        temp = {"Authorization": f"Bearer {await h.token('temp', 'temp-pw-123')}"}
        for query in ("", "?agent_id=alice"):
            r = await http.get(f"/api/interactions{query}", headers=temp)
            assert r.status_code == 403, r.text
            assert r.json()["code"] in ("not-an-agent", "forbidden")
        await alice.close()


async def test_a_supervisor_cannot_dial_or_hang_up_as_an_agent(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as h, httpx.AsyncClient(base_url=h.url) as http:
        alice = await h.agent("alice")
        await alice.ok("agent.login")
        call = await alice.ok("call.dial", number="0612345678")
        await h.clock.advance(3)  # the simulated customer answers
        await alice.event("call.answered")
        for who in ("sam", "admin"):
            sup = await h.agent(who)
            for op, args in (("call.dial", {"number": "0699999999"}),
                             ("call.hangup", {"call_id": call["call_id"]}),
                             ("call.hold", {"call_id": call["call_id"]}),
                             ("call.blind_transfer", {"call_id": call["call_id"],
                                                      "target": "bob"}),
                             ("interaction.wrap_up", {"interaction_id": "i-1",
                                                      "disposition": "resolved"}),
                             ("crm.select", {"call_id": call["call_id"], "record_id": "C1"})):
                reply = await sup.command(op, agent_id="alice", **args)
                assert (reply["type"], reply.get("code")) == ("error", "forbidden"), (op, reply)
            # Over REST too (click-to-call in alice's name).
            token = await h.token(who)
            r = await http.post("/api/agents/alice/dial", json={"number": "0699999999"},
                                headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 403, r.text
            r = await http.post("/api/commands", json={"op": "call.hangup", "agent_id": "alice",
                                                       "call_id": call["call_id"]},
                                headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 403, r.text
            # What the docs give supervisors still works: a state change for alice.
            await sup.ok("agent.not_ready", agent_id="alice", reason="training")
            await sup.close()
        # alice's call is still up: nobody hung it up for her.
        assert h.hub.calls.get(call["call_id"]).ended_at is None
        await alice.ok("call.hangup", call_id=call["call_id"])
        await alice.close()

"""Digital work on a real hub: offered within capacity, accepted, declined, timed out, closed."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from ctibridge.model.agent import AgentStatus
from ctibridge.model.party import Channel

from .helpers import available_on_both, chat_accepted, dsim, events, omni_hub, ready, settle, until


async def test_chats_are_offered_to_the_ready_agent_up_to_capacity_and_never_beyond(
    tmp_path: Path,
) -> None:
    async with omni_hub(tmp_path) as h:
        alice = await h.agent("alice")
        await ready(alice)
        sim = dsim(h)
        ids = []
        for n in range(4):
            sim.arrive(Channel.CHAT)
            if n < 3:
                offer = await alice.event(
                    "interaction.offered",
                    where=lambda d, k=len(ids): d["interaction"]["interaction_id"] not in ids)
                it = offer["interaction"]
                assert (it["channel"], it["state"], it["platform"]) == ("chat", "offered",
                                                                        "digisim")
                assert it["offer_deadline"] == (h.clock.now() + timedelta(seconds=20)
                                                ).isoformat()
                assert it["preview"] and it["messages"] == 1
                ids.append(it["interaction_id"])
                done = await alice.ok("interaction.accept", interaction_id=it["interaction_id"])
                assert done["interaction"]["state"] == "active"
        state = await alice.event("agent.state", where=lambda d: d["agent"]["load"] == {
            "chat": 3})
        chat = state["agent"]["availability"]["chat"]
        assert (chat["open"], chat["why"], chat["detail"]) == (False, "at-capacity", "3/3")
        assert state["agent"]["capacity"]["chat"] == 3
        await settle(h)
        assert len(events(alice, "interaction.offered")) == 3  # the fourth waits
        omni = h.app.state.services.omnichannel
        assert [i.state for i in omni.live()].count("queued") == 1
        # The agent's snapshot lists their digital work; a supervisor's lists all of it.
        late = await h.agent("alice")
        assert sorted(i["interaction_id"] for i in late.snapshot["digital"]) == sorted(ids)
        sam = await h.agent("sam")
        assert sorted(i["state"] for i in sam.snapshot["interactions"]) == [
            "active", "active", "active", "queued"]


async def test_a_call_blocks_new_chats_while_a_chat_in_progress_does_not_block_email(
    tmp_path: Path,
) -> None:
    async with omni_hub(tmp_path) as h:
        alice = await h.agent("alice")
        await ready(alice)
        ref = h.sim.customer_calls("support", number="+33612345678")
        call = await alice.event("call.offered")
        await alice.ok("call.answer", call_id=call["call"]["call_id"])
        await alice.event("agent.state", where=lambda d: d["agent"]["load"] == {"voice": 1})
        chat_ref = dsim(h).arrive(Channel.CHAT)
        await settle(h)
        assert events(alice, "interaction.offered") == []  # voice is exclusive
        h.sim.customer_hangs_up(ref)
        await alice.event("call.ended")
        await h.clock.advance(10)  # wrap-up ends: ready again
        offer = await alice.event("interaction.offered")
        assert offer["interaction"]["channel"] == "chat"
        await alice.ok("interaction.accept", interaction_id=offer["interaction"]["interaction_id"])
        dsim(h).arrive(Channel.EMAIL)
        email = await alice.event("interaction.offered",
                                  where=lambda d: d["interaction"]["channel"] == "email")
        assert email["interaction"]["subject"]
        assert chat_ref.startswith("digisim-")


async def test_an_unanswered_offer_times_out_and_goes_to_another_agent(tmp_path: Path) -> None:
    async with omni_hub(tmp_path) as h:
        alice, bob = await h.agent("alice"), await h.agent("bob")
        await ready(alice)
        await h.clock.advance(1)
        await ready(bob)
        dsim(h).arrive(Channel.CHAT)
        first = await alice.event("interaction.offered")  # longest idle first
        iid = first["interaction"]["interaction_id"]
        await h.clock.advance(20)
        gone = await alice.event("interaction.withdrawn")
        assert (gone["reason"], gone["interaction"]["interaction_id"]) == ("timeout", iid)
        second = await bob.event("interaction.offered")
        assert second["interaction"]["interaction_id"] == iid
        late = await alice.command("interaction.accept", interaction_id=iid)
        assert (late["type"], late["code"]) == ("error", "offer-expired")
        theirs = await alice.command("interaction.decline", interaction_id="nope")
        assert theirs["code"] == "no-such-interaction"


async def test_a_declined_chat_is_requeued_and_offered_to_someone_else(tmp_path: Path) -> None:
    async with omni_hub(tmp_path) as h:
        alice, bob = await h.agent("alice"), await h.agent("bob")
        await ready(alice)
        await h.clock.advance(1)
        await ready(bob)
        dsim(h).arrive(Channel.CHAT)
        first = await alice.event("interaction.offered")
        iid = first["interaction"]["interaction_id"]
        wrong = await bob.command("interaction.accept", interaction_id=iid)
        assert wrong["code"] == "not-offered-to-you"
        res = await alice.ok("interaction.decline", interaction_id=iid, reason="not my topic")
        assert res["interaction"]["agent_id"] != "alice"  # back in queue (or bob's already)
        second = await bob.event("interaction.offered")
        assert second["interaction"]["interaction_id"] == iid
        await bob.ok("interaction.accept", interaction_id=iid)


async def test_closing_with_a_disposition_writes_the_interaction_and_supervisors_see_it(
    tmp_path: Path,
) -> None:
    async with omni_hub(tmp_path) as h:
        sam = await h.agent("sam")
        alice = await h.agent("alice")
        await ready(alice)
        dsim(h).arrive(Channel.EMAIL)
        queued = await sam.event("interaction.updated",
                                 where=lambda d: d["interaction"]["state"] == "queued")
        iid = queued["interaction"]["interaction_id"]
        await sam.event("queue.stats", where=lambda d: any(
            q["queue"] == "support" and q["waiting_by_channel"].get("email") for q in d["queues"]))
        await alice.event("interaction.offered")
        await sam.event("interaction.offered")
        await alice.ok("interaction.accept", interaction_id=iid)
        await sam.event("interaction.accepted")
        bad = await alice.command("interaction.close", interaction_id=iid, disposition="nope")
        assert bad["code"] == "unknown-disposition"
        done = await alice.ok("interaction.close", interaction_id=iid, disposition="resolved",
                              notes="refund sent")
        assert done["interaction"]["state"] == "closed"
        closed = await sam.event("interaction.closed")
        assert closed["interaction"]["disposition"] == "resolved"
        again = await alice.command("interaction.close", interaction_id=iid)
        assert again["code"] == "already-closed"
        store = h.app.state.services.store

        async def written() -> bool:
            row = await store.interactions.get(iid)
            return row is not None and row.disposition == "resolved"

        for _ in range(200):
            if await written():
                break
            await asyncio.sleep(0.01)
        row = await store.interactions.get(iid)
        assert row is not None
        assert (row.channel, row.notes, row.agent_id) == ("email", "refund sent", "alice")
        assert row.accepted_at is not None and row.wrapped_at is not None


async def test_not_ready_stops_offers_and_ready_resumes_them(tmp_path: Path) -> None:
    async with omni_hub(tmp_path) as h:
        alice = await h.agent("alice")
        await ready(alice)
        await alice.ok("agent.not_ready", reason="break")
        dsim(h).arrive(Channel.SMS)
        await settle(h)
        assert events(alice, "interaction.offered") == []
        await alice.ok("agent.ready")
        offer = await alice.event("interaction.offered")
        assert offer["interaction"]["channel"] == "sms"


async def test_digital_work_pauses_the_voice_platform_busy_elsewhere_and_unpauses_after(
    tmp_path: Path,
) -> None:
    async with omni_hub(tmp_path) as h:
        sim = dsim(h)
        alice = await available_on_both(h, sim)
        ref = await chat_accepted(h, alice)
        assert h.sim.device_state("1001").status == AgentStatus.NOT_READY
        # The pause is ours: alice is still ready in the hub, and no call reaches her.
        assert h.hub.agents["alice"].state.status == AgentStatus.READY
        h.sim.customer_calls("support", number="+33612345678")
        await settle(h)
        assert not [f for f in alice.frames if f.get("name") == "call.offered"]
        sim.customer_closes(ref)
        await alice.event("interaction.closed")
        await until(lambda: h.sim.device_state("1001").status == AgentStatus.READY,
                    "the PBX unpausing alice")
        await alice.event("call.offered")  # the waiting call reaches her now


async def test_an_agent_cannot_log_out_with_a_conversation_in_progress(tmp_path: Path) -> None:
    async with omni_hub(tmp_path) as h:
        alice = await h.agent("alice")
        await ready(alice)
        dsim(h).arrive(Channel.CHAT)
        offer = await alice.event("interaction.offered")
        iid = offer["interaction"]["interaction_id"]
        await alice.ok("interaction.accept", interaction_id=iid)
        refused = await alice.command("agent.logout")
        assert refused["code"] == "agent-busy" and "conversation" in refused["message"]
        assert h.hub.agents["alice"].state.status != AgentStatus.LOGGED_OUT
        await alice.ok("interaction.close", interaction_id=iid, disposition="resolved")
        await alice.ok("agent.logout")
        assert h.hub.agents["alice"].state.status == AgentStatus.LOGGED_OUT


async def test_open_shows_the_simulated_conversation_on_the_platforms_own_page(
    tmp_path: Path,
) -> None:
    import httpx

    async with omni_hub(tmp_path) as h:
        alice = await h.agent("alice")
        await ready(alice)
        sim = dsim(h)
        ref = sim.arrive(Channel.EMAIL)
        offer = await alice.event("interaction.offered")
        url = offer["interaction"]["content_url"]
        assert url == f"/digital/digisim/conversations/{ref}"  # resolved by the bar
        sim.customer_writes(ref, "<script>alert(1)</script> toujours rien")
        async with httpx.AsyncClient(base_url=h.url) as http:
            page = await http.get(url)
            assert page.status_code == 200 and page.headers["content-type"].startswith(
                "text/html")
            assert offer["interaction"]["subject"] in page.text
            assert "&lt;script&gt;alert(1)&lt;/script&gt; toujours rien" in page.text
            assert "<script>" not in page.text
            assert (await http.get("/digital/digisim/conversations/nope")).status_code == 404
            assert (await http.get(f"/digital/web/conversations/{ref}")).status_code == 404

"""An agent's day over the real WebSocket, against the simulated contact center."""

from __future__ import annotations

from pathlib import Path

from ctibridge.clock import FakeClock

from .harness import AgentClient, running_hub


async def login_ready(agent: AgentClient) -> None:
    await agent.ok("agent.login")
    await agent.ok("agent.ready")
    await agent.event("agent.state", where=lambda d: d["agent"]["state"]["status"] == "ready")


async def test_inbound_call_answered_held_blind_transferred_and_wrapped_up(
    tmp_path: Path,
) -> None:
    async with running_hub(tmp_path) as h:
        alice = await h.agent("alice")
        alice_tab2 = await h.agent("alice")
        bob = await h.agent("bob")
        assert alice.snapshot["agent"]["state"]["status"] == "logged_out"
        await login_ready(alice)
        await login_ready(bob)

        # Bob goes on a break so the call lands on Alice.
        await bob.ok("agent.not_ready", reason="break")
        ref = h.sim.customer_calls("support", number="+33612345678", name="Camille Petit",
                                   attached={"customer_id": "C-1042", "reason": "billing"})
        offered = await alice.event("call.offered")
        call = offered["call"]
        assert call["customer"] == {"number": "+33612345678", "name": "Camille Petit"}
        assert call["attached"]["customer_id"] == "C-1042"
        assert alice.my_state(call) == "alerting"
        call_id = call["call_id"]
        assert call_id == h.call_of(ref)

        await alice.ok("call.answer", call_id=call_id)
        answered = await alice.event("call.answered")
        assert alice.my_state(answered["call"]) == "connected"
        await alice.event("agent.state", where=lambda d: d["agent"]["state"]["status"] == "busy")

        await alice.ok("call.hold", call_id=call_id)
        assert alice.my_state((await alice.event("call.held"))["call"]) == "held"
        await alice.ok("call.retrieve", call_id=call_id)
        assert alice.my_state((await alice.event("call.retrieved"))["call"]) == "connected"

        await bob.ok("agent.ready")
        await alice.ok("call.blind_transfer", call_id=call_id, target="bob")
        transferred = await alice.event("call.transferred")
        assert alice.my_state(transferred["call"]) == "ended"
        bob_offer = await bob.event("call.offered")
        assert bob_offer["call"]["call_id"] == call_id  # the call keeps its id
        assert bob_offer["call"]["attached"]["reason"] == "billing"
        await bob.ok("call.answer", call_id=call_id)
        await bob.event("call.answered")

        # Alice is in wrap-up for her part of the call, with a disposition.
        wrap = await alice.event("agent.state",
                                 where=lambda d: d["agent"]["state"]["status"] == "wrap_up")
        assert wrap["agent"]["state"]["deadline"]
        it = await alice.event("interaction.updated",
                               where=lambda d: d["interaction"]["ended_at"] is not None)
        await alice.ok("interaction.wrap_up", interaction_id=it["interaction"]["interaction_id"],
                       disposition="escalated", notes="passed to billing")
        await alice.ok("agent.ready")
        await alice.event("agent.state", where=lambda d: d["agent"]["state"]["status"] == "ready")

        h.sim.customer_hangs_up(ref)
        ended = await bob.event("call.ended")
        assert ended["cause"] == "customer-hangup"
        await bob.event("agent.state", where=lambda d: d["agent"]["state"]["status"] == "wrap_up")
        # The wrap-up timer brings Bob back to ready by itself.
        assert isinstance(h.clock, FakeClock)
        await h.clock.advance(11)
        await bob.event("agent.state", where=lambda d: d["agent"]["state"]["status"] == "ready")

        # The second tab saw the same story.
        names = [f["name"] for f in alice_tab2.frames if f["type"] == "event"]
        assert names[:1] and "call.offered" in names and "call.transferred" in names
        assert [f["seq"] for f in alice_tab2.frames if f["type"] == "event"] == [
            f["seq"] for f in alice.frames if f["type"] == "event"]

        # The history has both agents' parts, with Alice's disposition.
        await h.hub.flush()
        rows = await h.hub.store.interactions.list(limit=10)
        mine = {r.agent_id: r for r in rows if r.call_id == call_id}
        assert mine["alice"].disposition == "escalated"
        assert mine["alice"].notes == "passed to billing"
        assert mine["bob"].end_cause == "customer-hangup"
        for c in (alice, alice_tab2, bob):
            await c.close()


async def test_attended_transfer_then_a_conference(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as h:
        alice, bob, carol = [await h.agent(u) for u in ("alice", "bob", "carol")]
        await login_ready(alice)
        await bob.ok("agent.login")
        await carol.ok("agent.login")
        ref = h.sim.customer_calls("support", number="+41446681800", name="Lukas Meier")
        call_id = (await alice.event("call.offered"))["call"]["call_id"]
        await alice.ok("call.answer", call_id=call_id)
        await alice.event("call.answered")

        consult_id = (await alice.ok("call.consult", call_id=call_id, target="bob"))["call_id"]
        assert alice.my_state((await alice.event("call.held"))["call"]) == "held"
        offer = await bob.event("call.offered")
        assert offer["call"]["call_id"] == consult_id
        assert offer["call"]["consult_of"] == call_id
        # Bob sees who consults him: the other party of an internal call.
        assert {c["name"] for c in offer["call"]["connections"]} == {"Alice Martin", "Bob Durand"}
        await bob.ok("call.answer", call_id=consult_id)
        await alice.event("call.answered", where=lambda d: d["call"]["call_id"] == consult_id)
        # Once per bar, although both ends of the consultation are now connected.
        for bar in (alice, bob):
            answers = [f for f in bar.frames if f.get("type") == "event"
                       and f["name"] == "call.answered"
                       and f["data"]["call"]["call_id"] == consult_id]
            assert len(answers) == 1, answers
            assert {c["device"]: c["state"] for c in answers[0]["data"]["call"]["connections"]
                    } == {"1001": "connected", "1002": "connected"}
        await alice.ok("call.complete_transfer", call_id=call_id, consult_call_id=consult_id)
        moved = await bob.event("call.transferred")
        assert moved["call"]["call_id"] == call_id
        assert bob.my_state(moved["call"]) == "connected"
        await alice.event("call.ended", where=lambda d: d["call"]["call_id"] == consult_id)

        # Bob now consults Carol and makes it a three-way call.
        consult2 = (await bob.ok("call.consult", call_id=call_id, target="carol"))["call_id"]
        await carol.event("call.offered", timeout=2)
        await carol.ok("call.answer", call_id=consult2)
        await bob.event("call.answered", where=lambda d: d["call"]["call_id"] == consult2)
        await bob.ok("call.conference", call_id=call_id, consult_call_id=consult2)
        conf = await carol.event("call.conferenced")
        states = {c["agent_id"]: c["state"] for c in conf["call"]["connections"]
                  if c["agent_id"]}
        assert states == {"alice": "ended", "bob": "connected", "carol": "connected"}
        # Bob leaves; Carol stays with the customer.
        await bob.ok("call.hangup", call_id=call_id)
        left = await carol.event("call.updated", where=lambda d: d.get("cause") == "agent-hangup")
        assert carol.my_state(left["call"]) == "connected"
        h.sim.customer_hangs_up(ref)
        await carol.event("call.ended")
        # Alice passed the call on: she heard of its transfer, and nothing after it.
        names = [f["name"] for f in alice.frames if f.get("type") == "event"
                 and f["name"].startswith("call.") and f["data"]["call"]["call_id"] == call_id]
        assert names[-1] == "call.transferred", names
        for c in (alice, bob, carol):
            await c.close()


async def test_back_to_the_caller_ends_the_consultation_and_never_transfers(
    tmp_path: Path,
) -> None:
    async with running_hub(tmp_path) as h:
        alice, bob = [await h.agent(u) for u in ("alice", "bob")]
        await login_ready(alice)
        await bob.ok("agent.login")
        ref = h.sim.customer_calls("support", number="+41446681800", name="Lukas Meier")
        call_id = (await alice.event("call.offered"))["call"]["call_id"]
        await alice.ok("call.answer", call_id=call_id)
        consult_id = (await alice.ok("call.consult", call_id=call_id, target="bob"))["call_id"]
        await bob.event("call.offered")
        await bob.ok("call.answer", call_id=consult_id)
        await alice.event("call.answered", where=lambda d: d["call"]["call_id"] == consult_id)
        # The pair the wrong way round is refused.
        err = await alice.command("call.cancel_consult", call_id=consult_id,
                                  consult_call_id=call_id)
        assert err["type"] == "error" and err["code"] == "not-a-consultation", err
        await alice.ok("call.cancel_consult", call_id=call_id, consult_call_id=consult_id)
        gone = await bob.event("call.ended")
        assert gone["call"]["call_id"] == consult_id and gone["cause"] == "cancelled"
        back = await alice.event("call.retrieved")
        assert back["call"]["call_id"] == call_id and alice.my_state(back["call"]) == "connected"
        h.sim.customer_hangs_up(ref)
        ended = await alice.event("call.ended", where=lambda d: d["call"]["call_id"] == call_id)
        assert ended["cause"] == "customer-hangup"
        for c in (alice, bob):
            await c.close()


async def test_a_reconnecting_bar_resumes_without_missing_an_event(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as h:
        alice = await h.agent("alice")
        await login_ready(alice)
        last_seq = max(f["seq"] for f in alice.frames if f["type"] == "event")
        await alice.close()

        # While the bar is away a call arrives and is offered.
        h.sim.customer_calls("sales", number="+33145678901")
        while not h.hub.agents["alice"].calls:
            await h.clock.advance(0.1)  # type: ignore[attr-defined]

        back = await h.agent("alice")
        assert back.snapshot["seq"] > last_seq
        [call] = back.snapshot["calls"]
        assert back.my_state(call) == "alerting"
        await back.send({"type": "resume", "since": last_seq})
        replay = await back.event("call.offered")
        assert replay["call"]["call_id"] == call["call_id"]
        seqs = [f["seq"] for f in back.frames if f["type"] == "event"]
        assert seqs == list(range(last_seq + 1, back.snapshot["seq"] + 1))
        await back.close()


async def test_outbound_call_from_the_bar(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as h:
        alice = await h.agent("alice")
        await alice.ok("agent.login")
        h.sim.set_outcome("+33240000000", "answer")
        result = await alice.ok("call.dial", number="+33240000000")
        started = await alice.event("call.initiated")
        assert started["call"]["call_id"] == result["call_id"]
        assert started["call"]["direction"] == "outbound"
        await h.clock.advance(3)  # type: ignore[attr-defined]
        answered = await alice.event("call.answered")
        assert alice.my_state(answered["call"]) == "connected"
        await alice.ok("call.dtmf", call_id=result["call_id"], digits="12#")
        await alice.event("call.dtmf")
        await alice.ok("call.hangup", call_id=result["call_id"])
        await alice.event("call.ended")
        # Logged in "not ready" before dialling: back to not ready after wrap-up.
        await h.clock.advance(11)  # type: ignore[attr-defined]
        st = await alice.event("agent.state", where=lambda d: d["agent"]["state"]["status"]
                               == "not_ready" and d["agent"]["calls"] == [])
        assert st["agent"]["state"]["reason"] == "login"
        await alice.close()


async def test_a_busy_number_is_reported_to_the_agent(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as h:
        alice = await h.agent("alice")
        await alice.ok("agent.login")
        h.sim.set_outcome("+33240000001", "busy")
        await alice.ok("call.dial", number="+33240000001")
        await h.clock.advance(3)  # type: ignore[attr-defined]
        failed = await alice.event("call.failed")
        assert failed["cause"] == "busy"
        await alice.close()

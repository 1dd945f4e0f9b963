"""Wrap-up work is never lost: not to a supervisor's state change, not to the end of the
window, not to a hub restart (the form, the agent's state and recent calls come back)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ctibridge.clock import FakeClock
from ctibridge.telephony.simulator import SimulatorConnector

from .harness import AgentClient, RunningHub, running_hub


async def ready(agent: AgentClient) -> None:
    await agent.ok("agent.login")
    await agent.ok("agent.ready")
    await agent.event("agent.state", where=lambda d: d["agent"]["state"]["status"] == "ready")


async def talk_then_caller_hangs_up(h: RunningHub, agent: AgentClient, name: str) -> str:
    """A customer call the agent answers and the customer ends: the agent is in wrap-up.
    Returns the interaction awaiting wrap-up."""
    ref = h.sim.customer_calls("support", number="+33612345678", name=name)
    offered = await agent.event("call.offered",
                                where=lambda d: d["call"]["customer"]["name"] == name)
    call_id = offered["call"]["call_id"]
    await agent.ok("call.answer", call_id=call_id)
    await agent.event("call.answered", where=lambda d: d["call"]["call_id"] == call_id)
    h.sim.customer_hangs_up(ref)
    await agent.event("agent.state", where=lambda d: d["agent"]["state"]["status"] == "wrap_up")
    pending = [it for it in h.hub.interactions.awaiting_wrap_up(agent.user)]
    assert len(pending) == 1
    return str(pending[0].interaction_id)


def status(h: RunningHub, agent_id: str) -> tuple[str, str | None]:
    st = h.hub.agents[agent_id].state
    return str(st.status), st.reason


async def test_a_supervisors_not_ready_during_wrap_up_takes_effect_after_it(
    tmp_path: Path,
) -> None:
    async with running_hub(tmp_path, wrap_up_seconds=120) as h:
        alice, sam = await h.agent("alice"), await h.agent("sam")
        await ready(alice)
        iid = await talk_then_caller_hangs_up(h, alice, "Camille Petit")

        answer = await sam.ok("agent.not_ready", agent_id="alice", reason="meeting")
        assert answer["pending"] is True
        # Alice keeps her wrap-up and her form; she is told what comes after it.
        said = await alice.event("agent.state",
                                 where=lambda d: d["agent"]["pending_change"] is not None)
        assert said["agent"]["state"]["status"] == "wrap_up"
        assert said["agent"]["pending_change"] == {"status": "not_ready", "reason": "meeting",
                                                   "by": "sam"}
        assert [it.interaction_id for it in h.hub.interactions.awaiting_wrap_up("alice")] == [iid]

        await alice.ok("interaction.wrap_up", interaction_id=iid, disposition="resolved",
                       notes="Refund agreed")
        await alice.ok("agent.ready")  # "Save and go ready": where the supervisor asked
        await alice.event("agent.state",
                          where=lambda d: d["agent"]["state"]["status"] == "not_ready")
        assert status(h, "alice") == ("not_ready", "meeting")
        assert h.hub.agents["alice"].pending_change() is None
        await h.hub.persist_now()
        stored = await h.hub.store.interactions.get(iid)
        assert (stored.disposition, stored.notes) == ("resolved", "Refund agreed")
        assert stored.wrapped_at is not None


async def test_what_the_agent_typed_is_kept_when_the_wrap_up_window_runs_out(
    tmp_path: Path,
) -> None:
    async with running_hub(tmp_path, wrap_up_seconds=30) as h:
        assert isinstance(h.clock, FakeClock)
        alice = await h.agent("alice")
        await ready(alice)
        iid = await talk_then_caller_hangs_up(h, alice, "Camille Petit")

        draft = await alice.ok("interaction.draft", interaction_id=iid,
                               disposition="callback", notes="Call back after 5 pm")
        assert draft["draft"] == {"disposition": "callback", "notes": "Call back after 5 pm"}
        stored = await h.hub.store.interactions.get(iid)  # on disk at the ack
        assert stored.draft == {"disposition": "callback", "notes": "Call back after 5 pm"}

        await h.clock.advance(30)
        await alice.event("agent.state", where=lambda d: d["agent"]["state"]["status"] == "ready")
        await h.hub.persist_now()
        stored = await h.hub.store.interactions.get(iid)
        assert (stored.disposition, stored.notes, stored.draft) == (
            "callback", "Call back after 5 pm", None)


async def test_a_draft_names_a_known_outcome_and_only_the_agent_writes_it(
    tmp_path: Path,
) -> None:
    async with running_hub(tmp_path) as h:
        alice, sam = await h.agent("alice"), await h.agent("sam")
        await ready(alice)
        iid = await talk_then_caller_hangs_up(h, alice, "Camille Petit")
        bad = await alice.command("interaction.draft", interaction_id=iid, disposition="nope")
        assert (bad["type"], bad["code"]) == ("error", "unknown-disposition")
        other = await sam.command("interaction.draft", interaction_id=iid, agent_id="alice",
                                  notes="not mine to write")
        assert (other["type"], other["code"]) == ("error", "forbidden")
        assert h.hub.interactions.get(iid).draft is None


async def test_a_hub_restart_keeps_states_the_wrap_up_form_and_recent_calls(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    async with running_hub(tmp_path, clock=clock, wrap_up_seconds=60) as h:
        alice, bob = await h.agent("alice"), await h.agent("bob")
        await bob.ok("agent.login")
        await bob.ok("agent.not_ready", reason="lunch")
        await ready(alice)
        first = await talk_then_caller_hangs_up(h, alice, "Camille Petit")
        await alice.ok("interaction.wrap_up", interaction_id=first, disposition="resolved")
        await alice.ok("agent.ready")
        await alice.event("agent.state", where=lambda d: d["agent"]["state"]["status"] == "ready")
        second = await talk_then_caller_hangs_up(h, alice, "Jean Dupont")
        await alice.ok("interaction.draft", interaction_id=second, disposition="info",
                       notes="Asked about opening hours")
        await alice.close()
        await bob.close()

    await clock.advance(5)  # the hub is down a moment; the platform restarts with it
    sim = SimulatorConnector("sim", clock=clock, seed=8, devices=["1001", "1002", "1003"])
    async with running_hub(tmp_path, clock=clock, sim=sim, wrap_up_seconds=60) as h:
        alice = await h.agent("alice")
        snap: dict[str, Any] = alice.snapshot
        assert snap["agent"]["state"]["status"] == "wrap_up"
        form = next(i for i in snap["interactions"] if i["interaction_id"] == second)
        assert form["wrapped_at"] is None and form["ended_at"] is not None
        assert form["draft"] == {"disposition": "info", "notes": "Asked about opening hours"}
        recent = next(i for i in snap["interactions"] if i["interaction_id"] == first)
        assert recent["disposition"] == "resolved"
        assert status(h, "bob") == ("not_ready", "lunch")
        # The platform, which knew nobody, was told where each agent stands.
        await h.clock.advance(0)
        for _ in range(50):
            if sim.device_state("1002").status == "not_ready":
                break
            await clock.advance(0.1)
        assert (sim.device_state("1002").status, sim.device_state("1002").reason) == (
            "not_ready", "lunch")

        await alice.ok("interaction.wrap_up", interaction_id=second, disposition="info",
                       notes="Asked about opening hours")
        await alice.ok("agent.ready")
        await alice.event("agent.state", where=lambda d: d["agent"]["state"]["status"] == "ready")
        await h.hub.persist_now()
        stored = await h.hub.store.interactions.get(second)
        assert (stored.disposition, stored.notes) == ("info", "Asked about opening hours")
        assert stored.end_cause != "hub-restart"


async def test_a_wrap_up_nobody_comes_back_to_is_closed_with_what_was_typed(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    async with running_hub(tmp_path, clock=clock, wrap_up_seconds=60) as h:
        alice = await h.agent("alice")
        await ready(alice)
        iid = await talk_then_caller_hangs_up(h, alice, "Camille Petit")
        await alice.ok("interaction.draft", interaction_id=iid, disposition="info",
                       notes="Left a voicemail")
        await alice.close()

    # Restarted without alice (she left the team): her wrap-up has nobody to return to.
    others = [{"id": "bob", "name": "Bob Durand", "extension": "1002"}]
    async with running_hub(tmp_path, clock=clock, agents=others) as h:
        await h.hub.persist_now()
        stored = await h.hub.store.interactions.get(iid)
        assert stored.wrapped_at is not None
        assert (stored.disposition, stored.notes, stored.draft) == (
            "info", "Left a voicemail", None)


async def test_after_a_longer_outage_than_a_sign_in_lasts_agents_start_logged_out(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    async with running_hub(tmp_path, clock=clock) as h:
        await ready(await h.agent("alice"))
    await clock.advance(13 * 3600)  # the night: sessions last 12 h
    async with running_hub(tmp_path, clock=clock) as h:
        assert status(h, "alice") == ("logged_out", None)

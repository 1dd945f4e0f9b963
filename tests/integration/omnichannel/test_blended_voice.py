"""ctibridge routes voice: the simulator parks queued calls, the blended router delivers them."""

from __future__ import annotations

from pathlib import Path

from ctibridge.clock import FakeClock
from ctibridge.model.party import Channel
from ctibridge.telephony.base import Capability
from ctibridge.telephony.simulator import SimulatorConnector

from .helpers import dsim, events, omni_hub, ready, settle


def parking_sim(clock: FakeClock) -> SimulatorConnector:
    return SimulatorConnector("sim", clock=clock, seed=7, devices=["1001", "1002", "1003"],
                              ring_timeout=15.0, answer_delay=(1.0, 2.0), routing="hub")


async def test_parked_calls_and_chats_share_one_queue_and_go_to_free_agents(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    sim = parking_sim(clock)
    assert Capability.ROUTE in sim.capabilities
    async with omni_hub(tmp_path, clock=clock, sim=sim) as h:
        alice, bob = await h.agent("alice"), await h.agent("bob")
        await ready(alice)
        await h.clock.advance(1)
        await ready(bob)
        ref = h.sim.customer_calls("support", number="+33612345678")
        ring = await alice.event("call.offered")  # longest idle first, chosen by the hub
        assert ring["call"]["queue"] == "support"
        dsim(h).arrive(Channel.CHAT)
        chat = await bob.event("interaction.offered")  # alice's ringing call blocks chat
        assert chat["interaction"]["channel"] == "chat"
        await alice.ok("call.answer", call_id=ring["call"]["call_id"])
        await alice.event("call.answered")
        await settle(h)
        assert events(alice, "interaction.offered") == []
        assert ref in {c.ref for c in h.sim.live_calls()}
        omni = h.app.state.services.omnichannel
        assert ring["call"]["call_id"] not in omni.router  # answered: out of the queue


async def test_an_unanswered_parked_call_goes_back_and_rings_another_agent(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    async with omni_hub(tmp_path, clock=clock, sim=parking_sim(clock)) as h:
        alice, bob = await h.agent("alice"), await h.agent("bob")
        await ready(alice)
        await h.clock.advance(1)
        await ready(bob)
        h.sim.customer_calls("support", number="+33612345678")
        first = await alice.event("call.offered")
        await h.clock.advance(15)  # alice does not answer: the platform takes it back
        second = await bob.event("call.offered")
        assert second["call"]["call_id"] == first["call"]["call_id"]
        await bob.ok("call.answer", call_id=second["call"]["call_id"])
        await bob.event("call.answered")


async def test_a_caller_who_hangs_up_in_the_park_leaves_the_router(tmp_path: Path) -> None:
    clock = FakeClock()
    async with omni_hub(tmp_path, clock=clock, sim=parking_sim(clock)) as h:
        sam = await h.agent("sam")
        ref = h.sim.customer_calls("support", number="+33612345678")
        queued = await sam.event("call.queued")
        omni = h.app.state.services.omnichannel
        assert queued["call"]["call_id"] in omni.router  # nobody ready: it waits
        h.sim.customer_hangs_up(ref)
        await sam.event("call.ended")
        assert queued["call"]["call_id"] not in omni.router


async def test_a_chat_left_unanswered_keeps_no_call_away_and_goes_back_when_the_phone_rings(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    async with omni_hub(tmp_path, clock=clock, sim=parking_sim(clock)) as h:
        alice = await h.agent("alice")
        await ready(alice)
        dsim(h).arrive(Channel.CHAT)
        chat = await alice.event("interaction.offered")  # she does not answer it
        state = await alice.event("agent.state", where=lambda d: d["agent"]["offered"])
        assert state["agent"]["offered"] == {"chat": 1} and state["agent"]["load"] == {}
        assert state["agent"]["availability"]["voice"]["open"] is True
        h.sim.customer_calls("support", number="+33612345678")
        await alice.event("call.offered")  # the chat offer did not keep the call away
        back = await alice.event("interaction.withdrawn")
        assert back["reason"] == "busy"
        assert back["interaction"]["interaction_id"] == chat["interaction"]["interaction_id"]
        omni = h.app.state.services.omnichannel
        await settle(h)
        assert chat["interaction"]["interaction_id"] in {i.interaction_id
                                                         for i in omni.router.waiting()}

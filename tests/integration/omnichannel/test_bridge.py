"""Two platforms bridged through the hub: a voice simulator and a digital one.

Busy on one makes the agent unavailable on the other and free again after,
changes carry their origin so nothing loops, and a platform that comes back
is told again where the agent stands.
"""

from __future__ import annotations

from pathlib import Path

from ctibridge.model.agent import AgentStatus

from .helpers import available_on_both, chat_accepted, dsim, omni_hub, ready, settle, until


async def test_a_call_on_the_voice_platform_makes_the_agent_away_on_the_digital_one_and_back(
    tmp_path: Path,
) -> None:
    async with omni_hub(tmp_path) as h:
        digital = dsim(h)
        alice = await available_on_both(h, digital)
        ref = h.sim.customer_calls("support", number="+33612345678")
        call = await alice.event("call.offered")
        await until(lambda: digital.agents.get("alice") == (AgentStatus.NOT_READY,
                                                             "busy-elsewhere"),
                    "alice away (busy-elsewhere) on the digital platform while her phone rings")
        await alice.ok("call.answer", call_id=call["call"]["call_id"])
        h.sim.customer_hangs_up(ref)
        await alice.event("call.ended")
        # Wrap-up is not ready everywhere; then ready everywhere again.
        await until(lambda: digital.agents.get("alice") == (AgentStatus.NOT_READY, "wrap-up"),
                    "alice in wrap-up on the digital platform")
        await h.clock.advance(10)
        await until(lambda: digital.agents.get("alice") == (AgentStatus.READY, None),
                    "alice available again on the digital platform")
        await settle(h)
        assert h.hub.agents["alice"].state.status == AgentStatus.READY
        assert h.sim.device_state("1001").status == AgentStatus.READY


async def test_a_change_made_on_the_digital_platform_reaches_the_pbx_without_looping(
    tmp_path: Path,
) -> None:
    async with omni_hub(tmp_path) as h:
        digital = dsim(h)
        alice = await available_on_both(h, digital)
        # Alice goes on a break on the chat platform's own console.
        await digital.set_agent_status("alice", AgentStatus.NOT_READY, "break")
        await alice.event("agent.state", where=lambda d: d["agent"]["state"]["reason"]
                          == "break")
        await until(lambda: (h.sim.device_state("1001").status,
                             h.sim.device_state("1001").reason)
                    == (AgentStatus.NOT_READY, "break"), "the PBX told of the break")
        before = len(alice.frames)
        await settle(h)
        await h.clock.advance(1)
        await settle(h)
        # Settled: nothing bounces between the platforms.
        assert [f for f in alice.frames[before:] if f.get("name") == "agent.state"] == []
        assert digital.agents["alice"] == (AgentStatus.NOT_READY, "break")
        # Back from the bar: both platforms follow, once each.
        await alice.ok("agent.ready")
        await until(lambda: digital.agents.get("alice") == (AgentStatus.READY, None),
                    "alice available again on the digital platform")
        await settle(h)
        assert h.sim.device_state("1001").status == AgentStatus.READY


async def test_a_pbx_that_comes_back_is_told_again_that_the_agent_is_busy_elsewhere(
    tmp_path: Path,
) -> None:
    async with omni_hub(tmp_path) as h:
        alice = await h.agent("alice")
        await ready(alice)
        await chat_accepted(h, alice)
        h.sim.link_down()
        # While the link is down someone unpauses the phone: the hub never hears it.
        h.sim.agent_changes_state_elsewhere("1001", AgentStatus.READY)
        h.sim.link_up()
        await until(lambda: h.sim.device_state("1001").reason == "busy-elsewhere",
                    "the PBX paused again after the resync")
        assert h.hub.agents["alice"].state.status == AgentStatus.READY

"""One CRM, two telephone systems: each agent works on the system of the station they
log in at (typed in the bar, or taken from their site's network), and everything a bar
does works the same on both. Two simulated systems stand for the two sites' PBXs."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from ctibridge.clock import FakeClock
from ctibridge.telephony.simulator import SimulatorConnector

from ..harness import AgentClient, RunningHub, running_hub

AGENTS = [  # everyone's configured phone is in Paris; the station decides each day
    {"id": "alice", "name": "Alice Martin", "extension": "1001", "platform": "paris"},
    {"id": "bob", "name": "Bob Durand", "extension": "1002", "platform": "paris"},
    {"id": "carol", "name": "Carol Lefèvre", "extension": "1003", "platform": "paris",
     "devices": {"lyon": "5003"}},
]
TELEPHONY = [{"name": "paris", "type": "simulator", "label": "Avaya Paris"},
             {"name": "lyon", "type": "simulator", "label": "Alcatel Lyon"}]
STATIONS = [{"extension": e, "platform": "paris"} for e in ("1001", "1002", "1003")] + [
    {"extension": e, "platform": "lyon"} for e in ("5001", "5002", "5003")]


@contextlib.asynccontextmanager
async def two_systems(tmp_path: Path, **overrides: Any
                      ) -> AsyncIterator[tuple[RunningHub, SimulatorConnector,
                                                SimulatorConnector]]:
    clock = FakeClock()
    paris = SimulatorConnector("paris", clock=clock, seed=1, devices=["1001", "1002", "1003"],
                               queues=["support"], ring_timeout=20.0, answer_delay=(1.0, 2.0))
    lyon = SimulatorConnector("lyon", clock=clock, seed=2, devices=["5001", "5002", "5003"],
                              queues=["support"], ring_timeout=20.0, answer_delay=(1.0, 2.0))
    settings: dict[str, Any] = {"telephony": TELEPHONY, "agents": AGENTS, "stations": STATIONS}
    settings.update(overrides)
    async with running_hub(tmp_path, clock=clock, connectors={"paris": paris, "lyon": lyon},
                           **settings) as h:
        yield h, paris, lyon


async def login_ready(agent: AgentClient, **args: Any) -> dict[str, Any]:
    result = await agent.ok("agent.login", **args)
    await agent.ok("agent.ready")
    await agent.event("agent.state", where=lambda d: d["agent"]["state"]["status"] == "ready")
    return result


async def test_each_agent_works_on_the_system_of_their_station(tmp_path: Path) -> None:
    async with two_systems(tmp_path) as (h, paris, lyon):
        alice, bob, carol = await h.agent("alice"), await h.agent("bob"), await h.agent("carol")
        # The bar names each system by its label.
        assert alice.snapshot["platforms"]["lyon"]["label"] == "Alcatel Lyon"

        placed = await login_ready(alice, station="1001")
        assert placed["agent"]["platform"] == "paris"
        placed = await login_ready(bob, station="5002")
        assert (placed["agent"]["platform"], placed["agent"]["extension"]) == ("lyon", "5002")
        await login_ready(carol, station="5003")
        assert h.hub.agents["carol"].platform == "lyon"

        # Screen pop on each system: the caller's data reaches the agent of that site.
        ref_lyon = lyon.customer_calls("support", number="+33478000001", name="Léa Roux",
                                       attached={"customer_id": "C-LYON"})
        await carol.ok("agent.not_ready", reason="break")
        offered = await bob.event("call.offered")
        lyon_call = offered["call"]
        assert lyon_call["platform"] == "lyon"
        assert lyon_call["attached"]["customer_id"] == "C-LYON"
        assert lyon_call["call_id"] == h.hub.calls.by_ref("lyon", ref_lyon).call_id
        ref_paris = paris.customer_calls("support", number="+33144000002", name="Hugo Blanc")
        paris_call = (await alice.event("call.offered"))["call"]
        assert paris_call["platform"] == "paris"
        assert paris_call["customer"]["number"] == "+33144000002"

        # Answer, hold, retrieve and a transfer within Lyon, exactly as in Paris.
        await bob.ok("call.answer", call_id=lyon_call["call_id"])
        await bob.event("call.answered")
        await bob.ok("call.hold", call_id=lyon_call["call_id"])
        await bob.event("call.held")
        await bob.ok("call.retrieve", call_id=lyon_call["call_id"])
        await bob.event("call.retrieved")
        await carol.ok("agent.ready")
        await bob.ok("call.blind_transfer", call_id=lyon_call["call_id"], target="carol")
        carol_offer = await carol.event("call.offered")
        assert carol_offer["call"]["call_id"] == lyon_call["call_id"]  # one call id
        await carol.ok("call.answer", call_id=lyon_call["call_id"])
        await carol.event("call.answered")

        await alice.ok("call.answer", call_id=paris_call["call_id"])
        await alice.event("call.answered")

        # A transfer to an agent on the other system is refused with a clear reason.
        refused = await alice.command("call.blind_transfer", call_id=paris_call["call_id"],
                                      target="bob")
        assert refused["type"] == "error" and refused["code"] == "bad-target"

        # Both calls end and are logged the same way: one interaction each, on its system.
        lyon.customer_hangs_up(ref_lyon)
        paris.customer_hangs_up(ref_paris)
        await carol.event("call.ended")
        await alice.event("call.ended")
        ended = {it.platform: it for it in h.hub.interactions.recent("carol")
                 if it.ended_at is not None}
        assert "lyon" in ended
        assert any(it.platform == "paris" and it.ended_at is not None
                   for it in h.hub.interactions.recent("alice"))


async def test_click_to_call_dials_from_the_station_system(tmp_path: Path) -> None:
    async with two_systems(tmp_path) as (h, paris, lyon):
        bob = await h.agent("bob")
        await bob.ok("agent.login", station="5002")
        result = await bob.ok("call.dial", number="+33478000009")
        call_id = result["call"]["call_id"] if "call" in result else result["call_id"]
        platform, _ref = h.hub.calls.ref_of(call_id)
        assert platform == "lyon"


async def test_station_comes_from_the_site_network_when_none_is_typed(tmp_path: Path) -> None:
    sites = [{"name": "Lyon", "platform": "lyon", "subnets": ["127.0.0.0/8"]}]
    async with two_systems(tmp_path, sites=sites) as (h, paris, lyon):
        carol = await h.agent("carol")
        placed = await carol.ok("agent.login")
        # Carol's configured phone on Lyon's system is hers there.
        assert (placed["agent"]["platform"], placed["agent"]["extension"]) == ("lyon", "5003")
        alice = await h.agent("alice")
        refused = await alice.command("agent.login")  # no phone of hers in Lyon: say so
        assert refused["type"] == "error" and refused["code"] == "station-needed"
        placed = await alice.ok("agent.login", station="5001")
        assert placed["agent"]["platform"] == "lyon"


async def test_station_errors_are_clear_and_change_nothing(tmp_path: Path) -> None:
    async with two_systems(tmp_path) as (h, paris, lyon):
        alice, bob = await h.agent("alice"), await h.agent("bob")
        for station, code in (("9999", "unknown-station"), ("12 34", "bad-station")):
            reply = await alice.command("agent.login", station=station)
            assert reply["type"] == "error" and reply["code"] == code, reply
            assert h.hub.agents["alice"].state.status == "logged_out"
            assert h.hub.agents["alice"].platform == "paris"
        await alice.ok("agent.login", station="5001")
        busy = await bob.command("agent.login", station="5001")
        assert busy["type"] == "error" and busy["code"] == "station-busy"
        moved = await alice.command("agent.login", station="1001")
        assert moved["type"] == "error" and moved["code"] == "station-change-needs-logout"
        # Events on Lyon's 5001 reach Alice, none reach Bob.
        assert h.hub.agent_at("lyon", "5001") is h.hub.agents["alice"]


async def test_a_station_whose_system_refuses_the_login_leaves_the_agent_where_they_were(
        tmp_path: Path) -> None:
    from ctibridge.model.errors import PlatformError

    async with two_systems(tmp_path) as (h, paris, lyon):
        async def refuse(device: str, status: Any, reason: str | None = None) -> None:
            raise PlatformError("agent 6002 is not allowed on this ACD", code="platform-error")

        lyon.set_agent_state = refuse  # type: ignore[method-assign]
        carol = await h.agent("carol")
        reply = await carol.command("agent.login", station="5002")
        assert reply["type"] == "error" and reply["code"] == "platform-error"
        placed = h.hub.agents["carol"]
        assert (placed.platform, placed.extension, placed.state.status) == (
            "paris", "1003", "logged_out")
        assert placed.devices == {"paris": "1003", "lyon": "5003"}
        assert h.hub.agent_at("lyon", "5003") is placed and h.hub.agent_at("lyon", "5002") is None
        # Her home phone works as before.
        assert (await carol.ok("agent.login"))["agent"]["platform"] == "paris"

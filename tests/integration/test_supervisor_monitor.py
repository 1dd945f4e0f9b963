"""A supervisor listens to, whispers to and barges into an agent's call on a real hub with
the simulator: supervisors only, from their own phone, audited, and a silent listener is
never announced to the agent."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from ctibridge.clock import FakeClock
from ctibridge.telephony.base import ALL_CAPABILITIES, Capability
from ctibridge.telephony.simulator import SimulatorConnector

from .harness import AgentClient, RunningHub, running_hub
from .test_supervision import get

SAM_PHONE = {"sam": {"sim": "1090"}}


def simulator(clock: FakeClock, capabilities: frozenset[Capability] = ALL_CAPABILITIES
              ) -> SimulatorConnector:
    return SimulatorConnector("sim", clock=clock, seed=7, capabilities=capabilities,
                              devices=["1001", "1002", "1003", "1090"],
                              answer_delay=(1.0, 2.0))


async def alice_on_a_call(h: RunningHub) -> tuple[AgentClient, str]:
    alice = await h.agent("alice")
    await alice.ok("agent.login")
    await alice.ok("agent.ready")
    h.sim.customer_calls("support", number="+33612345678", name="Camille Petit")
    offered = await alice.event("call.offered")
    call_id = offered["call"]["call_id"]
    await alice.ok("call.answer", call_id=call_id)
    await alice.event("call.answered")
    return alice, call_id


def security(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "ctibridge.security"]


async def test_a_supervisor_listens_whispers_barges_and_leaves_an_agents_call(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="ctibridge.security")
    clock = FakeClock()
    async with running_hub(tmp_path, clock=clock, sim=simulator(clock),
                           supervisor_devices=SAM_PHONE) as h:
        sam = await h.agent("sam")
        assert sam.snapshot["supervision"]["sim"] == {
            "modes": ["listen", "whisper", "barge"], "device": "1090"}
        alice, call_id = await alice_on_a_call(h)

        await sam.ok("call.monitor", call_id=call_id, agent_id="alice", mode="listen")
        heard = await sam.event("call.monitored", where=lambda d: d["mode"] == "listen")
        assert heard["monitors"] == [{"device": "1090", "by": "sam", "mode": "listen"}]
        assert h.sim.call_state(h.hub.calls.ref_of(call_id)[1]).monitors == {"1090": "listen"}

        await sam.ok("call.monitor", call_id=call_id, agent_id="alice", mode="whisper")
        told = await alice.event("call.monitored", where=lambda d: d["mode"] == "whisper")
        assert told["call"]["monitors"] == [{"device": "1090", "by": "sam", "mode": "whisper"}]
        # The agent was never told about the silent listening that came before.
        assert not [f for f in alice.frames if f.get("name") == "call.monitored"
                    and f["data"]["mode"] == "listen"]

        await sam.ok("call.monitor", call_id=call_id, agent_id="alice", mode="barge")
        await alice.event("call.monitored", where=lambda d: d["mode"] == "barge")
        await sam.ok("call.monitor_stop", call_id=call_id, agent_id="alice")
        left = await alice.event("call.monitored", where=lambda d: d["mode"] is None)
        assert (left["cause"], left["call"]["monitors"]) == ("monitor-stopped", [])
        again = await sam.command("call.monitor_stop", call_id=call_id, agent_id="alice")
        assert (again["type"], again["code"]) == ("error", "not-monitoring")

        logged = [(e["event"], e.get("mode")) for e in security(caplog)
                  if e["event"].startswith("supervisor.monitor")]
        assert logged == [("supervisor.monitor", "listen"), ("supervisor.monitor", "whisper"),
                          ("supervisor.monitor", "barge"), ("supervisor.monitor_stop", None)]
        audit = (await get(h, "/api/audit", "sam", agent_id="alice")).json()
        assert [(e["op"], e["outcome"]) for e in audit][:2] == [
            ("call.monitor_stop", "not-monitoring"), ("call.monitor_stop", "ok")]


async def test_only_supervisors_with_a_phone_may_monitor_and_only_what_the_platform_can(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="ctibridge.security")
    clock = FakeClock()
    sim = simulator(clock, ALL_CAPABILITIES - {Capability.BARGE})
    async with running_hub(tmp_path, clock=clock, sim=sim, supervisor_devices=SAM_PHONE) as h:
        alice, call_id = await alice_on_a_call(h)
        bob = await h.agent("bob")
        refused = await bob.command("call.monitor", call_id=call_id, mode="listen")
        assert (refused["type"], refused["code"]) == ("error", "forbidden")
        assert any(e["event"] == "command.forbidden" and e["op"] == "call.monitor"
                   for e in security(caplog))
        mine = await alice.command("call.monitor", call_id=call_id, mode="listen")
        assert (mine["type"], mine["code"]) == ("error", "forbidden")

        admin = await h.agent("admin")  # a supervisor with no phone configured
        nophone = await admin.command("call.monitor", call_id=call_id, mode="listen")
        assert (nophone["type"], nophone["code"]) == ("error", "no-supervisor-device")

        sam = await h.agent("sam")
        assert sam.snapshot["supervision"]["sim"]["modes"] == ["listen", "whisper"]
        barge = await sam.command("call.monitor", call_id=call_id, mode="barge")
        assert (barge["type"], barge["code"]) == ("error", "capability-missing")
        bad = await sam.command("call.monitor", call_id=call_id, mode="shout")
        assert (bad["type"], bad["code"]) == ("error", "bad-mode")
        await sam.ok("call.monitor", call_id=call_id, mode="listen")  # the agent talking
        # The agent hangs up: the supervisor leaves with the call.
        await alice.ok("call.hangup", call_id=call_id)
        await sam.event("call.monitored", where=lambda d: d["mode"] is None)
        assert sim.device_state("1090").calls == frozenset()

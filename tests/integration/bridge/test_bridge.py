"""Bridging two telephony platforms (seed case 3): one availability across cc1 and cc2.

Two simulator instances on one FakeClock, each with its own queue and ACD, a
real hub on a real port and real WebSocket bars. Every ``set_agent_state`` a
platform receives is recorded, so a loop or a flap would show as extra pushes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from ctibridge.clock import FakeClock
from ctibridge.model.agent import AgentStatus
from ctibridge.telephony.simulator import SimulatorConnector
from tests.integration.harness import RunningHub, running_hub

READY, NOT_READY, LOGGED_OUT = AgentStatus.READY, AgentStatus.NOT_READY, AgentStatus.LOGGED_OUT
CUSTOMER = "+33612345678"

Push = tuple[str, AgentStatus, str | None]


class RecordingSim(SimulatorConnector):
    """The simulator, remembering every state the hub tells it (device, status, reason)."""

    def __init__(self, name: str, **kw: Any) -> None:
        super().__init__(name, **kw)
        self.pushes: list[Push] = []

    async def set_agent_state(self, device: str, status: AgentStatus,
                              reason: str | None = None) -> None:
        self.pushes.append((device, status, reason))
        await super().set_agent_state(device, status, reason)

    def pushes_to(self, device: str, since: int = 0) -> list[tuple[AgentStatus, str | None]]:
        return [(s, r) for d, s, r in self.pushes[since:] if d == device]

    def state_of(self, device: str) -> tuple[AgentStatus, str | None]:
        view = self.device_state(device)
        return view.status, view.reason


# alice and bob are on both PBXs; carol only on cc2 ("each agent on whichever
# they are connected to").
BOTH = [
    {"id": "alice", "name": "Alice Martin", "extension": "1001", "platform": "cc1",
     "devices": {"cc2": "2001"}},
    {"id": "bob", "name": "Bob Durand", "extension": "1002", "platform": "cc1",
     "devices": {"cc2": "2002"}},
    {"id": "carol", "name": "Carol Lefèvre", "extension": "2003", "platform": "cc2"},
]


@contextlib.asynccontextmanager
async def bridged(tmp_path: Path, agents: list[dict[str, Any]] | None = None
                  ) -> AsyncIterator[tuple[RunningHub, RecordingSim, RecordingSim]]:
    clock = FakeClock()
    cc1 = RecordingSim("cc1", clock=clock, seed=1, devices=["1001", "1002"],
                       queues=["support"], ring_timeout=20.0, answer_delay=(1.0, 2.0))
    cc2 = RecordingSim("cc2", clock=clock, seed=2, devices=["2001", "2002", "2003"],
                       queues=["sales"], ring_timeout=20.0, answer_delay=(1.0, 2.0))
    async with running_hub(
            tmp_path, clock=clock, connectors={"cc1": cc1, "cc2": cc2},
            telephony=[{"name": "cc1", "type": "simulator"},
                       {"name": "cc2", "type": "simulator"}],
            agents=agents or BOTH) as h:
        yield h, cc1, cc2


async def until(pred: Callable[[], bool], what: str) -> None:
    """Wait (5 s at most) for the hub's background work: pushes run as tasks."""
    for _ in range(1000):
        if pred():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"never: {what}")


async def settle() -> None:
    """Let every task the last event spawned run to its end (pushes and their echoes)."""
    for _ in range(20):
        await asyncio.sleep(0.005)


async def ready(h: RunningHub, user: str) -> Any:
    bar = await h.agent(user)
    await bar.ok("agent.login")
    await bar.ok("agent.ready")
    return bar


def call_of(h: RunningHub, platform: str, ref: str) -> str:
    call = h.hub.calls.by_ref(platform, ref)
    assert call is not None, f"the hub does not know {platform}'s call {ref}"
    return str(call.call_id)


async def test_a_call_on_one_platform_pauses_the_agent_on_the_other_until_wrap_up_ends(
        tmp_path: Path) -> None:
    async with bridged(tmp_path) as (h, cc1, cc2):
        alice = await ready(h, "alice")
        await until(lambda: cc2.state_of("2001") == (READY, None), "alice ready on cc2")
        assert cc1.state_of("1001") == (READY, None)
        start2 = len(cc2.pushes)

        ref1 = cc1.customer_calls("support", number=CUSTOMER)
        offered = await alice.event("call.offered")
        assert offered["call"]["call_id"] == call_of(h, "cc1", ref1)
        await alice.ok("call.answer", call_id=offered["call"]["call_id"])
        await until(lambda: cc2.state_of("2001") == (NOT_READY, "busy-elsewhere"),
                    "alice paused on cc2 while on a cc1 call")

        # cc2's own ACD now leaves alice alone: its call waits.
        ref2 = cc2.customer_calls("sales", number="+33698765432")
        await settle()
        waiting = cc2.call_state(ref2)
        assert waiting is not None and waiting.waiting and not waiting.legs

        cc1.customer_hangs_up(ref1)
        await until(lambda: cc2.state_of("2001") == (NOT_READY, "wrap-up"),
                    "alice in wrap-up on cc2 too")
        await h.clock.advance(10)  # wrap_up_seconds
        # Free again on both: cc2 offers her its waiting call, which pauses her on cc1.
        second = await alice.event(
            "call.offered", where=lambda d: d["call"]["call_id"] == call_of(h, "cc2", ref2))
        await until(lambda: cc1.state_of("1001") == (NOT_READY, "busy-elsewhere"),
                    "alice paused on cc1 while cc2 rings her")
        # The bar's answer goes to cc2, with alice's cc2 device.
        await alice.ok("call.answer", call_id=second["call"]["call_id"])
        view = cc2.call_state(ref2)
        assert view is not None and view.legs.get("2001") == "connected"
        await settle()
        assert cc2.pushes_to("2001", start2) == [
            (NOT_READY, "busy-elsewhere"), (NOT_READY, "wrap-up"), (READY, None)]
        await alice.close()


async def test_an_agent_on_both_platforms_dials_from_the_one_they_choose(
        tmp_path: Path) -> None:
    async with bridged(tmp_path) as (h, cc1, cc2):
        alice = await ready(h, "alice")
        # Without a platform, the agent's primary one (cc1) dials from her 1001.
        first = await alice.ok("call.dial", number="+33 1 42 68 53 00")
        platform, ref = h.hub.calls.ref_of(first["call_id"])
        view = cc1.call_state(ref)
        assert platform == "cc1" and view is not None and "1001" in view.legs
        await alice.ok("call.hangup", call_id=first["call_id"])
        await alice.event("call.ended")
        await h.clock.advance(10)  # wrap_up_seconds
        await alice.ok("agent.ready")

        # Asked for cc2, the call leaves from her cc2 phone, 2001.
        second = await alice.ok("call.dial", number="+33 1 42 68 53 00", platform="cc2")
        platform, ref = h.hub.calls.ref_of(second["call_id"])
        view = cc2.call_state(ref)
        assert platform == "cc2" and view is not None and "2001" in view.legs
        await alice.ok("call.hangup", call_id=second["call_id"])

        # A platform she has no phone on is refused, saying which.
        refused = await alice.command("call.dial", number="+33142685300", platform="cc3")
        assert refused["type"] == "error" and refused["code"] == "not-on-platform", refused
        assert "cc3" in refused["message"]
        await alice.close()


async def test_a_feature_code_on_one_platform_reaches_the_other_once_without_a_loop(
        tmp_path: Path) -> None:
    async with bridged(tmp_path) as (h, cc1, cc2):
        alice = await ready(h, "alice")
        await until(lambda: cc2.state_of("2001") == (READY, None), "alice ready on cc2")
        await settle()
        n1, n2, seen = len(cc1.pushes), len(cc2.pushes), len(alice.frames)

        cc2.agent_changes_state_elsewhere("2001", NOT_READY, "break")  # as a PBX feature code
        await alice.event("agent.state", where=lambda d: d["agent"]["state"]["reason"] == "break")
        await until(lambda: cc1.state_of("1001") == (NOT_READY, "break"), "break on cc1")
        await settle()
        assert cc1.pushes[n1:] == [("1001", NOT_READY, "break")]
        assert cc2.pushes[n2:] == []  # not told back what it said

        cc2.agent_changes_state_elsewhere("2001", READY)
        await until(lambda: cc1.state_of("1001") == (READY, None), "ready again on cc1")
        await settle()
        assert cc1.pushes[n1:] == [("1001", NOT_READY, "break"), ("1001", READY, None)]
        assert cc2.pushes[n2:] == []
        assert h.hub.agents["alice"].state.status == READY
        # No flapping: the bar saw not ready (break) then ready, nothing in between.
        states = [(f["data"]["agent"]["state"]["status"], f["data"]["agent"]["state"]["reason"])
                  for f in alice.frames[seen:]
                  if f.get("type") == "event" and f["name"] == "agent.state"]
        changes = [s for i, s in enumerate(states) if i == 0 or s != states[i - 1]]
        assert changes == [("not_ready", "break"), ("ready", None)]
        await alice.close()


async def test_a_platform_that_comes_back_is_resynchronized(tmp_path: Path) -> None:
    async with bridged(tmp_path) as (h, cc1, cc2):
        alice = await ready(h, "alice")
        carol = await ready(h, "carol")
        await until(lambda: cc2.state_of("2001") == (READY, None), "alice ready on cc2")
        await alice.ok("agent.not_ready", reason="break")  # so cc2 rings carol
        ref2 = cc2.customer_calls("sales", number="+33698765432")
        offered = await carol.event("call.offered")
        await carol.ok("call.answer", call_id=offered["call"]["call_id"])
        await alice.ok("agent.ready")
        await until(lambda: cc2.state_of("2001") == (READY, None), "alice ready on cc2 again")

        cc2.link_down()
        await carol.event("platform.status", where=lambda d: d["up"] is False)
        cc2.customer_hangs_up(ref2)  # the hub does not hear it
        ref1 = cc1.customer_calls("support", number=CUSTOMER)
        on_cc1 = await alice.event("call.offered",
                                   where=lambda d: d["call"]["call_id"] == call_of(h, "cc1", ref1))
        await alice.ok("call.answer", call_id=on_cc1["call"]["call_id"])
        await settle()
        assert cc2.state_of("2001") == (READY, None)  # the pause could not reach cc2

        n2 = len(cc2.pushes)
        cc2.link_up()
        ended = await carol.event("call.ended")
        assert ended["call"]["call_id"] == offered["call"]["call_id"]
        assert ended["cause"] == "gone-after-resync"
        await until(lambda: cc2.state_of("2001") == (NOT_READY, "busy-elsewhere"),
                    "alice's pause pushed to cc2 once it is back")
        await settle()
        assert ("2001", NOT_READY, "busy-elsewhere") in cc2.pushes[n2:]
        assert h.hub.calls.by_ref("cc2", ref2) is None or h.hub.calls.by_ref("cc2", ref2).ended
        assert [c.call_id for c in h.hub.calls.live()] == [on_cc1["call"]["call_id"]]
        await alice.close()
        await carol.close()


ONE_EACH = [
    {"id": "alice", "name": "Alice Martin", "extension": "1001", "platform": "cc1"},
    {"id": "bob", "name": "Bob Durand", "extension": "1002", "platform": "cc1",
     "devices": {"cc2": "2002"}},
    {"id": "carol", "name": "Carol Lefèvre", "extension": "2003", "platform": "cc2"},
]


async def test_an_agent_only_on_the_second_platform_works_calls_from_the_bar(
        tmp_path: Path) -> None:
    async with bridged(tmp_path, ONE_EACH) as (h, cc1, cc2):
        carol = await ready(h, "carol")
        assert carol.snapshot["agent"]["devices"] == {"cc2": "2003"}
        ref = cc2.customer_calls("sales", number=CUSTOMER)
        offered = await carol.event("call.offered")
        call_id = offered["call"]["call_id"]
        assert call_id == call_of(h, "cc2", ref)
        await carol.ok("call.answer", call_id=call_id)
        await carol.ok("call.hold", call_id=call_id)
        await carol.event("call.held")
        await carol.ok("call.retrieve", call_id=call_id)
        await carol.event("call.retrieved")

        # alice is only on cc1: she cannot take a cc2 call, and the error says why.
        refused = await carol.command("call.blind_transfer", call_id=call_id, target="alice")
        assert refused["type"] == "error" and refused["code"] == "bad-target"
        assert "cc2" in refused["message"], refused
        view = cc2.call_state(ref)
        assert view is not None and view.legs.get("2003") == "connected"  # nothing moved

        # bob is on cc2 too: the transfer reaches his cc2 device, his bar answers it.
        bob = await ready(h, "bob")
        await carol.ok("call.blind_transfer", call_id=call_id, target="bob")
        ringing = await bob.event("call.offered", where=lambda d: d["call"]["call_id"] == call_id)
        assert any(c["device"] == "2002" for c in ringing["call"]["connections"])
        await bob.ok("call.answer", call_id=call_id)
        view = cc2.call_state(ref)
        assert view is not None and dict(view.legs) == {"2002": "connected"}
        # bob is busy on cc2, so cc1 (where he is too) pauses him.
        await until(lambda: cc1.state_of("1002") == (NOT_READY, "busy-elsewhere"),
                    "bob paused on cc1")
        await carol.close()
        await bob.close()


def test_devices_on_unknown_platforms_or_given_twice_are_refused_with_the_field() -> None:
    from ctibridge.config import Settings
    from ctibridge.model.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        Settings.load(None, telephony=[{"name": "cc1", "type": "simulator"},
                                       {"name": "cc2", "type": "simulator"}],
                      agents=[{"id": "a", "name": "A", "extension": "1", "platform": "cc1",
                               "devices": {"cc3": "9"}},
                              {"id": "b", "name": "B", "extension": "2", "platform": "cc1",
                               "devices": {"cc2": "7"}},
                              {"id": "c", "name": "C", "extension": "7", "platform": "cc2"}])
    text = str(err.value)
    assert "agents.0.devices.cc3" in text and "'cc3'" in text
    assert "extension 7 on cc2 is given to two agents (b and c)" in text


async def test_ctibridge_routes_one_platform_while_the_other_keeps_its_own_acd(
        tmp_path: Path) -> None:
    clock = FakeClock()
    cc1 = RecordingSim("cc1", clock=clock, seed=1, devices=["1001", "1002"],
                       queues=["support"], routing="hub")
    cc2 = RecordingSim("cc2", clock=clock, seed=2, devices=["2001", "2002", "2003"],
                       queues=["sales"])
    async with running_hub(tmp_path, clock=clock, connectors={"cc1": cc1, "cc2": cc2},
                           telephony=[{"name": "cc1", "type": "simulator"},
                                      {"name": "cc2", "type": "simulator"}],
                           agents=BOTH) as h:
        alice = await ready(h, "alice")
        await until(lambda: cc2.state_of("2001") == (READY, None), "alice ready on cc2")
        # cc1 parks the call; the hub chooses alice and has cc1 ring her phone.
        ref1 = cc1.customer_calls("support", number=CUSTOMER)
        offered = await alice.event(
            "call.offered", where=lambda d: d["call"]["call_id"] == call_of(h, "cc1", ref1))
        view = cc1.call_state(ref1)
        assert view is not None and view.legs.get("1001") == "alerting"
        await alice.ok("call.answer", call_id=offered["call"]["call_id"])
        await until(lambda: cc2.state_of("2001") == (NOT_READY, "busy-elsewhere"),
                    "alice paused on cc2 while on the call cc1 parked for the hub")
        ref2 = cc2.customer_calls("sales", number="+33698765432")
        await settle()
        waiting = cc2.call_state(ref2)
        assert waiting is not None and waiting.waiting and not waiting.legs
        await alice.close()

"""An Asterisk that restarts, against a fake Asterisk on a real TCP port.

The fake restarts like ``core restart now`` (Shutdown event, sessions closed,
port closed, dynamic queue members forgotten unless ``persistentmembers``),
comes back on the same port still loading modules (logins accepted, no
FullyBooted, app_queue's actions unknown) and boots when the test says so.
Back-off sleeps run on a FakeClock; "picked up within 5 s" is fake time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ctibridge.clock import FakeClock
from ctibridge.config import Settings
from ctibridge.core.hub import Hub
from ctibridge.model.agent import AgentState, AgentStatus
from ctibridge.model.errors import PlatformError
from ctibridge.model.events import AgentStateChanged, PlatformResynced, PlatformStatus
from ctibridge.telephony.asterisk.config import AsteriskOptions

from .fake_ami import FakeAmi, Member, script_from, served_script
from .test_connector import Run, _expect

READY, NOT_READY, LOGGED_OUT = AgentStatus.READY, AgentStatus.NOT_READY, AgentStatus.LOGGED_OUT
BEFORE = {"6001": (READY, None), "6002": (NOT_READY, "Training"), "6003": (LOGGED_OUT, None)}
DEFAULT_MAX = AsteriskOptions.model_fields["reconnect_max"].default


def members() -> list[Member]:
    return [Member("support", "Local/6001@agents", "Agent 6001"),
            Member("support", "Local/6002@agents", "Agent 6002", True, "Training")]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def fake_seconds_until(clock: FakeClock, done: Callable[[], bool],
                             limit: float = 60.0) -> float:
    """Let fake time run (0.25 s steps, each after the connector's I/O settled)
    until ``done``; return how much of it passed."""
    waited = 0.0
    while not done():
        for _ in range(400):  # real time for a connection attempt to finish
            if done() or clock.pending:
                break
            await asyncio.sleep(0.005)
        if done():
            break
        if waited >= limit:
            raise AssertionError(f"not done after {limit} fake seconds")
        await clock.advance(0.25)
        waited += 0.25
    return waited


def hub_with_agents(clock: FakeClock) -> Hub:
    settings = Settings.load(None, wrap_up_seconds=0, telephony=[
        {"name": "pbx", "type": "asterisk"}], agents=[
        {"id": "alice", "name": "Alice", "extension": "6001", "platform": "pbx"},
        {"id": "bob", "name": "Bob", "extension": "6002", "platform": "pbx"},
        {"id": "carol", "name": "Carol", "extension": "6003", "platform": "pbx"},
    ])
    return Hub(settings, {}, clock=clock)


async def test_an_asterisk_restart_keeps_every_agent_as_it_was(clock: FakeClock) -> None:
    async with FakeAmi([served_script()] * 5, members=members()) as server, \
            Run(server, clock, reconnect_max=DEFAULT_MAX) as run:
        first = await run.event(PlatformResynced)
        assert first.agents == BEFORE
        h = hub_with_agents(clock)
        for ev in run.events:
            h.apply("pbx", ev)
        assert h.agents["bob"].state.reason == "Training"

        await server.restart()  # without persistentmembers: the members are gone
        down = await run.event(PlatformStatus, up=False)
        assert down.detail.startswith("lost the link to Asterisk at 127.0.0.1:")
        # Carol logs in from her bar during the outage: refused now, made when back.
        with pytest.raises(PlatformError, match="will be set ready when the link is back"):
            await run.connector.set_agent_state("6003", READY)
        h.agents["carol"].state = AgentState(READY, clock.now())

        await clock.advance(30)  # Asterisk takes 30 s to come back
        await server.start()
        picked_up = await fake_seconds_until(clock, lambda: server.connections >= 2)
        assert picked_up <= 5.0
        # Logged in, but Asterisk is still loading modules: nothing is pushed yet,
        # and the link does not count as up (commands say so).
        await asyncio.sleep(0.3)
        assert not server.actions("QueueAdd") and not run.connector.health().up
        with pytest.raises(PlatformError, match="reconnecting"):
            await run.connector.make_call("6001", "0987654321")

        await server.boot()
        again = await run.until(lambda e: isinstance(e, PlatformResynced) and e is not first,
                                "the snapshot after the restart")
        assert again.agents == {**BEFORE, "6003": (READY, None)}
        adds = {a["interface"]: a for a in server.actions("QueueAdd")}
        assert set(adds) == {"Local/6001@agents", "Local/6002@agents", "Local/6003@agents"}
        assert (adds["Local/6001@agents"]["paused"], "reason" not in adds["Local/6001@agents"])\
            == ("false", True)
        assert (adds["Local/6002@agents"]["paused"], adds["Local/6002@agents"]["reason"]) == (
            "true", "Training")
        assert adds["Local/6002@agents"]["membername"] == "Agent 6002"
        # Up, then the snapshot: in that order, once, after the agents were put back.
        statuses = [e.up for e in run.events if isinstance(e, PlatformStatus)]
        assert statuses == [True, False, True]
        await asyncio.sleep(0.1)  # the QueueMemberAdded echoes are read
        assert not [e for e in run.events if isinstance(e, AgentStateChanged)]

        for ev in run.events[run.events.index(down):]:
            h.apply("pbx", ev)
        assert {a: (ag.state.status, ag.state.reason) for a, ag in h.agents.items()} == {
            "alice": (READY, None), "bob": (NOT_READY, "Training"), "carol": (READY, None)}


async def test_with_persistent_members_nothing_is_pushed_after_a_restart(
    clock: FakeClock,
) -> None:
    async with FakeAmi([served_script()] * 5, members=members()) as server, \
            Run(server, clock) as run:
        first = await run.event(PlatformResynced)
        await server.restart(persistent_members=True)
        await run.event(PlatformStatus, up=False)
        await server.boot()
        await server.start()
        await fake_seconds_until(clock, lambda: server.connections >= 2)
        again = await run.until(lambda e: isinstance(e, PlatformResynced) and e is not first,
                                "the snapshot after the restart")
        assert again.agents == BEFORE
        assert not server.actions("QueueAdd") and not server.actions("QueuePause")


async def test_a_change_made_during_a_cut_is_applied_when_the_link_is_back(
    clock: FakeClock,
) -> None:
    """Not a restart (same start time): only what was asked during the cut is sent."""
    async with FakeAmi([served_script()] * 5, members=members()) as server, \
            Run(server, clock) as run:
        await run.event(PlatformResynced)
        startup, boot = server.startup, server.started_at
        await server.restart(persistent_members=True)
        server.startup, server.started_at = startup, boot  # only the TCP link was cut
        await run.event(PlatformStatus, up=False)
        with pytest.raises(PlatformError, match="not connected: lost the link"):
            await run.connector.set_agent_state("6001", NOT_READY, "Lunch")
        with pytest.raises(PlatformError):  # the latest change wins
            await run.connector.set_agent_state("6001", NOT_READY, "Meeting")
        await server.boot()
        await server.start()
        await fake_seconds_until(clock, lambda: server.connections >= 2)
        again = await run.until(lambda e: isinstance(e, PlatformResynced) and
                                e.agents["6001"][0] == NOT_READY, "6001 paused")
        assert again.agents["6001"] == (NOT_READY, "Meeting")
        assert again.agents["6002"] == (NOT_READY, "Training")
        [pause] = server.actions("QueuePause")
        assert (pause["interface"], pause["reason"]) == ("Local/6001@agents", "Meeting")
        assert not server.actions("QueueAdd")


async def test_a_long_outage_is_picked_up_within_5_s_of_asterisk_returning(
    clock: FakeClock,
) -> None:
    async with FakeAmi([served_script()] * 5, members=members()) as server, \
            Run(server, clock, reconnect_max=DEFAULT_MAX) as run:
        await run.event(PlatformResynced)
        await server.restart(persistent_members=True)
        await run.event(PlatformStatus, up=False)
        for _ in range(60):  # five minutes down: the back-off reached its cap long ago
            for _ in range(100):  # let each failed attempt reach its back-off sleep
                if clock.pending:
                    break
                await asyncio.sleep(0.005)
            await clock.advance(5)
        await server.boot()
        await server.start()
        assert await fake_seconds_until(clock, lambda: server.connections >= 2) <= 5.0
        await run.event(PlatformStatus, up=True)


async def test_a_wrong_secret_says_authentication_failed_and_retries_slowly(
    clock: FakeClock,
) -> None:
    async with FakeAmi([served_script()] * 5, secret="other") as server, \
            Run(server, clock) as run:
        down = await run.event(PlatformStatus, up=False)
        assert down.detail.startswith("authentication failed: ")
        assert "unreachable" not in down.detail and "retrying" not in down.detail
        assert run.connector.health().detail == down.detail
        waited = await fake_seconds_until(clock, lambda: server.connections >= 2)
        opts: Any = run.connector.opts
        assert waited >= opts.auth_retry - 0.25


async def test_a_slow_boot_past_boot_timeout_still_puts_the_agents_back(
    clock: FakeClock,
) -> None:
    """Asterisk takes longer than ``boot_timeout`` to load app_queue: the snapshot
    meets "Invalid/unknown command", so the connector waits for FullyBooted on the
    same link, then puts the agents back and only then reports the link up."""
    async with FakeAmi([served_script()] * 5, members=members()) as server, \
            Run(server, clock, boot_timeout=0.1) as run:
        first = await run.event(PlatformResynced)
        await server.restart()
        await run.event(PlatformStatus, up=False)
        await server.start()
        await fake_seconds_until(clock, lambda: server.connections >= 2)
        await asyncio.sleep(0.5)  # well past boot_timeout: QueueStatus was refused
        assert [a["action"] for a in server.received].count("QueueStatus") == 2
        assert not run.connector.health().up and server.connections == 2
        await server.boot()
        again = await run.until(lambda e: isinstance(e, PlatformResynced) and e is not first,
                                "the snapshot after the restart")
        assert again.agents == BEFORE
        assert server.connections == 2  # waited on the same link, no reconnection
        assert [e.up for e in run.events if isinstance(e, PlatformStatus)] == [True, False, True]


async def test_an_agent_state_pushed_the_moment_the_link_is_reported_up_goes_through(
    clock: FakeClock,
) -> None:
    """What the hub does on hearing the link is up (re-telling agent states) must
    find it up: before, such pushes met "not connected (connected to ...)"."""
    async with FakeAmi([served_script()] * 5, members=members()) as server, \
            Run(server, clock) as run:
        pushed: list[str] = []

        async def hub_like() -> None:
            seen = 0
            while True:
                while seen < len(run.events):
                    ev = run.events[seen]
                    seen += 1
                    if isinstance(ev, PlatformStatus | PlatformResynced) and \
                            getattr(ev, "up", True):
                        await run.connector.set_agent_state("6003", READY)
                        pushed.append(type(ev).__name__)
                await asyncio.sleep(0)

        task = asyncio.create_task(hub_like())
        try:
            await run.event(PlatformResynced)
            await fake_seconds_until(clock, lambda: len(pushed) >= 2 or task.done())
            await server.restart(persistent_members=True)
            await run.event(PlatformStatus, up=False)
            await server.boot()
            await server.start()
            await fake_seconds_until(clock, lambda: len(pushed) >= 4 or task.done())
            if task.done():
                task.result()  # a refused push is the failure
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        assert pushed == ["PlatformStatus", "PlatformResynced"] * 2


async def test_a_link_lost_while_putting_agents_back_puts_them_back_on_the_next(
    clock: FakeClock,
) -> None:
    async with FakeAmi([served_script()] * 6, members=members()) as server, \
            Run(server, clock) as run:
        first = await run.event(PlatformResynced)
        await server.restart()
        await run.event(PlatformStatus, up=False)
        server.cut_once = {"queueadd"}  # the link drops on the first QueueAdd
        await server.boot()
        await server.start()
        await fake_seconds_until(clock, lambda: server.connections >= 3)
        again = await run.until(lambda e: isinstance(e, PlatformResynced) and e is not first,
                                "the snapshot after the restart")
        assert again.agents == BEFORE
        assert [e.up for e in run.events if isinstance(e, PlatformStatus)] == [True, False, True]


# ----------------------------------------- the lab's real restart (live-17 captures)

OWN = Path(__file__).resolve().parents[2] / "fixtures" / "asterisk"


def live17_first() -> Any:
    """Connection 1 as recorded: login, snapshot, alice ready and bob paused
    "lunch" (the hub's QueueAdd/QueuePause and Asterisk's member events), then
    ``core stop now``: the real ``Event: Shutdown``."""
    return script_from(str(OWN / "live-17-restart.ami"),
                       expect=_expect("Login", "CoreShowChannels", "QueueStatus"))


async def test_the_recorded_restart_with_persistent_members_pushes_nothing(
    clock: FakeClock,
) -> None:
    # Connection 2 as recorded after Asterisk came back (persistentmembers = yes:
    # its QueueStatus lists both members as they were).
    second = script_from(str(OWN / "live-17-restart-2.ami"),
                         expect=_expect("Login", "CoreShowChannels", "QueueStatus", "Logoff"))
    async with FakeAmi([live17_first(), second]) as server, Run(server, clock) as run:
        await run.event(PlatformStatus, up=False)  # the recording ends with the Shutdown
        assert run.connector.keeper.before == {"6001": (READY, None),
                                               "6002": (NOT_READY, "lunch"),
                                               "6003": (LOGGED_OUT, None)}
        await fake_seconds_until(clock, lambda: server.connections >= 2)
        again = await run.until(lambda e: isinstance(e, PlatformResynced) and
                                e.agents["6001"][0] == READY, "the snapshot after the restart")
        assert again.agents["6002"] == (NOT_READY, "lunch")
        assert not server.actions("QueueAdd") and not server.actions("QueuePause")
        assert not run.connector.keeper.restart_pending


async def test_the_recorded_restart_without_persistent_members_puts_them_back(
    clock: FakeClock,
) -> None:
    async with FakeAmi([live17_first(), served_script()]) as server, \
            Run(server, clock) as run:  # after the restart, an Asterisk with no members
        await run.event(PlatformStatus, up=False)
        await fake_seconds_until(clock, lambda: server.connections >= 2)
        again = await run.until(lambda e: isinstance(e, PlatformResynced) and
                                e.agents["6001"][0] == READY, "the snapshot after the restart")
        assert again.agents == {"6001": (READY, None), "6002": (NOT_READY, "lunch"),
                                "6003": (LOGGED_OUT, None)}
        adds = {a["interface"]: (a["paused"], a.get("reason")) for a in
                server.actions("QueueAdd")}
        assert adds == {"Local/6001@agents": ("false", None),
                        "Local/6002@agents": ("true", "lunch")}

"""Calls whose Hangup never arrives end after a reconciliation, and the
normalizer keeps nothing per call afterwards (issue 12, item 7).

The recordings are replayed with their ``Hangup`` events dropped, as if lost;
the fake Asterisk's ``CoreShowChannels`` answers what a real one answers once
those channels are gone: an empty list.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from ctibridge.clock import FakeClock
from ctibridge.model.agent import AgentState, AgentStatus
from ctibridge.model.events import CallAnswered, CallEnded, CallFailed, CallOffered
from ctibridge.telephony.asterisk.ami import AmiParser, Message
from ctibridge.telephony.asterisk.normalizer import MAX_IGNORED, Normalizer
from ctibridge.telephony.asterisk.reconcile import GONE, Reconciler
from ctibridge.telephony.asterisk.synth import rewrite_ids
from ctibridge.telephony.asterisk.transcript import Sent

from .fake_ami import FakeAmi, script_from, transcript, without_events
from .replay import AT, SETUP_MEMBERS, options
from .test_connector import MEMBERS, Run, _expect
from .test_restart import hub_with_agents

LOST = {"Hangup"}
OWN = Path(__file__).resolve().parents[2] / "fixtures" / "asterisk"  # the lab's captures


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def settled(run: Run, server: FakeAmi) -> None:
    """Every recorded byte sent and every event normalized."""
    await server.done_sending.wait()
    client = run.connector.client
    assert client is not None
    for _ in range(500):
        if client.events.empty():
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)


async def reconcile_pass(run: Run, clock: FakeClock, interval: float) -> None:
    before = run.connector.reconciler.passes
    await clock.advance(interval)
    for _ in range(500):
        if run.connector.reconciler.passes > before:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("no reconciliation happened")


def assert_nothing_kept(n: Normalizer) -> None:
    kept = {"calls": n.calls, "channels": n.channels, "by_name": n.by_name, "convs": n.convs,
            "aliases": n.aliases, "bridges": n.bridges, "originates": n.originates,
            "consults": n.consults}
    assert {k: len(v) for k, v in kept.items() if v} == {}


async def test_a_click_to_call_whose_hangups_are_lost_ends_after_reconciliation(
    clock: FakeClock,
) -> None:
    script = script_from("05-outbound-click-to-call.ami", lost=LOST,
                         expect=_expect("Login", "Originate", "Hangup", "Logoff"))
    async with FakeAmi([script], members=MEMBERS) as server, \
            Run(server, clock, reconcile_interval=20) as run:
        await run.connector.wait_up()
        ref = await run.connector.make_call("6001", "0987654321")
        await run.event(CallAnswered, ref=ref, device="6001")
        await run.connector.hangup(ref, "6001")
        await settled(run, server)
        assert not [e for e in run.events if isinstance(e, CallEnded | CallFailed)]
        assert ref in run.connector.normalizer.convs  # what used to live for ever

        await reconcile_pass(run, clock, 20)  # gone once: may be a Hangup still queued
        assert not [e for e in run.events if isinstance(e, CallEnded)]
        await reconcile_pass(run, clock, 20)
        ended = await run.event(CallEnded, ref=ref)
        assert ended.cause == GONE == "gone-after-reconcile"
        assert len(server.actions("CoreShowChannels")) == 3  # the snapshot, then two checks
        assert_nothing_kept(run.connector.normalizer)
        # The hub: Alice is busy on the call until the reconciliation ends it.
        h = hub_with_agents(clock)
        h.agents["alice"].state = AgentState(AgentStatus.READY, clock.now())
        upto = run.events.index(ended)
        for ev in run.events[:upto]:
            h.apply("pbx", ev)
        assert h.agents["alice"].state.status == AgentStatus.BUSY
        h.apply("pbx", ended)
        assert h.agents["alice"].calls == set()
        assert h.agents["alice"].state.status == AgentStatus.READY


async def test_a_blind_transferred_call_whose_hangups_are_lost_ends_after_reconciliation(
    clock: FakeClock,
) -> None:
    gate = asyncio.Event()
    script = script_from("06-blind-transfer.ami", gate=gate, lost=LOST)
    ref = "1795572380.20"
    async with FakeAmi([script], members=MEMBERS) as server, \
            Run(server, clock, transfer_context="internal", reconcile_interval=30) as run:
        await run.connector.wait_up()
        gate.set()
        await run.event(CallAnswered, device="6001")
        await run.connector.blind_transfer(ref, "6001", "6002")
        await run.event(CallOffered, device="6002")
        await run.event(CallAnswered, device="6002")
        await settled(run, server)
        assert not [e for e in run.events if isinstance(e, CallEnded) and e.device is None]
        await reconcile_pass(run, clock, 30)
        await reconcile_pass(run, clock, 30)
        ended = await run.event(CallEnded, ref=ref, device=None)
        assert ended.cause == GONE
        assert_nothing_kept(run.connector.normalizer)


# ------------------------------------------------------------ the normalizer


def feed(n: Normalizer, data: bytes) -> list[Any]:
    """Server bytes -> the normalizer, as the client routes them (no responses, no
    list items)."""
    out: list[Any] = []
    p = AmiParser(expect_banner=data.startswith(b"Asterisk"))
    for f in [*p.feed(data), *p.feed_eof()]:
        if isinstance(f, Message) and f.is_event and (
                f.action_id is None or f.name == "OriginateResponse"):
            out.extend(n.feed(f))
    return out


def replay_copy(n: Normalizer, name: str, copy: int) -> list[Any]:
    """Recording ``name`` as call number ``copy`` (fresh ids), its Hangups lost."""
    out: list[Any] = []
    for part in transcript(name).parts:
        if isinstance(part, Sent):
            m = part.message
            if part.action.lower() == "originate" and m.get("Context") == "from-internal":
                out.append(n.expect_originate(
                    ref=f"c2c-x{copy}", device="6001", number=m["Exten"], dial=m["Channel"],
                    action_id=f"c2c-x{copy}"))
            continue
        data = rewrite_ids(without_events(part.data, LOST), copy)
        out.extend(feed(n, data.replace(b"c2c-0001", b"c2c-x%d" % copy)))
    return out


def test_many_lost_calls_leave_nothing_behind_after_reconciliation() -> None:
    n = Normalizer(options(), lambda: AT)
    n.set_members(SETUP_MEMBERS)
    r = Reconciler(n, lambda: AT, originate_grace=60)
    events: list[Any] = []
    for i in range(40):
        events += replay_copy(n, "05-outbound-click-to-call.ami", 2 * i)
        events += replay_copy(n, "06-blind-transfer.ami", 2 * i + 1)
    assert len(n.calls) >= 80 and len(n.channels) > 300  # what used to be kept for ever
    refs = {e.ref for e in events if type(e).__name__ in ("CallInitiated", "CallQueued")}
    ended_before = {e.ref for e in events if isinstance(e, CallEnded) and e.device is None}
    assert len(refs) == 80 and not ended_before & refs

    assert r.check([]) == []  # missing once: not yet
    gone = r.check([])
    ended = {e.ref for e in gone if isinstance(e, CallEnded)}
    assert ended == refs and {e.cause for e in gone} == {GONE}
    assert_nothing_kept(n)


def test_a_call_still_up_is_kept_and_a_hangup_still_queued_is_not_taken_for_lost() -> None:
    n = Normalizer(options(), lambda: AT)
    n.set_members(SETUP_MEMBERS)
    r = Reconciler(n, lambda: AT, originate_grace=60)
    data = transcript("02-inbound-queue-answered.ami").server_bytes
    cut = data.index(b"Event: Hangup")
    feed(n, data[:cut])  # answered, talking
    [call] = n.calls.values()
    listed = [Message((("Event", "CoreShowChannel"), ("Uniqueid", c.uid)))
              for c in call.channels() if c.alive]
    for _ in range(3):
        assert r.check(listed) == []  # Asterisk still has them
    assert r.check([]) == []  # the call ended; its Hangups are still in the queue...
    ended = feed(n, data[cut:])  # ...and arrive: the real cause wins
    assert [(e.cause) for e in ended if isinstance(e, CallEnded)] == ["customer-hangup"]
    assert r.check([]) == []  # nothing left to end twice
    assert_nothing_kept(n)


def test_a_click_to_call_asterisk_never_answered_about_fails_after_its_timeout() -> None:
    now = [AT]
    n = Normalizer(options(), lambda: now[0])
    r = Reconciler(n, lambda: now[0], originate_grace=60)
    n.expect_originate(ref="c2c-lost", device="6001", number="0987654321",
                       dial="Local/6001@agents-phone", action_id="a-9")
    assert r.check([]) == []
    from datetime import timedelta
    now[0] = AT + timedelta(seconds=59)
    assert r.check([]) == []
    now[0] = AT + timedelta(seconds=61)
    [failed] = r.check([])
    assert isinstance(failed, CallFailed)
    assert (failed.ref, failed.device, failed.cause) == ("c2c-lost", "6001", "failed")
    assert_nothing_kept(n)


def test_ignored_event_names_are_bounded() -> None:
    n = Normalizer(options(), lambda: AT)
    for i in range(5000):
        n.feed(Message((("Event", f"Custom{i}"),)))
    assert len(n.ignored_events) == MAX_IGNORED + 1
    assert n.ignored_events["(other)"] == 5000 - MAX_IGNORED


async def test_the_recorded_lost_hangup_click_to_call_ends_after_reconciliation(
    clock: FakeClock,
) -> None:
    """live-16: the lab's relay dropped every Hangup of a real click-to-call; the
    connector never heard of its end. The reconciliation ends it."""
    script = script_from(str(OWN / "live-16-lost-hangup.ami"),
                         expect=_expect("Login", "Originate", "Logoff"))
    async with FakeAmi([script], members=MEMBERS) as server, \
            Run(server, clock, reconcile_interval=15) as run:
        await run.connector.wait_up()
        ref = await run.connector.make_call("6001", "0987654321")
        await run.event(CallAnswered, ref=ref, device="6001")
        await settled(run, server)
        assert not [e for e in run.events if isinstance(e, CallEnded | CallFailed)]
        await reconcile_pass(run, clock, 15)
        await reconcile_pass(run, clock, 15)
        ended = await run.event(CallEnded, ref=ref)
        assert ended.cause == GONE
        assert_nothing_kept(run.connector.normalizer)

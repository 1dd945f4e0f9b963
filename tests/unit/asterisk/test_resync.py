"""Resynchronization on the recorded 13-resync-mid-call session, and what the
hub makes of it: the calls that are up appear, the ghosts disappear."""

from __future__ import annotations

from typing import Any

from ctibridge.clock import FakeClock
from ctibridge.config import Settings
from ctibridge.core.hub import Hub
from ctibridge.model.agent import AgentState, AgentStatus
from ctibridge.model.call import ConnectionState
from ctibridge.model.events import CallEnded, CallSnapshot, PlatformResynced
from ctibridge.model.party import Direction, Party
from ctibridge.telephony.asterisk.ami import AmiParser, Message
from ctibridge.telephony.asterisk.transcript import Received, Sent

from .fake_ami import transcript
from .replay import AT, Replay

IVR = {"CUSTOMER_ID": "C-1042", "ACCOUNT": "ACME-77", "IVR_CHOICE": "support"}
A, B = "1795572767.60", "1795572772.64"


def lists_and_events(name: str) -> tuple[dict[str, list[Message]], list[Message]]:
    """Split a recording into list-action items (by action) and live events."""
    action_of: dict[str, str] = {}
    items: dict[str, list[Message]] = {}
    live: list[Message] = []
    parser = AmiParser()
    for part in transcript(name).parts:
        if isinstance(part, Sent):
            action_of[part.message.get("ActionID") or ""] = part.action
            continue
        assert isinstance(part, Received)
        for f in parser.feed(part.data):
            if not isinstance(f, Message) or f.is_response:
                continue
            action = action_of.get(f.action_id or "")
            if action in ("CoreShowChannels", "QueueStatus", "Status", "BridgeList"):
                if (f.get("EventList") or "").lower() != "complete":
                    items.setdefault(action, []).append(f)
            else:
                live.append(f)
    return items, live


def resynced(replay: Replay) -> tuple[PlatformResynced, list[Message]]:
    items, live = lists_and_events("13-resync-mid-call.ami")
    snap = replay.normalizer.resync(items["CoreShowChannels"], items["QueueStatus"],
                                    items["Status"])
    after = [m for m in live if m.name not in ("FullyBooted", "SuccessfulAuth")]
    return snap, after


def test_the_snapshot_has_the_connected_call_the_waiting_one_and_the_agents() -> None:
    snap, _ = resynced(Replay("13-resync-mid-call.ami", region="FR"))
    assert sorted(snap.calls, key=lambda c: c.ref) == [
        # A: customer's Local ;2 (QUEUENAME=support) bridged with 6001's ;1.
        CallSnapshot(ref=A, direction=Direction.INBOUND, customer=Party("+33123456789",
                                                                        "Jean Dupont"),
                     devices={"6001": "connected"}, queue="support", attached=IVR),
        # B: the QueueEntry (Position 1, Wait 1); its IVR data from Status variables.
        CallSnapshot(ref=B, direction=Direction.INBOUND, customer=Party("+33612345678"),
                     devices={"queue:support": "queued"}, queue="support", attached=IVR),
    ]
    assert snap.agents == {"6001": (AgentStatus.READY, None),
                           "6002": (AgentStatus.NOT_READY, "Training"),
                           "6003": (AgentStatus.LOGGED_OUT, None)}


def test_events_after_the_snapshot_end_the_calls_it_described() -> None:
    replay = Replay("13-resync-mid-call.ami", region="FR")
    _, after = resynced(replay)
    events = replay.normalizer.feed_all(after)
    assert events == [CallEnded(ref=B, at=AT, cause="abandoned"),
                      CallEnded(ref=A, at=AT, cause="customer-hangup")]
    assert replay.normalizer.calls == {}


def test_commands_after_a_resync_find_the_agents_channel() -> None:
    replay = Replay("13-resync-mid-call.ami")
    resynced(replay)
    n = replay.normalizer
    agent = n.agent_chan(A, "6001")
    assert agent is not None and agent.name == "Local/6001@agents-0000001f;1"  # the bridged half
    customer = n.customer_chan(A, "6001")
    assert customer is not None and customer.name == "Local/0140000000@from-pstn-0000001e;2"


def test_a_ref_chosen_by_ctibridge_survives_the_resync() -> None:
    replay = Replay("13-resync-mid-call.ami")
    replay.normalizer.aliases[A] = "cti-abc"  # as if ctibridge had originated call A
    snap, _ = resynced(replay)
    assert {c.ref for c in snap.calls} == {"cti-abc", B}
    assert replay.normalizer.agent_chan("cti-abc", "6001") is not None


# ------------------------------------------------------------------ the hub


def hub() -> tuple[Hub, FakeClock]:
    clock = FakeClock()
    settings = Settings.load(None, wrap_up_seconds=0, telephony=[
        {"name": "pbx", "type": "asterisk"}], agents=[
        {"id": "alice", "name": "Alice", "extension": "6001", "platform": "pbx"},
        {"id": "bob", "name": "Bob", "extension": "6002", "platform": "pbx"},
    ])
    h = Hub(settings, {}, clock=clock)
    for a in h.agents.values():
        a.state = AgentState(AgentStatus.READY, clock.now())
    return h, clock


def feed(h: Hub, events: list[Any]) -> None:
    for ev in events:
        h.apply("pbx", ev)


def test_the_hub_ends_the_ghost_and_takes_the_calls_that_are_up() -> None:
    h, _ = hub()
    # Before the link dropped, the hub followed the 02 call up to its answer.
    before = Replay("02-inbound-queue-answered.ami")
    events = before.run()
    feed(h, events[:3])  # queued, offered, answered: then the link dropped
    ghost = h.calls.by_ref("pbx", "1795572298.0")
    assert ghost is not None and not ghost.ended
    assert h.agents["alice"].state.status == AgentStatus.BUSY

    replay = Replay("13-resync-mid-call.ami", region="FR")
    snap, after = resynced(replay)
    feed(h, [snap])
    assert ghost.ended and ghost.end_cause == "gone-after-resync"
    a = h.calls.by_ref("pbx", A)
    b = h.calls.by_ref("pbx", B)
    assert a is not None and b is not None
    assert a.connections["6001"].state == ConnectionState.CONNECTED
    assert a.customer == Party("+33123456789", "Jean Dupont") and a.attached == IVR
    assert b.connections["queue:support"].state == ConnectionState.QUEUED
    assert h.agents["alice"].calls == {a.call_id}
    assert h.agents["bob"].state.status == AgentStatus.NOT_READY
    assert h.agents["bob"].state.reason == "Training"

    feed(h, replay.normalizer.feed_all(after))
    assert a.ended and b.ended and b.end_cause == "abandoned"
    assert h.calls.live() == []

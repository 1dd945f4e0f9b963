"""Every PlatformEvent survives the edge's JSON trip unchanged (ctibridge/edge/codec.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ctibridge.edge.codec import EVENT_CLASSES, BadEvent, decode, encode
from ctibridge.model import events as ev
from ctibridge.model.agent import AgentStatus
from ctibridge.model.party import Channel, Direction, Party

AT = datetime(2026, 12, 5, 9, 30, 12, 345678, tzinfo=timezone(timedelta(hours=1)))
CUSTOMER = Party(number="+33142000000", name="Élodie Roux")

SAMPLES: list[ev.PlatformEvent] = [
    ev.CallInitiated(at=AT, ref="c1", device="1001", callee=Party(number="+3314"),
                     direction=Direction.INTERNAL, consult_of="c0", attached={"k": "v"}),
    ev.CallQueued(at=AT, ref="c1", queue="support", caller=CUSTOMER, attached={"reason": "x"}),
    ev.CallOffered(at=AT, ref="c1", device="1001", caller=CUSTOMER, queue="support",
                   consult_of=None, attached={"customer_id": "42"}),
    ev.CallAnswered(at=AT, ref="c1", device="1001"),
    ev.CallHeld(at=AT, ref="c1", device="1001"),
    ev.CallRetrieved(at=AT, ref="c1", device="1001"),
    ev.CallTransferred(at=AT, ref="c1", from_device="1001", to_device="1002", consult_ref="c2"),
    ev.CallConferenced(at=AT, ref="c1", devices=("1001", "1002"), consult_ref="c2"),
    ev.CallDtmf(at=AT, ref="c1", device="1001", digits="12#"),
    ev.CallMonitored(at=AT, ref="c1", device="2001", target="1001", mode="whisper"),
    ev.CallEnded(at=AT, ref="c1", device=None, cause="customer-hangup"),
    ev.CallFailed(at=AT, ref="c1", device="1001", cause="busy"),
    ev.AgentStateChanged(at=AT, device="1001", status=AgentStatus.NOT_READY, reason="lunch"),
    ev.PlatformResynced(
        at=AT,
        calls=(ev.CallSnapshot(ref="c1", direction=Direction.INBOUND, customer=CUSTOMER,
                               devices={"1001": "connected", "queue:support": "queued"},
                               queue="support", attached={"a": "b"}),
               ev.CallSnapshot(ref="c2", direction=Direction.OUTBOUND, customer=Party(),
                               devices={})),
        agents={"1001": (AgentStatus.READY, None), "1002": (AgentStatus.NOT_READY, "break")}),
    ev.PlatformStatus(at=AT, up=False, detail="AMI connection refused"),
    ev.InteractionArrived(at=AT, ref="i1", channel=Channel.EMAIL,
                          sender=ev.Sender(address="a@b.fr", name="A"), message_id="m1",
                          subject="Bill", preview="Hello", body="Hello there",
                          content_url="https://x/1", thread_id="t1", queue="mail",
                          attached={"lang": "fr"}),
    ev.InteractionMessage(at=AT, ref="i1", message_id="m2", from_customer=False, agent="alice",
                          sender=ev.Sender(handle="@a"), preview="p", body="b"),
    ev.InteractionAccepted(at=AT, ref="i1", agent="alice"),
    ev.InteractionDeclined(at=AT, ref="i1", agent="alice", reason="busy"),
    ev.InteractionClosed(at=AT, ref="i1", by="agent", agent="alice", disposition="resolved"),
    ev.DigitalResynced(
        at=AT,
        interactions=(ev.InteractionSnapshot(ref="i1", channel=Channel.CHAT,
                                             sender=ev.Sender(number="+331"), agent="bob",
                                             opened_at=AT - timedelta(minutes=3),
                                             attached={"x": "y"}),),
        agents={"bob": (AgentStatus.READY, None)}),
]


def test_every_event_class_has_a_sample() -> None:
    assert {type(s).name for s in SAMPLES} == set(EVENT_CLASSES)


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.name)
def test_round_trip_is_exact(event: ev.PlatformEvent) -> None:
    back = decode(encode(event))
    assert back == event
    assert type(back) is type(event)
    assert back.at.utcoffset() == event.at.utcoffset()  # the edge's own clock, kept


def test_defaults_may_be_left_out() -> None:
    back = decode(b'{"event":"call.ended","at":"2026-12-05T08:00:00+00:00","ref":"c9"}')
    assert back == ev.CallEnded(at=datetime(2026, 12, 5, 8, tzinfo=UTC), ref="c9")


@pytest.mark.parametrize(("payload", "says"), [
    (b"\xff", "not JSON"),
    (b"[1]", "not a JSON object"),
    (b'{"event":"call.teleported","at":"2026-12-05T08:00:00+00:00"}', "unknown event"),
    (b'{"event":"call.answered","at":"2026-12-05T08:00:00+00:00","ref":"c1"}', "device"),
    (b'{"event":"call.answered","at":"yesterday","ref":"c1","device":"1"}', "call.answered"),
    (b'{"event":"call.answered","at":"2026-12-05T08:00:00","ref":"c1","device":"1"}',
     "time zone"),
    (b'{"event":"call.answered","at":"2026-12-05T08:00:00Z","ref":7,"device":"1"}', "ref"),
    (b'{"event":"agent.state","at":"2026-12-05T08:00:00Z","device":"1","status":"dancing"}',
     "dancing"),
])
def test_malformed_payloads_say_what_is_wrong(payload: bytes, says: str) -> None:
    with pytest.raises(BadEvent, match=says):
        decode(payload)

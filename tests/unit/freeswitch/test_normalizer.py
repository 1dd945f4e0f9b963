"""Normalizer cases the lab cannot show, built from real capture events changed the way
FreeSWITCH documents (README of shared/fixtures/freeswitch: quirks 4, 9, 14)."""

from __future__ import annotations

from dataclasses import replace

from ctibridge.model.events import (
    CallAnswered,
    CallEnded,
    CallInitiated,
    CallRetrieved,
)
from ctibridge.model.party import Direction, Party
from ctibridge.telephony.freeswitch.esl import EslParser, Event, Frame, parse_event
from ctibridge.telephony.freeswitch.normalizer import Normalizer, parse_json_rows, parse_rows

from .fake_esl import event_frames
from .replay import AT, options


def capture_events(name: str) -> list[Event]:
    out = []
    for f in EslParser().feed(b"".join(event_frames(name))):
        if isinstance(f, Frame):
            out.append(parse_event(f))
    return out


def changed(ev: Event, **headers: str) -> Event:
    return replace(ev, headers={**dict(ev.headers.items()), **headers})


def test_unhold_confirmed_by_the_endpoint_is_a_retrieve() -> None:
    # With SIP phones, CHANNEL_UNHOLD follows `uuid_hold off` (quirk 9); the lab's null
    # handsets never send it: the capture's CHANNEL_HOLD is replayed as an UNHOLD.
    n = Normalizer(options(), lambda: AT)
    out = []
    events = capture_events("04-hold-unhold.esl")
    hold = next(e for e in events if e.name == "CHANNEL_HOLD")
    for ev in events:
        out.extend(n.feed(ev))
        if ev is hold:
            out.extend(n.feed(changed(ev, **{"Event-Name": "CHANNEL_UNHOLD"})))
    retrieved = [e for e in out if isinstance(e, CallRetrieved)]
    assert len(retrieved) == 1 and retrieved[0].device == "6001"
    assert [e.name for e in out].index("call.retrieved") == \
        [e.name for e in out].index("call.held") + 1


def test_an_agent_who_does_not_answer_leaves_the_offer() -> None:
    # mod_callcenter's bridge-agent-fail (CC-Hangup-Cause NO_ANSWER) instead of the
    # bridge-agent-start of the capture; the call then waits for another agent.
    n = Normalizer(options(), lambda: AT)
    out = []
    for ev in capture_events("01-inbound-answered.esl"):
        if ev.get("CC-Action") == "bridge-agent-start":
            out.extend(n.feed(changed(ev, **{"CC-Action": "bridge-agent-fail",
                                             "CC-Hangup-Cause": "NO_ANSWER"})))
            break
        out.extend(n.feed(ev))
    assert out[-1] == CallEnded(ref=out[0].ref, at=AT, device="6001", cause="no-answer")


def test_an_agent_dialing_from_the_phone_is_an_outgoing_call() -> None:
    # A registered phone's own call: its leg comes in (Call-Direction inbound) with the
    # directory user authenticated (variable_user_name), no dialed_user.
    n = Normalizer(options(), lambda: AT)
    events = capture_events("08-click-to-call.esl")
    agent = next(e for e in events if e.name == "CHANNEL_CREATE" and e.var("dialed_user"))
    phone = changed(agent, **{"Call-Direction": "inbound", "variable_user_name": "6001",
                              "variable_dialed_user": "", "variable_ctibridge_request": "",
                              "Caller-Destination-Number": "0987654321"})
    out = n.feed(phone)
    assert out == [CallInitiated(ref=phone.uuid or "", at=AT, device="6001",
                                 callee=Party("0987654321"), direction=Direction.OUTBOUND)]
    far = next(e for e in events if e.name == "CHANNEL_BRIDGE")
    bridged = n.feed(changed(far, **{"Unique-ID": "far-leg", "variable_uuid": "far-leg",
                                     "Other-Leg-Unique-ID": phone.uuid or ""}))
    assert bridged == [CallAnswered(ref=phone.uuid or "", at=AT, device="6001")]


def test_callcenter_lists_and_idle_show_output() -> None:
    assert parse_json_rows('{"row_count": 0}') == []
    assert parse_json_rows("-ERR no reply") == []
    rows = parse_rows("name|status\n6001@default|On Break\n+OK\n")
    assert rows == [{"name": "6001@default", "status": "On Break"}]
    assert parse_rows("-ERR Invalid queue!\n") == []

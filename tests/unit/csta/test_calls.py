"""The call tracker on hand-made ECMA-269 event sequences (the peer-independent cases)."""

from __future__ import annotations

from ctibridge.clock import FakeClock
from ctibridge.model.events import CallEnded, CallInitiated, CallOffered
from ctibridge.telephony.csta.calls import CallTracker
from ctibridge.telephony.csta.message import ConnectionId, CstaMessage, Device, Kind


def tracker() -> CallTracker:
    return CallTracker({"2001", "2002"}.__contains__, lambda d: d, FakeClock(), lambda m: {})


def ev(name: str, **args: object) -> CstaMessage:
    return CstaMessage(kind=Kind.EVENT, name=name, cross_ref="1", args=args)  # type: ignore[arg-type]


def delivered(call: str, at: str, caller: str) -> CstaMessage:
    return ev("DeliveredEvent", connection=ConnectionId(call, at), alertingDevice=Device.of(at),
              callingDevice=Device.of(caller), calledDevice=Device.of(at), cause="newCall")


def test_call_cleared_ends_every_agent_and_the_call() -> None:
    t = tracker()
    t.handle(delivered("c1", "2001", "0612345678"))
    out = t.handle(ev("CallClearedEvent", clearedCall=ConnectionId("c1", None),
                      cause="normalClearing"))
    assert [(type(e), e.device) for e in out if isinstance(e, CallEnded)] == [
        (CallEnded, "2001"), (CallEnded, None)]
    assert t.get("c1") is None


def test_an_event_for_an_unknown_call_creates_it_and_the_ref_is_its_first_call_id() -> None:
    t = tracker()
    out = t.handle(delivered("c9", "2002", "0612345678"))
    assert isinstance(out[0], CallOffered) and out[0].ref == "c9"


def test_what_we_asked_for_is_claimed_by_events_that_beat_the_answer() -> None:
    t = tracker()
    t.expect("2001", {"ticket": "7"}, consult_of="c0")
    t.handle(ev("ServiceInitiatedEvent", initiatedConnection=ConnectionId("c2", "2001"),
                initiatingDevice=Device.of("2001"), cause="makeCall"))
    out = t.handle(ev("OriginatedEvent", originatedConnection=ConnectionId("c2", "2001"),
                      callingDevice=Device.of("2001"), calledDevice=Device.of("0140000000")))
    assert isinstance(out[0], CallInitiated)
    assert out[0].attached == {"ticket": "7"} and out[0].consult_of == "c0"


def test_the_same_event_from_two_monitors_is_reported_once() -> None:
    t = tracker()
    assert len(t.handle(delivered("c1", "2002", "2001"))) == 1
    assert t.handle(delivered("c1", "2002", "2001")) == []


def test_a_cleared_connection_of_an_unknown_call_is_ignored() -> None:
    t = tracker()
    assert t.handle(ev("ConnectionClearedEvent", droppedConnection=ConnectionId("zz", "2001"),
                       releasingDevice=Device.of("2001"))) == []

"""Normalization of shapes the lab recordings do not have: PJSIP phones and a
trunk instead of Local channels, ring-all queues, calls the phone starts, an
attended transfer made by the phone (two Linkedids), ``channelvars``.

Events are built with the fields the Asterisk 22 AMI documentation lists for
them (and that the recordings show for the same event types).
"""

from __future__ import annotations

from typing import Any

from ctibridge.model.events import (
    CallAnswered,
    CallEnded,
    CallHeld,
    CallInitiated,
    CallOffered,
    CallQueued,
    CallTransferred,
)
from ctibridge.model.party import Direction, Party
from ctibridge.telephony.asterisk.ami import Message
from ctibridge.telephony.asterisk.normalizer import Normalizer, device_name

from .replay import AT, options

PJSIP_AGENTS = {
    "6001": {"interface": "PJSIP/6001", "name": "Agent 6001"},
    "6002": {"interface": "PJSIP/6002", "name": "Agent 6002"},
}
CUSTOMER = Party("+33145454545", "ACME Corp")


class Pbx:
    """Builds AMI events about named channels (uid and linkedid tracked)."""

    def __init__(self, **opts: Any) -> None:
        self.n = Normalizer(options(agents=PJSIP_AGENTS, region="FR", **opts), lambda: AT)
        self.uids: dict[str, tuple[str, str]] = {}
        self.events: list[Any] = []
        self._seq = 0

    def _fields(self, chan: str, prefix: str = "") -> list[tuple[str, str]]:
        uid, linkedid = self.uids[chan]
        num, name = self.cid.get(chan, ("<unknown>", "<unknown>"))
        return [(prefix + "Channel", chan), (prefix + "ChannelState", "6"),
                (prefix + "CallerIDNum", num), (prefix + "CallerIDName", name),
                (prefix + "Uniqueid", uid), (prefix + "Linkedid", linkedid)]

    cid: dict[str, tuple[str, str]] = {}

    def send(self, event: str, *pairs: tuple[str, str]) -> list[Any]:
        out = self.n.feed(Message((("Event", event), *pairs)))
        self.events.extend(out)
        return out

    def new(self, chan: str, linked_to: str | None = None, num: str = "<unknown>",
            name: str = "<unknown>") -> None:
        self._seq += 1
        uid = f"1800000000.{self._seq}"
        linkedid = self.uids[linked_to][1] if linked_to else uid
        self.uids[chan] = (uid, linkedid)
        self.cid[chan] = (num, name)
        self.send("Newchannel", *self._fields(chan), ("Exten", "s"))

    def ev(self, event: str, chan: str, *extra: tuple[str, str]) -> list[Any]:
        return self.send(event, *self._fields(chan), *extra)

    def dial(self, event: str, src: str, dest: str, *extra: tuple[str, str]) -> list[Any]:
        return self.send(event, *self._fields(src), *self._fields(dest, "Dest"), *extra)

    def uid(self, chan: str) -> str:
        return self.uids[chan][0]

    def ref(self, chan: str) -> str:
        return self.uids[chan][1]


def test_device_names_follow_asterisk() -> None:
    assert device_name("PJSIP/6001-0000002b") == "PJSIP/6001"
    assert device_name("Local/6001@agents-phone-00000005;1") == "Local/6001@agents-phone"
    assert device_name("DAHDI/i1/0145454545-1a") == "DAHDI/i1/0145454545"


def test_a_direct_call_to_a_pjsip_phone_then_the_agent_hangs_up() -> None:
    p = Pbx()
    p.cid = {}
    p.new("PJSIP/trunk-00000001", num="0145454545", name="ACME Corp")
    p.new("PJSIP/6001-00000002", linked_to="PJSIP/trunk-00000001")
    ref = p.ref("PJSIP/trunk-00000001")
    p.dial("DialBegin", "PJSIP/trunk-00000001", "PJSIP/6001-00000002",
           ("DialString", "6001"))
    p.dial("DialEnd", "PJSIP/trunk-00000001", "PJSIP/6001-00000002", ("DialStatus", "ANSWER"))
    p.ev("BridgeEnter", "PJSIP/6001-00000002", ("BridgeUniqueid", "b1"))
    p.ev("BridgeEnter", "PJSIP/trunk-00000001", ("BridgeUniqueid", "b1"))
    p.ev("BridgeLeave", "PJSIP/6001-00000002", ("BridgeUniqueid", "b1"))
    p.ev("Hangup", "PJSIP/6001-00000002", ("Cause", "16"))
    p.ev("BridgeLeave", "PJSIP/trunk-00000001", ("BridgeUniqueid", "b1"))
    p.ev("Hangup", "PJSIP/trunk-00000001", ("Cause", "16"))
    assert p.events == [
        CallOffered(ref=ref, at=AT, device="6001", caller=CUSTOMER),
        CallAnswered(ref=ref, at=AT, device="6001"),
        CallEnded(ref=ref, at=AT, device="6001", cause="agent-hangup"),
        CallEnded(ref=ref, at=AT, cause="agent-hangup"),
    ]


def test_ring_all_the_agents_who_did_not_answer_lose_the_offer() -> None:
    p = Pbx()
    p.cid = {}
    p.new("PJSIP/trunk-00000001", num="+33145454545", name="ACME Corp")
    ref = p.ref("PJSIP/trunk-00000001")
    p.ev("QueueCallerJoin", "PJSIP/trunk-00000001", ("Queue", "support"), ("Position", "1"))
    for ext, chan in (("6001", "PJSIP/6001-00000002"), ("6002", "PJSIP/6002-00000003")):
        p.new(chan, linked_to="PJSIP/trunk-00000001")
        p.dial("AgentCalled", "PJSIP/trunk-00000001", chan, ("Queue", "support"),
               ("Interface", f"PJSIP/{ext}"), ("MemberName", f"Agent {ext}"))
    p.dial("DialEnd", "PJSIP/trunk-00000001", "PJSIP/6002-00000003", ("DialStatus", "ANSWER"))
    p.dial("DialEnd", "PJSIP/trunk-00000001", "PJSIP/6001-00000002", ("DialStatus", "CANCEL"))
    p.dial("AgentConnect", "PJSIP/trunk-00000001", "PJSIP/6002-00000003", ("Queue", "support"),
           ("Interface", "PJSIP/6002"), ("HoldTime", "3"), ("RingTime", "3"))
    assert p.events == [
        CallQueued(ref=ref, at=AT, queue="support", caller=CUSTOMER),
        CallOffered(ref=ref, at=AT, device="6001", caller=CUSTOMER, queue="support"),
        CallOffered(ref=ref, at=AT, device="6002", caller=CUSTOMER, queue="support"),
        CallAnswered(ref=ref, at=AT, device="6002"),
        CallEnded(ref=ref, at=AT, device="6001", cause="answered-elsewhere"),
    ]


def test_a_call_the_agent_dials_from_the_phone() -> None:
    p = Pbx()
    p.cid = {}
    p.new("PJSIP/6001-00000005", num="6001", name="Agent 6001")
    p.new("PJSIP/trunk-00000006", linked_to="PJSIP/6001-00000005", num="0612345678")
    ref = p.ref("PJSIP/6001-00000005")
    p.dial("DialBegin", "PJSIP/6001-00000005", "PJSIP/trunk-00000006",
           ("DialString", "trunk/0612345678"))
    p.dial("DialEnd", "PJSIP/6001-00000005", "PJSIP/trunk-00000006", ("DialStatus", "ANSWER"))
    p.ev("BridgeEnter", "PJSIP/trunk-00000006", ("BridgeUniqueid", "b2"))
    p.ev("BridgeEnter", "PJSIP/6001-00000005", ("BridgeUniqueid", "b2"))
    p.ev("BridgeLeave", "PJSIP/trunk-00000006", ("BridgeUniqueid", "b2"))
    p.ev("Hangup", "PJSIP/trunk-00000006", ("Cause", "16"))
    p.ev("Hangup", "PJSIP/6001-00000005", ("Cause", "16"))
    mobile = Party("+33612345678")
    assert p.events == [
        CallInitiated(ref=ref, at=AT, device="6001", callee=mobile),
        CallAnswered(ref=ref, at=AT, device="6001"),
        CallEnded(ref=ref, at=AT, cause="customer-hangup"),
    ]


def test_an_internal_call_between_two_agents() -> None:
    p = Pbx()
    p.cid = {}
    p.new("PJSIP/6001-00000007", num="6001")
    p.new("PJSIP/6002-00000008", linked_to="PJSIP/6001-00000007")
    ref = p.ref("PJSIP/6001-00000007")
    p.dial("DialBegin", "PJSIP/6001-00000007", "PJSIP/6002-00000008", ("DialString", "6002"))
    p.dial("DialEnd", "PJSIP/6001-00000007", "PJSIP/6002-00000008", ("DialStatus", "ANSWER"))
    p.ev("Hangup", "PJSIP/6002-00000008", ("Cause", "16"))
    p.ev("Hangup", "PJSIP/6001-00000007", ("Cause", "16"))
    assert p.events == [
        CallInitiated(ref=ref, at=AT, device="6001", callee=Party("6002"),
                      direction=Direction.INTERNAL),
        CallOffered(ref=ref, at=AT, device="6002", caller=Party("6001"),
                    direction=Direction.INTERNAL),
        CallAnswered(ref=ref, at=AT, device="6002"),
        CallAnswered(ref=ref, at=AT, device="6001"),
        CallEnded(ref=ref, at=AT, device="6002", cause="agent-hangup"),
        CallEnded(ref=ref, at=AT, cause="agent-hangup"),
    ]


def test_an_attended_transfer_made_by_the_phone_across_two_linkedids() -> None:
    p = Pbx()
    p.cid = {}
    trunk, a1, b, c = ("PJSIP/trunk-00000010", "PJSIP/6001-00000011", "PJSIP/6001-00000012",
                       "PJSIP/6002-00000013")
    p.new(trunk, num="+33145454545", name="ACME Corp")
    p.new(a1, linked_to=trunk)
    main = p.ref(trunk)
    p.dial("DialBegin", trunk, a1, ("DialString", "6001"))
    p.dial("DialEnd", trunk, a1, ("DialStatus", "ANSWER"))
    p.ev("Hold", a1)  # the phone's re-INVITE
    p.new(b, num="6001")  # a new call from the same phone
    consult = p.ref(b)
    p.new(c, linked_to=b)
    p.dial("DialBegin", b, c, ("DialString", "6002"))
    p.dial("DialEnd", b, c, ("DialStatus", "ANSWER"))
    del p.events[:]
    p.send("AttendedTransfer", ("Result", "Success"), *p._fields(a1, "OrigTransferer"),
           ("OrigBridgeUniqueid", "b1"), *p._fields(b, "SecondTransferer"),
           ("SecondBridgeUniqueid", "b2"), *p._fields(trunk, "Transferee"),
           *p._fields(c, "TransferTarget"), ("IsExternal", "No"), ("DestType", "Bridge"),
           ("DestBridgeUniqueid", "b1"))
    p.ev("Hangup", a1, ("Cause", "16"))
    p.ev("Hangup", b, ("Cause", "16"))
    p.ev("Hangup", trunk, ("Cause", "16"))
    p.ev("Hangup", c, ("Cause", "16"))
    assert p.events == [
        CallTransferred(ref=main, at=AT, from_device="6001", to_device="6002",
                        consult_ref=consult),
        CallEnded(ref=main, at=AT, cause="normal"),
    ]
    assert p.n.calls == {}


def test_the_phones_hold_is_a_hold() -> None:
    p = Pbx()
    p.cid = {}
    p.new("PJSIP/trunk-00000020", num="+33145454545")
    p.new("PJSIP/6001-00000021", linked_to="PJSIP/trunk-00000020")
    ref = p.ref("PJSIP/trunk-00000020")
    p.dial("DialBegin", "PJSIP/trunk-00000020", "PJSIP/6001-00000021")
    p.dial("DialEnd", "PJSIP/trunk-00000020", "PJSIP/6001-00000021", ("DialStatus", "ANSWER"))
    p.ev("Hold", "PJSIP/6001-00000021")
    p.ev("MusicOnHoldStart", "PJSIP/trunk-00000020", ("Class", "default"))
    held = [e for e in p.events if isinstance(e, CallHeld)]
    assert held == [CallHeld(ref=ref, at=AT, device="6001")]  # once, not twice


def test_channelvars_carry_ivr_data_without_varset() -> None:
    p = Pbx()
    p.cid = {}
    p.new("PJSIP/trunk-00000030", num="+33145454545")
    p.ev("QueueCallerJoin", "PJSIP/trunk-00000030", ("Queue", "support"),
         ("ChanVariable", "CUSTOMER_ID=C-9"), ("ChanVariable", "IVR_CHOICE=billing"))
    [queued] = p.events
    assert isinstance(queued, CallQueued)
    assert queued.attached == {"CUSTOMER_ID": "C-9", "IVR_CHOICE": "billing"}


def test_queues_not_followed_make_no_calls() -> None:
    p = Pbx(queues=["sales"])
    p.cid = {}
    p.new("PJSIP/trunk-00000040", num="+33145454545")
    assert p.ev("QueueCallerJoin", "PJSIP/trunk-00000040", ("Queue", "support")) == []

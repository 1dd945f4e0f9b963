"""The call tracker fed the real OpenScape Voice messages of the shared samples."""

from __future__ import annotations

from datetime import UTC, datetime

from ctibridge.clock import FakeClock
from ctibridge.model.events import CallInitiated, CallOffered, CallTransferred
from ctibridge.model.party import Direction
from ctibridge.telephony.csta.calls import CallTracker
from ctibridge.telephony.csta.framing import OpenScapeFraming
from ctibridge.telephony.csta.openscape import OpenScapeDialect
from ctibridge.telephony.csta.xml import XmlCodec

from .samples import csta_root

codec = XmlCodec()
dialect = OpenScapeDialect({})
LIT = "CstaParser.py-literals"


def tracker(*mine: str) -> CallTracker:
    return CallTracker(set(mine).__contains__, dialect.extension,
                       FakeClock(datetime(2026, 1, 1, tzinfo=UTC)), dialect.attached)


def framed(name: str) -> bytes:
    frames = OpenScapeFraming().feed((csta_root() / LIT / name).read_bytes())
    assert len(frames) == 1
    return frames[0].payload


def test_device_ids_of_openscape_events_name_the_number_in_brackets() -> None:
    assert dialect.extension("N<3021061290002>;noa=nk") == "3021061290002"
    assert dialect.extension("N<+17867100001>Line00001;displayNumber=00001") == "+17867100001"
    assert dialect.extension("302118840100") == "302118840100"


def test_real_make_call_events_give_one_call_initiated() -> None:
    t = tracker("302118840100")
    assert t.handle(codec.decode(framed("L63.ServiceInitiatedEvent.framed.bin"))) == []
    out = t.handle(codec.decode(framed("L64.OriginatedEvent.framed.bin")))
    assert len(out) == 1 and isinstance(out[0], CallInitiated)
    assert out[0].device == "302118840100" and out[0].direction is Direction.OUTBOUND


def test_real_acd_delivered_event_offers_the_call_with_its_correlator() -> None:
    t = tracker("3021061290002")
    out = t.handle(codec.decode((csta_root() / LIT / "L106.DeliveredEvent.xml").read_bytes()))
    assert len(out) == 1 and isinstance(out[0], CallOffered)
    offered = out[0]
    assert offered.ref == "FF00010000000000EC6114647E570000"
    assert offered.device == "3021061290002" and offered.caller.number == "7868772298"
    assert offered.attached["correlator"].startswith("75726E3A6E656E61")  # no line breaks


def test_real_single_step_transfer_keeps_our_call_id_across_the_new_call_id() -> None:
    t = tracker("+17867104700", "+17867100001")
    old = t.ensure("FF00010000000000CFB6706408000000")
    old.conns = {"+17867104700": "connected", "+17867100000": "connected"}
    raw = (csta_root() / LIT / "L195.TransferedEvent.xml").read_bytes()
    out = t.handle(codec.decode(raw))
    assert len(out) == 1 and isinstance(out[0], CallTransferred)
    moved = out[0]
    assert (moved.ref, moved.from_device, moved.to_device, moved.consult_ref) == (
        "FF00010000000000CFB6706408000000", "+17867104700", "+17867100001", None)
    # The switch's new callID now leads to our call.
    assert t.ref_for("0300010000000000CFB6706408000000") == moved.ref
    assert t.get(moved.ref).conns == {"+17867100000": "connected"}  # type: ignore[union-attr]
    # The same event from the other monitor changes nothing.
    assert t.handle(codec.decode(raw)) == []


def test_avaya_call_data_ucid_and_vdn_are_found_where_f_me_dmcc_reads_them() -> None:
    from ctibridge.telephony.csta.avaya import AvayaDialect
    from ctibridge.telephony.csta.message import CstaMessage, Kind

    msg = CstaMessage(kind=Kind.EVENT, name="DeliveredEvent", args={
        "globallyUniqueCallLinkageID": "00001002471528727478"}, private={
        "privateData/private/DeliveredEventPrivateData/distributingVDN/deviceIdentifier":
            "5000:CM1:10.0.0.1:0"})
    assert AvayaDialect({"username": "u", "password": "p"}).attached(msg) == {
        "ucid": "00001002471528727478", "vdn": "5000"}

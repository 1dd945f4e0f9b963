"""ECMA-323 codec against the real OpenScape messages and templates, and round trips."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctibridge.telephony.csta.message import (
    ConnectionId,
    ConnectionListItem,
    CstaDecodeError,
    CstaError,
    CstaMessage,
    Device,
    DeviceStatus,
    Kind,
)
from ctibridge.telephony.csta.xml import ED3, XmlCodec

from .samples import csta_root, framed_samples, xml_samples

codec = XmlCodec()


@pytest.mark.parametrize("path", xml_samples(), ids=lambda p: p.name)
def test_every_shared_xml_sample_parses_and_survives_a_round_trip(path: Path) -> None:
    msg = codec.decode(path.read_bytes())
    assert msg.name
    assert codec.decode(codec.encode(msg)) == msg


@pytest.mark.parametrize("path", framed_samples(), ids=lambda p: p.name)
def test_the_xml_inside_every_framed_sample_parses(path: Path) -> None:
    msg = codec.decode(path.read_bytes()[8:])
    assert msg.name


def test_real_delivered_event_from_an_acd() -> None:
    raw = (csta_root() / "CstaParser.py-literals/L106.DeliveredEvent.xml").read_bytes()
    msg = codec.decode(raw)
    assert (msg.kind, msg.name, msg.cross_ref) == (Kind.EVENT, "DeliveredEvent", "1173673890")
    assert msg.connection("connection") == ConnectionId("FF00010000000000EC6114647E570000",
                                                         "3021061290002")
    assert msg.device_id("alertingDevice") == "N<3021061290002>;noa=nk"
    assert msg.device("lastRedirectionDevice") == Device(None, DeviceStatus.NOT_REQUIRED)
    assert msg.device("associatedCallingDevice") == Device(None, DeviceStatus.NOT_KNOWN)
    assert msg.text("cause") == "enteringDistribution"
    assert msg.text("localConnectionInfo") == "alerting"
    assert msg.private["privateData/private/cdrTrunkSeizureDateTime"] == "2023/03/17 14:49:48"


def test_real_single_step_transfer_keeps_ecma_269_spelling_and_connection_list() -> None:
    raw = (csta_root() / "CstaParser.py-literals/L195.TransferedEvent.xml").read_bytes()
    msg = codec.decode(raw)
    assert msg.name == "TransferredEvent"
    assert msg.connection("primaryOldCall") == ConnectionId(
        "FF00010000000000CFB6706408000000", "+17867104700")
    items = msg.connections("transferredConnections")
    assert [i.new_connection for i in items] == [
        ConnectionId("0300010000000000CFB6706408000000", "+17867100001"),
        ConnectionId("0300010000000000CFB6706408000000",
                     "N<+17867100000>;uid=FF00010000000000CFB6706408000000"),
    ]
    assert items[0].endpoint == Device.of("N<+17867100001>Line00001;displayNumber=00001")
    assert msg.text("cause") == "singleStepTransfer"
    assert b"<TransferedEvent" in codec.encode(msg)  # ECMA-323's spelling on the wire


def test_make_call_response_names_the_new_connection() -> None:
    raw = (csta_root() / "CstaParser.py-literals/fdef06c.L56.MakeCallResponse.framed-badlen.bin")
    msg = codec.decode(raw.read_bytes()[8:])
    assert (msg.kind, msg.name) == (Kind.RESULT, "MakeCall")
    assert msg.connection("callingDevice") == ConnectionId("FF000100000000007778C95C05030000",
                                                           "302118840100")


@pytest.mark.parametrize("name", ["L93.SystemStatus.ed2-ecma-ch-namespace.xml",
                                  "L102.SystemStatus.ns3-prefixed.xml"])
def test_namespaces_and_prefixes_do_not_matter(name: str) -> None:
    msg = codec.decode((csta_root() / "CstaParser.py-literals" / name).read_bytes())
    assert (msg.kind, msg.name) == (Kind.INVOKE, "SystemStatus")


def test_ecma_354_session_response_is_a_result() -> None:
    raw = (csta_root()
           / "CstaParser.py-literals/L66.StartApplicationSessionPosResponse.framed-badlen.bin")
    msg = codec.decode(raw.read_bytes()[8:])
    assert (msg.kind, msg.name) == (Kind.RESULT, "StartApplicationSession")
    assert msg.text("sessionID") == "009968951"
    assert msg.text("actualSessionDuration") == "600"


def test_negative_acknowledgement_round_trip() -> None:
    msg = CstaMessage(kind=Kind.ERROR, name="", error=CstaError("operation", "invalidDeviceID"))
    raw = codec.encode(msg)
    assert b"<CSTAErrorCode" in raw and b"<operation>invalidDeviceID</operation>" in raw
    assert codec.decode(raw) == msg


def test_request_devices_are_bare_and_event_devices_are_identifiers() -> None:
    make = CstaMessage(kind=Kind.INVOKE, name="MakeCall",
                       args={"callingDevice": Device.of("2001"),
                             "calledDirectoryNumber": Device.of("0612345678")})
    assert b"<callingDevice>2001</callingDevice>" in codec.encode(make)
    ev = CstaMessage(kind=Kind.EVENT, name="HeldEvent", cross_ref="7",
                     args={"heldConnection": ConnectionId("c1", "2001"),
                           "holdingDevice": Device.of("2001"),
                           "cause": "normal"})
    raw = codec.encode(ev)
    assert b"<holdingDevice><deviceIdentifier>2001</deviceIdentifier></holdingDevice>" in raw
    assert codec.decode(raw) == ev


def test_conference_event_round_trip_with_old_and_new_connections() -> None:
    ev = CstaMessage(kind=Kind.EVENT, name="ConferencedEvent", cross_ref="9", args={
        "primaryOldCall": ConnectionId("c1", "2001"),
        "secondaryOldCall": ConnectionId("c2", "2001"),
        "conferencingDevice": Device.of("2001"),
        "addedParty": Device.of("2002"),
        "conferenceConnections": (
            ConnectionListItem(ConnectionId("c1", "2001"), ConnectionId("c1", "2001"),
                               Device.of("2001")),
            ConnectionListItem(ConnectionId("c1", "2002"), ConnectionId("c2", "2002"),
                               Device.of("2002")),
        ),
        "cause": "normal",
    })
    assert codec.decode(codec.encode(ev)) == ev


def test_avaya_namespace_is_written_when_asked() -> None:
    raw = XmlCodec(ED3).encode(CstaMessage(kind=Kind.INVOKE, name="SnapshotDevice",
                                           args={"snapshotObject": Device.of("2001")}))
    assert ED3.encode() in raw


@pytest.mark.parametrize("raw", [
    b"", b"<", b"not xml", b"<?xml version='1.0'?>", b"<a><b></a>",
    b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
    b'<!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>',
    b"\xff\xfe<x/>",
    # "billion laughs", and the same DTD in UTF-16 (a byte scan for "<!DOCTYPE" would miss it)
    b'<!DOCTYPE l [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><x>&b;</x>',
    '<?xml version="1.0" encoding="utf-16"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    .encode("utf-16"),
    b"<MakeCall>&undeclared;</MakeCall>",
])
def test_bad_payloads_get_a_clear_decode_error(raw: bytes) -> None:
    with pytest.raises(CstaDecodeError):
        codec.decode(raw)


def test_deep_nesting_is_refused_not_a_crash() -> None:
    raw = b"<MakeCall>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</MakeCall>"
    with pytest.raises(CstaDecodeError):
        codec.decode(raw)

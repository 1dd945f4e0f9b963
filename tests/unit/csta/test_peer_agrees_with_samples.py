"""The test peer's messages have the shape of the real ones: where they differ, the sample wins.

For each message the peer sends that a shared sample also shows, every element the peer
writes appears in the sample, in the sample's order (ECMA-323 schemas are sequences), with
the same inner form (a connection's callID/deviceID, a device's deviceIdentifier).
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, fromstring

import pytest

from ctibridge.telephony.csta.message import ConnectionId, CstaMessage, Device, Kind
from ctibridge.telephony.csta.xml import XmlCodec
from tests.peers.csta.switch import Switch

from .samples import csta_root

codec = XmlCodec()
LIT = "CstaParser.py-literals"
SAMPLES = {  # peer message -> the sample files showing the same message
    "DeliveredEvent": ["DeliveredEvent.xml", f"{LIT}/L106.DeliveredEvent.xml"],
    "EstablishedEvent": ["EstablishedEvent.xml"],
    "ConnectionClearedEvent": ["ConnectionClearedEvent.xml"],
    "OriginatedEvent": ["OriginatedEvent.xml", f"{LIT}/L64.OriginatedEvent.framed.bin"],
    "ServiceInitiatedEvent": ["ServiceInitiatedEvent.xml",
                              f"{LIT}/L63.ServiceInitiatedEvent.framed.bin"],
    "TransferedEvent": [f"{LIT}/L195.TransferedEvent.xml"],  # ECMA-323's spelling
    "MakeCallResponse": ["MakeCallResponse.xml",
                         f"{LIT}/fdef06c.L56.MakeCallResponse.framed-badlen.bin"],
    "MonitorStartResponse": ["MonitorStartResponse.xml"],
    "ClearConnectionResponse": ["ClearConnectionResponse.xml"],
    "SnapshotDeviceResponse": ["SnapshotDeviceResponse.xml"],
}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _sample(name: str) -> Element:
    raw = (csta_root() / name).read_bytes()
    return fromstring(raw[8:] if name.endswith(".bin") else raw)


def peer_messages() -> dict[str, bytes]:
    """One of each message the peer sends in a make-call / answer / single-step transfer."""
    sw = Switch({"2001": "a1", "2002": "a2"})
    out: dict[str, bytes] = {}

    def keep(session: object, msg: CstaMessage) -> None:
        out.setdefault(codec.root_name(msg), codec.encode(msg))

    sw.sink = keep

    def do(name: str, **args: object) -> CstaMessage:
        answer = sw.invoke("s", CstaMessage(kind=Kind.INVOKE, name=name,
                                            args=args))  # type: ignore[arg-type]
        if answer.kind is Kind.RESULT and "monitorCrossRefID" in answer.args:
            xref = str(answer.args["monitorCrossRefID"])
            answer = CstaMessage(kind=Kind.RESULT, name=name, cross_ref=xref)
        out.setdefault(codec.root_name(answer), codec.encode(answer))
        return answer

    do("MonitorStart", monitorObject=Device.of("2001"))
    do("MonitorStart", monitorObject=Device.of("2002"))
    do("SnapshotDevice", snapshotObject=Device.of("2001"))
    made = do("MakeCall", callingDevice=Device.of("2001"),
              calledDirectoryNumber=Device.of("2002")).connection("callingDevice")
    assert made is not None
    do("AnswerCall", callToBeAnswered=ConnectionId(made.call_id, "2002"))
    do("SingleStepTransferCall", activeCall=ConnectionId(made.call_id, "2001"),
       transferredTo=Device.of("0612345678"))
    moved = sw.call_of("2002")
    assert moved is not None
    do("ClearConnection", connectionToBeCleared=ConnectionId(moved.call_id, "2002"))
    return out


PEER = peer_messages()


def _is_subsequence(small: list[str], big: list[str]) -> bool:
    it = iter(big)
    return all(any(x == y for y in it) for x in small)


@pytest.mark.parametrize("message", sorted(SAMPLES))
def test_the_peer_writes_what_the_real_message_has_in_its_order(message: str) -> None:
    ours = fromstring(PEER[message])
    samples = [_sample(f) for f in SAMPLES[message]]
    assert all(_local(ours.tag) == _local(t.tag) for t in samples)
    mine = [_local(c.tag) for c in ours]
    known = {_local(c.tag) for t in samples for c in t}
    # Elements a real message has; the peer may leave optional ones out.
    assert set(mine) <= known, f"not in any sample: {sorted(set(mine) - known)}"
    assert any(_is_subsequence(mine, [_local(c.tag) for c in t]) for t in samples), (
        f"order {mine} fits no sample")
    for ours_child in ours:
        name = _local(ours_child.tag)
        inner_real = {_local(g.tag) for t in samples for c in t if _local(c.tag) == name
                      for g in c}
        inner_ours = {_local(g.tag) for g in ours_child}
        if inner_real and inner_ours:
            assert inner_ours <= inner_real | {"callID"}, (name, inner_ours, inner_real)

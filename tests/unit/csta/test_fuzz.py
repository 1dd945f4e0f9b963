"""Hypothesis fuzz of the ECMA-323 decoder and the 8-byte framings: nothing but CstaDecodeError.

Mutations of the real shared samples (bit flips, cuts, insertions, splices,
duplications). ``CTIBRIDGE_FUZZ_FRAMES`` sets how many mutated frames in all:
10,000 by default (a second or two); ``scripts/test.sh`` runs 100,000.
"""

from __future__ import annotations

import os
import random
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctibridge.telephony.csta.framing import DmccFraming, OpenScapeFraming
from ctibridge.telephony.csta.message import (
    CONNECTION_FIELDS,
    DEVICE_FIELDS,
    ConnectionId,
    ConnectionListItem,
    CstaDecodeError,
    CstaMessage,
    Device,
    DeviceStatus,
    Kind,
)
from ctibridge.telephony.csta.xml import XmlCodec

from .samples import framed_samples, xml_samples

FRAMES = int(os.environ.get("CTIBRIDGE_FUZZ_FRAMES", "10000"))
PER_EXAMPLE = 50
EXAMPLES = max(1, FRAMES // PER_EXAMPLE)
codec = XmlCodec()
CORPUS = [p.read_bytes() for p in xml_samples()] + [p.read_bytes()[8:] for p in framed_samples()]
TOKENS = [b"<", b">", b"</", b"/>", b"&", b"&lt;", b"&#0;", b"<!DOCTYPE x>", b"<![CDATA[",
          b"xmlns:", b"\x00", b"\xff", b'"', b"<?xml", b"]]>", b"<callID>", b"<deviceID>"]


def mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        pos = rng.randrange(len(b) + 1)
        if op == 0 and b:
            b[min(pos, len(b) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1:
            del b[pos:pos + rng.randint(1, 64)]
        elif op == 2:
            b[pos:pos] = rng.choice(TOKENS)
        elif op == 3:
            b = b[:pos]
        elif op == 4:
            other = rng.choice(CORPUS)
            cut = rng.randrange(len(other) + 1)
            b = b[:pos] + other[cut:]
        else:
            end = min(len(b), pos + rng.randint(1, 200))
            b[pos:pos] = b[pos:end]
    return bytes(b)


@pytest.mark.fuzz
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_mutated_samples_decode_or_raise_only_csta_decode_error(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(PER_EXAMPLE):
        frame = mutate(rng, rng.choice(CORPUS))
        try:
            msg = codec.decode(frame)
        except CstaDecodeError:
            continue
        assert isinstance(msg, CstaMessage)


@pytest.mark.fuzz
@settings(max_examples=max(1, EXAMPLES // 10), deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(st.integers(min_value=0, max_value=2**32 - 1), st.sampled_from(["dmcc", "openscape"]))
def test_mutated_streams_frame_or_raise_only_csta_decode_error(seed: int, kind: str) -> None:
    rng = random.Random(seed)
    maker = DmccFraming if kind == "dmcc" else OpenScapeFraming
    wire = b"".join(maker().frame(rng.choice(CORPUS)[:4000], rng.randrange(10000))
                    for _ in range(PER_EXAMPLE // 10))
    stream = mutate(rng, wire)
    framing = maker()
    try:
        for i in range(0, len(stream), rng.randint(1, 500)):
            for f in framing.feed(stream[i:i + 500]):
                assert f.invoke_id is not None and 0 <= f.invoke_id <= 9999
    except CstaDecodeError:
        pass


# ------------------------------------------------------------ round trips

_text = st.text(alphabet=string.ascii_letters + string.digits + "+*#:;<>&'\"-_.@ ",
                min_size=1, max_size=24).map(str.strip).filter(bool)
_device = st.one_of(_text.map(Device.of),
                    st.sampled_from([s for s in DeviceStatus if s is not DeviceStatus.KNOWN])
                    .map(lambda s: Device(None, s)))
_conn = st.builds(ConnectionId, _text, _text)
_plain_keys = st.sampled_from(["cause", "reason", "charactersToSend", "systemStatus",
                               "requestedAgentState", "agentID", "numberQueued"])


@st.composite
def messages(draw: st.DrawFn) -> CstaMessage:
    args: dict[str, object] = {}
    for key in draw(st.lists(st.sampled_from(sorted(DEVICE_FIELDS - {"endpoint"})),
                             max_size=3, unique=True)):
        args[key] = draw(_device)
    for key in draw(st.lists(st.sampled_from(sorted(CONNECTION_FIELDS)), max_size=3,
                             unique=True)):
        args[key] = draw(_conn)
    for key in draw(st.lists(_plain_keys, max_size=3, unique=True)):
        args[key] = draw(_text)
    if draw(st.booleans()):
        items = draw(st.lists(st.builds(ConnectionListItem, _conn, st.none() | _conn,
                                        _text.map(Device.of)), min_size=1, max_size=3))
        args["transferredConnections"] = tuple(items)
    kind = draw(st.sampled_from([Kind.EVENT, Kind.INVOKE, Kind.RESULT]))
    name = draw(st.sampled_from(["DeliveredEvent", "TransferredEvent"] if kind is Kind.EVENT
                                else ["MakeCall", "AnswerCall", "SnapshotDevice"]))
    return CstaMessage(kind=kind, name=name, cross_ref=draw(st.none() | _text),
                       args=args)  # type: ignore[arg-type]


@settings(max_examples=100, deadline=None)
@given(messages())
def test_encode_then_decode_gives_the_same_message(msg: CstaMessage) -> None:
    assert codec.decode(codec.encode(msg)) == msg

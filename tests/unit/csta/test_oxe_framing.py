"""OXE TCP framing: a 2-byte big-endian length before each BER APDU, cut correctly
whatever the socket's read sizes."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctibridge.telephony.csta.ber import BerCodec
from ctibridge.telephony.csta.message import CstaDecodeError, CstaEncodeError, Frame, Framing
from ctibridge.telephony.csta.oxe import OxeFraming

from .ber_examples import EXAMPLES

codec = BerCodec()
PAYLOADS = [codec.encode(m) for m in EXAMPLES.values()]


def test_is_a_framing() -> None:
    assert isinstance(OxeFraming(), Framing)


def test_header_is_the_payload_length() -> None:
    payload = PAYLOADS[0]
    wire = OxeFraming().frame(payload)
    assert wire[:2] == len(payload).to_bytes(2, "big")
    assert wire[2:] == payload


@given(st.lists(st.sampled_from(PAYLOADS), min_size=1, max_size=20),
       st.lists(st.integers(min_value=1, max_value=64), min_size=1, max_size=200))
def test_any_chunking_gives_back_every_frame_in_order(payloads: list[bytes],
                                                      cuts: list[int]) -> None:
    sender = OxeFraming()
    wire = b"".join(sender.frame(p) for p in payloads)
    receiver = OxeFraming()
    got: list[Frame] = []
    pos, i = 0, 0
    while pos < len(wire):
        size = cuts[i % len(cuts)]
        got += receiver.feed(wire[pos:pos + size])
        pos, i = pos + size, i + 1
    assert [f.payload for f in got] == payloads
    assert receiver.buffered == 0
    assert [codec.decode(f.payload) for f in got] == [codec.decode(p) for p in payloads]


def test_a_partial_frame_waits_for_the_rest() -> None:
    f = OxeFraming()
    wire = f.frame(PAYLOADS[1])
    assert f.feed(wire[:5]) == []
    assert f.buffered == 5
    assert f.feed(wire[5:]) == [Frame(PAYLOADS[1])]


def test_zero_length_header_is_refused() -> None:
    with pytest.raises(CstaDecodeError):
        OxeFraming().feed(b"\x00\x00\xa1")


def test_payloads_too_big_for_the_header_are_refused() -> None:
    with pytest.raises(CstaEncodeError):
        OxeFraming().frame(b"\x00" * 0x10000)
    with pytest.raises(CstaEncodeError):
        OxeFraming().frame(b"")

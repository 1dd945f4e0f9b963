"""DMCC and OpenScape 8-byte framing, against the real framed OpenScape captures."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctibridge.telephony.csta.framing import DmccFraming, OpenScapeFraming
from ctibridge.telephony.csta.message import CstaDecodeError, Frame

from .samples import framed_samples


@pytest.mark.parametrize("path", [p for p in framed_samples() if "badlen" not in p.name],
                         ids=lambda p: p.name)
def test_consistent_openscape_captures_cut_into_one_frame_with_invoke_9999(path: Path) -> None:
    raw = path.read_bytes()
    framing = OpenScapeFraming()
    # Fed one byte at a time: a frame only comes out whole.
    frames = [f for b in raw for f in framing.feed(bytes([b]))]
    assert frames == [Frame(raw[8:], 9999)]
    assert framing.pending == 0


@pytest.mark.parametrize("path", [p for p in framed_samples() if "badlen" in p.name],
                         ids=lambda p: p.name)
def test_a_length_longer_than_the_bytes_waits_and_loses_nothing(path: Path) -> None:
    raw = path.read_bytes()
    framing = OpenScapeFraming()
    assert framing.feed(raw) == []
    assert framing.pending == len(raw)


def test_dmcc_header_is_version_zero_u16_length_and_four_digits() -> None:
    framing = DmccFraming()
    wire = framing.frame(b"<x/>", 12)
    assert wire == b"\x00\x00\x00\x0c0012<x/>"
    assert DmccFraming().feed(wire + wire[:5]) == [Frame(b"<x/>", 12)]


def test_dmcc_refuses_a_version_it_does_not_know() -> None:
    with pytest.raises(CstaDecodeError, match="version"):
        DmccFraming().feed(b"\x00\x01\x00\x0c0012<x/>")


@pytest.mark.parametrize("header", [b"\x00\x00\x00\x030001", b"\x00\x00\x00\x10ab12"])
def test_impossible_headers_are_refused(header: bytes) -> None:
    with pytest.raises(CstaDecodeError):
        OpenScapeFraming().feed(header)


def test_two_frames_in_one_read() -> None:
    f = OpenScapeFraming()
    wire = f.frame(b"<a/>", 1) + f.frame(b"<b/>")
    assert OpenScapeFraming().feed(wire) == [Frame(b"<a/>", 1), Frame(b"<b/>", 9999)]

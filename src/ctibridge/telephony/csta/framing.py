"""TCP framings of CSTA XML: Avaya AE Services DMCC and Unify OpenScape.

Both put an 8-byte header before each XML payload, and the length counts the
header itself:

* **DMCC** (Avaya AE Services "Device, Media and Call Control API XML
  Programmer's Guide", *XML message format*; as implemented by f-me/dmcc
  ``src/DMCC/XML/Raw.hs``): ``version`` u16 big-endian (0), ``length`` u16
  big-endian (header + body), ``invokeID`` 4 ASCII digits ``0000``-``9999``.
* **OpenScape** (OpenScape Voice CSTA interface, ECMA-323 Annex "TCP
  transport" style; as in skarcos/pyssimist ``common/client.py``, whose real
  captures are in our shared fixtures): ``length`` u32 big-endian (header +
  body), ``invokeID`` 4 ASCII digits; events carry ``9999``.

A header that cannot be right (a length below 8 or above the limit, a DMCC
version other than 0, an invoke id that is not 4 digits) raises
:class:`CstaDecodeError`: a byte stream that lost its framing cannot be
resynchronized, so the connector drops the link and reconnects.
"""

from __future__ import annotations

import struct
from abc import ABC, abstractmethod

from .message import CstaDecodeError, Frame

HEADER = 8
# Events and unsolicited messages carry this invoke id on OpenScape (pyssimist samples).
EVENT_INVOKE_ID = 9999


def _invoke_id(raw: bytes) -> int:
    if not raw.isdigit() or len(raw) != 4:
        raise CstaDecodeError(f"invoke id {raw!r} is not four ASCII digits", raw)
    return int(raw)


def _invoke_bytes(invoke_id: int | None) -> bytes:
    v = EVENT_INVOKE_ID if invoke_id is None else invoke_id
    if not 0 <= v <= 9999:
        raise ValueError(f"invoke id {v} does not fit four digits")
    return b"%04d" % v


class _EightByteFraming(ABC):
    name = "?"
    max_length = 0xFFFF

    def __init__(self, max_length: int | None = None) -> None:
        self._buf = bytearray()
        if max_length is not None:
            self.max_length = max_length

    @abstractmethod
    def _length(self, header: bytes) -> int:
        """The message length the vendor's 8-byte header gives (header included)."""

    @abstractmethod
    def _header(self, length: int) -> bytes:
        """The vendor's 8-byte header for a message of ``length`` bytes."""

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        frames: list[Frame] = []
        while len(self._buf) >= HEADER:
            header = bytes(self._buf[:HEADER])
            length = self._length(header)
            if length < HEADER or length > self.max_length:
                raise CstaDecodeError(
                    f"{self.name} frame length {length} outside {HEADER}..{self.max_length}",
                    header)
            invoke = _invoke_id(header[4:8])
            if len(self._buf) < length:
                break
            frames.append(Frame(bytes(self._buf[HEADER:length]), invoke))
            del self._buf[:length]
        return frames

    @property
    def pending(self) -> int:
        """Bytes received but not yet a whole frame (reported on close)."""
        return len(self._buf)

    def frame(self, payload: bytes, invoke_id: int | None = None) -> bytes:
        length = HEADER + len(payload)
        if length > self.max_length:
            raise ValueError(f"{self.name}: a {len(payload)}-byte payload does not fit a frame")
        return self._header(length) + _invoke_bytes(invoke_id) + payload


class DmccFraming(_EightByteFraming):
    name = "dmcc"
    max_length = 0xFFFF  # a u16 length

    def _length(self, header: bytes) -> int:
        version, length = struct.unpack(">HH", header[:4])
        if version != 0:
            raise CstaDecodeError(f"DMCC header version {version}, expected 0", header)
        return int(length)

    def _header(self, length: int) -> bytes:
        return struct.pack(">HH", 0, length)


class OpenScapeFraming(_EightByteFraming):
    name = "openscape"
    max_length = 1 << 20  # u32 on the wire; we refuse more than 1 MiB per message

    def _length(self, header: bytes) -> int:
        return int(struct.unpack(">I", header[:4])[0])

    def _header(self, length: int) -> bytes:
        return struct.pack(">I", length)

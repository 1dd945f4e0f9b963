"""Unify (Siemens) OpenScape Voice CSTA: ECMA-323 ed4 XML over TCP.

Followed: ECMA-323 (ed4 namespace) and the OpenScape Voice messages captured
in skarcos/pyssimist (``csta/CstaParser.py``; ``shared/fixtures/peers/csta``):
an 8-byte header (u32 big-endian length including the header, 4 ASCII digits
of invoke id, ``9999`` on events), no application session, SystemStatus both
ways as the heartbeat, device ids that are E.164 numbers in requests and
``N<number>Line…;displayNumber=…;uid=…`` or ``N<number>;noa=nk`` forms in
events' identifiers (the number in angle brackets is the device).

The uaCSTA-over-SIP option (CSTA XML in SIP INFO bodies, ECMA TR/87) is not
implemented: it needs a SIP stack and a registered user agent per device.
"""

from __future__ import annotations

import re

from .dialect import Dialect
from .framing import OpenScapeFraming
from .message import Codec, Framing
from .xml import ED4, XmlCodec

_BRACKETED = re.compile(r"^N<([^>]*)>")


class OpenScapeDialect(Dialect):
    name = "openscape"

    def codec(self) -> Codec:
        return XmlCodec(ED4)

    def framing(self) -> Framing:
        return OpenScapeFraming()

    def extension(self, device_id: str | None) -> str | None:
        if device_id is None:
            return None
        m = _BRACKETED.match(device_id)
        return m.group(1) if m else device_id.split(";", 1)[0]

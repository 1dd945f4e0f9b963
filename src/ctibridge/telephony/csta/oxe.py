"""Alcatel-Lucent OmniPCX Enterprise (OXE) CSTA link: TCP framing and session set-up.

What the sources say (cited in docs/connectors/csta-oxe.md):

* Alcatel's CSTA link runs ACSE / ROSE / ASN.1 BER over TCP; the CTI server connects
  to **TCP port 2555** (OmniPCX Office technical documentation, "Third party CTI -
  CSTA applications", 3EH 21000 BSAA Ed. 04, "Link management").
* The application opens an **ACSE association** first: AARQ with the CSTA versions it
  supports, AARE back with the chosen version; RLRQ / RLRE to release (same document,
  "Identification").
* The switch sends **SystemStatus** requests every 30 s when the link is idle and
  declares the link faulty after two unanswered ones (same document, "Surveillance").
* ALE's API portal lists OXE CSTA as **Phase 1 and 2** (ECMA-180/217/218).

What is inferred, not documented in what we could read:

* The **2-byte big-endian length header** before each APDU (our brief; the common
  framing of CSTA-over-TCP links). Nothing public we found states it for OXE.
* The one-byte session identification ('B' from the application, 'P' back) is
  documented for the OmniPCX *Office*; whether the Enterprise expects it is not known,
  so it is an option (:data:`SESSION_HELLO`), off by default.
* ECMA-285 (Phase III) encoding: our codec speaks Phase III; an OXE that only offers
  Phase II answers the AARQ with a refusal, which the connector reports as such.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .ber import BerCodec
from .dialect import Dialect
from .link import CstaLink
from .message import Codec, CstaDecodeError, CstaEncodeError, CstaMessage, Frame, Framing, Kind

DEFAULT_PORT = 2555
HEADER_BYTES = 2
MAX_PAYLOAD = 0xFFFF
# OmniPCX Office session identification (application -> switch, switch -> application).
SESSION_HELLO = b"B"
SESSION_READY = b"P"
# How often the switch probes an idle link, and after how many misses it gives up.
SYSTEM_STATUS_PERIOD_SECONDS = 30.0
SYSTEM_STATUS_MISSES = 2


class OxeFraming:
    """:class:`~ctibridge.telephony.csta.message.Framing`: 2-byte length + one BER APDU.

    The length counts the payload only. ROSE carries the invoke id inside the
    payload, so frames have no header invoke id.
    """

    name = "oxe"

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        frames: list[Frame] = []
        while len(self._buf) >= HEADER_BYTES:
            length = int.from_bytes(self._buf[:HEADER_BYTES], "big")
            if length == 0:
                bad = bytes(self._buf[:HEADER_BYTES])
                self._buf.clear()
                raise CstaDecodeError("OXE frame header announces an empty APDU", bad)
            if len(self._buf) < HEADER_BYTES + length:
                break
            frames.append(Frame(bytes(self._buf[HEADER_BYTES:HEADER_BYTES + length])))
            del self._buf[:HEADER_BYTES + length]
        return frames

    def frame(self, payload: bytes, invoke_id: int | None = None) -> bytes:
        if not payload:
            raise CstaEncodeError("an OXE frame needs a payload")
        if len(payload) > MAX_PAYLOAD:
            raise CstaEncodeError(
                f"APDU of {len(payload)} bytes does not fit the 2-byte OXE length header")
        return len(payload).to_bytes(HEADER_BYTES, "big") + payload

    @property
    def buffered(self) -> int:
        """Bytes received but not yet a whole frame (a link dropped mid-frame loses them)."""
        return len(self._buf)


def associate_request(versions: tuple[str, ...] = ("versionThree", "versionFive")
                      ) -> CstaMessage:
    """The AARQ that opens an OXE CSTA session (encode it with the BER codec)."""
    return CstaMessage(Kind.INVOKE, "Associate", args={"cSTAVersion": versions})


def associate_accept(version: str = "versionFive") -> CstaMessage:
    """The AARE a switch (our test peer) answers with when it accepts."""
    return CstaMessage(Kind.RESULT, "Associate", args={"cSTAVersion": (version,)})


def release_request() -> CstaMessage:
    return CstaMessage(Kind.INVOKE, "Release")


def release_response() -> CstaMessage:
    return CstaMessage(Kind.RESULT, "Release")


class OxeDialect(Dialect):
    """The OXE dialect of the CSTA connector: ECMA-285 BER, OXE framing, ACSE session.

    Heartbeat: ECMA-269 SystemStatus both ways (the switch polls an idle link every
    30 s; the connector answers, and polls too). Device ids are directory numbers.
    """

    name = "oxe"
    keepalive_interval = SYSTEM_STATUS_PERIOD_SECONDS

    def __init__(self, options: Mapping[str, Any]) -> None:
        super().__init__(options)
        self._codec = BerCodec()

    def codec(self) -> Codec:
        return self._codec

    def framing(self) -> Framing:
        return OxeFraming()

    async def open(self, link: CstaLink) -> None:
        # A refused association raises RequestFailed: the connector reports it.
        await link.request(associate_request())

    async def close(self, link: CstaLink) -> None:
        await link.request(release_request(), timeout=2)

    def attached(self, msg: CstaMessage) -> dict[str, str]:
        """Correlator data and user data, which BER carries as plain octet strings."""
        out: dict[str, str] = {}
        for key, name in (("correlatorData", "correlator"), ("userData", "uui")):
            value = msg.text(key)
            if value:
                out[name] = re.sub(r"\s+", "", value) if name == "correlator" else value
        return out

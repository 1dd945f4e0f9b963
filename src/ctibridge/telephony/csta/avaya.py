"""Avaya Aura AE Services, DMCC XML (ECMA-323 ed3 + Avaya private data) over TCP.

Followed: Avaya "Application Enablement Services Device, Media and Call
Control API XML Programmer's Guide" (02-300358, R6.3), and f-me/dmcc
(``src/DMCC/XML/Raw.hs``, ``Request.hs``, ``Session.hs``) which implements it:

* 8-byte header: u16 version (0), u16 length (header included), 4 ASCII
  digits of invoke id (:class:`~.framing.DmccFraming`); port 4721 (plain) or
  4722 (TLS) on the AES server.
* ECMA-354 ``StartApplicationSession`` with Avaya's ``SessionLoginInfo``
  (user name, password, sessionCleanupDelay) first; the answer's
  ``actualProtocolVersion`` (e.g. ``…/ecma-323/csta/ed3/priv6``) is the XML
  namespace of every later CSTA message; ``ResetApplicationSessionTimer``
  before half the session duration is gone keeps the session.
* Device ids from ``GetThirdPartyDeviceId`` (namespace
  ``http://www.avaya.com/csta``): ``<extension>:<switch name>:<switch IP>:<instance>``,
  e.g. ``2001:CM1:10.0.0.1:0``; the extension is the part before the first colon.
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import register_namespace

from ...model.agent import AgentStatus
from .dialect import Dialect, private_text
from .framing import DmccFraming
from .link import CstaLink
from .message import Codec, CstaMessage, Framing, Kind
from .xml import ED3, XmlCodec

AVAYA_NS = "http://www.avaya.com/csta"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
DEFAULT_PROTOCOL = "http://www.ecma-international.org/standards/ecma-323/csta/ed3/priv6"
# The prefix xsi:type="acx:SessionLoginInfo" names (as f-me/dmcc writes it).
register_namespace("acx", AVAYA_NS)
register_namespace("xsi", XSI)


class AvayaDialect(Dialect):
    name = "avaya"

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__(options)
        self._codec = XmlCodec(ED3, foreign={
            "GetDeviceId": AVAYA_NS, "GetThirdPartyDeviceId": AVAYA_NS,
            "ReleaseDeviceId": AVAYA_NS})
        self.session_id: str | None = None
        self.session_duration = int(options.get("session_duration", 180))
        self.keepalive_interval = max(1.0, self.session_duration / 2)
        self._ids: dict[str, str] = {}

    def codec(self) -> Codec:
        return self._codec

    def framing(self) -> Framing:
        return DmccFraming()

    async def open(self, link: CstaLink) -> None:
        self._ids.clear()
        login = {
            f"{{{AVAYA_NS}}}SessionLoginInfo": {
                f"@{{{XSI}}}type": "acx:SessionLoginInfo",
                f"{{{AVAYA_NS}}}userName": str(self.options.get("username", "")),
                f"{{{AVAYA_NS}}}password": str(self.options.get("password", "")),
                f"{{{AVAYA_NS}}}sessionCleanupDelay": str(self.options.get("cleanup_delay", 60)),
            }}
        answer = await link.request(CstaMessage(kind=Kind.INVOKE, name="StartApplicationSession",
                                                args={
            "applicationInfo": {"applicationID": str(self.options.get("application", "ctibridge")),
                                "applicationSpecificInfo": login},
            "requestedProtocolVersions": {
                "protocolVersion": str(self.options.get("protocol", DEFAULT_PROTOCOL))},
            "requestedSessionDuration": str(self.session_duration),
        }))
        self.session_id = answer.text("sessionID")
        duration = answer.text("actualSessionDuration")
        if duration and duration.isdigit() and int(duration) > 0:
            self.session_duration = int(duration)
            self.keepalive_interval = max(1.0, self.session_duration / 2)
        protocol = answer.text("actualProtocolVersion")
        if protocol:
            self._codec.namespace = protocol  # every CSTA message now speaks it

    async def keepalive(self, link: CstaLink) -> None:
        await link.request(CstaMessage(kind=Kind.INVOKE, name="ResetApplicationSessionTimer",
                                       args={"sessionID": self.session_id or "",
                                             "requestedSessionDuration":
                                                 str(self.session_duration)}))

    async def close(self, link: CstaLink) -> None:
        if self.session_id is not None:
            await link.request(CstaMessage(kind=Kind.INVOKE, name="StopApplicationSession",
                                           args={"sessionID": self.session_id,
                                                 "sessionEndReason": {
                                                     "definedEndReason": "normal"}}), timeout=2)
            self.session_id = None

    async def device_id(self, link: CstaLink, extension: str) -> str:
        known = self._ids.get(extension)
        if known is not None:
            return known
        answer = await link.request(CstaMessage(kind=Kind.INVOKE, name="GetThirdPartyDeviceId",
                                                args={"switchName": self._switch,
                                                      "extension": extension}))
        device = answer.device_id("device")
        if not device:
            raise ValueError(f"GetThirdPartyDeviceId gave no device for {extension}")
        self._ids[extension] = device
        return device

    async def dial_id(self, link: CstaLink, number: str) -> str:
        # As f-me/dmcc does: the destination is named by a third-party device id too.
        return await self.device_id(link, number)

    @property
    def _switch(self) -> str:
        return str(self.options.get("switch_name", "CM1"))

    def extension(self, device_id: str | None) -> str | None:
        if device_id is None:
            return None
        return device_id.split(":", 1)[0]

    # Agent states: ECMA-323 plus Avaya private data for the not-ready (AUX) reason code
    # (GetAgentStateResponsePrivateData/reasonCode, as f-me/dmcc reads it; the request's
    # SetAgentStatePrivateData/reasonCode by the same naming).
    def reason_private(self, status: AgentStatus, reason: str | None) -> dict[str, str]:
        codes: dict[str, int] = dict(self.options.get("reason_codes") or {})
        if status is not AgentStatus.NOT_READY or reason is None or reason not in codes:
            return {}
        return {f"privateData/private/{{{AVAYA_NS}}}SetAgentStatePrivateData/"
                f"{{{AVAYA_NS}}}reasonCode": str(codes[reason])}

    def agent_status(self, result: CstaMessage) -> tuple[AgentStatus, str | None]:
        status, reason = super().agent_status(result)
        code = private_text(result, "reasonCode")
        if status is AgentStatus.NOT_READY and code and code != "0":
            names = {str(v): k for k, v in dict(self.options.get("reason_codes") or {}).items()}
            reason = names.get(code, f"aux-{code}")
        return status, reason

    def attached(self, msg: CstaMessage) -> dict[str, str]:
        """Avaya's call data: the UCID and the VDN that distributed the call."""
        out = super().attached(msg)
        ucid = private_text(msg, "globallyUniqueCallLinkageID")
        vdn = private_text(msg, "distributingVDN")
        if ucid:
            out["ucid"] = ucid
        if vdn:
            out["vdn"] = self.extension(vdn) or vdn
        return out

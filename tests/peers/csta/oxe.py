"""The CSTA peer as an Alcatel-Lucent OmniPCX Enterprise: ECMA-285 BER, 2-byte framing,
and the ACSE association the Alcatel documentation requires before any CSTA service
(docs/connectors/csta-oxe.md): AARQ answered by AARE (accepted, or refused when
``refuse_association`` is set), RLRQ by RLRE; any CSTA request before the association
is refused.

:class:`OxeSwitch` names devices as the Alcatel documentation describes ("Device
identifier"): a station is its directory number while idle (MonitorStart, MakeCall,
the subject devices of events), but inside a connection identifier it is a 4-byte
*dynamic* identifier, which requests on a call must use (tests check what was sent)."""

from __future__ import annotations

from typing import Any

from ctibridge.telephony.csta.ber import BerCodec
from ctibridge.telephony.csta.message import ConnectionId, CstaError, CstaMessage, Kind
from ctibridge.telephony.csta.oxe import OxeFraming, associate_accept, release_response

from .server import CstaPeer, PeerSession
from .switch import Call, Switch

ASSOCIATED = "acse"


def dynamic_id(extension: str) -> str:
    """A station's 4-byte dynamic identifier, as the BER codec writes binary ids."""
    return f"0x{0x01000000 + int(extension):08x}"


class OxeSwitch(Switch):
    def __init__(self, stations: dict[str, str], **kw: Any) -> None:
        super().__init__(stations, **kw)
        self.by_id.update({dynamic_id(e): e for e in self.stations})

    def cid(self, call: Call, ext: str) -> ConnectionId:
        if ext not in self.stations:  # a network party keeps its number
            return super().cid(call, ext)
        return ConnectionId(call.call_id, dynamic_id(ext))
  # PeerSession.session_id once the association is accepted


class OxePeer(CstaPeer):
    def __init__(self, switch: Switch, **kw: Any) -> None:
        super().__init__(switch, BerCodec(), OxeFraming, dialect="oxe", **kw)
        self.refuse_association = False
        self.associations = 0

    def _answer(self, s: PeerSession, msg: CstaMessage) -> CstaMessage:
        if msg.name == "Associate":
            if self.refuse_association:
                return CstaMessage(Kind.ERROR, "Associate", args={"cSTAVersion": ()},
                                   error=CstaError("association",
                                                   "rejected-permanent:acse-service-user:1"))
            s.session_id = ASSOCIATED
            self.associations += 1
            return associate_accept()
        if msg.name == "Release":
            s.session_id = None
            return release_response()
        if s.session_id != ASSOCIATED:
            return CstaMessage(Kind.ERROR, msg.name, error=CstaError("operation", "generic"))
        return super()._answer(s, msg)

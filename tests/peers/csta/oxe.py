"""The CSTA peer as an Alcatel-Lucent OmniPCX Enterprise: ECMA-285 BER, 2-byte framing,
and the ACSE association the Alcatel documentation requires before any CSTA service
(docs/connectors/csta-oxe.md): AARQ answered by AARE (accepted, or refused when
``refuse_association`` is set), RLRQ by RLRE; any CSTA request before the association
is refused."""

from __future__ import annotations

from typing import Any

from ctibridge.telephony.csta.ber import BerCodec
from ctibridge.telephony.csta.message import CstaError, CstaMessage, Kind
from ctibridge.telephony.csta.oxe import OxeFraming, associate_accept, release_response

from .server import CstaPeer, PeerSession
from .switch import Switch

ASSOCIATED = "acse"  # PeerSession.session_id once the association is accepted


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

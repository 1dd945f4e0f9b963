"""What the Avaya dialect writes, against the DMCC XML that f-me/dmcc sends to real AES
(src/DMCC/XML/Request.hs): session login, third-party device ids, namespaces."""

from __future__ import annotations

import asyncio
from xml.etree.ElementTree import fromstring

from ctibridge.telephony.csta.avaya import AVAYA_NS, XSI, AvayaDialect
from ctibridge.telephony.csta.message import CstaMessage, Device, Kind

APPL = "{http://www.ecma-international.org/standards/ecma-354/appl_session}"
ACX = "{" + AVAYA_NS + "}"


class Recorder:
    """Stands in for the link: keeps what the dialect would send, answers as an AES."""

    def __init__(self, dialect: AvayaDialect) -> None:
        self.dialect = dialect
        self.sent: list[bytes] = []

    async def request(self, msg: CstaMessage, *, timeout: float | None = None) -> CstaMessage:
        self.sent.append(self.dialect.codec().encode(msg))
        if msg.name == "StartApplicationSession":
            return CstaMessage(kind=Kind.RESULT, name=msg.name, args={
                "sessionID": "7D51D2C5", "actualSessionDuration": "60",
                "actualProtocolVersion":
                    "http://www.ecma-international.org/standards/ecma-323/csta/ed3/priv7"})
        return CstaMessage(kind=Kind.RESULT, name=msg.name,
                           args={"device": Device.of("2001:CM1:10.0.0.1:0")})


def test_session_login_and_device_ids_look_like_dmcc() -> None:
    dialect = AvayaDialect({"username": "ctib", "password": "s3cret", "switch_name": "CM1"})
    link = Recorder(dialect)

    async def go() -> str:
        await dialect.open(link)  # type: ignore[arg-type]
        return await dialect.device_id(link, "2001")  # type: ignore[arg-type]

    assert asyncio.run(go()) == "2001:CM1:10.0.0.1:0"
    start = fromstring(link.sent[0])
    assert start.tag == APPL + "StartApplicationSession"
    login = start.find(f"{APPL}applicationInfo/{APPL}applicationSpecificInfo/"
                       f"{ACX}SessionLoginInfo")
    assert login is not None and login.get(f"{{{XSI}}}type") == "acx:SessionLoginInfo"
    assert login.findtext(f"{ACX}userName") == "ctib"
    assert login.findtext(f"{ACX}password") == "s3cret"
    assert start.findtext(f"{APPL}requestedProtocolVersions/{APPL}protocolVersion", "") \
        .endswith("/ecma-323/csta/ed3/priv6")
    # The granted protocol is the namespace of what follows; device ids ask Avaya's namespace.
    get_id = fromstring(link.sent[1])
    assert get_id.tag == ACX + "GetThirdPartyDeviceId"
    assert (get_id.findtext(ACX + "switchName"), get_id.findtext(ACX + "extension")) == (
        "CM1", "2001")
    monitor = fromstring(dialect.codec().encode(CstaMessage(
        kind=Kind.INVOKE, name="MonitorStart",
        args={"monitorObject": Device.of("2001:CM1:10.0.0.1:0")})))
    ns = "{http://www.ecma-international.org/standards/ecma-323/csta/ed3/priv7}"
    assert monitor.findtext(f"{ns}monitorObject/{ns}deviceObject") == "2001:CM1:10.0.0.1:0"
    assert dialect.keepalive_interval == 30  # half the 60 s granted

"""The CSTA peer on TCP: one :class:`Switch`, any codec, any framing, a vendor's session rules.

Dialects (what the switch side requires of a client):

* ``dmcc`` (Avaya AE Services): nothing but ``StartApplicationSession``
  (ECMA-354, with Avaya's ``SessionLoginInfo`` user name and password) is
  accepted before a session exists; the session answers with
  ``actualProtocolVersion`` (the namespace the client then speaks) and a
  duration; ``ResetApplicationSessionTimer`` keeps it; ``GetDeviceId`` /
  ``GetThirdPartyDeviceId`` (namespace ``http://www.avaya.com/csta``) turn an
  extension into a device id ``<ext>:<switch>:<ip>:0``. As in f-me/dmcc
  (``src/DMCC/XML/Request.hs``) and Avaya's DMCC XML Programmer's Guide.
* ``openscape``: no session; CSTA services straight away (SystemRegister optional).
* ``oxe``: as ``openscape`` (the BER codec and OXE framing plug in from h15b's modules).

Every unsolicited message (event, switch-initiated SystemStatus) goes out with
invoke id 9999 in the header, as the OpenScape captures show.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from ctibridge.telephony.csta.message import (
    Codec,
    CstaDecodeError,
    CstaError,
    CstaMessage,
    Device,
    Framing,
    Kind,
)

from .switch import Switch

EVENT_INVOKE_ID = 9999
DMCC_PROTOCOL = "http://www.ecma-international.org/standards/ecma-323/csta/ed3/priv6"


@dataclass
class PeerSession:
    writer: asyncio.StreamWriter
    framing: Framing
    session_id: str | None = None
    received: list[CstaMessage] = field(default_factory=list)


class CstaPeer:
    def __init__(self, switch: Switch, codec: Codec, framing: Callable[[], Framing], *,
                 dialect: str = "openscape", user: str = "ctib", password: str = "secret",
                 switch_name: str = "CM1", switch_ip: str = "10.0.0.1",
                 session_duration: int = 180) -> None:
        self.switch = switch
        self.codec = codec
        self.framing = framing
        self.dialect = dialect
        self.user, self.password = user, password
        self.switch_name, self.switch_ip = switch_name, switch_ip
        self.session_duration = session_duration
        self.sessions: list[PeerSession] = []
        self.timer_resets = 0
        self.undecodable = 0
        self.requests: list[str] = []  # every request received, session services included
        self.raw_requests: list[bytes] = []  # their payloads, as the client wrote them
        self.reason_codes: dict[str, str] = {}  # dmcc: station -> AUX reason code
        self.refuse_logins = False
        self.deaf = False  # a hung switch: reads requests, answers none
        self.answer_first = False  # acknowledgement before the service's events
        self._held: list[tuple[PeerSession, CstaMessage]] | None = None
        self.on_sent: Callable[[CstaMessage], None] | None = None  # after each write (bench)
        self._server: asyncio.AbstractServer | None = None
        self._sessions = itertools.count(9968951)
        self._ids = itertools.count(1)
        self.port = 0
        self._handlers: set[asyncio.Task[object]] = set()
        switch.sink = self._event

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        await self.drop_links()
        if self._handlers:  # let each connection's handler see its socket closed
            await asyncio.wait(set(self._handlers), timeout=2)
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def drop_links(self) -> None:
        """Cut every client link at once (a network outage, a switch restart)."""
        for s in list(self.sessions):
            s.writer.transport.abort()
        self.sessions.clear()

    def send_system_status(self, status: str) -> None:
        """The switch tells every client its state (ECMA-269 SystemStatus)."""
        for s in list(self.sessions):
            self._send(s, CstaMessage(kind=Kind.INVOKE, name="SystemStatus",
                                      args={"systemStatus": status}), next(self._ids))

    def send_raw(self, payload: bytes) -> None:
        """A framed payload as is (to show what a client does with garbage)."""
        for s in list(self.sessions):
            s.writer.write(s.framing.frame(payload, EVENT_INVOKE_ID))

    # ------------------------------------------------------------ wire

    def _send(self, s: PeerSession, msg: CstaMessage, invoke_id: int) -> None:
        if s.writer.is_closing():
            return
        payload = self.codec.encode(replace(msg, invoke_id=invoke_id))
        s.writer.write(s.framing.frame(payload, invoke_id))
        if self.on_sent is not None:
            self.on_sent(msg)

    def _event(self, session: object, msg: CstaMessage) -> None:
        if isinstance(session, PeerSession):
            if self._held is not None:
                self._held.append((session, msg))
            else:
                self._send(session, msg, EVENT_INVOKE_ID)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        s = PeerSession(writer, self.framing())
        self.sessions.append(s)
        me = asyncio.current_task()
        if me is not None:
            self._handlers.add(me)
            me.add_done_callback(self._handlers.discard)
        try:
            while data := await reader.read(65536):
                try:
                    frames = s.framing.feed(data)
                except CstaDecodeError:
                    break  # lost framing: the switch drops the link
                for frame in frames:
                    try:
                        msg = self.codec.decode(frame.payload)
                    except CstaDecodeError:
                        self.undecodable += 1
                        self._send(s, CstaMessage(kind=Kind.ERROR, name="", error=CstaError(
                            "operation", "generic")), frame.invoke_id or 0)
                        continue
                    invoke_id = frame.invoke_id if frame.invoke_id is not None \
                        else (msg.invoke_id or 0)
                    s.received.append(msg)
                    if msg.kind is Kind.INVOKE:
                        self.requests.append(msg.name)
                        self.raw_requests.append(frame.payload)
                    if msg.kind is Kind.INVOKE and not self.deaf:
                        # ECMA-269 leaves the order of a service's acknowledgement and its
                        # events open: by default the events go first (as they happen),
                        # with answer_first the acknowledgement does.
                        self._held = [] if self.answer_first else None
                        try:
                            answer = self._answer(s, msg)
                        finally:
                            held, self._held = self._held or [], None
                        self._send(s, answer, invoke_id)
                        for session, event in held:
                            self._send(session, event, EVENT_INVOKE_ID)
        except (ConnectionError, OSError):
            pass
        finally:
            self.switch.forget(s)
            if s in self.sessions:
                self.sessions.remove(s)
            writer.close()

    def _answer(self, s: PeerSession, msg: CstaMessage) -> CstaMessage:
        if self.dialect == "dmcc":
            session = self._dmcc(s, msg)
            if session is not None:
                return session
        result = self.switch.invoke(s, msg)
        if result.kind is Kind.RESULT and "monitorCrossRefID" in result.args:
            args = dict(result.args)
            return replace(result, cross_ref=str(args.pop("monitorCrossRefID")), args=args)
        return result

    def _dmcc(self, s: PeerSession, msg: CstaMessage) -> CstaMessage | None:
        def ok(**args: str | Device) -> CstaMessage:
            return CstaMessage(kind=Kind.RESULT, name=msg.name, args=args)

        if msg.name == "StartApplicationSession":
            login = msg.mapping("applicationInfo").get("applicationSpecificInfo", {})
            info = login.get("SessionLoginInfo", {}) if isinstance(login, dict) else {}
            if (self.refuse_logins or not isinstance(info, dict)
                    or info.get("userName") != self.user
                    or info.get("password") != self.password):
                return CstaMessage(kind=Kind.ERROR, name=msg.name,
                                   error=CstaError("errorCode", "invalidApplicationInfo"))
            s.session_id = str(next(self._sessions))
            return ok(sessionID=s.session_id, actualProtocolVersion=DMCC_PROTOCOL,
                      actualSessionDuration=str(self.session_duration))
        if s.session_id is None:  # nothing works before the application session
            return CstaMessage(kind=Kind.ERROR, name=msg.name,
                               error=CstaError("operation", "generic"))
        if msg.name == "ResetApplicationSessionTimer":
            if msg.text("sessionID") != s.session_id:
                return CstaMessage(kind=Kind.ERROR, name=msg.name,
                                   error=CstaError("errorCode", "invalidSessionID"))
            self.timer_resets += 1
            return ok(actualSessionDuration=str(self.session_duration))
        if msg.name == "StopApplicationSession":
            s.session_id = None
            return ok()
        if msg.name == "SetAgentState":
            # Avaya's AUX reason code rides in private data (SetAgentStatePrivateData).
            code = next((v for k, v in msg.private.items() if k.endswith("/reasonCode")), None)
            answer = self.switch.invoke(s, msg)
            if answer.kind is Kind.RESULT:
                ext = self.switch.ext(msg.device_id("device"))
                self.reason_codes[ext] = code or "0"
            return answer
        if msg.name == "GetAgentState":
            answer = self.switch.invoke(s, msg)
            ext = self.switch.ext(msg.device_id("device"))
            if answer.kind is Kind.RESULT and self.switch.agent_state.get(ext) == "notReady":
                return replace(answer, private={
                    "privateData/private/GetAgentStateResponsePrivateData/reasonCode":
                        self.reason_codes.get(ext, "0")})
            return answer
        if msg.name in ("GetDeviceId", "GetThirdPartyDeviceId"):
            ext = msg.text("extension") or ""
            if msg.text("switchName") != self.switch_name or not ext:
                return CstaMessage(kind=Kind.ERROR, name=msg.name,
                                   error=CstaError("operation", "invalidDeviceID"))
            return ok(device=Device.of(self.switch.dev(ext)))
        return None


def avaya_device_id(switch_name: str, switch_ip: str) -> Callable[[str], str]:
    """DMCC's device id of a station: ``<extension>:<switch name>:<switch IP>:<instance>``."""
    return lambda ext: f"{ext}:{switch_name}:{switch_ip}:0"

"""A fake Asterisk Manager on a real TCP socket, replaying recorded sessions.

Each accepted connection plays the next :class:`Script` (built from a
transcript in ``shared/fixtures/asterisk``): it sends the recorded server
bytes and, where the recording shows the client sending an action, waits for
the client under test to send the same action (by name), then maps the
recorded ``ActionID`` to the client's in everything it sends afterwards (as
panoramisk's test harness makes action ids deterministic).

Actions the recording did not foresee (the connector's resync, a keep-alive
Ping, agent-state changes...) are answered like a small Asterisk would:
``Success``, empty lists, or the queue members given to the server. Setup
actions of the recording tool (the customer's Originate) are not waited for;
a :class:`asyncio.Event` gate can hold the replay before them so a test can get
ready first. A script can end by cutting the connection, cleanly or in the
middle of a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

from ctibridge.telephony.asterisk.transcript import Received, Sent, read_transcript
from tests.needs import shared_fixtures

FIXTURES = shared_fixtures() / "asterisk"
CRLF = b"\r\n"
SETUP_CONTEXTS = {"caller-sim"}  # what the recording tool originated to simulate customers


def transcript(name: str):  # noqa: ANN201 - tests read the Transcript
    return read_transcript(FIXTURES / name)


@dataclass
class Step:
    kind: str  # send | expect | gate | close
    data: bytes = b""
    sent: Sent | None = None
    gate: asyncio.Event | None = None


@dataclass
class Script:
    steps: list[Step] = field(default_factory=list)
    name: str = ""


@dataclass
class Member:
    queue: str
    interface: str
    name: str
    paused: bool = False
    reason: str = ""


def is_setup(sent: Sent) -> bool:
    m = sent.message
    return (sent.action.lower() == "originate" and (m.get("Context") or "") in SETUP_CONTEXTS) \
        or sent.action.lower() == "bridgelist"


def script_from(
    name: str,
    *,
    gate: asyncio.Event | None = None,
    expect: Callable[[Sent], bool] | None = None,
    cut_after: bytes | None = None,
    cut_mid_message: bool = False,
    extra_after_login: bytes = b"",
) -> Script:
    """A script replaying ``name``.

    ``expect(sent)`` says which recorded actions to wait for from the client
    (default: all but the recording tool's setup). ``gate`` holds the replay
    before the first setup action. ``cut_after`` ends the session just after
    the message containing those bytes (``cut_mid_message``: half-way through
    the next one). ``extra_after_login`` is sent right after the login answer.
    """
    t = transcript(name)
    wanted = expect or (lambda s: not is_setup(s))
    steps: list[Step] = []
    gated = False
    after_login = False
    for part in t.parts:
        if isinstance(part, Sent):
            if wanted(part):
                steps.append(Step("expect", sent=part))
                after_login = part.action.lower() == "login"
            else:
                if gate is not None and not gated:
                    steps.append(Step("gate", gate=gate))
                    gated = True
            continue
        assert isinstance(part, Received)
        data = part.data
        if after_login and extra_after_login:
            end = data.find(CRLF * 2)
            if end >= 0:
                data = data[: end + 4] + extra_after_login + data[end + 4:]
            after_login = False
        if cut_after is not None and cut_after in data:
            at = data.index(cut_after)
            end = data.index(CRLF * 2, at) + 4
            if cut_mid_message:
                nxt = data.find(CRLF * 2, end)
                end = end + max(1, (nxt - end) // 2) if nxt > end else end
            steps.append(Step("send", data[:end]))
            steps.append(Step("close"))
            return Script(steps, name)
        steps.append(Step("send", data))
    steps.append(Step("close"))
    return Script(steps, name)


def login_script(*, events: bytes = b"", banner: bytes = b"Asterisk Call Manager/11.0.0\r\n",
                 then_close: bool = False, gate: asyncio.Event | None = None) -> Script:
    """A minimal session: banner, Login accepted, FullyBooted, then (after
    ``gate``, if given) ``events``."""
    steps = [
        Step("send", banner),
        Step("expect", sent=Sent(_msg(("Action", "Login"), ("ActionID", "login")), b"")),
        Step("send", b"Response: Success\r\nActionID: login\r\nMessage: Authentication accepted"
                     b"\r\n\r\nEvent: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted"
                     b"\r\n\r\n"),
    ]
    if gate is not None:
        steps.append(Step("gate", gate=gate))
    if events:
        steps.append(Step("send", events))
    if then_close:
        steps.append(Step("close"))
    else:
        logoff = Sent(_msg(("Action", "Logoff"), ("ActionID", "logoff")), b"")
        steps.append(Step("expect", sent=logoff))
        steps.append(Step("send", b"Response: Goodbye\r\nActionID: logoff\r\n"
                                  b"Message: Thanks for all the fish.\r\n\r\n"))
        steps.append(Step("close"))
    return Script(steps, "login")


def _msg(*pairs: tuple[str, str]):  # noqa: ANN202
    from ctibridge.telephony.asterisk.ami import Message

    return Message(tuple(pairs))


def parse_action(block: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in block.split(CRLF):
        k, sep, v = line.decode("utf-8", "replace").partition(":")
        if sep:
            out.setdefault(k.strip().lower(), v[1:] if v.startswith(" ") else v)
    return out


class FakeAmi:
    def __init__(self, scripts: list[Script], *, secret: str = "ctibridge-secret",
                 members: list[Member] | None = None, fail: dict[str, str] | None = None,
                 ssl_context: ssl.SSLContext | None = None, mute: set[str] | None = None) -> None:
        self.scripts = list(scripts)
        self.mute = {m.lower() for m in (mute or set())}  # actions never answered
        self.fail = {k.lower(): v for k, v in (fail or {}).items()}  # action -> error text
        self.ssl_context = ssl_context
        self.secret = secret
        # Copied: the server changes membership as actions arrive (QueueAdd...).
        self.members = [dataclasses.replace(m) for m in members or []]
        self.received: list[dict[str, str]] = []
        self.raw: list[bytes] = []  # every action as received, repeated headers included
        self.connections = 0
        self.closed = asyncio.Event()
        self.finished: list[str] = []
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[None]] = set()
        self.port = 0

    async def __aenter__(self) -> FakeAmi:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0,
                                                  ssl=self.ssl_context)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for t in list(self._sessions):
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        with contextlib.suppress(Exception):
            await self._server.wait_closed()

    def actions(self, name: str) -> list[dict[str, str]]:
        return [a for a in self.received if a.get("action", "").lower() == name.lower()]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        script = self.scripts.pop(0) if self.scripts else Script([Step("close")], "refuse")
        try:
            await Session(self, script, reader, writer).run()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.finished.append(script.name)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            self._sessions.discard(task)
            self.closed.set()


class Session:
    def __init__(self, server: FakeAmi, script: Script, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.server, self.script = server, script
        self.reader, self.writer = reader, writer
        self.actions: asyncio.Queue[dict[str, str] | None] = asyncio.Queue()
        self.ids: dict[bytes, bytes] = {}
        self.challenge = "116028540"

    async def run(self) -> None:
        reading = asyncio.create_task(self._read())
        try:
            for step in self.script.steps:
                if step.kind == "send":
                    self.writer.write(self._subst(step.data))
                    await self.writer.drain()
                elif step.kind == "close":
                    return
                elif step.kind == "gate":
                    assert step.gate is not None
                    await self._serve_until(step.gate)
                elif step.kind == "expect":
                    assert step.sent is not None
                    if not await self._expect(step.sent):
                        return
        finally:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reading

    def _subst(self, data: bytes) -> bytes:
        for old, new in self.ids.items():
            data = data.replace(b"ActionID: " + old + CRLF, b"ActionID: " + new + CRLF)
        return data

    async def _read(self) -> None:
        buf = b""
        while True:
            chunk = await self.reader.read(4096)
            if not chunk:
                await self.actions.put(None)
                return
            buf += chunk
            while CRLF * 2 in buf:
                block, buf = buf.split(CRLF * 2, 1)
                action = parse_action(block)
                self.server.raw.append(block)
                self.server.received.append(action)
                await self.actions.put(action)

    async def _expect(self, sent: Sent) -> bool:
        want = sent.action.lower()
        while True:
            action = await self.actions.get()
            if action is None:
                return False
            if action.get("action", "").lower() in self.server.fail:
                await self._default(action)
                continue
            if action.get("action", "").lower() == want:
                recorded = (sent.message.get("ActionID") or "").encode()
                mine = action.get("actionid", "").encode()
                if recorded and mine:
                    self.ids[recorded] = mine
                if want == "challenge":
                    # Keep the recorded challenge: the recorded Key matches it.
                    self.challenge = "116028540"
                return True
            await self._default(action)

    async def _serve_until(self, gate: asyncio.Event) -> None:
        waiter = asyncio.create_task(gate.wait())
        try:
            while not gate.is_set():
                getter = asyncio.create_task(self.actions.get())
                done, _ = await asyncio.wait({waiter, getter},
                                             return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    action = getter.result()
                    if action is None:
                        return
                    await self._default(action)
                else:
                    getter.cancel()
        finally:
            waiter.cancel()

    def _membership(self, action: dict[str, str]) -> bytes:
        """Queue membership as the recorded Asterisk 11 answers it (replies and events)."""
        name = action["action"].lower()
        queue, iface = action.get("queue", ""), action.get("interface", "")
        known = {m.queue for m in self.server.members} | {"support"}
        member = next((m for m in self.server.members
                       if m.queue == queue and m.interface == iface), None)
        if name == "queueadd":
            if queue not in known:
                return self._reply(action, "Response: Error",
                                   "Message: Unable to add interface to queue: No such queue")
            if member is not None:
                return self._reply(action, "Response: Error",
                                   "Message: Unable to add interface: Already there")
            paused = action.get("paused", "false").lower() in ("1", "true", "yes")
            member = Member(queue, iface, action.get("membername") or iface, paused,
                            action.get("reason", "") if paused else "")
            self.server.members.append(member)
            return (self._reply(action, "Response: Success",
                                "Message: Added interface to queue")
                    + self._member_event("QueueMemberAdded", member))
        if member is None:
            text = ("Unable to remove interface: Not there" if name == "queueremove"
                    else "Interface not found")
            return self._reply(action, "Response: Error", f"Message: {text}")
        if name == "queueremove":
            self.server.members.remove(member)
            return (self._reply(action, "Response: Success",
                                "Message: Removed interface from queue")
                    + self._member_event("QueueMemberRemoved", member))
        member.paused = action.get("paused", "false").lower() in ("1", "true", "yes")
        member.reason = action.get("reason", "") if member.paused else ""
        return (self._reply(action, "Response: Success",
                            f"Message: Interface {'paused' if member.paused else 'unpaused'} "
                            "successfully")
                + self._member_event("QueueMemberPause", member))

    @staticmethod
    def _member_event(event: str, m: Member) -> bytes:
        return (f"Event: {event}\r\nPrivilege: agent,all\r\nQueue: {m.queue}\r\n"
                f"MemberName: {m.name}\r\nInterface: {m.interface}\r\n"
                f"StateInterface: {m.interface}\r\nMembership: dynamic\r\nPenalty: 0\r\n"
                f"CallsTaken: 0\r\nLastCall: 0\r\nLastPause: 0\r\nLoginTime: 0\r\n"
                f"InCall: 0\r\nStatus: 1\r\nPaused: {int(m.paused)}\r\n"
                f"PausedReason: {m.reason}\r\nRinginuse: 0\r\nWrapuptime: 0\r\n\r\n"
                ).encode()

    def _reply(self, action: dict[str, str], *lines: str) -> bytes:
        aid = action.get("actionid")
        head = [lines[0]] + ([f"ActionID: {aid}"] if aid else []) + list(lines[1:])
        return ("\r\n".join(head) + "\r\n\r\n").encode()

    async def _default(self, action: dict[str, str]) -> None:
        name = action.get("action", "").lower()
        aid = action.get("actionid", "")
        out = b""
        if name in self.server.mute:
            return
        if name in self.server.fail:
            out = self._reply(action, "Response: Error", f"Message: {self.server.fail[name]}")
        elif name == "login":
            key_ok = action.get("secret") == self.server.secret or action.get("key") == \
                hashlib.md5((self.challenge + self.server.secret).encode()).hexdigest()
            if not key_ok:
                self.writer.write(self._reply(action, "Response: Error",
                                              "Message: Authentication failed"))
                await self.writer.drain()
                self.writer.close()
                return
            out = self._reply(action, "Response: Success", "Message: Authentication accepted")
            out += b"Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n"
        elif name == "ping":
            out = self._reply(action, "Response: Success", "Ping: Pong", "Timestamp: 0.0")
        elif name in ("coreshowchannels", "status", "bridgelist"):
            done = {"coreshowchannels": "CoreShowChannelsComplete", "status": "StatusComplete",
                    "bridgelist": "BridgeListComplete"}[name]
            out = self._reply(action, "Response: Success", "EventList: start",
                              "Message: will follow")
            out += (f"Event: {done}\r\nActionID: {aid}\r\nEventList: Complete\r\n"
                    "ListItems: 0\r\n\r\n").encode()
        elif name == "queuestatus":
            out = self._reply(action, "Response: Success", "EventList: start",
                              "Message: Queue status will follow")
            for m in self.server.members:
                out += (f"Event: QueueMember\r\nQueue: {m.queue}\r\nName: {m.name}\r\n"
                        f"Location: {m.interface}\r\nStateInterface: {m.interface}\r\n"
                        f"Membership: dynamic\r\nPenalty: 0\r\nCallsTaken: 0\r\nLastCall: 0\r\n"
                        f"InCall: 0\r\nStatus: 1\r\nPaused: {int(m.paused)}\r\n"
                        f"PausedReason: {m.reason}\r\nActionID: {aid}\r\n\r\n").encode()
            out += (f"Event: QueueStatusComplete\r\nActionID: {aid}\r\nEventList: Complete\r\n"
                    f"ListItems: {len(self.server.members)}\r\n\r\n").encode()
        elif name in ("queueadd", "queueremove", "queuepause"):
            out = self._membership(action)
        elif name == "logoff":
            self.writer.write(self._reply(action, "Response: Goodbye",
                                          "Message: Thanks for all the fish."))
            await self.writer.drain()
            self.writer.close()
            return
        else:
            out = self._reply(action, "Response: Success", f"Message: {name} done")
        self.writer.write(out)
        await self.writer.drain()

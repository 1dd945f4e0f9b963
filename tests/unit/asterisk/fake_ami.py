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

The server can also **restart** like Asterisk (``core restart now``): it sends
``Event: Shutdown``, closes every session and stops listening; it forgets its
dynamic queue members unless ``persistent_members`` (queues.conf
``persistentmembers = yes``); started again on the same port with a new start
time (``CoreStatus``), it accepts logins while still "loading modules": no
``FullyBooted`` and app_queue's actions unknown (``Invalid/unknown command``)
until :meth:`FakeAmi.boot` (manager.c sends FullyBooted after the login only
once Asterisk is fully booted, else when booting ends).
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
# app_queue's actions: unknown to Asterisk until its modules are loaded.
QUEUE_ACTIONS = {"queuestatus", "queueadd", "queueremove", "queuepause", "queuesummary"}


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
    lost: set[str] | None = None,
) -> Script:
    """A script replaying ``name``.

    ``expect(sent)`` says which recorded actions to wait for from the client
    (default: all but the recording tool's setup). ``gate`` holds the replay
    before the first setup action. ``cut_after`` ends the session just after
    the message containing those bytes (``cut_mid_message``: half-way through
    the next one). ``extra_after_login`` is sent right after the login answer.
    ``lost`` names events that never reach the client (dropped from the bytes).
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
        data = without_events(part.data, lost) if lost else part.data
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


def served_script() -> Script:
    """Banner, then every action answered like Asterisk does (Login checked)."""
    return Script([Step("send", b"Asterisk Call Manager/11.0.0\r\n"),
                   Step("gate", gate=asyncio.Event())], "served")


def without_events(data: bytes, names: set[str]) -> bytes:
    """``data`` without the messages of those events (as if they were lost)."""
    kept = [block for block in data.split(CRLF * 2)
            if not any(block.lstrip(CRLF).startswith(b"Event: " + n.encode() + CRLF)
                       for n in names)]
    return (CRLF * 2).join(kept)


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
        self.done_sending = asyncio.Event()  # a script sent all it had before its Logoff
        self.finished: list[str] = []
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[None]] = set()
        self.port = 0
        self.startup = ("2026-11-25", "02:04:49")  # CoreStatus CoreStartupDate/Time
        self.started_at = 1795572289  # epoch of that start (FullyBooted Uptime)
        self.booted = True
        self.persistent_members = False
        self.cut_once: set[str] = set()  # actions that make it drop the connection, once
        self._writers: dict[asyncio.StreamWriter, bool] = {}  # session -> logged in

    async def __aenter__(self) -> FakeAmi:
        await self.start()
        return self

    async def start(self) -> None:
        """Listen (again, on the same port after a restart)."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port,
                                                  ssl=self.ssl_context)
        self.port = self._server.sockets[0].getsockname()[1]

    async def restart(self, *, persistent_members: bool | None = None) -> None:
        """``core restart now``: Shutdown event, sessions closed, no listener; memory
        lost but for persistent members. :meth:`start` brings it back, booting."""
        if persistent_members is not None:
            self.persistent_members = persistent_members
        for writer in list(self._writers):
            writer.write(b"Event: Shutdown\r\nPrivilege: system,all\r\n"
                         b"Shutdown: Cleanly\r\nRestart: True\r\n\r\n")
            with contextlib.suppress(ConnectionError):
                await writer.drain()
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()  # the sessions see the end of their socket and finish
        if self._sessions:
            await asyncio.wait(set(self._sessions), timeout=5)
        with contextlib.suppress(Exception):
            await self._server.wait_closed()
        if not self.persistent_members:
            self.members = []
        self.started_at += 120
        self.startup = ("2026-11-25", "02:06:49")
        self.booted = False

    async def boot(self) -> None:
        """Modules loaded: FullyBooted to every logged-in session (asterisk.c)."""
        self.booted = True
        for writer, logged_in in list(self._writers.items()):
            if logged_in:
                writer.write(b"Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 9\r\n"
                             b"LastReload: 9\r\nStatus: Fully Booted\r\n\r\n")
                with contextlib.suppress(ConnectionError):
                    await writer.drain()

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
        self._writers[writer] = False
        try:
            await Session(self, script, reader, writer).run()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.pop(writer, None)
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
                    if step.sent.action.lower() == "logoff":
                        self.server.done_sending.set()
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
        if name in self.server.cut_once:
            self.server.cut_once.discard(name)
            self.writer.close()
            return
        if not self.server.booted and name in QUEUE_ACTIONS:
            # app_queue is not loaded yet: manager.c's answer to an unknown action.
            out = self._reply(action, "Response: Error",
                              f"Message: Invalid/unknown command: {action.get('action')}. "
                              "Use Action: ListCommands to show available commands.")
        elif name in self.server.fail:
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
            self.server._writers[self.writer] = True
            if self.server.booted:
                out += (b"Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 7\r\n"
                        b"LastReload: 7\r\nStatus: Fully Booted\r\n\r\n")
        elif name == "corestatus":  # as recorded in 01-login-banner.ami
            date, time = self.server.startup
            out = self._reply(action, "Response: Success", f"CoreStartupDate: {date}",
                              f"CoreStartupTime: {time}", f"CoreReloadDate: {date}",
                              f"CoreReloadTime: {time}", "CoreCurrentCalls: 0",
                              "CoreProcessedCalls: 0")
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

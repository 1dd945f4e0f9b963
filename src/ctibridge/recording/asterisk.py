"""Asterisk AMI in the transcript format: framing, recording, replay.

* :class:`AmiFraming` tells the transcript writer where AMI messages end and
  masks ``Secret:``/``Key:`` in what the client sent.
* :func:`record_ami` logs in on its own AMI session (``Events: on``), asks the
  same snapshot the connector asks after connecting (``CoreShowChannels``,
  ``QueueStatus``, ``Status AllVariables``) so that a replay can start in the
  middle of calls, and records until stopped.
* :class:`AmiReplay` feeds a transcript to the connector's normalizer the way
  the connector does (list items are not events; a completed snapshot is a
  resync; an ``Originate``/``Atxfer`` the connector sent tells the normalizer
  what it started) and notes the transcript line of every normalized event.
* :func:`infer_options` builds connector options from the traffic alone:
  agents from queue members and queue events, queues, contexts, IVR variables.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from ..telephony.asterisk.ami import AmiParser, Banner, Message, ParseError
from ..telephony.asterisk.config import AsteriskOptions
from ..telephony.asterisk.normalizer import Normalizer
from .base import RecordError, Replay, ReplayedEvent, Server, recording_link
from .transcript import CRLF, MASK, RawTranscript, ReceivedBytes, SentBlock

PROTOCOL = "asterisk-ami"
OPTIONS_HEADER = "ctibridge-options"  # "# ctibridge-options: {json}": what to replay with
SNAPSHOT = (("CoreShowChannels", ()), ("QueueStatus", ()), ("Status", (("AllVariables", "true"),)))
_SECRET_KEYS = (b"secret:", b"key:")
_END = re.compile(rb"\n[ \t\r]*\n")


class AmiFraming:
    protocol = PROTOCOL

    def complete(self, buffer: bytes, *, at_start: bool) -> int:
        start = 0
        if at_start:
            nl = buffer.find(b"\n")
            if nl < 0:
                return 0
            first = buffer[:nl]
            if b":" not in first or first.lower().startswith(b"asterisk call manager"):
                start = nl + 1  # the banner: one line, no blank line after it
        end = start
        for m in _END.finditer(buffer, max(0, start - 1)):
            end = m.end()
        return end

    def sent_complete(self, buffer: bytes) -> int:
        end = 0
        for m in _END.finditer(buffer):
            end = m.end()
        return end

    def mask(self, line: bytes) -> bytes:
        low = line.lower()
        for key in _SECRET_KEYS:
            if low.startswith(key):
                return line[:len(key)] + b" " + MASK.encode()
        return line


# ---------------------------------------------------------------- recording


@dataclass
class AmiTarget:
    host: str
    port: int
    username: str
    secret: str
    auth: str = "plain"  # or md5
    ssl_context: ssl.SSLContext | None = None


@dataclass
class RecordStats:
    banner: str = ""
    messages: int = 0
    bytes: int = 0
    closed_by_server: bool = False


def options_header(options: AsteriskOptions) -> str:
    """The connector options a replay needs, without secrets or addresses."""
    keep = options.model_dump(mode="json", include={
        "queues", "agents", "variables", "region", "originate_context", "transfer_context"})
    return f"{OPTIONS_HEADER}: " + json.dumps(keep, separators=(",", ":"), sort_keys=True)


async def record_ami(target: AmiTarget, out: BinaryIO, *, header: list[str],
                     stop: asyncio.Event, snapshot: bool = True, connect_timeout: float = 10.0,
                     on_message: Callable[[Message], None] | None = None) -> RecordStats:
    """Log in, record everything until ``stop`` is set or the server closes."""
    stats = RecordStats()
    server = Server(target.host, target.port, "the AMI",
                    "check host, port and that manager.conf has enabled = yes",
                    ssl_context=target.ssl_context)
    parser = AmiParser(expect_banner=True)
    ids = iter(f"rec-{n:04d}" for n in range(1, 1_000_000))

    def frames(data: bytes) -> Iterator[Message | Banner]:
        for frame in parser.feed(data):
            if isinstance(frame, ParseError):
                continue
            if isinstance(frame, Message):
                stats.messages += 1
                if on_message is not None:
                    on_message(frame)
            yield frame

    async with recording_link(server, out, AmiFraming(), header, stop, frames,
                              connect_timeout=connect_timeout) as (link, reading):

        async def send(*pairs: tuple[str, str]) -> str:
            aid = next(ids)
            block = b"".join(f"{k}: {v}".encode() + CRLF
                             for k, v in (*pairs, ("ActionID", aid)))
            await link.send(block + CRLF)
            return aid

        async def answer(aid: str, timeout: float = 10.0) -> Message:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while True:
                frame = await link.receive(max(0.01, deadline - loop.time()))
                if isinstance(frame, Message) and frame.is_response and frame.action_id == aid:
                    return frame

        first = await asyncio.wait_for(link.inbox.get(), connect_timeout)
        if not isinstance(first, Banner):
            raise RecordError(f"{target.host}:{target.port} is not an AMI server "
                              "(no 'Asterisk Call Manager' banner)")
        stats.banner = first.text
        if target.auth == "md5":
            r = await answer(await send(("Action", "Challenge"), ("AuthType", "MD5")))
            key = hashlib.md5(((r.get("Challenge") or "") + target.secret).encode()).hexdigest()
            login = await send(("Action", "Login"), ("AuthType", "MD5"),
                               ("Username", target.username), ("Key", key), ("Events", "on"))
        else:
            login = await send(("Action", "Login"), ("Username", target.username),
                               ("Secret", target.secret), ("Events", "on"))
        r = await answer(login)
        if r.name.lower() != "success":
            raise RecordError(f"login refused for {target.username!r}: "
                              f"{r.get('Message') or r.name}; check username and secret")
        if snapshot:
            for action, extra in SNAPSHOT:
                await send(("Action", action), *extra)
        await link.record_until_stopped(reading, lambda: send(("Action", "Logoff")))
    stats.bytes, stats.closed_by_server = link.bytes, link.closed_by_server
    return stats


# ------------------------------------------------------------------- replay


@dataclass
class AmiReplay(Replay[AsteriskOptions]):
    """Feed a transcript through the connector's normalizer."""

    def __post_init__(self) -> None:
        self.normalizer = Normalizer(self.options, self.now)
        self._consults = 0

    def run(self) -> list[ReplayedEvent]:
        parser = AmiParser(expect_banner=True)
        lists: dict[str, str] = {}  # ActionID -> action name, for the list actions we saw sent
        sent_actions: dict[str, str] = {}
        items: dict[str, list[Message]] = {}
        snapshot: dict[str, list[Message]] = {}
        line = 0
        for part in self.transcript.parts:
            if isinstance(part, SentBlock):
                msg = _sent_message(part)
                aid = msg.get("ActionID")
                if aid:
                    sent_actions[aid] = msg.get("Action") or ""
                self._command(part.line, msg)
                continue
            assert isinstance(part, ReceivedBytes)
            for offset, raw in enumerate(part.data.split(CRLF)[:-1]):
                line = part.line + offset
                for frame in parser.feed(raw + CRLF):
                    self._frame(line, frame, lists, sent_actions, items, snapshot)
        for frame in parser.feed_eof():
            self._frame(line, frame, lists, sent_actions, items, snapshot)
        return self.events

    def _frame(self, line: int, frame: Any, lists: dict[str, str], sent: dict[str, str],
               items: dict[str, list[Message]], snapshot: dict[str, list[Message]]) -> None:
        if isinstance(frame, Banner):
            self.banner = frame.text
            return
        if isinstance(frame, ParseError):
            self.parse_errors.append((line, str(frame)))
            return
        self.messages += 1
        aid = frame.action_id
        if frame.is_response:
            if aid and (frame.get("EventList") or "").lower() == "start":
                lists[aid] = sent.get(aid, "")
                items[aid] = []
            return
        if aid in lists:
            if (frame.get("EventList") or "").lower() != "complete":
                items[aid].append(frame)
                return
            action = lists.pop(aid).lower()
            got = items.pop(aid, [])
            # The connector's resync: CoreShowChannels, QueueStatus, then Status
            # (asked only when there are channels).
            if action == "coreshowchannels":
                snapshot.clear()
                snapshot["channels"] = got
            elif action == "queuestatus" and "channels" in snapshot:
                snapshot["queue"] = got
                if not snapshot["channels"]:
                    self._resync(line, snapshot)
            elif action == "status" and "queue" in snapshot:
                snapshot["status"] = got
                self._resync(line, snapshot)
            return
        try:
            out = self.normalizer.feed(frame)
        except Exception as exc:  # what the connector logs and skips
            self.parse_errors.append((line, f"normalizer failed on {frame.name}: {exc!r}"))
            return
        self.events.extend(ReplayedEvent(line, ev) for ev in out)

    def _resync(self, line: int, snapshot: dict[str, list[Message]]) -> None:
        ev = self.normalizer.resync(snapshot.get("channels", []), snapshot.get("queue", []),
                                    snapshot.get("status", []))
        snapshot.clear()
        self.resyncs += 1
        self.events.append(ReplayedEvent(line, ev))

    def _command(self, line: int, m: Message) -> None:
        """What the connector tells its normalizer when it sends this action."""
        action = (m.get("Action") or "").lower()
        n = self.normalizer
        if action == "originate":
            # ctibridge tags its originates; another tool's originate from an agent's
            # phone into the click-to-call context is shown as a click-to-call too.
            ref = _variable(m, "CTIBRIDGE_REQUEST") or m.get("ChannelId") or (
                m.get("ActionID") if m.get("Context") == self.options.originate_context
                else None)
            device = self._device_for_dial(m.get("Channel") or "")
            if ref and device and m.get("Exten"):
                self.commands += 1
                # The data the agent attached travels as CTI_<KEY> variables.
                attached = {}
                for v in m.getall("Variable"):
                    k, _, val = v.partition("=")
                    if k.startswith("CTI_") and len(k) > 4:
                        attached[k[4:]] = val
                self.events.append(ReplayedEvent(line, n.expect_originate(
                    ref=ref, device=device, number=m["Exten"], dial=m.get("Channel") or "",
                    action_id=m.get("ActionID") or "", attached=attached)))
        elif action == "atxfer":
            chan = n.by_name.get(m.get("Channel") or "")
            conv = chan.leg.conv if chan is not None else None
            if chan is not None and conv is not None and chan.leg.device and m.get("Exten"):
                self.commands += 1
                self._consults += 1
                self.events.append(ReplayedEvent(line, n.expect_consult(
                    ref=conv.ref, device=chan.leg.device,
                    consult_ref=f"{conv.ref}~x{self._consults}", target=m["Exten"])))

    def _device_for_dial(self, dial: str) -> str | None:
        for ext, a in self.options.agents.items():
            if dial in (a.dial_string, a.interface, *a.aliases):
                return ext
        return None


def _sent_message(block: SentBlock) -> Message:
    pairs = []
    for raw in block.lines:
        k, _, v = raw.decode("utf-8", "replace").partition(":")
        pairs.append((k.strip(), v[1:] if v.startswith(" ") else v))
    return Message(tuple(pairs))


def _variable(m: Message, name: str) -> str | None:
    for v in m.getall("Variable"):
        for one in v.split(","):
            k, _, val = one.partition("=")
            if k.strip() == name:
                return val.strip()
    return None


# ---------------------------------------------------------------- inference

# Variables Asterisk itself (or the lab's simulation) sets: never IVR data.
_INTERNAL = re.compile(
    r"^(SIM_|QUEUE|MEMBER|DIAL|ANSWERED|RINGTIME|PROGRESSTIME|BRIDGE|TRANSFER|ATTENDED|"
    r"BLIND|FORWARD|CDR|SIP|PJSIP|RTP|MOH|HANGUP|SHARED|LOCAL|CHANNEL|CTIBRIDGE|CTI_|"
    r"AGENT|RING|TRIES|ARG|CALLERID|PICKUP|PARK|CONF|MIXMON|ORIGINATE|DYNAMIC|FEATURE|"
    r"ABANDONED|GOSUB|MACRO|STASIS|AMI|AST_|DB_|SPY|VM|SYSTEMSTATUS|TOUCH|LEN|EXTEN|"
    r"SIPDOMAIN|SIPCALLID|RECORDED_FILE|MACHINE|AMD|OUTBOUND|INBOUND|PLAYBACK|READ|"
    r"VALIDATION|GROUP|LIMIT|OPERATOR|DEVICE_STATE|SHELL|TIMEOUT)")
_EXT_SAFE = re.compile(r"[^0-9A-Za-z*#+_-]")


def _extension_of(interface: str) -> str:
    """``Local/6001@agents`` -> 6001, ``PJSIP/alice`` -> alice (safe for AgentConfig)."""
    resource = interface.split("/", 1)[-1].split("@", 1)[0]
    ext = _EXT_SAFE.sub("_", resource)[:32] or "agent"
    return ext


def infer_options(transcript: RawTranscript) -> dict[str, Any]:
    """Connector options from the traffic alone (what a bare bug report allows)."""
    agents: dict[str, dict[str, Any]] = {}
    by_interface: dict[str, str] = {}
    queues: list[str] = []
    variables: list[str] = []
    originate_context: str | None = None
    transfer_context: str | None = None
    pre_join: dict[str, list[tuple[str, str]]] = {}  # Uniqueid -> VarSets before the queue

    def queue(name: str | None) -> None:
        if name and name not in queues:
            queues.append(name)

    def agent(interface: str | None, name: str | None, state: str | None,
              q: str | None) -> None:
        if not interface or "/" not in interface:
            return
        ext = by_interface.get(interface)
        if ext is None:
            ext = _extension_of(interface)
            base, n = ext, 2
            while ext in agents:
                ext = f"{base}-{n}"[:32]
                n += 1
            by_interface[interface] = ext
            agents[ext] = {"interface": interface, "queues": []}
        a = agents[ext]
        if name and name != interface and not a.get("name"):
            a["name"] = name
        if state and state != interface and not a.get("state_interface"):
            a["state_interface"] = state
        if q and q not in a["queues"]:
            a["queues"].append(q)

    parser = AmiParser(expect_banner=True)
    frames: list[Any] = []
    for part in transcript.parts:
        if isinstance(part, SentBlock):
            frames.append(_sent_message(part))
        else:
            frames.extend(parser.feed(part.data))
    frames.extend(parser.feed_eof())
    dials: list[tuple[str, str]] = []  # (dial string, caller id) of originates
    for f in frames:
        if not isinstance(f, Message):
            continue
        kind, name = f.kind, f.name
        if kind == "action":
            act = name.lower()
            if act == "queueadd":
                queue(f.get("Queue"))
                agent(f.get("Interface"), f.get("MemberName"), f.get("StateInterface"),
                      f.get("Queue"))
            elif act == "originate" and _variable(f, "CTIBRIDGE_REQUEST"):
                originate_context = originate_context or f.get("Context")
                dials.append((f.get("Channel") or "", f.get("CallerID") or ""))
            elif act in ("atxfer", "blindtransfer", "redirect") and f.get("Context"):
                transfer_context = transfer_context or f.get("Context")
            continue
        if name in ("QueueMemberAdded", "QueueMemberStatus", "QueueMemberPause",
                    "QueueMemberRemoved", "AgentCalled", "AgentConnect", "AgentComplete",
                    "AgentRingNoAnswer", "QueueMember"):
            queue(f.get("Queue"))
            agent(f.get("Interface") or f.get("Location"), f.get("MemberName") or f.get("Name"),
                  f.get("StateInterface"), f.get("Queue"))
        elif name in ("QueueCallerJoin", "QueueEntry", "QueueParams", "QueueCallerAbandon"):
            queue(f.get("Queue"))
            for var, value in pre_join.pop(f.get("Uniqueid") or "", []):
                if value and var not in variables and not _INTERNAL.match(var):
                    variables.append(var)
        elif name == "VarSet":
            var = (f.get("Variable") or "").lstrip("_")
            pre_join.setdefault(f.get("Uniqueid") or "", []).append((var, f.get("Value") or ""))
    # Click-to-call: the agent's phone is the Originate's Channel; its extension is
    # in the CallerID the connector sets ("name" <ext>).
    for dial, cid in dials:
        ext = cid.rsplit("<", 1)[-1].rstrip(">").strip() if "<" in cid else ""
        if ext in agents and dial != agents[ext]["interface"]:
            agents[ext].setdefault("dial", dial)
    for a in agents.values():
        if len(a["queues"]) == len(queues):
            del a["queues"]  # in every queue: the default
    out: dict[str, Any] = {"host": "replay", "username": "replay", "secret": "replay",
                           "queues": queues, "agents": agents}
    if variables:
        out["variables"] = variables
    if originate_context:
        out["originate_context"] = originate_context
    if transfer_context:
        out["transfer_context"] = transfer_context
    return out


def header_options(transcript: RawTranscript) -> dict[str, Any] | None:
    """The options a recording wrote in its header, if any."""
    raw = transcript.header_value(OPTIONS_HEADER)
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    data.update({"host": "replay", "username": "replay", "secret": "replay"})
    return data

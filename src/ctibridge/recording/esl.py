"""FreeSWITCH Event Socket in the transcript format: reading, framing, recording.

An ESL transcript (``*.esl``) is the shared format (:mod:`.transcript`) with LF
line ends, the protocol's own: ``# `` header lines, then the server's bytes
verbatim with what the client sent as ``>>> `` lines between complete frames.
ESL bodies need not end with a LF (``api/response`` ``Available``, JSON events);
a ``>>> `` block after such a body is preceded by one *join LF* that is not
server data. A frame never starts with a LF, so the reader can tell: it drops
the join LF and :attr:`RawTranscript.server_bytes` is exactly what was received.
It is the format of ``shared/fixtures/freeswitch`` (see its README).

* :func:`read_esl_transcript` / :func:`read_esl_file` read one.
* :class:`EslFraming` tells :class:`~.transcript.TranscriptWriter` where frames end
  and masks the password of ``auth`` (and ``userauth``) lines.
* :func:`record_esl` logs in on its own ESL session and records until stopped.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ..telephony.freeswitch.config import FreeSwitchOptions
from ..telephony.freeswitch.esl import (
    API_RESPONSE,
    AUTH_REQUEST,
    COMMAND_REPLY,
    DISCONNECT_NOTICE,
    EslError,
    EslParser,
    Frame,
    ParseError,
    parse_event,
)
from ..telephony.freeswitch.normalizer import Normalizer, parse_json_rows, parse_rows
from .base import RecordError, Replay, ReplayedEvent, Server, recording_link
from .transcript import (
    MASK,
    SENT,
    RawTranscript,
    ReceivedBytes,
    SentBlock,
    TranscriptError,
    read_header,
    read_transcript_file,
)

PROTOCOL = "freeswitch-esl"
LF = b"\n"


def looks_like_esl(t: RawTranscript) -> bool:
    """A transcript whose server speaks first with ``Content-Type: auth/request``."""
    head = t.server_bytes.lstrip(b"\r\n")[:40].lower()
    return head.startswith(b"content-type: auth/request")


def _frames_end(data: bytes) -> int:
    """How many leading bytes of ``data`` are complete frames (plus separators)."""
    parser = EslParser()
    parser.feed(data)
    return len(data) - parser.buffered


def read_esl_transcript(data: bytes, name: str = "transcript") -> RawTranscript:
    """Parse an ESL transcript; TranscriptError if it is not one."""
    if b"\r\n" in data[:4096] and data.count(b"\r\n") * 2 > data.count(b"\n"):
        raise TranscriptError(f"{name}: lines end with CRLF; an ESL transcript has LF line "
                              "ends (is it an AMI transcript?)")
    t = RawTranscript(name)
    lines = data.split(LF)
    if lines and lines[-1] == b"":
        lines.pop()
        trailing_lf = True
    else:
        trailing_lf = False
    i = read_header(t, lines)
    server: list[bytes] = []
    server_line = i + 1
    block: list[bytes] = []
    block_line = 0

    def flush(before_sent: bool) -> None:
        nonlocal server
        if not server:
            return
        chunk = b"".join(server)
        # The join LF: the frames end without it (a body with no final LF). A frame
        # never starts with a LF, so dropping it is unambiguous.
        if before_sent and chunk.endswith(LF) and _frames_end(chunk[:-1]) == len(chunk) - 1:
            chunk = chunk[:-1]
        t.parts.append(ReceivedBytes(chunk, server_line))
        server = []

    last = len(lines)
    for n, line in enumerate(lines[i:], start=i + 1):
        if line.startswith(SENT) or line == SENT.rstrip():
            body = line[len(SENT):]
            if not block:
                block_line = n
                flush(before_sent=True)
            if body:
                block.append(body)
                continue
            t.parts.append(SentBlock(tuple(block), block_line))
            block = []
            continue
        if block:  # a sent block without its empty line: keep what it had
            t.parts.append(SentBlock(tuple(block), block_line))
            block = []
        if not server:
            server_line = n
        server.append(line + LF if n < last or trailing_lf else line)
    if block:
        t.parts.append(SentBlock(tuple(block), block_line))
    flush(before_sent=False)
    return t


def read_esl_file(path: str | Path) -> RawTranscript:
    return read_transcript_file(path, read_esl_transcript)


def sent_text(block: SentBlock) -> str:
    """A sent block as one command (its lines joined by LF)."""
    return "\n".join(x.decode("utf-8", "replace") for x in block.lines)


class EslFraming:
    protocol = PROTOCOL
    newline = LF

    def complete(self, buffer: bytes, *, at_start: bool) -> int:
        return _frames_end(buffer)

    def sent_complete(self, buffer: bytes) -> int:
        end = buffer.rfind(b"\n\n")
        return end + 2 if end >= 0 else 0

    def mask(self, line: bytes) -> bytes:
        low = line.lower()
        if low.startswith(b"auth "):
            return line[:5] + MASK.encode()
        if low.startswith(b"userauth "):
            user = line[9:].split(b":", 1)[0]
            return line[:9] + user + b":" + MASK.encode()
        return line


# ---------------------------------------------------------------- recording


@dataclass
class EslTarget:
    host: str
    port: int
    password: str


@dataclass
class EslRecordStats:
    frames: int = 0
    bytes: int = 0
    closed_by_server: bool = False


class EslRecordError(RecordError):
    """Recording could not start (the message says why and what to do)."""


# What the connector asks after connecting (then the members of each queue listed, then
# the agents); a replay of the recording resyncs from it.
SNAPSHOT_COMMANDS = ("api show channels as json", "api show calls as json",
                     "api callcenter_config queue list")


async def record_esl(target: EslTarget, out: BinaryIO, *, header: list[str],
                     stop: asyncio.Event, events: str = "plain ALL", snapshot: bool = True,
                     connect_timeout: float = 10.0,
                     on_frame: Callable[[Frame], None] | None = None) -> EslRecordStats:
    """Log in, subscribe, (ask the snapshot,) record everything until ``stop`` is set."""
    stats = EslRecordStats()
    server = Server(target.host, target.port, "the event socket",
                    "check event_socket.conf.xml (listen-ip, listen-port) and that "
                    "mod_event_socket is loaded", error=EslRecordError)
    parser = EslParser()

    def frames(data: bytes) -> Iterator[Frame]:
        for f in parser.feed(data):
            if isinstance(f, Frame):
                stats.frames += 1
                if on_frame is not None:
                    on_frame(f)
                yield f

    async with recording_link(server, out, EslFraming(), header, stop, frames,
                              connect_timeout=connect_timeout) as (link, reading):

        async def send(command: str) -> None:
            await link.send(command.encode() + b"\n\n")

        async def reply(timeout: float = 10.0) -> Frame:
            while True:
                f = await link.receive(timeout)
                if f.content_type in (COMMAND_REPLY, API_RESPONSE, AUTH_REQUEST,
                                      DISCONNECT_NOTICE):
                    return f

        first = await reply(connect_timeout)
        if first.content_type != AUTH_REQUEST:
            raise EslRecordError(f"{target.host}:{target.port} is not a FreeSWITCH event "
                                 f"socket (first frame: {first.content_type or 'no type'})")
        await send(f"auth {target.password}")
        r = await reply()
        if not r.reply_text.startswith("+OK"):
            raise EslRecordError(f"the event socket refused the password ({r.reply_text}); "
                                 "check event_socket.conf.xml's password")
        await send(f"event {events}")
        r = await reply()
        if not r.reply_text.startswith("+OK"):
            raise EslRecordError(f"subscription 'event {events}' refused: {r.reply_text}")
        if snapshot:
            queues: list[str] = []
            for command in SNAPSHOT_COMMANDS:
                await send(command)
                r = await reply()
                if command.endswith("queue list"):
                    queues = [row["name"] for row in parse_rows(r.text) if row.get("name")]
            for queue in queues:
                await send(f"api callcenter_config queue list members {queue}")
                await reply()
            await send("api callcenter_config agent list")
            await reply()
        await link.record_until_stopped(reading, lambda: send("exit"))
    stats.bytes, stats.closed_by_server = link.bytes, link.closed_by_server
    return stats


# ------------------------------------------------------------------- replay


@dataclass
class EslReplay(Replay[FreeSwitchOptions]):
    """Feed an ESL transcript through the connector's normalizer, as the connector does.

    Replies carry no request id: they answer the sent commands in order (FIFO).
    ``api show channels as json`` ... ``api callcenter_config agent list`` sent in a
    row are the connector's snapshot: the agent list's reply completes a resync.
    A ``bgapi originate`` carrying ``ctibridge_request=<ref>`` is our click-to-call
    (the normalizer is told, as the connector tells it when it sends one).
    """

    def __post_init__(self) -> None:
        self.normalizer = Normalizer(self.options, self.now)
        self._pending: deque[str] = deque()  # sent commands awaiting their reply
        self._snapshot: dict[str, Any] = {}
        self.replies: list[tuple[str, Frame]] = []  # (command, its reply), in order

    def run(self) -> list[ReplayedEvent]:
        parser = EslParser()
        line = 0
        for part in self.transcript.parts:
            if isinstance(part, SentBlock):
                try:
                    self._sent(part)
                except (ValueError, IndexError) as exc:  # a sent line we cannot read
                    self.parse_errors.append((part.line, f"sent block not understood: {exc}"))
                continue
            line = part.line
            data = part.data
            start = 0
            # Feed line by line so that each event knows its transcript line.
            for n, chunk in enumerate(data.split(b"\n")):
                piece = data[start:start + len(chunk) + 1]
                start += len(piece)
                for f in parser.feed(piece):
                    self._frame(part.line + n, f)
            line = part.line + data.count(b"\n")
        for err in parser.finish():
            self._frame(line, err)
        return self.events

    def _sent(self, block: SentBlock) -> None:
        command = sent_text(block)
        self._pending.append(command)
        words = command.split()
        if command.startswith("auth"):
            return
        if len(words) > 1 and words[0] == "bgapi" and words[1] == "originate":
            self._originate(block.line, command)
        if command.startswith("api show channels"):
            self._snapshot = {"channels": None}

    def _originate(self, line: int, command: str) -> None:
        m = _REQUEST.search(command)
        if m is None:
            return
        ref = m.group(1)
        dial, _, rest = command.split(" ", 2)[2].partition("}")[2].partition(" ")
        number = rest.split()[0] if rest.split() else ""
        device = self.normalizer.device_of_user(dial.split("/", 1)[-1].split("@", 1)[0])
        if device is None or not number:
            return
        self.commands += 1
        self.events.append(ReplayedEvent(line, self.normalizer.expect_originate(
            ref=ref, device=device, number=number)))
        self._originate_ref = ref

    def _frame(self, line: int, f: Frame | ParseError) -> None:
        if isinstance(f, ParseError):
            self.parse_errors.append((line, str(f)))
            return
        self.messages += 1
        ct = f.content_type
        if ct == AUTH_REQUEST:
            self.banner = "FreeSWITCH event socket (auth/request)"
            return
        if ct in (COMMAND_REPLY, API_RESPONSE):
            command = self._pending.popleft() if self._pending else ""
            self.replies.append((command, f))
            self._reply(line, command, f)
            return
        if not f.is_event:
            return
        try:
            ev = parse_event(f)
        except EslError as exc:
            self.parse_errors.append((line, f"{exc} (frame at byte {f.offset})"))
            return
        try:
            out = self.normalizer.feed(ev)
        except Exception as exc:  # what the connector logs and skips
            self.parse_errors.append((line, f"normalizer failed on {ev.name}: {exc!r}"))
            return
        self.events.extend(ReplayedEvent(line, e) for e in out)

    def _reply(self, line: int, command: str, f: Frame) -> None:
        job = f.get("Job-UUID") or (f.reply_text.split("Job-UUID:", 1)[1].strip()
                                   if "Job-UUID:" in f.reply_text else None)
        ref = getattr(self, "_originate_ref", None)
        if job and ref and command.startswith("bgapi originate") and _REQUEST.search(command):
            self.normalizer.job_for(job, ref)
        snap = self._snapshot
        if not snap:
            return
        text = f.text
        if command.startswith("api show channels"):
            snap["channels"] = parse_json_rows(text)
        elif command.startswith("api show calls"):
            snap["calls"] = parse_json_rows(text)
        elif command.startswith("api callcenter_config queue list members"):
            snap.setdefault("members", []).extend(parse_rows(text))
        elif command.startswith("api callcenter_config agent list"):
            ev = self.normalizer.resync(snap.get("channels") or [], snap.get("calls") or [],
                                        snap.get("members", []), parse_rows(text))
            self._snapshot = {}
            self.resyncs += 1
            self.events.append(ReplayedEvent(line, ev))


_REQUEST = re.compile(r"ctibridge_request=([A-Za-z0-9_.~:-]+)")


# ---------------------------------------------------------------- inference


def infer_options(t: RawTranscript) -> dict[str, Any]:
    """Connector options from the traffic alone (what a bare transcript allows):
    agents from mod_callcenter's agent names, queues, the dialed users of legs."""
    agents: dict[str, dict[str, Any]] = {}
    queues: list[str] = []
    domains: list[str] = []
    parser = EslParser()
    for f in parser.feed(t.server_bytes):
        if not isinstance(f, Frame):
            continue
        if f.content_type == API_RESPONSE and f.text.startswith("name|instance_id"):
            for row in parse_rows(f.text):
                _agent(agents, domains, row.get("name"))
            continue
        if not f.is_event:
            continue
        try:
            ev = parse_event(f)
        except EslError:
            continue
        if ev.name == "CUSTOM" and ev.subclass == "callcenter::info":
            q = ev.get("CC-Queue")
            if q and q not in queues:
                queues.append(q)
            _agent(agents, domains, ev.get("CC-Agent"))
        elif ev.name == "CHANNEL_CREATE":
            user = ev.var("dialed_user")
            domain = ev.var("dialed_domain")
            if user and user not in agents and "|" not in user:
                agents[user[:32]] = {} if not domain or domain == (domains or [domain])[0] \
                    else {"agent": f"{user}@{domain}"}
    domain = domains[0] if domains else "default"
    out: dict[str, Any] = {"host": "replay", "password": "replay", "domain": domain,
                           "queues": queues, "agents": agents}
    return out


def _agent(agents: dict[str, dict[str, Any]], domains: list[str], name: str | None) -> None:
    if not name:
        return
    user, _, domain = name.partition("@")
    if domain and domain not in domains:
        domains.append(domain)
    ext = user[:32] or "agent"
    if ext in agents:
        return
    agents[ext] = {} if not domain or domain == domains[0] else {"agent": name}

"""Replay a transcript through a connector's normalizer and the hub.

The platform's bytes become normalized events (with the transcript line that
caused each), and those events are applied to a real :class:`Hub` built from
the configuration (or from what the traffic shows), so the report says what
the agents' bars and the call log would have seen: every hub event, and each
call's timeline (who was connected when, how it ended).

Time: a transcript stores none. The replay clock starts at the capture date
of the header (or a fixed date) and moves 10 ms per transcript line, so
durations in the report are not real, only the order is.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any

from ..config import Settings
from ..core.hub import Hub
from ..model.agent import AgentStatus
from ..model.errors import ConfigError, PlatformError
from ..model.events import HubEvent, PlatformEvent
from ..telephony.asterisk.config import parse_options as ami_parse_options
from ..telephony.base import Capability, Health
from ..telephony.freeswitch.config import parse_options as esl_parse_options
from . import asterisk, esl
from .base import Replay
from .transcript import RawTranscript, read_transcript_bytes, read_transcript_file

START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
TICK = timedelta(milliseconds=10)


class ReplayClock:
    """Moves only when the replay says so (one tick per transcript line)."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.at = start

    def now(self) -> datetime:
        return self.at

    def to_line(self, line: int) -> None:
        self.at = max(self.at, self.start + TICK * line)

    async def sleep(self, seconds: float) -> None:  # wrap-up timers never fire in a replay
        await asyncio.Event().wait()


class ReplayConnector:
    """Stands in for the platform in the hub: it only notes what it was asked."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.capabilities = frozenset(Capability)
        self.asked: list[str] = []

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def events(self) -> AsyncIterator[PlatformEvent]:
        await asyncio.Event().wait()
        yield  # type: ignore[misc]  # never reached: replay applies events itself

    def health(self) -> Health:
        return Health(True, "replay")

    async def set_agent_state(self, device: str, status: AgentStatus,
                              reason: str | None = None) -> None:
        self.asked.append(f"set_agent_state {device} {status}")

    def __getattr__(self, name: str) -> Any:
        async def refuse(*args: Any, **kwargs: Any) -> Any:
            raise PlatformError("a replay does not send commands", code="platform-refused")
        return refuse


@dataclass
class TimelineEntry:
    line: int
    event: str
    connections: dict[str, str]
    end_cause: str | None = None


@dataclass
class CallReport:
    call_id: str
    final: dict[str, Any]
    timeline: list[TimelineEntry] = field(default_factory=list)


@dataclass
class ReplayReport:
    transcript: str
    protocol: str
    banner: str | None
    options_from: str  # config | header | inferred
    options: dict[str, Any]
    agents: list[dict[str, str]]
    messages: int
    resyncs: int
    commands: int
    parse_errors: list[tuple[int, str]]
    events: list[tuple[int, PlatformEvent]]
    hub_events: list[tuple[int, HubEvent]]
    calls: list[CallReport]

    def to_json(self) -> dict[str, Any]:
        return {
            "transcript": self.transcript, "protocol": self.protocol, "banner": self.banner,
            "options_from": self.options_from, "options": self.options, "agents": self.agents,
            "messages": self.messages, "resyncs": self.resyncs, "commands": self.commands,
            "parse_errors": [{"line": n, "error": e} for n, e in self.parse_errors],
            "events": [{"line": n, "event": ev.name, **event_fields(ev)}
                       for n, ev in self.events],
            "hub_events": [{"line": n, "event": h.name, "agents": sorted(h.agents),
                            "data": h.data} for n, h in self.hub_events],
            "calls": [{"call_id": c.call_id, "final": c.final,
                       "timeline": [dataclasses.asdict(t) for t in c.timeline]}
                      for c in self.calls],
        }


def event_fields(ev: PlatformEvent) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(ev):
        if f.name == "at":
            continue
        out[f.name] = _plain(getattr(ev, f.name))
    return out


def _plain(v: Any) -> Any:
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {f.name: _plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
    if isinstance(v, Enum):
        return v.value
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if isinstance(v, datetime):
        return v.isoformat()
    return v


@dataclass(frozen=True)
class ReplayProtocol:
    """What replaying one protocol's transcripts takes."""

    name: str  # as in the transcript's "# protocol:" header
    platform_type: str  # telephony[].type of its connector
    default_platform: str  # the platform's name when no configuration says it
    # (options, "header" | "inferred") from the transcript alone
    options_of: Callable[[RawTranscript], tuple[dict[str, Any], str]]
    parse_options: Callable[[str, dict[str, Any]], Any]
    replay: Callable[[RawTranscript, Any, Callable[[], datetime]], Replay[Any]]


def _ami_options(t: RawTranscript) -> tuple[dict[str, Any], str]:
    options = asterisk.header_options(t)
    return (options, "header") if options is not None else (asterisk.infer_options(t),
                                                             "inferred")


PROTOCOLS = {p.name: p for p in (
    ReplayProtocol(asterisk.PROTOCOL, "asterisk", "pbx", _ami_options, ami_parse_options,
                   asterisk.AmiReplay),
    ReplayProtocol(esl.PROTOCOL, "freeswitch", "fs", lambda t: (esl.infer_options(t),
                                                               "inferred"),
                   esl_parse_options, esl.EslReplay),
)}


def protocol_of(t: RawTranscript) -> str:
    declared = t.header_value("protocol")
    if declared:
        return declared
    data = t.server_bytes.lstrip()[:64].lower()
    if data.startswith(b"asterisk call manager"):
        return asterisk.PROTOCOL
    if esl.looks_like_esl(t):
        return esl.PROTOCOL
    return "unknown"


def _is_esl(data: bytes) -> bool:
    """ESL transcripts have LF lines and start (after the header) with auth/request."""
    for line in data.split(b"\n", 64):
        if line.startswith(b"# "):
            if b"protocol: " + esl.PROTOCOL.encode() in line:
                return True
            continue
        return line.rstrip(b"\r").lower() == b"content-type: auth/request" and not \
            line.endswith(b"\r")
    return False


def _read_any(data: bytes, name: str) -> RawTranscript:
    if _is_esl(data):
        return esl.read_esl_transcript(data, name)
    return read_transcript_bytes(data, name)


def load_transcript(path: str | Path) -> RawTranscript:
    """A transcript of any protocol we know (AMI: CRLF lines; ESL: LF lines)."""
    return read_transcript_file(path, _read_any)


def _settings_for(protocol: ReplayProtocol, t: RawTranscript, config: Path | None,
                  platform: str | None) -> tuple[str, Settings, dict[str, Any], str]:
    """(platform name, hub settings, connector options, where they came from)."""
    kind = protocol.platform_type
    if config is not None:
        settings = Settings.load(config)
        specs = [s for s in settings.telephony
                 if s.type == kind and platform in (None, s.name)]
        if not specs:
            raise ConfigError(f"{config} has no {kind} platform"
                              + (f" named {platform!r}" if platform else ""),
                              code="config-invalid")
        return specs[0].name, settings, dict(specs[0].options), "config"
    options, source = protocol.options_of(t)
    name = platform or protocol.default_platform
    agents = [{"id": f"agent-{ext}"[:64], "name": a.get("name") or f"Agent {ext}",
               "extension": ext, "platform": name}
              for ext, a in options.get("agents", {}).items()]
    settings = Settings.load(None, telephony=[{"name": name, "type": kind,
                                               "options": options}],
                             agents=agents, database={"url": "sqlite:///:memory:"})
    return name, settings, options, source


async def _replay(t: RawTranscript, config: Path | None, platform: str | None) -> ReplayReport:
    protocol = protocol_of(t)
    known = PROTOCOLS.get(protocol)
    if known is None:
        raise ConfigError(
            f"{t.name}: cannot replay a {protocol!r} transcript (Asterisk AMI transcripts "
            "start with the 'Asterisk Call Manager' banner, FreeSWITCH ESL ones with "
            "'Content-Type: auth/request')", code="transcript-unsupported")
    name, settings, raw_options, source = _settings_for(known, t, config, platform)
    options = known.parse_options(name, raw_options)
    captured = t.header_value("recorded") or t.header_value("captured")
    start = START
    if captured:
        try:
            start = datetime.fromisoformat(captured.split()[0]).astimezone(UTC)
        except ValueError:
            pass
    clock = ReplayClock(start)
    connector = ReplayConnector(name)
    hub = Hub(settings, {name: connector}, clock=clock)
    line_now = [0]
    hub_events: list[tuple[int, HubEvent]] = []
    hub.notifier.tap(lambda ev: hub_events.append((line_now[0], ev)))
    replay = known.replay(t, options, clock.now)
    # Normalize first (the clock follows the lines), then apply in order.
    stamped: list[tuple[int, PlatformEvent]] = []
    for_lines = replay.run()
    for r in for_lines:
        clock.to_line(r.line)
        stamped.append((r.line, dataclasses.replace(r.event, at=clock.now())))
    clock.at = start
    for line, ev in stamped:
        line_now[0] = line
        clock.to_line(line)
        try:
            hub.apply(name, ev)
        except Exception as exc:  # the hub logs and skips such an event; so do we, visibly
            replay.parse_errors.append((line, f"hub rejected {ev.name}: {exc}"))
    await asyncio.sleep(0)  # let the hub's background pushes run (they only note)
    calls = _timelines(hub_events)
    agents = [{"id": a.agent_id, "name": a.name, "extension": a.extension or ""}
              for a in hub.agents.values()]
    shown = {k: v for k, v in raw_options.items() if k not in (
        "host", "username", "secret", "ari", "port", "password")}
    await hub.stop()  # nothing the hub started may outlive the replay
    return ReplayReport(
        transcript=t.name, protocol=protocol, banner=replay.banner, options_from=source,
        options=shown, agents=agents, messages=replay.messages, resyncs=replay.resyncs,
        commands=replay.commands, parse_errors=replay.parse_errors, events=stamped,
        hub_events=hub_events, calls=calls)


def _timelines(hub_events: list[tuple[int, HubEvent]]) -> list[CallReport]:
    calls: dict[str, CallReport] = {}
    for line, ev in hub_events:
        call = ev.data.get("call")
        if not isinstance(call, dict) or "call_id" not in call:
            continue
        cid = call["call_id"]
        rep = calls.get(cid)
        if rep is None:
            rep = calls[cid] = CallReport(cid, call)
        rep.final = call
        conns = {c["device"]: c["state"] for c in call.get("connections", [])}
        entry = TimelineEntry(line, ev.name, conns, call.get("end_cause"))
        last = rep.timeline[-1] if rep.timeline else None
        if last is None or (last.event, last.connections, last.end_cause) != (
                entry.event, entry.connections, entry.end_cause):
            rep.timeline.append(entry)
    return list(calls.values())


def replay_file(path: str | Path, *, config: Path | None = None,
                platform: str | None = None) -> ReplayReport:
    """Replay the transcript at ``path``; raise ConfigError/TranscriptError on bad input."""
    t = load_transcript(path)
    return asyncio.run(_replay(t, config, platform))


async def replay_transcript(t: RawTranscript, *, config: Path | None = None,
                            platform: str | None = None) -> ReplayReport:
    return await _replay(t, config, platform)

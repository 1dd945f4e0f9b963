"""``ctibridge record`` and ``ctibridge replay``.

record: log in to a platform (AMI) with the configuration's credentials and
write everything it sends to a transcript until Ctrl-C or ``--seconds``; or,
with ``--listen``, be a recording proxy for ctibridge's own link.
replay: run a transcript through the connector and the hub, and print the
normalized events and each call's timeline (``--json`` for machines).
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer

from .. import __version__
from ..model.errors import CtiError
from .transcript import TranscriptError


def _fail(message: str, code: int = 2) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _hostport(value: str, what: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not host:
        _fail(f"{what} must be HOST:PORT (got {value!r}), e.g. 127.0.0.1:15038")
    return host.strip("[]"), int(port)


def _platform_options(config: Path, platform: str | None) -> tuple[str, str, Any]:
    """(name, type, parsed options) of the platform to record."""
    from ..config import Settings
    from ..telephony.asterisk.config import parse_options
    from ..telephony.freeswitch.config import parse_options as parse_fs_options

    settings = Settings.load(config)
    specs = [s for s in settings.telephony if platform in (None, s.name)]
    if not specs:
        _fail(f"no telephony platform {platform!r} in {config} (configured: "
              f"{', '.join(t.name for t in settings.telephony) or 'none'})")
    spec = specs[0]
    if spec.type == "freeswitch":
        return spec.name, spec.type, parse_fs_options(spec.name, spec.options)
    if spec.type != "asterisk":
        _fail(f"platform {spec.name!r} is of type {spec.type!r}: only asterisk (AMI) and "
              "freeswitch (ESL) links can be recorded")
    return spec.name, spec.type, parse_options(spec.name, spec.options)


def record(
    output: Annotated[Path, typer.Option("--output", "-o", help="transcript file to write")],
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="YAML config: the platform's address and AMI user")] = None,
    platform: Annotated[str | None, typer.Option(
        help="telephony platform name (default: the first)")] = None,
    host: Annotated[str | None, typer.Option(help="AMI host (instead of --config)")] = None,
    port: Annotated[int, typer.Option(help="AMI port (with --host)")] = 5038,
    username: Annotated[str | None, typer.Option(help="AMI user (with --host)")] = None,
    secret: Annotated[str | None, typer.Option(
        help="AMI secret (with --host; prompted when omitted)")] = None,
    seconds: Annotated[float | None, typer.Option(
        help="stop after this many seconds (default: Ctrl-C)")] = None,
    title: Annotated[str, typer.Option(help="what the recording shows (header)")] = "",
    no_snapshot: Annotated[bool, typer.Option(
        "--no-snapshot", help="do not ask CoreShowChannels/QueueStatus/Status first")] = False,
    listen: Annotated[str | None, typer.Option(
        help="HOST:PORT: be a recording proxy there; point ctibridge's AMI host/port at it")]
        = None,
    force: Annotated[bool, typer.Option("--force", help="overwrite OUTPUT")] = False,
    protocol: Annotated[str, typer.Option(
        help="with --host: ami (Asterisk) or esl (FreeSWITCH event socket; --secret is "
             "its password)")] = "ami",
) -> None:
    """Record a live AMI or ESL link to a transcript (secrets masked) for replay or a bug
    report."""
    from .asterisk import AmiTarget, RecordError, options_header, record_ami

    if output.exists() and not force:
        _fail(f"{output} exists; choose another --output or pass --force")
    if protocol not in ("ami", "esl"):
        _fail(f"--protocol must be ami or esl (got {protocol!r})")
    opts = None
    name = "pbx"
    if config is not None:
        try:
            name, kind, found = _platform_options(config, platform)
        except CtiError as exc:
            _fail(exc.message)
        if kind == "freeswitch":
            _record_esl(output, found.host, found.port, found.password, seconds, title,
                        listen, no_snapshot, f"platform {name}")
            return
    elif protocol == "esl":
        if host is None:
            _fail("say where the event socket is: --config FILE, or --host (and --secret)")
        assert host is not None  # (_fail raised)
        if secret is None and listen is None:
            secret = typer.prompt("event socket password", hide_input=True)
        _record_esl(output, host, port if port != 5038 else 8021, secret or "", seconds,
                    title, listen, no_snapshot, "direct")
        return
    try:
        if config is not None:
            name, _, opts = _platform_options(config, platform)
            target = AmiTarget(opts.host, opts.effective_port, opts.username, opts.secret,
                               opts.auth, opts.ssl_context())
        elif host is not None:
            if not username:
                _fail("--host needs --username (and --secret, or it is prompted)")
            if secret is None and listen is None:
                secret = typer.prompt(f"AMI secret for {username}", hide_input=True)
            target = AmiTarget(host, port, username or "", secret or "")
        else:
            _fail("say where the platform is: --config FILE, or --host/--username")
    except CtiError as exc:
        _fail(exc.message)
    now = datetime.now(UTC).replace(microsecond=0).isoformat()

    def header(mode: str) -> list[str]:
        h = [f"ctibridge transcript: {title or output.stem}",
             "protocol: asterisk-ami",
             f"recorded: {now} by ctibridge {__version__} ({mode})",
             "secrets masked: Secret, Key"]
        if opts is not None:
            h.append(options_header(opts))
        return h

    if listen is not None:
        _proxy(listen, target, output, header)
        return

    stats = _record_direct(target.host, target.port, output, seconds, RecordError,
                           lambda f, stop: record_ami(
                               target, f, header=header(f"direct, platform {name}"),
                               stop=stop, snapshot=not no_snapshot))
    end = "the server closed the connection" if stats.closed_by_server else "stopped"
    typer.echo(f"{output}: {stats.messages} messages, {stats.bytes} bytes from "
               f"{stats.banner} ({end})")
    typer.echo(f"replay it: ctibridge replay {output}")


def _record_esl(output: Path, host: str, port: int, password: str, seconds: float | None,
                title: str, listen: str | None, no_snapshot: bool, where: str) -> None:
    from .esl import PROTOCOL, EslFraming, EslRecordError, EslTarget, record_esl

    now = datetime.now(UTC).replace(microsecond=0).isoformat()

    def header(mode: str) -> list[str]:
        return [f"ctibridge transcript: {title or output.stem}", f"protocol: {PROTOCOL}",
                f"recorded: {now} by ctibridge {__version__} ({mode})",
                "secrets masked: auth", "format: '>>> ' lines = what we sent; LF line ends"]

    target = EslTarget(host, port, password)
    if listen is not None:
        _proxy(listen, target, output, header, framing=EslFraming())
        return
    stats = _record_direct(host, port, output, seconds, EslRecordError,
                           lambda f, stop: record_esl(
                               target, f, header=header(f"direct, {where}"), stop=stop,
                               snapshot=not no_snapshot))
    end = "the server closed the connection" if stats.closed_by_server else "stopped"
    typer.echo(f"{output}: {stats.frames} frames, {stats.bytes} bytes ({end})")
    typer.echo(f"replay it: ctibridge replay {output}")


def _record_direct(host: str, port: int, output: Path, seconds: float | None,
                   error: type[Exception],
                   record_to: Callable[[BinaryIO, asyncio.Event], Awaitable[Any]]) -> Any:
    """Record to ``output`` until Ctrl-C or ``seconds``; its stats, or fail with why."""
    typer.secho(f"» recording {host}:{port} to {output} "
                f"({'Ctrl-C' if seconds is None else f'{seconds:g} s'} to stop)",
                fg=typer.colors.CYAN, err=True)

    async def run() -> Any:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if seconds is not None:
            loop.call_later(seconds, stop.set)
        with output.open("wb") as f:
            return await record_to(f, stop)

    try:
        return asyncio.run(run())
    except error as exc:
        output.unlink(missing_ok=True)
        _fail(str(exc))


def _proxy(listen: str, target: Any, output: Path, header: Any,
           framing: Any = None) -> None:
    from .asterisk import AmiFraming
    from .proxy import RecordingProxy

    lhost, lport = _hostport(listen, "--listen")

    async def run() -> None:
        proxy = RecordingProxy((target.host, target.port), output, framing or AmiFraming(),
                               lambda n: header(f"proxy, connection {n}"),
                               listen=(lhost, lport),
                               upstream_ssl=getattr(target, "ssl_context", None))
        try:
            await proxy.start()
        except OSError as exc:
            _fail(f"cannot listen on {listen} ({exc.strerror}); choose another --listen")
        typer.secho(f"» recording proxy on {lhost}:{proxy.port} -> {target.host}:{target.port}; "
                    f"point ctibridge's AMI host/port there. Ctrl-C stops.",
                    fg=typer.colors.CYAN, err=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await proxy.stop()
        for f in proxy.stats.files:
            typer.echo(f"{f}: recorded")
        if not proxy.stats.files:
            typer.echo("no connection was recorded")

    asyncio.run(run())


def replay(
    transcript: Annotated[Path, typer.Argument(help="a transcript (*.ami, *.esl)")],
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="YAML config (agents, queues, variables); "
        "default: from the transcript's header, or inferred from the traffic")] = None,
    platform: Annotated[str | None, typer.Option(help="telephony platform name")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document")] = False,
    events_only: Annotated[bool, typer.Option(
        "--events", help="only the normalized events")] = False,
) -> None:
    """Replay a transcript through the connector and the hub; print events and call timelines."""
    from ..logs import configure
    from .replay import replay_file

    configure(level="error")
    try:
        report = replay_file(transcript, config=config, platform=platform)
    except (CtiError, TranscriptError) as exc:
        _fail(exc.message if isinstance(exc, CtiError) else str(exc))
    if as_json:
        json.dump(report.to_json(), sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return
    _print(report, events_only)


def _short(ev: Any) -> str:
    from .replay import event_fields

    parts = []
    for k, v in event_fields(ev).items():
        if v in (None, {}, [], ()) or k == "ref":
            continue
        if isinstance(v, dict) and set(v) <= {"number", "name"}:
            v = " ".join(str(x) for x in (v.get("number"), v.get("name")) if x)
        parts.append(f"{k}={v}")
    return " ".join(parts)


def _print(report: Any, events_only: bool) -> None:
    echo = typer.echo
    if not events_only:
        echo(f"{report.transcript}: {report.banner or 'no banner'}, {report.messages} messages, "
             f"{report.resyncs} snapshot(s), {report.commands} ctibridge command(s)")
        agents = ", ".join(f"{a['extension']} ({a['name']})" for a in report.agents) or "none"
        echo(f"options {report.options_from}: agents {agents}; queues "
             f"{', '.join(report.options.get('queues') or []) or 'all'}; variables "
             f"{', '.join(report.options.get('variables') or []) or 'default'}")
        for line, err in report.parse_errors:
            echo(f"  ! line {line}: {err}")
        echo("")
        echo("events (transcript line, normalized event):")
    for line, ev in report.events:
        ref = getattr(ev, "ref", "")
        echo(f"  {line:>6}  {ev.name:<18} {ref:<22} {_short(ev)}")
    if events_only:
        return
    echo("")
    echo(f"calls ({len(report.calls)}):")
    for c in report.calls:
        f = c.final
        who = " ".join(x for x in (f["customer"].get("number"), f["customer"].get("name")) if x)
        echo(f"  call {c.call_id} {f['direction']} {who or '?'} queue={f.get('queue') or '-'} "
             f"-> {'ended ' + str(f.get('end_cause')) if f.get('ended_at') else 'STILL OPEN'}")
        if f.get("attached"):
            echo(f"    attached: {f['attached']}")
        for t in c.timeline:
            conns = " ".join(f"{d}={s}" for d, s in t.connections.items()) or "-"
            cause = f" ({t.end_cause})" if t.end_cause else ""
            echo(f"    {t.line:>6}  {t.event:<18} {conns}{cause}")

"""The ``ctibridge`` command: demo, serve, config check, user add, agent."""

from __future__ import annotations

import asyncio
import getpass
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from . import __version__
from .calllog_cli import calllog_app
from .crm.cli import mapping_app
from .model.errors import CtiError
from .recording.cli import record as record_command
from .recording.cli import replay as replay_command
from .redact import text as redact_text
from .redact import url as redact_url

app = typer.Typer(
    help="ctibridge: connect any telephony or contact-center platform to any CRM.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Check configuration files.", no_args_is_help=True)
user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
telephony_app = typer.Typer(help="Try the link to a telephony platform.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(user_app, name="user")
app.add_typer(telephony_app, name="telephony")
app.add_typer(mapping_app, name="mapping")
app.add_typer(calllog_app, name="calllog")
app.command("record")(record_command)
app.command("replay")(replay_command)

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="YAML config file")]
LogJson = Annotated[bool, typer.Option("--log-json", help="log JSON lines (production)")]


def fail(message: str, code: int = 2) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def step(message: str) -> None:
    typer.secho(f"» {message}", fg=typer.colors.CYAN, err=True)


def _run(settings: Any, *, banner: list[str] | None = None,
         config_dir: Path | None = None) -> None:
    from .api.app import create_app
    from .api.server import build_server, listeners
    from .logs import configure

    configure(json_format=settings.log.json_format, level=settings.log.level)
    host, port = settings.server.host, settings.server.port
    try:
        sockets = listeners(settings)  # the main port, and the ops port when configured
    except OSError as exc:
        fail(f"cannot listen on {host}:{port} or the ops port ({exc.strerror}); "
             "choose another with --port or stop what uses it")
    step(f"starting the hub on {host}:{port} (database {redact_url(settings.database.url)})")
    app_ = create_app(settings, config_dir=config_dir)
    # uvicorn with the hub's limits: header/body deadlines, connection caps (api/server.py).
    server = build_server(app_, settings)

    if banner:
        original = server.startup

        async def startup(sockets: Any = None) -> None:
            await original(sockets)
            if server.started:
                typer.echo("\n".join(banner), err=True)

        server.startup = startup  # type: ignore[method-assign]
    try:
        server.run(sockets=sockets)
    except KeyboardInterrupt:
        pass
    finally:
        for sock in sockets:
            sock.close()
    if not server.started:
        raise typer.Exit(1)


@app.command()
def demo(
    port: Annotated[int | None, typer.Option(help="port to listen on [default: 8000]")] = None,
    host: Annotated[str | None, typer.Option(
        help="address to listen on [default: 127.0.0.1]")] = None,
    db: Annotated[str | None, typer.Option(
        help="SQLite file for the demo [default: ctibridge-demo.db]")] = None,
    calls_per_minute: Annotated[float | None, typer.Option(
        help="simulated inbound calls (0: none, place your own) [default: 4]")] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="a YAML config file: its settings replace the demo's")] = None,
    mapping: Annotated[Path | None, typer.Option(
        "--mapping", "-m", help="your CRM's mapping file (docs/crm-mapping.md): calls pop "
        "and are logged there instead of the demo CRM")] = None,
    var: Annotated[list[str] | None, typer.Option(
        "--var", help="a variable of the mapping, NAME=VALUE (repeatable)")] = None,
    log_json: LogJson = False,
) -> None:
    """Hub + simulated contact center + demo users, all in one process.

    With --mapping (or a crm section in --config) the calls pop and are logged in your
    CRM; place a call from a number your CRM knows with the simulator's REST API
    (docs/crm-mapping.md, "Try a mapping in the demo")."""
    from .config import Settings, read_config_file

    try:
        given = read_config_file(config) if config is not None else {}
    except CtiError as exc:
        fail(exc.message)
    # Built-in defaults < the config file < the options given on the command line.
    wanted: dict[str, Any] = {
        "server": {"host": "127.0.0.1", "port": 8000},
        "database": {"url": "sqlite:///ctibridge-demo.db"},
        "traffic": {"platform": "sim", "calls_per_minute": 4.0, "handle_time_seconds": 60},
    }
    for key, value in given.items():
        old = wanted.get(key)
        wanted[key] = {**old, **value} if isinstance(old, dict) and isinstance(value, dict) \
            else value
    if host is not None:
        wanted["server"] = {**wanted.get("server", {}), "host": host}
    if port is not None:
        wanted["server"] = {**wanted.get("server", {}), "port": port}
    if db is not None:
        wanted["database"] = {"url": f"sqlite:///{db}"}
    if calls_per_minute is not None:
        wanted["traffic"] = {**(wanted.get("traffic") or {"platform": "sim"}),
                             "calls_per_minute": calls_per_minute}
    if log_json:
        wanted["log"] = {**wanted.get("log", {}), "json": True}
    if mapping is not None:
        from .crm import presets

        try:
            resolved = presets.resolve(str(mapping))
        except ValueError as exc:
            fail(str(exc))
        if not resolved.is_file():
            fail(f"mapping file {mapping} does not exist")
        given_crm = wanted.get("crm")
        crm: dict[str, Any] = given_crm if isinstance(given_crm, dict) else {}
        wanted["crm"] = {**crm, "mapping": str(resolved.resolve()),
                         "variables": {**crm.get("variables", {}), **_pairs(var, "--var")}}
    elif var:
        fail("--var gives variables to a mapping: use it with --mapping")
    own_crm = "crm" in wanted
    if own_crm and "democrm" not in given:
        wanted["democrm"] = None  # your CRM, not the demo one, gets the calls
    elif "democrm" not in given:
        url = str(wanted.get("database", {}).get("url", "sqlite:///ctibridge-demo.db"))
        if url.startswith("sqlite:///"):
            crm_db = Path(url.removeprefix("sqlite:///")).with_suffix("")
            wanted["democrm"] = {"database": f"sqlite:///{crm_db}-crm.db"}
    try:
        settings = Settings.demo_settings(**wanted)
    except CtiError as exc:
        fail(exc.message)
    shown_host = settings.server.host
    url = (f"http://{'127.0.0.1' if shown_host in ('0.0.0.0', '::') else shown_host}:"
           f"{settings.server.port}/")
    if settings.democrm is not None:
        where = (f"  (the demo CRM with alice's bar: {url}democrm/?user=alice · the bar alone: "
                 f"{url}agentbar/ · supervisors: {url}supervisor/?user=sam)")
    else:
        crm_name = settings.crm.mapping if settings.crm else "none"
        where = (f"  (alice's bar: {url}agentbar/?user=alice · supervisors: "
                 f"{url}supervisor/?user=sam · CRM: {crm_name})")
    rate = settings.traffic.calls_per_minute if settings.traffic else 0
    banner = [
        "",
        f"  ctibridge {__version__} demo is running: open {url}",
        where,
        "  logins (password = username): agents alice, bob, carol; supervisor sam; admin admin",
        f"  terminal agent: ctibridge agent --url {url} --user bob --password bob",
        f"  simulated calls: {rate:g} per minute; place one from a number of your choice: "
        f"POST {url}api/simulator/sim/calls (docs/crm-mapping.md). Ctrl-C stops.",
        "",
    ]
    _run(settings, banner=banner, config_dir=config.parent if config is not None else None)


def _pairs(values: list[str] | None, option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(f"{option} {item!r}: expected NAME=VALUE")
        out[key.strip()] = value
    return out


@app.command()
def serve(config: ConfigOpt = None, log_json: LogJson = False) -> None:
    """Run the hub from a configuration file (plus CTIBRIDGE_* overrides)."""
    from .config import Settings

    try:
        settings = Settings.load(config)
    except CtiError as exc:
        fail(exc.message)
    if log_json:
        settings.log.json_format = True
    _run(settings, config_dir=Path(config).parent if config else None)


@config_app.command("check")
def config_check(file: Annotated[Path, typer.Argument(help="YAML config file")]) -> None:
    """Validate FILE; print every error with its field and what is expected."""
    from .config import Settings
    from .telephony import registry

    try:
        settings = Settings.load(file)
    except CtiError as exc:
        fail(redact_text(exc.message))
    problems = []
    for spec in settings.telephony:
        try:
            registry.validate(spec)
        except CtiError as exc:
            problems.append(exc.message)
    if problems:
        fail(redact_text("\n".join(problems)))  # never echo a password or key back
    typer.echo(f"{file}: OK ({len(settings.telephony)} platform(s), "
               f"{len(settings.agents)} agent(s))")


@user_app.command("add")
def user_add(
    username: str,
    role: Annotated[list[str] | None,
                    typer.Option("--role", help="agent (default), supervisor or admin")] = None,
    agent: Annotated[str | None, typer.Option(help="the agent id this user logs in as")] = None,
    name: Annotated[str | None, typer.Option(help="display name")] = None,
    password: Annotated[str | None, typer.Option(help="prompted when omitted")] = None,
    config: ConfigOpt = None,
) -> None:
    """Create a user in the hub's database."""
    from .config import Settings
    from .model.agent import Role

    try:
        settings = Settings.load(config)
    except CtiError as exc:
        fail(exc.message)
    role = role or ["agent"]
    for r in role:
        if r not in {x.value for x in Role}:
            fail(f"unknown role {r!r}; use agent, supervisor or admin")
    if agent is not None and agent not in {a.id for a in settings.agents}:
        fail(f"agent {agent!r} is not in the configuration's agents")
    if password is None:
        password = getpass.getpass(f"password for {username}: ")
    if len(password) < 8:
        fail("the password must have at least 8 characters")

    async def create() -> None:
        from .store import Database, Store

        db = Database(settings.database.url)
        await db.start()
        try:
            await Store(db).users.create(username, password, list(role),
                                         display_name=name, agent_id=agent)
        finally:
            await db.stop()

    try:
        asyncio.run(create())
    except CtiError as exc:
        fail(exc.message)
    typer.echo(f"user {username} created ({', '.join(role)})")


@app.command()
def agent(
    url: Annotated[str, typer.Option(help="hub URL")] = "http://127.0.0.1:8000/",
    user: Annotated[str, typer.Option(help="username")] = "alice",
    password: Annotated[str | None, typer.Option(help="prompted when omitted")] = None,
) -> None:
    """A terminal agent: prints events and sends commands you type (help lists them)."""
    from .terminal import run_terminal_agent

    if password is None:
        password = getpass.getpass(f"password for {user}: ")
    try:
        asyncio.run(run_terminal_agent(url, user, password))
    except CtiError as exc:
        fail(exc.message)
    except KeyboardInterrupt:
        pass


@telephony_app.command("test")
def telephony_test(
    config: Annotated[Path, typer.Option("--config", "-c", help="YAML config file")],
    platform: Annotated[str | None, typer.Option(
        "--platform", help="name of the telephony platform (default: the first)")] = None,
    seconds: Annotated[float, typer.Option(help="how long to watch once connected")] = 5.0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="show the logs too")] = False,
) -> None:
    """Connect to a platform, log in, and print what it sees for a few seconds."""
    from .clock import SystemClock
    from .config import Settings
    from .logs import configure
    from .telephony import registry

    configure(level="debug" if verbose else "error")

    try:
        settings = Settings.load(config)
    except CtiError as exc:
        fail(exc.message)
    specs = [t for t in settings.telephony if platform in (None, t.name)]
    if not specs:
        fail(f"no telephony platform {platform!r} in {config} (configured: "
             f"{', '.join(t.name for t in settings.telephony) or 'none'})")
    spec = specs[0]
    try:
        connector = registry.build(spec, SystemClock())
    except CtiError as exc:
        fail(exc.message)
    step(f"connecting to {spec.name} ({spec.type})")
    try:
        ok = asyncio.run(_watch_platform(connector, seconds))
    except KeyboardInterrupt:
        ok = True
    if not ok:
        raise typer.Exit(1)


async def _watch_platform(connector: Any, seconds: float, connect_within: float = 20.0) -> bool:
    """Print the connector's events; False if the link never came up."""
    from .model.events import PlatformResynced, PlatformStatus

    events = connector.events()
    await connector.start()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + connect_within
    up = False
    try:
        while True:
            left = deadline - loop.time()
            if left <= 0:
                if not up:
                    typer.secho(f"error: {connector.name}: no connection within "
                                f"{connect_within:g} s ({connector.health().detail})",
                                fg=typer.colors.RED, err=True)
                return up
            try:
                ev = await asyncio.wait_for(anext(events), left)
            except TimeoutError:
                continue
            if isinstance(ev, PlatformStatus):
                if not ev.up:
                    typer.secho(f"error: {connector.name}: {ev.detail}", fg=typer.colors.RED,
                                err=True)
                    return False
                if not up:
                    up = True
                    deadline = loop.time() + seconds
                typer.echo(f"link up: {ev.detail}")
                # Connector checks beyond the link (Asterisk: ARI credentials, Stasis app).
                for good, text in await getattr(connector, "checks", _no_checks)():
                    if good:
                        typer.echo(text)
                    else:
                        typer.secho(f"error: {connector.name}: {text}", fg=typer.colors.RED,
                                    err=True)
                        return False
            elif isinstance(ev, PlatformResynced):
                typer.echo(f"snapshot: {len(ev.calls)} call(s), {len(ev.agents)} agent(s)")
                for c in ev.calls:
                    who = c.customer.number or "?"
                    devices = " ".join(f"{d}={s}" for d, s in c.devices.items())
                    typer.echo(f"  call {c.ref} {c.direction} {who} "
                               f"queue={c.queue or '-'} {devices}")
                for device, (status, reason) in ev.agents.items():
                    typer.echo(f"  agent {device}: {status}" + (f" ({reason})" if reason else ""))
            else:
                fields = {k: v for k, v in vars_of(ev).items() if k != "at"}
                typer.echo(f"{ev.name} " + " ".join(f"{k}={v}" for k, v in fields.items()))
    finally:
        await connector.stop()


async def _no_checks() -> list[tuple[bool, str]]:
    return []


def vars_of(ev: Any) -> dict[str, Any]:
    import dataclasses

    return {f.name: getattr(ev, f.name) for f in dataclasses.fields(ev)}


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:
    try:
        app()
    except CtiError as exc:  # last resort: one line, not a traceback
        typer.secho(f"error: {exc.message}", fg=typer.colors.RED, err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()

"""The ``ctibridge`` command: demo, serve, edge, config check, user add, agent."""

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

# Plain help: typer's rich panels print "<bool>" after every flag, "--help <bool>" too.
app = typer.Typer(
    help="ctibridge: connect any telephony or contact-center platform to any CRM.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
config_app = typer.Typer(help="Check configuration files.", no_args_is_help=True,
                         rich_markup_mode=None)
user_app = typer.Typer(help="Manage users.", no_args_is_help=True, rich_markup_mode=None)
telephony_app = typer.Typer(help="Try the link to a telephony platform.", no_args_is_help=True,
                            rich_markup_mode=None)
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
    from .gcpolicy import GcPolicy
    from .logs import configure

    configure(json_format=settings.log.json_format, level=settings.log.level)
    host, port = settings.server.host, settings.server.port
    try:
        sockets = listeners(settings)  # the main port, and the ops port when configured
    except OSError as exc:
        fail(f"cannot listen on {host}:{port} or the ops port ({exc.strerror}); "
             "choose another with --port or stop what uses it")
    step(f"starting the hub on {host}:{port} (database {redact_url(settings.database.url)})")
    app_ = create_app(settings, config_dir=config_dir, hold_traffic=True)
    gc_policy = GcPolicy(settings.server.gc)
    # uvicorn with the hub's limits: header/body deadlines, connection caps (api/server.py).
    server = build_server(app_, settings)
    original = server.startup

    async def startup(sockets: Any = None) -> None:
        await original(sockets)
        if server.started:
            # Started: what the process holds now is the hub, not garbage (gcpolicy.py).
            gc_policy.start(app_.state.services.metrics.registry)
            # Listening now: simulated calls may pop and log into a CRM this server hosts.
            app_.state.services.start_traffic()
            if banner:
                typer.echo("\n".join(banner), err=True)

    server.startup = startup  # type: ignore[method-assign]
    original_shutdown = server.shutdown

    async def shutdown(sockets: Any = None) -> None:
        # No new simulated call while the server stops listening (its lookups would fail).
        if getattr(app_.state, "services", None) is not None:
            await app_.state.services.stop_traffic()
        await gc_policy.stop()
        await original_shutdown(sockets)

    server.shutdown = shutdown  # type: ignore[method-assign]
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
        help="simulated inbound calls at a fixed rate (0: none, place your own) "
        "[default: sized to the agents at work]")] = None,
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
        traffic = {k: v for k, v in (wanted.get("traffic") or {}).items() if k != "occupancy"}
        wanted["traffic"] = {"platform": "sim", **traffic, "calls_per_minute": calls_per_minute,
                             "occupancy": None}
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
    demo_key = _demo_secret_key(wanted)
    if demo_key is not None:
        wanted["auth"] = {**wanted.get("auth", {}), "secret_key": demo_key}
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
    t = settings.traffic
    if t is None or t.calls_per_minute == 0:
        calls = "none"
    elif t.occupancy is not None:
        calls = (f"sized to the agents at work (busy ~{t.occupancy:.0%} of their time on "
                 "the phone; none while nobody is ready)")
    else:
        calls = f"{t.calls_per_minute:g} per minute"
    banner = [
        "",
        f"  ctibridge {__version__} demo is running: open {url}",
        where,
        "  logins (password = username): agents alice, bob, carol; supervisor sam; admin admin",
        f"  terminal agent: ctibridge agent --url {url} --user bob --password bob",
        f"  simulated calls: {calls}; place one from a number of your choice: "
        f"POST {url}api/simulator/sim/calls (docs/crm-mapping.md). Ctrl-C stops.",
        "",
    ]
    _run(settings, banner=banner, config_dir=config.parent if config is not None else None)


def _demo_secret_key(wanted: dict[str, Any]) -> str | None:
    """The demo's token key, kept beside its SQLite file: restarting the demo keeps
    everyone signed in (sessions are in the database, tokens signed with this key).
    None when a key is given (config, environment) or the database is not a file."""
    import os
    import secrets

    if (wanted.get("auth") or {}).get("secret_key") or os.environ.get(
            "CTIBRIDGE_AUTH__SECRET_KEY"):
        return None
    url = str((wanted.get("database") or {}).get("url", ""))
    if not url.startswith("sqlite:///"):
        return None
    path = Path(url.removeprefix("sqlite:///") + ".key")
    try:
        key = path.read_text(encoding="ascii").strip()
        if len(key) >= 43:
            return key
    except (OSError, UnicodeDecodeError):
        pass
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(key + "\n")
    except OSError:
        return None  # a read-only folder: a fresh key each start, as before
    return key


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


@app.command()
def edge(config: ConfigOpt = None, log_json: LogJson = False) -> None:
    """Run only the connectors, on premises, publishing into the local NATS leaf node
    (the `edge` section; docs/deployment.md, "Hybrid edge")."""
    from .clock import SystemClock
    from .config import Settings
    from .logs import configure
    from .telephony import registry

    try:
        settings = Settings.load(config)
    except CtiError as exc:
        fail(exc.message)
    if settings.edge is None:
        fail("the configuration has no `edge` section (nats_url, cluster, edge_id, domain); "
             "see docs/deployment.md, \"Hybrid edge\"")
    configure(json_format=log_json or settings.log.json_format, level=settings.log.level)
    if any(spec.type == "edge" for spec in settings.telephony):
        fail("an edge runs the site's own connectors: `type: edge` belongs to the cloud's "
             "configuration")
    try:
        connectors = {spec.name: registry.build(spec, SystemClock())
                      for spec in settings.telephony}
    except CtiError as exc:
        fail(redact_text(exc.message))
    assert settings.edge is not None
    step(f"edge {settings.edge.edge_id}: {', '.join(connectors)} into "
         f"{redact_url(settings.edge.nats_url)} (JetStream domain {settings.edge.domain})")
    try:
        asyncio.run(_run_edge(settings.edge, connectors))
    except CtiError as exc:
        fail(redact_text(exc.message))


async def _run_edge(settings: Any, connectors: dict[str, Any]) -> None:
    import signal

    from .edge.runner import Edge

    runner = Edge(settings, connectors)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # Started while a stop may come (it waits for the leaf node when that is not up).
    starting = asyncio.create_task(runner.start())
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if starting.done():
            starting.result()  # a configuration problem is raised here
            await stopping
    finally:
        starting.cancel()
        stopping.cancel()
        await runner.stop()


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
    except KeyboardInterrupt:  # one Ctrl-C: leave quietly (the client said bye)
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

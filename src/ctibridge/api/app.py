"""The ASGI application: wires store, connectors, hub and routes.

``create_app(settings)`` builds everything from configuration; tests and
embedders may pass ready-made ``connectors`` (e.g. a simulator they drive)
and a ``clock``.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import StatementError

from .. import __version__, securitylog
from ..clock import Clock, SystemClock
from ..config import CrmSettings, Settings
from ..core.commands import Commands
from ..core.demotraffic import start_traffic
from ..core.hub import Hub
from ..core.omnichannel import Omnichannel
from ..core.supervision import start_supervision
from ..metrics import Metrics
from ..model.errors import CtiError, TooManyRequests
from ..telephony import registry
from ..telephony.base import TelephonyConnector
from .account import router as account_router
from .auth import TicketBook, TokenService
from .crm import router as crm_router
from .digital import router as digital_router
from .digital import start_digital, stop_digital
from .hardening import harden
from .loginguard import LoginGuard
from .rest import router as rest_router
from .sessions import SessionService, client_address
from .supervision import router as supervision_router
from .ws import router as ws_router

log = structlog.get_logger("ctibridge.app")

DEMO_USERS = [
    # username, roles, agent id
    ("alice", ["agent"], "alice"),
    ("bob", ["agent"], "bob"),
    ("carol", ["agent"], "carol"),
    ("sam", ["supervisor"], None),
    ("admin", ["admin", "supervisor"], None),
]


class Services:
    """Everything a request handler may need, typed (no string-keyed lookups)."""

    def __init__(self, settings: Settings, hub: Hub, store: Any, clock: Clock) -> None:
        self.settings = settings
        self.hub = hub
        self.store = store
        self.clock = clock
        self.commands = Commands(hub)
        self.tokens = TokenService(settings.auth.secret_key.get_secret_value(),
                                   settings.auth.token_ttl_seconds, clock)
        self.tickets = TicketBook(settings.auth.ticket_ttl_seconds, clock)
        self.sessions = SessionService(store, self.tokens, settings.auth, clock)
        self.login_guard = LoginGuard(settings.auth.login, clock)
        if store is not None:  # passwords are hashed on the guard's bounded pool
            store.users.run_hash = self.login_guard.pool.run
        self.metrics = Metrics()
        self.traffic: Any = None  # core.demotraffic.Traffic, when the simulator is called
        self.traffic_held = False  # started by start_traffic() once the server listens
        self.core_running = False  # the hub's core started in this process (and not stopped)
        self.digital: dict[str, Any] = {}  # digital connectors by name (api/digital.py)
        self.intake: Any = None  # the digital Intake, when there is a store
        self.crm: Any = None  # the CrmConnector, when settings.crm is set
        self.calllog: Any = None  # the CallLogWorker, when calls are logged
        self.supervision: Any = None  # core.supervision.Supervision (queue stats, audit)
        self.omnichannel: Any = None  # core.omnichannel.Omnichannel (digital work, routing)
        self.ready = False
        # Where sockets read events: the hub's own notifier, or in a cluster the
        # node's relay of the bus (cluster/relay.py); and the cluster node, if any.
        self.delivery = hub.notifier
        self.local_commands = self.commands
        self.cluster: Any = None
        self.core_routes: Any = None  # cluster.forward.CoreRoutes: REST for followers

    def start_traffic(self) -> None:
        """Start the simulated customers (once): their calls pop and are looked up in the
        CRM, which may be this very server, so the CLI starts them once it listens. In a
        cluster only the core's node calls its simulator (a node taking the core over
        starts them then): the others' simulators are not even started."""
        self.traffic_held = False  # from now on a core starting here starts them at once
        if self.traffic is None and self.ready and self.core_running:
            self.traffic = start_traffic(self.settings, self.hub, self.digital, self.clock)

    async def stop_traffic(self) -> None:
        if self.traffic is not None:
            await self.traffic.stop()


def create_app(
    settings: Settings,
    *,
    connectors: dict[str, TelephonyConnector] | None = None,
    clock: Clock | None = None,
    store: Any | None = None,
    crm: Any | None = None,
    config_dir: Path | None = None,
    hold_traffic: bool = False,
) -> FastAPI:
    """``crm``: a ready CrmConnector (tests); else built from ``settings.crm``, its
    mapping path read relative to ``config_dir`` (the config file's folder).
    ``hold_traffic``: the simulated customers wait for ``services.start_traffic()``
    (the CLI calls it once the server listens: no lookup before it can answer)."""
    clock = clock or SystemClock()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from ..store import Database, Store

        db = None
        the_store = store
        if the_store is None:
            db = Database(settings.database.url)
            await db.start()
            the_store = Store(db)
        conns = connectors if connectors is not None else {
            spec.name: registry.build(spec, clock) for spec in settings.telephony
        }
        services = Services(settings, Hub(settings, conns, clock=clock, store=the_store),
                            the_store, clock)
        services.hub.on_event = lambda name: services.metrics.events.labels(name).inc()
        services.metrics.watch_calls(lambda: _call_states(services.hub))
        app.state.services = services
        app.state.hub = services.hub
        await _seed(settings, services)
        await services.login_guard.remember_addresses(the_store.sessions)

        async def start_core() -> None:
            await _start_crm(settings, services, crm, config_dir)
            await start_supervision(services)  # before the hub: it counts every event
            await services.hub.start()
            await start_digital(settings, services, clock)
            services.omnichannel = Omnichannel(services.hub, services.digital, settings,
                                               clock, supervision=services.supervision)
            await services.omnichannel.start()
            log.info("hub.started", version=__version__, platforms=list(conns))
            services.core_running = True
            if services.ready and not services.traffic_held:  # a cluster node taking over
                services.start_traffic()

        async def stop_core() -> None:
            services.core_running = False
            await services.stop_traffic()
            services.traffic = None
            if services.omnichannel is not None:
                await services.omnichannel.stop()
            await services.hub.stop()
            if services.supervision is not None:
                await services.supervision.stop()
            await stop_digital(services)
            await _stop_crm(services)

        if settings.cluster is None:
            await start_core()
        else:  # the core runs on the node holding the lease (cluster/node.py)
            from ..cluster.node import ClusterNode

            services.core_routes = core_routes
            services.cluster = ClusterNode(settings.cluster, services, start_core=start_core,
                                           stop_core=stop_core)
            await services.cluster.start()
        services.ready = True
        services.traffic_held = hold_traffic
        if not hold_traffic:
            services.start_traffic()  # now if the core runs here, else once it does
        try:
            yield
        finally:
            services.ready = False
            if services.cluster is not None:
                await services.cluster.stop()  # stops the core if it ran here
            else:
                await stop_core()
            services.login_guard.close()
            if db is not None:
                await db.stop()
            log.info("hub.stopped")

    app = FastAPI(
        title="ctibridge",
        version=__version__,
        description="CTI hub: agents, calls and commands. The agent WebSocket protocol is "
        "described in docs/protocol/asyncapi.yaml.",
        lifespan=lifespan,
        docs_url=None, redoc_url=None,  # /docs is served from a pinned package (hardening.py)
    )

    @app.exception_handler(CtiError)
    async def cti_error(request: Request, exc: CtiError) -> Response:
        if exc.status in (401, 403) and exc.code != "login-failed" \
                and not getattr(exc, "security_logged", False):
            securitylog.refused(exc.status, exc.code, exc.message, path=request.url.path,
                                address=client_address(request), user=exc.details.get("user"))
        headers = ({"Retry-After": str(exc.retry_after)}
                   if isinstance(exc, TooManyRequests) else None)
        # ASCII-escaped: a message quoting hostile input (a lone surrogate) still renders.
        return Response(json.dumps(exc.to_dict(), ensure_ascii=True), status_code=exc.status,
                        media_type="application/json", headers=headers)

    async def not_text(_: Request, exc: Exception) -> JSONResponse:
        # "\ud800" parses as JSON but is no character: nothing can store or echo it.
        if isinstance(exc, StatementError) and not isinstance(exc.orig, UnicodeError):
            raise exc
        return JSONResponse({"code": "bad-text", "message": "the request holds a \\u escape "
                             "that is not a character (a lone UTF-16 surrogate)"},
                            status_code=400)

    app.add_exception_handler(UnicodeEncodeError, not_text)
    app.add_exception_handler(StatementError, not_text)

    core_routes = None
    if settings.cluster is not None:
        from ..cluster.forward import CoreRoutes, ForwardToCore

        # Innermost: what the core holds is asked of the core's node (cluster/forward.py).
        core_routes = CoreRoutes()
        app.add_middleware(ForwardToCore, routes=core_routes)
    harden(app, settings)  # headers, Host allow-list, body limits, /docs (docs/security.md)
    app.include_router(rest_router)
    app.include_router(account_router)
    app.include_router(digital_router)
    app.include_router(crm_router)
    app.include_router(supervision_router)
    app.include_router(ws_router)
    web = files("ctibridge") / "web"
    for folder in ("agentbar", "supervisor"):
        path = web / folder
        if path.is_dir():
            app.mount(f"/{folder}", StaticFiles(directory=str(path), html=True), name=folder)
    if settings.democrm is not None:  # the built-in demo CRM, an application of its own
        from ..crm.democrm import mount_democrm

        mount_democrm(app, settings.democrm, outcomes=outcome_labels(settings))

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        # The demo opens straight on a signed-in agent's bar (other agents are one click away).
        if settings.demo:
            # The demo CRM with alice's bar beside it: calls pop contacts and log there.
            return RedirectResponse("/democrm/?user=alice" if settings.democrm
                                    else "/agentbar/?user=alice")
        return RedirectResponse("/agentbar/")

    return app


def outcome_labels(settings: Settings) -> dict[str, dict[str, str]]:
    """Disposition code -> its label per language (what a CRM shows, not the code)."""
    return {d.code: {"en": d.label.en, "fr": d.label.fr} for d in settings.dispositions}


def build_crm(settings: Settings, config_dir: Path | None = None) -> Any:
    """The CRM connector ``settings.crm`` describes (its mapping file loaded)."""
    from ..crm import presets
    from ..crm.mapping import load_mapping

    assert settings.crm is not None
    path = presets.resolve(settings.crm.mapping, config_dir)
    server = settings.server
    hub_url = server.public_url or f"http://{server.host}:{server.port}"
    return load_mapping(path, variables={**settings.crm.variables, "hub_url": hub_url},
                        agent_names={a.id: a.name for a in settings.agents},
                        outcomes=outcome_labels(settings))


async def _start_crm(settings: Settings, services: Services, crm: Any | None,
                     config_dir: Path | None) -> None:
    if settings.crm is None and crm is None:
        return
    from ..core.calllog import CallLogWorker, node_id
    from ..core.screenpop import ScreenPops
    from ..crm.base import CrmConnector

    crm_settings = settings.crm or CrmSettings(mapping="(given)")
    connector = crm if crm is not None else build_crm(settings, config_dir)
    if not isinstance(connector, CrmConnector):
        raise TypeError(f"{type(connector).__name__} is not a CrmConnector")
    await connector.start()
    services.crm = connector
    hub = services.hub
    hub.screenpops = ScreenPops(hub, connector, crm_settings, services.metrics)
    if crm_settings.log_calls and services.store is not None:
        delivery = crm_settings.call_log
        worker = CallLogWorker(
            services.store, connector, services.clock, metrics=services.metrics,
            # In a cluster the node's name: any node may run the worker, the rows'
            # leases in the shared database keep two from sending one log.
            owner=(f"node:{settings.cluster.node_id}" if settings.cluster is not None
                   and settings.cluster.node_id else
                   node_id(settings.server.host, settings.server.port)),
            lease_seconds=delivery.lease_seconds, timeout_seconds=delivery.timeout_seconds,
            base_delay=delivery.first_retry_seconds, max_delay=delivery.max_retry_seconds,
            max_attempts=delivery.max_attempts, settle_seconds=delivery.settle_seconds,
            retry_auth=delivery.auth_failures == "retry",
            max_auth_delay=delivery.max_auth_retry_seconds, publish=hub.notifier.publish)
        hub.call_log = connector.name
        hub.on_call_log = worker.nudge
        services.calllog = worker
        await worker.start()
    log.info("crm.started", crm=connector.name, log_calls=services.calllog is not None)


async def _stop_crm(services: Services) -> None:
    if services.calllog is not None:
        await services.calllog.stop()
    if services.hub.screenpops is not None:
        await services.hub.screenpops.stop()
    if services.crm is not None:
        try:
            await services.crm.stop()
        except Exception:  # a CRM failing to stop must not block shutdown
            log.exception("crm.stop_failed")


def _call_states(hub: Hub) -> Counter[str]:
    count: Counter[str] = Counter()
    for call in hub.calls.live():
        for conn in call.live_connections():
            count[str(conn.state)] += 1
    return count


async def _seed(settings: Settings, services: Services) -> None:
    if services.store is None:
        return
    for agent in services.hub.agents.values():
        await services.store.agents.upsert(agent)
    if settings.demo:
        agent_ids = set(services.hub.agents)
        for username, roles, agent_id in DEMO_USERS:
            if agent_id is not None and agent_id not in agent_ids:
                continue
            name = services.hub.agents[agent_id].name if agent_id else username.capitalize()
            await services.store.users.ensure(username, username, roles, display_name=name,
                                              agent_id=agent_id)

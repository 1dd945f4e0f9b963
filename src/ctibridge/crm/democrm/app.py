"""The demo CRM as an ASGI application, and how the hub mounts it at /democrm."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from importlib.resources import files
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from ...config import DemoCrmSettings
from ...telephony.simulator import Customer, SimulatorConnector, generate_customers
from . import api, pages
from .store import DemoCrmStore

BAR_URL = "/agentbar/?embed=1"
CustomerSource = Callable[[], Sequence[Customer]]


def default_customers() -> Sequence[Customer]:
    """The pool of a simulator with its default seed (when no simulator runs)."""
    seed = inspect.signature(SimulatorConnector).parameters["seed"].default
    return generate_customers(seed)


class DemoCrm:
    """The demo CRM: its store and its ASGI app (``.app``).

    ``customers`` gives the callers to seed contacts from; it is called at
    start, once the hub's simulators exist.
    """

    def __init__(self, settings: DemoCrmSettings, *, customers: CustomerSource = default_customers,
                 bar_url: str = BAR_URL,
                 outcomes: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self.settings = settings
        # Outcome code -> {"en": label, "fr": label}: the history shows labels, not codes.
        self.outcomes = dict(outcomes or {})
        self.store = DemoCrmStore(settings.database)
        self._customers = customers
        self.app = _build_app(self, bar_url)

    async def start(self) -> None:
        await self.store.start(self._customers())

    async def stop(self) -> None:
        await self.store.stop()


def create_democrm(settings: DemoCrmSettings, *, customers: CustomerSource = default_customers,
                   bar_url: str = BAR_URL) -> DemoCrm:
    return DemoCrm(settings, customers=customers, bar_url=bar_url)


def mount_democrm(app: FastAPI, settings: DemoCrmSettings, path: str = "/democrm",
                  outcomes: Mapping[str, Mapping[str, str]] | None = None) -> DemoCrm:
    """Serve the demo CRM at ``path`` of the hub's ``app``, seeded from the hub's simulators.

    Starlette runs no lifespan for a mounted app, so the CRM's start and stop are
    wrapped around the hub's own lifespan (after the hub started, so that its
    simulators and their customer pools exist).
    """

    def hub_customers() -> Sequence[Customer]:
        hub = getattr(app.state, "hub", None)
        sims = [c for c in getattr(hub, "connectors", {}).values()
                if isinstance(c, SimulatorConnector)]
        if not sims:
            return default_customers()
        return [who for sim in sims for who in sim.customers.pool]

    crm = DemoCrm(settings, customers=hub_customers, outcomes=outcomes)
    app.mount(path, crm.app, name="democrm")
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(parent: Any) -> AsyncIterator[Any]:
        async with inner(parent) as state:
            await crm.start()
            try:
                yield state
            finally:
                await crm.stop()

    app.router.lifespan_context = lifespan
    return crm


def _is_api(request: Request) -> bool:
    root = request.scope.get("root_path", "")
    return request.url.path[len(root):].startswith("/api/")


def _build_app(crm: DemoCrm, bar_url: str) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Only when served on its own; mounted in the hub, mount_democrm starts it.
        await crm.start()
        try:
            yield
        finally:
            await crm.stop()

    app = FastAPI(title="ctibridge demo CRM", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.state.crm_store = crm.store
    app.state.crm_api_key = crm.settings.api_key
    app.state.crm_bar_url = bar_url
    app.state.crm_outcomes = crm.outcomes

    @app.exception_handler(api.ApiError)
    async def api_error(_: Request, exc: api.ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def bad_params(request: Request, exc: RequestValidationError) -> Response:
        if not _is_api(request):
            return pages.not_found(request)
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                          for e in exc.errors())
        return api.ApiError(422, "invalid-request", where).response()

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if not _is_api(request):
            if exc.status_code == 404:
                return pages.not_found(request)
            return Response(str(exc.detail), status_code=exc.status_code)
        code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        message = (f"{request.method} {request.url.path}: {exc.detail}")
        return api.ApiError(exc.status_code, code, message).response()

    app.include_router(api.router)
    app.include_router(pages.router)
    static = files("ctibridge") / "web" / "democrm" / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    return app

"""The HTTP surface's guards, put around the application in one call (docs/security.md).

From the outside in: security headers (CSP and friends, on every answer,
refusals included), the Host allow-list, the ops listener's own routes, then
the per-route body limits. Connection-level limits (slowloris, per-address
caps) live in the server protocol (api/server.py).
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from ..config import Settings
from .hosts import HostGuard
from .limits import BodyLimits
from .ops import OpsListenerGuard
from .security import SecurityHeaders


def harden(app: FastAPI, settings: Settings) -> None:
    # Starlette runs the last added middleware first.
    app.add_middleware(BodyLimits, settings=settings)
    app.add_middleware(OpsListenerGuard, settings=settings)
    app.add_middleware(HostGuard, settings=settings)
    app.add_middleware(SecurityHeaders, allowed_origins=settings.server.allowed_origins,
                       script_origins=settings.server.script_origins)
    mount_api_docs(app)


def mount_api_docs(app: FastAPI) -> None:
    """Swagger UI at /docs, from the pinned fastapi-offline package: no CDN, no inline script."""
    import fastapi_offline

    assets = files(fastapi_offline) / "static"
    page = files("ctibridge") / "web" / "apidocs"
    app.mount("/docs/swagger", StaticFiles(directory=str(assets)), name="swagger-ui")
    app.mount("/docs", StaticFiles(directory=str(page), html=True), name="apidocs")

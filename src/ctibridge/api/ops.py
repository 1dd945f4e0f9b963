"""Who may read the operator's views: /metrics and the detailed /readyz.

They name platforms, addresses, CRM errors and traffic figures: not for an
anonymous caller. Allowed are:

* requests on the ops listener (``server.ops.port``, for a scraper on a
  private network: only /metrics, /readyz and /healthz are served there);
* ``Authorization: Bearer <server.ops.token>`` (a scraper's secret);
* ``Authorization: Bearer <a user's token>`` of a supervisor or an admin.

``/healthz`` and a bare ``/readyz`` (``{"status": …}`` and its 200/503) stay
public: probes and load balancers use them.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from ..config import Settings
from ..model.errors import CtiError
from .limits import answer
from .sessions import client_address

OPS_PATHS = frozenset({"/metrics", "/readyz", "/healthz"})


def on_ops_listener(scope: Scope, settings: Settings) -> bool:
    port = settings.server.ops.port
    server = scope.get("server")
    return port is not None and server is not None and server[1] == port


async def ops_allowed(request: Request) -> bool:
    svc: Any = request.app.state.services
    settings: Settings = svc.settings
    if on_ops_listener(request.scope, settings):
        return True
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return False
    token = header[7:].strip()
    ops_token = settings.server.ops.token
    if ops_token is not None and hmac.compare_digest(
            token.encode(), ops_token.get_secret_value().encode()):
        return True
    try:  # checked against its session: a logged-out or demoted user's token reads nothing
        principal = await svc.sessions.principal(token, client_address(request))
    except CtiError:
        return False
    return bool(principal.is_supervisor)


class OpsListenerGuard:
    """On the ops listener, only the ops endpoints exist."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] in ("http", "websocket") and on_ops_listener(scope, self.settings)
                and scope.get("path") not in OPS_PATHS):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await answer(send, 404, "ops-listener",
                         "the ops port serves only /metrics, /readyz and /healthz")
            return
        await self.app(scope, receive, send)

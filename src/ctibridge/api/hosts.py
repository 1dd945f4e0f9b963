"""The Host allow-list: the hub answers only to its own names (DNS rebinding).

A page on ``evil.com`` can make its own name resolve to the hub's address (DNS
rebinding); the browser then sends ``Host: evil.com`` to the hub and lets the
page read the answers, as same-origin. Refusing every Host the hub was not
given stops it: REST, pages and the WebSocket handshake alike.

Allowed: ``localhost``, ``127.0.0.1``, ``[::1]``, the host of
``server.public_url``, ``server.host`` when it is a name or a fixed address, and
``server.allowed_hosts`` (``*.example.com`` allows its subdomains; ``*`` turns
the check off). ``/healthz`` and ``/readyz`` answer any Host: load balancers
and probes call them by address, and they tell nothing without a login.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import structlog
from starlette.types import ASGIApp, Receive, Scope, Send

from ..config import Settings
from .limits import answer

log = structlog.get_logger("ctibridge.hosts")

LOCAL_NAMES = ("localhost", "127.0.0.1", "[::1]")
ANY_HOST_PATHS = frozenset({"/healthz", "/readyz"})
_WILDCARD_BINDS = {"", "0.0.0.0", "::", "[::]"}


def allowed_hosts(settings: Settings) -> list[str]:
    server = settings.server
    names = [*LOCAL_NAMES, *server.allowed_hosts]
    if server.public_url:
        host = urlsplit(server.public_url).hostname
        if host:
            names.append(f"[{host}]" if ":" in host else host)
    if server.host not in _WILDCARD_BINDS:
        names.append(f"[{server.host}]" if ":" in server.host else server.host)
    return sorted({n.strip().lower().rstrip(".") for n in names if n.strip()})


def host_name(header: str) -> str:
    """``Host`` without its port, lower case: ``[::1]:8000`` → ``[::1]``."""
    value = header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[: end + 1] if end > 0 else value
    return value.rsplit(":", 1)[0].rstrip(".") if value.count(":") == 1 else value.rstrip(".")


def host_allowed(host: str, allowed: list[str]) -> bool:
    if "*" in allowed:
        return True
    name = host_name(host)
    if not name:
        return False
    for entry in allowed:
        if entry.startswith("*."):
            if name.endswith(entry[1:]) and len(name) > len(entry) - 1:
                return True
        elif name == entry:
            return True
    return False


class HostGuard:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.allowed = allowed_hosts(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope.get("path") in ANY_HOST_PATHS:
            await self.app(scope, receive, send)
            return
        host = ""
        for name, value in scope.get("headers", []):
            if name == b"host":
                host = value.decode("latin-1")
                break
        if host_allowed(host, self.allowed):
            await self.app(scope, receive, send)
            return
        shown = host[:100] or "(none)"
        log.warning("http.host_refused", host=shown, path=scope.get("path"),
                    client=(scope.get("client") or ("?",))[0], kind=scope["type"])
        message = (f"this hub does not answer to the host name {shown!r}; if it is one of "
                   "its names, add it to server.allowed_hosts (or set server.public_url)")
        if scope["type"] == "http":
            await answer(send, 400, "host-not-allowed", message)
            return
        # A WebSocket handshake: refused before it is accepted, so no frame is ever sent.
        if "websocket.http.response" in scope.get("extensions", {}):
            body = json.dumps({"code": "host-not-allowed", "message": message},
                              ensure_ascii=True).encode()
            await send({"type": "websocket.http.response.start", "status": 400,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            await send({"type": "websocket.close", "code": 1008})

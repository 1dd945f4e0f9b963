"""REST calls a node cannot answer itself, answered by the core's node over the bus.

Only the core's node holds the hub's live state (agents, calls), the supervision
service (queues, audit), the CRM connector and call-log worker, the digital intake
and the simulator: on any other node these routes would read an empty or stale
copy, or say the service is off. A follower hands such a request, as is (method,
path, query, headers, body, the client's address), to the core's node by NATS
request/reply (``<name>.http``); the core runs it through its own application and
sends the response back. Everything else (login, tickets, history and users in the
shared database, health) is answered where it arrives.

Errors are the cluster's own when no core answers: ``no-core`` and ``core-timeout``
(cluster/relay.py), with the body every CtiError has.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..model.errors import CtiError, PlatformError

# Routes whose answer lives in the core (see the module's docstring).
CORE_ROUTES = re.compile(
    r"^/api/(agents(/[^/]+)?|calls(/[^/]+)?|queues|audit|calllog(/.*)?|crm/health"
    r"|simulator/.*|digital/[^/]+/(webhook|interactions))$"
    r"|^/digital/[^/]+/conversations/[^/]+$")
FORWARDED = "x-ctibridge-forwarded"  # set on a request a follower handed over


def _pack(body: bytes) -> dict[str, str]:
    try:
        return {"text": body.decode()}  # JSON and HTML: no base64 growth on the bus
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(body).decode()}


def _unpack(d: dict[str, str]) -> bytes:
    return d["text"].encode() if "text" in d else base64.b64decode(d.get("b64", ""))


def _error_response(exc: CtiError) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    body = json.dumps(exc.to_dict(), ensure_ascii=True).encode()
    return exc.status, [(b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode())], body


class CoreRoutes:
    """Where the core's node runs requests handed over: the application beneath the
    middleware (the outer ones, host and body checks, headers, ran on the follower)."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None
        self.root: Any = None  # the application itself, which requests' scopes name

    async def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.app is not None, "the application was not built"
        return await answer(self.app, request, root=self.root)


class ForwardToCore:
    """ASGI middleware: on a node not running the core, core routes go to the core.
    Added innermost (before the hardening middlewares), so it runs after them."""

    def __init__(self, app: ASGIApp, routes: CoreRoutes) -> None:
        self.app = app
        self.routes = routes
        routes.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":  # the first call, before any request
            self.routes.root = scope.get("app")
        if scope["type"] != "http" or not CORE_ROUTES.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        svc = getattr(scope["app"].state, "services", None)
        node = getattr(svc, "cluster", None)
        headers = dict(scope["headers"])
        if node is None or node.owner is not None:
            await self.app(scope, receive, send)
            return
        if FORWARDED.encode() in headers:  # handed to us as the core, which we no longer are
            status, out, body = _error_response(PlatformError(
                "the node that was running the hub's core just stopped; retry in a few "
                "seconds", code="no-core"))
        else:
            status, out, body = await self._forward(node, scope, await _read(receive))
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": body})

    async def _forward(self, node: Any, scope: Scope, body: bytes
                       ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        client = scope.get("client") or ("", 0)
        request = {
            "method": scope["method"], "path": scope["path"],
            "query": scope.get("query_string", b"").decode("latin-1"),
            "headers": [[k.decode("latin-1"), v.decode("latin-1")]
                        for k, v in scope["headers"]],
            "client": [client[0], client[1]], "body": _pack(body)}
        try:
            answer = await node.relay.request(node.names.http, request)
        except CtiError as exc:
            return _error_response(exc)
        return (int(answer["status"]),
                [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer["headers"]],
                _unpack(answer["body"]))


async def _read(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b""  # the client went away
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def answer(app: ASGIApp, request: dict[str, Any], *, root: Any = None
                 ) -> dict[str, Any]:
    """Run a request a follower handed over through this node's application."""
    body = _unpack(request["body"])
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in request["headers"]
               if k.lower() != FORWARDED]
    headers.append((FORWARDED.encode(), b"1"))
    scope: Scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
        "method": request["method"], "scheme": "http", "root_path": "",
        "path": request["path"], "raw_path": request["path"].encode(),
        "query_string": request["query"].encode("latin-1"), "headers": headers,
        "client": tuple(request["client"]), "server": None, "app": root,
    }
    sent = False
    status = 500
    out: list[list[str]] = []
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal sent
        if sent:  # as a server does: no disconnect while the response is being made
            await asyncio.get_running_loop().create_future()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
            out.extend([k.decode("latin-1"), v.decode("latin-1")]
                       for k, v in message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return {"status": status, "headers": out, "body": _pack(b"".join(chunks))}

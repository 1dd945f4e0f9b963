"""Request body limits, per route, enforced before anything buffers the body.

A declared ``Content-Length`` over the route's limit is answered ``413`` at once,
before the application runs (and before uvicorn sends ``100 Continue``); a
chunked body is counted while it streams and answered ``413`` the moment it
goes over. A body that does not arrive whole within ``body_timeout_seconds``
is answered ``408``. Either way the connection is closed, so the rest of the
body is never read, and the application sees the client as gone.

The limits (``server.limits`` in the configuration) are small for login and
the REST API and follow ``digital.*.max_body_bytes`` for the digital intake,
whose routes still apply each platform's own limit.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import Settings

log = structlog.get_logger("ctibridge.limits")

_INTAKE = re.compile(r"^/api/digital/[^/]+/(webhook|interactions)$")
LOGIN_PATHS = frozenset({"/api/login"})


def route_limit(settings: Settings, path: str) -> int:
    """The most body bytes a request to ``path`` may send."""
    limits = settings.server.limits
    if path in LOGIN_PATHS:
        return limits.login_body_bytes
    if _INTAKE.match(path):
        sizes = [d.max_body_bytes for d in settings.digital]
        return max([limits.body_bytes, *sizes])
    return limits.body_bytes


async def answer(send: Send, status: int, code: str, message: str,
                 extra: list[tuple[bytes, bytes]] | None = None) -> None:
    """A JSON error response that closes the connection (the rest of the body is never read)."""
    body = json.dumps({"code": code, "message": message}, ensure_ascii=True).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"), *(extra or [])]})
    await send({"type": "http.response.body", "body": body})


class BodyLimits:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.timeout = settings.server.limits.body_timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = route_limit(self.settings, path)
        declared = _content_length(scope)
        if declared == -1:
            await answer(send, 400, "bad-content-length",
                         "the Content-Length header is not a number; send the body's size")
            return
        if declared is not None and declared > limit:
            log.info("http.body_refused", path=path, declared=declared, limit=limit)
            await answer(send, 413, "body-too-large",
                         f"the body is {declared} bytes; {path} accepts at most {limit}")
            return

        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        received = 0
        started = False  # the application began its response
        answered = False  # we answered in its place: its later messages are dropped
        done = False  # the whole body has arrived

        async def guarded_receive() -> Message:
            nonlocal received, answered, done
            if answered:
                return {"type": "http.disconnect"}
            if done:
                return await receive()  # only a disconnect can come now: no deadline
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                log.info("http.body_timeout", path=path, received=received)
                if not started:
                    answered = True
                    await answer(send, 408, "body-timeout",
                                 f"the body did not arrive within {self.timeout:g} s; "
                                 "send it at once")
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    log.info("http.body_refused", path=path, received=received, limit=limit)
                    if not started:
                        answered = True
                        await answer(send, 413, "body-too-large",
                                     f"the body exceeds {limit} bytes, the most {path} "
                                     "accepts")
                    return {"type": "http.disconnect"}
                if not message.get("more_body", False):
                    done = True
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if answered:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except Exception:
            if not answered:
                raise
            # The application failed reading a body we cut short: already answered.


def _content_length(scope: Scope) -> int | None:
    """The declared body size; None when absent; -1 when not a number."""
    value: Any = None
    for name, raw in scope.get("headers", []):
        if name == b"content-length":
            value = raw
    if value is None:
        return None
    text = value.decode("latin-1").strip()
    return int(text) if text.isdigit() and len(text) < 19 else -1

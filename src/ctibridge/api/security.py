"""Security headers for the pages the hub serves.

The agent bar is meant to be framed by a CRM, but only by the CRMs the
operator listed (``server.allowed_origins``): ``frame-ancestors`` makes the
browser refuse any other framing page (clickjacking), and ``nosniff`` keeps
static files from being read as something else.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class SecurityHeaders:
    def __init__(self, app: ASGIApp, allowed_origins: list[str]) -> None:
        self.app = app
        ancestors = " ".join(["'self'", *allowed_origins])
        self.headers = [
            (b"content-security-policy", f"frame-ancestors {ancestors}".encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *(h for h in self.headers if h[0] not in have)]
            await send(message)

        await self.app(scope, receive, with_headers)

"""Security headers for every page and answer the hub serves.

* A strict Content-Security-Policy: scripts, styles, frames and connections
  from the hub's own origin only; no inline script, no ``eval``, no plugin, no
  ``<base>``; forms post back to the hub. A page that needs one inline style
  (the digital simulator's transcript) is allowed it by hash
  (:func:`style_hash`), never by ``'unsafe-inline'``.
* ``frame-ancestors``: the agent bar is meant to be framed by a CRM, but only
  by the CRMs the operator listed (``server.allowed_origins``): the browser
  refuses any other framing page (clickjacking).
* ``nosniff`` keeps static files from being read as something else;
  ``same-origin`` referrers keep URLs (and their query strings) in the hub.

A response that sets its own policy (the API docs page) keeps it.
"""

from __future__ import annotations

import base64
import hashlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Inline <style> blocks allowed by hash, registered by the modules that serve them.
_STYLE_HASHES: set[str] = set()


def style_hash(css: str) -> str:
    """Allow this exact inline ``<style>`` content; return ``css`` unchanged."""
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    _STYLE_HASHES.add(f"'sha256-{digest}'")
    return css


def policy(allowed_origins: list[str], *, styles: str = "'self'",
           script_origins: list[str] | None = None) -> str:
    ancestors = " ".join(["'self'", *allowed_origins])
    scripts = " ".join(["'self'", *(script_origins or [])])
    hashes = " ".join(sorted(_STYLE_HASHES))
    return "; ".join([
        "default-src 'self'",
        f"script-src {scripts}",
        f"style-src {styles} {hashes}".strip(),
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",  # 'self' covers ws:/wss: to the same host (CSP Level 3)
        "frame-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        f"frame-ancestors {ancestors}",
    ])


class SecurityHeaders:
    def __init__(self, app: ASGIApp, allowed_origins: list[str],
                 script_origins: list[str] | None = None) -> None:
        self.app = app
        self.allowed_origins = allowed_origins
        self.script_origins = script_origins or []
        self.headers: list[tuple[bytes, bytes]] | None = None

    def _headers(self) -> list[tuple[bytes, bytes]]:
        # Built at the first response: modules register their style hashes at import.
        if self.headers is None:
            self.headers = [
                (b"content-security-policy", policy(self.allowed_origins,
                                                          script_origins=self.script_origins).encode()),
                (b"x-content-type-options", b"nosniff"),
                (b"referrer-policy", b"same-origin"),
                (b"permissions-policy", b"camera=(), geolocation=(), payment=(), usb=()"),
            ]
        return self.headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self._headers()

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *(h for h in extra if h[0] not in have)]
            await send(message)

        await self.app(scope, receive, with_headers)

"""Tokens and WebSocket tickets.

A login gives a signed JWT that expires soon and names its server-side session
(api/sessions.py checks it on every use). Browsers cannot put headers on a
WebSocket, so a page trades its token for a one-time ticket that lives a few
seconds and is consumed by the ``/ws`` handshake.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from .. import securitylog
from ..clock import Clock
from ..core.permissions import Principal
from ..model.agent import Role
from ..model.errors import Unauthorized

ALGORITHM = "HS256"


class TokenService:
    def __init__(self, secret: str, ttl_seconds: int, clock: Clock) -> None:
        self._secret = secret
        self._ttl = ttl_seconds
        self._clock = clock

    @property
    def ttl(self) -> int:
        return self._ttl

    def issue(self, principal: Principal) -> str:
        now = self._clock.now()
        claims = {
            "sub": principal.username,
            "name": principal.display_name,
            "roles": sorted(str(r) for r in principal.roles),
            "agent": principal.agent_id,
            "sid": principal.session_id,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=self._ttl)).timestamp()),
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM],
                options={"require": ["exp", "sub"], "verify_exp": False},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"the token is not valid ({exc})", code="token-invalid") from None
        # Expiry is checked against our clock (injectable in tests), not time.time().
        if claims["exp"] <= self._clock.now().timestamp():
            raise Unauthorized("the token has expired; log in again", code="token-expired")
        try:
            roles = frozenset(Role(r) for r in claims.get("roles", []))
        except ValueError:
            raise Unauthorized("the token names an unknown role", code="token-invalid") from None
        sid = claims.get("sid")
        return Principal(claims["sub"], roles, claims.get("agent"), claims.get("name"),
                         sid if isinstance(sid, str) and sid else None)


@dataclass
class _Ticket:
    principal: Principal
    expires: datetime


class TicketBook:
    """One-time, short-lived WebSocket tickets (kept in memory)."""

    def __init__(self, ttl_seconds: int, clock: Clock) -> None:
        self._ttl = ttl_seconds
        self._clock = clock
        self._tickets: dict[str, _Ticket] = {}

    @property
    def ttl(self) -> int:
        return self._ttl

    def issue(self, principal: Principal) -> str:
        self._purge()
        ticket = secrets.token_urlsafe(24)
        self._tickets[ticket] = _Ticket(principal, self._clock.now() + timedelta(seconds=self._ttl))
        return ticket

    def holds(self, ticket: str) -> bool:
        """Whether this book issued ``ticket`` and it is not used yet (asked by other
        nodes of a cluster, which must not log a refusal for every node)."""
        return ticket in self._tickets

    def redeem(self, ticket: str) -> Principal:
        entry = self._tickets.pop(ticket, None)
        if entry is None:
            securitylog.warning("ticket.refused", reason="unknown-or-used")
            raise Unauthorized("the ticket is unknown or was already used", code="ticket-invalid")
        if entry.expires <= self._clock.now():
            securitylog.warning("ticket.refused", reason="expired", user=entry.principal.username)
            raise Unauthorized("the ticket has expired; ask for a new one", code="ticket-expired")
        return entry.principal

    def _purge(self) -> None:
        now = self._clock.now()
        for t in [t for t, e in self._tickets.items() if e.expires <= now]:
            del self._tickets[t]

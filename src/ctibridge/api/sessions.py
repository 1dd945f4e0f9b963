"""Login sessions: short access tokens, a refresh token, revocation that works at once.

A login opens a session (a row in ``auth_sessions``) and answers two secrets:

* an access token (a JWT naming the session, ``auth.token_ttl_seconds``, 15 min by
  default) for ``Authorization: Bearer``;
* a refresh token (``<session id>.<random>``, kept only as a SHA-256 hash) that
  ``POST /api/token/refresh`` trades for a new access token until the session ends,
  ``auth.session_ttl_seconds`` (12 h by default) after the login.

Every REST request and every ticket checks the session and reads the user as they
are now: a logout, a revoked session, a disabled or deleted user is refused at once,
and new roles apply to the next request. Sockets opened by the session or the user
are closed (4009) on this node when that happens; the bar reconnects with a new
ticket, which is checked again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from starlette.websockets import WebSocket

from .. import securitylog
from ..clock import Clock
from ..config import AuthSettings
from ..core.permissions import Principal
from ..model.agent import Role
from ..model.errors import Unauthorized
from ..store.users import UserRecord
from .auth import TokenService
from .wslimits import hang_up

CLOSE_SESSION_ENDED = 4009
PURGE_AFTER = timedelta(days=1)  # ended sessions are kept this long (for the record)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def principal_of(user: UserRecord, session_id: str | None) -> Principal:
    return Principal(user.username, frozenset(Role(r) for r in user.roles), user.agent_id,
                     user.display_name, session_id)


class SessionService:
    def __init__(self, store: Any, tokens: TokenService, settings: AuthSettings,
                 clock: Clock) -> None:
        self.store = store
        self.tokens = tokens
        self.ttl = settings.session_ttl_seconds
        self.clock = clock
        # Open sockets on this node, by session id and by username: closed when the
        # session ends or the user changes.
        self._sockets: dict[str, set[WebSocket]] = {}
        self._by_user: dict[str, set[WebSocket]] = {}

    # ------------------------------------------------------------ login, refresh

    async def open(self, user: UserRecord, address: str | None
                   ) -> tuple[Principal, str, str]:
        """A new session for ``user``: its principal, access token and refresh token."""
        now = self.clock.now()
        session_id = secrets.token_urlsafe(18)
        secret = secrets.token_urlsafe(32)
        await self.store.sessions.create(session_id, user.username, _hash(secret), now=now,
                                         expires_at=now + timedelta(seconds=self.ttl),
                                         address=address)
        with contextlib.suppress(Exception):  # housekeeping never fails a login
            await self.store.sessions.purge(now - PURGE_AFTER)
        p = principal_of(user, session_id)
        securitylog.event("login.ok", user=user.username, address=address,
                          session=session_id, roles=user.roles)
        return p, self.tokens.issue(p), f"{session_id}.{secret}"

    async def refresh(self, refresh_token: str, address: str | None) -> tuple[Principal, str]:
        session_id, _, secret = refresh_token.partition(".")
        found = await self.store.sessions.get(session_id) if session_id and secret else None
        if found is None or not hmac.compare_digest(found[0].refresh_hash, _hash(secret)):
            raise Unauthorized("the refresh token is not valid; log in again",
                               code="refresh-invalid")
        p = self._live(*found, address=address)
        await self.store.sessions.touch(session_id, self.clock.now())
        return p, self.tokens.issue(p)

    # ------------------------------------------------------------ every request

    async def principal(self, token: str, address: str | None = None) -> Principal:
        """Who the access token speaks for, checked against the session and the user now."""
        claimed = self.tokens.verify(token)
        if claimed.session_id is None:
            raise Unauthorized("this token belongs to no session; log in again",
                               code="token-invalid")
        found = await self.store.sessions.get(claimed.session_id)
        if found is None or found[0].username != claimed.username:
            raise Unauthorized("this session does not exist; log in again",
                               code="session-ended")
        return self._live(*found, address=address)

    def _live(self, session: Any, user: UserRecord | None, *, address: str | None
              ) -> Principal:
        why = None
        if session.revoked_at is not None:
            why = f"it was ended ({session.revoked_reason or 'revoked'})"
        elif session.expires_at <= self.clock.now():
            why = "it expired"
        elif user is None:
            why = "the user no longer exists"
        elif user.disabled:
            why = "the user is disabled"
        if why is not None or user is None:
            # Logged by the app's error handler with every other 401.
            raise Unauthorized(f"this session is over: {why}; log in again",
                               code="session-ended", user=session.username)
        return principal_of(user, session.session_id)

    # ------------------------------------------------------------ ending

    async def logout(self, p: Principal, address: str | None) -> None:
        if p.session_id is not None:
            await self.store.sessions.revoke(p.session_id, now=self.clock.now(),
                                             reason="logout")
            securitylog.event("logout", user=p.username, address=address,
                              session=p.session_id)
            await self._close(self._sockets.get(p.session_id, set()))

    async def user_changed(self, username: str, *, end_sessions: bool, reason: str) -> None:
        """A user was changed: end their sessions (disabled, deleted, new password) or
        only close their sockets (new roles or agent: the next ticket reads them)."""
        if end_sessions:
            await self.store.sessions.revoke_user(username, now=self.clock.now(),
                                                  reason=reason)
        await self._close(self._by_user.get(username, set()))

    # ------------------------------------------------------------ sockets

    def watch(self, p: Principal, ws: WebSocket) -> Callable[[], None]:
        """Remember an open socket; call the result when it closes."""
        keys = [(self._by_user, p.username)]
        if p.session_id is not None:
            keys.append((self._sockets, p.session_id))
        for table, key in keys:
            table.setdefault(key, set()).add(ws)

        def unwatch() -> None:
            for table, key in keys:
                group = table.get(key)
                if group is not None:
                    group.discard(ws)
                    if not group:
                        del table[key]
        return unwatch

    @staticmethod
    async def _close(sockets: set[WebSocket]) -> None:
        # All at once, and reset if the close cannot be written: a socket that does not
        # read must not keep the others open (api/wslimits.py).
        await asyncio.gather(*(hang_up(ws, CLOSE_SESSION_ENDED, "session-ended", timeout=2.0)
                               for ws in list(sockets)), return_exceptions=True)


def client_address(request: Any) -> str:
    """The client's address as uvicorn gives it: X-Forwarded-For is believed only from
    the proxies in FORWARDED_ALLOW_IPS (docs/security.md, "Password guessing")."""
    client = getattr(request, "client", None)
    return str(client.host) if client is not None and client.host else "unknown"

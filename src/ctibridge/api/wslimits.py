"""What one agent socket may cost the hub: messages per second, sockets per user,
and a way out that nothing the client does can block.

- :class:`RateGuard`: a token bucket per socket. A message over the budget is
  dropped unread; the first of a run is answered ``rate-limited``; a socket
  still over budget ``grace`` seconds after its first drop is closed (1008).
- :class:`SocketCounter`: open sockets per user, refused above the cap (4029).
- :func:`hang_up`: close with a code if the client can take the close frame
  within a timeout, and reset the connection if not (api/wsserver.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import time
from collections.abc import Callable
from typing import Any

import structlog
from fastapi import WebSocket

from .wsserver import ABORT_EXTENSION

log = structlog.get_logger("ctibridge.ws")

CLOSE_POLICY = 1008  # RFC 6455: a message that violates the server's policy
CLOSE_TOO_BIG = 1009
CLOSE_SLOW = 4008
CLOSE_TOO_MANY = 4029
# After a close frame is out, how long the client has to answer it before a reset.
CLOSE_GRACE_SECONDS = 5.0


class Verdict(enum.Enum):
    ADMIT = "admit"
    WARN = "warn"  # the first message dropped in a run: answer rate-limited
    DROP = "drop"  # dropped unread, no answer
    CUT = "cut"  # over budget for longer than the grace: close the socket


class RateGuard:
    """A token bucket (``burst`` messages, refilled at ``rate`` per second) with a grace.

    A run of drops lasts until the client has sent nothing over budget for
    ``QUIET`` seconds: a flooder admitted a message now and then as tokens
    trickle back is still in the same run, and is cut when it outlasts ``grace``.
    """

    QUIET = 1.0

    def __init__(self, rate: float, burst: int, grace: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.grace = rate, float(burst), grace
        self.clock = clock
        self.tokens = float(burst)
        self.stamp = clock()
        self.over_since: float | None = None  # when the current run of drops began
        self.last_drop = 0.0
        self.dropped = 0

    def admit(self) -> Verdict:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.over_since is not None and now - self.last_drop > self.QUIET:
            self.over_since = None  # calm again: a later burst starts a new run
        if self.tokens >= 1:
            self.tokens -= 1
            return Verdict.ADMIT
        self.dropped += 1
        self.last_drop = now
        if self.over_since is None:
            self.over_since = now
            return Verdict.WARN
        if now - self.over_since >= self.grace:
            return Verdict.CUT
        return Verdict.DROP


class SocketCounter:
    """Open agent sockets per user, process-wide (one per app)."""

    def __init__(self, per_user: int) -> None:
        self.per_user = per_user
        self.open: dict[str, int] = {}

    def take(self, user: str) -> bool:
        n = self.open.get(user, 0)
        if n >= self.per_user:
            return False
        self.open[user] = n + 1
        return True

    def give_back(self, user: str) -> None:
        n = self.open.get(user, 0) - 1
        if n > 0:
            self.open[user] = n
        else:
            self.open.pop(user, None)

    @classmethod
    def of(cls, app: Any, per_user: int) -> SocketCounter:
        counter = getattr(app.state, "ws_counter", None)
        if counter is None:
            counter = app.state.ws_counter = cls(per_user)
        return counter


def abort_of(ws: WebSocket) -> Callable[[], None] | None:
    """The server's connection reset for this socket, when it offers one."""
    ext = ws.scope.get("extensions") or {}
    entry = ext.get(ABORT_EXTENSION)
    return entry.get("abort") if isinstance(entry, dict) else None


async def hang_up(ws: WebSocket, code: int, reason: str, *, timeout: float) -> None:
    """Close ``ws`` with ``code``; reset it if the close cannot be written within
    ``timeout`` (a client that stopped reading), or if the client has not
    finished the closing handshake ``CLOSE_GRACE_SECONDS`` later."""
    abort = abort_of(ws)
    try:
        await asyncio.wait_for(ws.close(code, reason=reason), timeout)
    except TimeoutError:
        if abort is None:
            log.warning("ws.cannot_abort", reason=reason,
                        detail="the server offers no ctibridge.abort; run the hub with "
                               "api.wsserver.server_options")
        else:
            abort()
        return
    except Exception:  # already closed or disconnected: nothing left to do
        pass
    if abort is not None:
        # transport.close() waits for the write buffer to drain: a client that read
        # the close frame but nothing after would hold it open. A reset ends it.
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().call_later(CLOSE_GRACE_SECONDS, abort)


def capped(items: list[Any], limit: int) -> tuple[list[Any], int]:
    """The first ``limit`` items and how many there were in all."""
    return items[:limit], len(items)

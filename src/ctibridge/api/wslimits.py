"""What one agent socket may cost the hub: messages per second, sockets per user,
and a way out that nothing the client does can block.

- :class:`RateGuard`: a token bucket per socket. Over the budget the hub reads
  the socket's next message only when a token is back (backpressure: the
  flood waits in the client's TCP buffers); the first wait of a run is
  answered ``rate-limited``; a socket still over budget ``grace`` seconds
  into the run is closed (1008).
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
CLOSE_RESYNC = 1012  # RFC 6455 "service restart": reconnect (the bar takes a snapshot)
CLOSE_TOO_MANY = 4029
# After a close frame is out, how long the client has to answer it before a reset.
CLOSE_GRACE_SECONDS = 5.0


class Verdict(enum.Enum):
    ADMIT = "admit"
    WARN = "warn"  # the first message over budget in a run: answer rate-limited, then wait
    WAIT = "wait"  # over budget: read nothing more until a token is back
    CUT = "cut"  # over budget for longer than the grace: close the socket


class RateGuard:
    """A token bucket (``burst`` messages, refilled at ``rate`` per second) with a grace.

    Over budget, the socket waits for the next token before its next message
    is read: the client's messages pile up in its own TCP buffers, not in the
    hub, and cost the hub nothing (none is lost: each is read in its turn). A
    run over budget lasts until the client has been within it for ``QUIET``
    seconds; a client still over budget ``grace`` seconds into a run is cut.
    """

    QUIET = 1.0

    def __init__(self, rate: float, burst: int, grace: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.grace = rate, float(burst), grace
        self.clock = clock
        self.tokens = float(burst)
        self.stamp = clock()
        self.over_since: float | None = None  # when the current run over budget began
        self.last_over = 0.0
        self.waits = 0

    def admit(self) -> Verdict:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.over_since is not None and now - self.last_over > self.QUIET:
            self.over_since = None  # calm again: a later burst starts a new run
        if self.tokens >= 1 - 1e-9:  # (float: a wait of wait_time() must be enough)
            self.tokens = max(0.0, self.tokens - 1)
            return Verdict.ADMIT
        self.waits += 1
        self.last_over = now
        if self.over_since is None:
            self.over_since = now
            return Verdict.WARN
        if now - self.over_since >= self.grace:
            return Verdict.CUT
        return Verdict.WAIT

    def wait_time(self) -> float:
        """Seconds until the next token."""
        return max(0.0, (1.0 - self.tokens) / self.rate)


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


def _extension(ws: WebSocket, name: str) -> Callable[[], None] | None:
    ext = ws.scope.get("extensions") or {}
    entry = ext.get(ABORT_EXTENSION)
    return entry.get(name) if isinstance(entry, dict) else None


def abort_of(ws: WebSocket) -> Callable[[], None] | None:
    """The server's connection reset for this socket, when it offers one."""
    return _extension(ws, "abort")


async def hang_up(ws: WebSocket, code: int, reason: str, *, timeout: float,
                  grace: float = CLOSE_GRACE_SECONDS, read: bool = True) -> None:
    """Close ``ws`` with ``code``; reset it if the close cannot be written within
    ``timeout`` (a client that stopped reading), or if the client has not
    finished the closing handshake ``grace`` seconds later. ``read=False``: read
    nothing more meanwhile (a flooder: its backlog is not worth parsing)."""
    abort = abort_of(ws)
    try:
        await asyncio.wait_for(ws.close(code, reason=reason), timeout)
    except TimeoutError:
        if abort is None:
            log.warning("ws.cannot_abort", reason=reason,
                        detail="the server offers no ctibridge.abort; run the hub with "
                               "api.server.build_server")
        else:
            abort()
        return
    except Exception:  # already closed or disconnected: nothing left to do
        pass
    stop_reading = _extension(ws, "stop_reading")
    if not read and stop_reading is not None:
        stop_reading()
    if abort is not None:
        # transport.close() waits for the write buffer to drain: a client that read
        # the close frame but nothing after would hold it open. A reset ends it.
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().call_later(grace, abort)


def capped(items: list[Any], limit: int) -> tuple[list[Any], int]:
    """The first ``limit`` items and how many there were in all."""
    return items[:limit], len(items)

"""Password guessing, bounded: lockouts per username and per address, and a hashing
pool that a flood of logins cannot fill nor use to starve the event loop.

A login is checked in this order, the cheap refusals first:

1. the username or the client address is locked out → 429 + ``Retry-After``,
   before any hashing (an unknown username is locked like a real one, so the
   answer tells nothing about which names exist);
2. the address already has ``per_ip_in_flight`` logins in progress → 429 at once;
3. a login from an *unknown* address (no good login from it in the last
   ``trust_seconds``, read from the sessions table at start) while
   ``unknown_hashes_per_second`` is spent, or while only the
   pool's reserve is left → 503 + ``Retry-After`` at once;
4. every hashing thread is busy and ``hash_queue`` logins already wait → 503 +
   ``Retry-After`` at once (rather than a queue that makes a real login wait a minute);
5. the password is checked on the pool's own threads (``hash_workers``), never on
   the threads the rest of the hub shares, and at a lower CPU priority than the event
   loop (``HASH_NICENESS``).

Steps 1–3 need no body: :class:`LoginShield` answers them from the request head, so a
flood of guesses from many addresses costs the hub a header parse per guess and, in
all, ``unknown_hashes_per_second`` hashes a second, however many addresses it comes
from. Logins from addresses a user logged in from before (the office, the agent's home)
keep the pool's reserve (``hash_workers`` slots) and no budget: a flood does not make
them wait behind the guesses. A first login from a new address during such a flood
waits its turn among the flood's addresses (docs/security.md).

After ``user_failures`` failures for a username (``ip_failures`` for an address),
each further failure locks it for ``lockout_seconds`` × 2^(n-1), up to
``max_lockout_seconds``; failures are forgotten ``forget_after_seconds`` after the
last one, and a good password clears the username's count. IPv6 addresses count by
their /64 network (one host usually holds a whole /64).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import threading
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

from starlette.types import ASGIApp, Receive, Scope, Send

from .. import securitylog
from ..clock import Clock
from ..config import LoginSettings
from ..model.errors import ServiceBusy, TooManyRequests
from .limits import LOGIN_PATHS

T = TypeVar("T")

MAX_TRACKED = 50_000  # usernames and addresses remembered (oldest forgotten first)
# How much nicer than the rest of the hub the hashing threads run (Linux nices threads one
# by one). A hash takes tens of milliseconds of CPU: at the same priority, each one on the
# event loop's CPU delays every socket's next frame by that much. Not more: on a machine
# busy with other work, much nicer threads would starve logins.
HASH_NICENESS = 10


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0
    locked_until: float = 0.0


def address_key(address: str) -> str:
    """What an address counts as: itself, or its /64 network for IPv6."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class _Budget:
    """A token bucket: ``rate`` a second, at most ``burst`` saved up."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.last = burst, now

    def _fill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self.last) * self.rate)
        self.last = now

    def ready(self, now: float) -> bool:
        self._fill(now)
        return self.tokens >= 1.0

    def take(self, now: float) -> None:
        self._fill(now)
        self.tokens -= 1.0


class _Tracker:
    """Failure counts and lockouts for one kind of key (usernames or addresses)."""

    def __init__(self, free: int, settings: LoginSettings) -> None:
        self.free = free
        self.settings = settings
        self.entries: OrderedDict[str, _Failures] = OrderedDict()

    def locked_for(self, key: str, now: float) -> float:
        entry = self._current(key, now)
        return max(0.0, entry.locked_until - now) if entry else 0.0

    def failed(self, key: str, now: float) -> float:
        """Count a failure; the lockout it starts, in seconds (0: none yet)."""
        entry = self._current(key, now) or _Failures()
        entry.count += 1
        entry.last = now
        self.entries[key] = entry
        self.entries.move_to_end(key)
        while len(self.entries) > MAX_TRACKED:
            self.entries.popitem(last=False)
        over = entry.count - self.free
        if over <= 0:
            return 0.0
        s = self.settings
        seconds = min(s.max_lockout_seconds, s.lockout_seconds * 2 ** min(over - 1, 40))
        entry.locked_until = now + seconds
        return seconds

    def clear(self, key: str) -> None:
        self.entries.pop(key, None)

    def _current(self, key: str, now: float) -> _Failures | None:
        entry = self.entries.get(key)
        if entry is None:
            return None
        if now - entry.last > self.settings.forget_after_seconds and now >= entry.locked_until:
            del self.entries[key]
            return None
        return entry


class _Trust:
    """Addresses with a good login in the last ``seconds``: their logins skip the budget."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.last_success: OrderedDict[str, float] = OrderedDict()

    def succeeded(self, key: str, now: float) -> None:
        self.last_success[key] = now
        self.last_success.move_to_end(key)
        while len(self.last_success) > MAX_TRACKED:
            self.last_success.popitem(last=False)

    def seed(self, logins: list[tuple[str, float]]) -> None:
        """Addresses users logged in from, oldest first (from the sessions table at start:
        what the hub knew survives a restart, and every node of a cluster knows it)."""
        for key, at in logins:
            if at > self.last_success.get(key, float("-inf")):
                self.succeeded(key, at)

    def known(self, key: str, now: float) -> bool:
        at = self.last_success.get(key)
        return at is not None and now - at <= self.seconds


# Whether the login being checked comes from a known address: set by LoginGuard.attempt,
# read by HashPool.run (the password check runs in the login's own task).
_known_login: ContextVar[bool] = ContextVar("known_login", default=True)


class HashPool:
    """The threads passwords are hashed on, with admission: a bounded number running
    or waiting, refused beyond. Logins from known addresses are served before the others
    that wait: a flood from new addresses does not put a regular user at the back."""

    def __init__(self, workers: int, queue: int) -> None:
        self.workers = workers
        self.capacity = workers + queue
        # Slots only logins from known addresses may take: a flood leaves them free.
        self.reserve = min(workers, queue) if queue else 0
        self.admitted = 0
        self.running = 0
        self._waiting: tuple[deque[asyncio.Future[None]], ...] = (deque(), deque())
        self._executor = ThreadPoolExecutor(max_workers=workers,
                                            thread_name_prefix="ctibridge-hash",
                                            initializer=_lower_priority)

    def full(self, known: bool = True) -> bool:
        return self.admitted >= self.capacity - (0 if known else self.reserve)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on a hashing thread (UserStore.run_hash)."""
        loop = asyncio.get_running_loop()
        if self.running < self.workers:
            self.running += 1
        else:  # every thread busy: wait in line, known addresses' line first
            turn: asyncio.Future[None] = loop.create_future()
            line = self._waiting[0 if _known_login.get() else 1]
            line.append(turn)
            try:
                await turn  # the thread is handed over with the turn (running unchanged)
            except BaseException:
                if turn in line:
                    line.remove(turn)
                elif not turn.cancelled():
                    self._next()  # given a thread we will not use: pass it on
                raise
        try:
            return await loop.run_in_executor(self._executor, partial(fn, *args))
        finally:
            self._next()

    def _next(self) -> None:
        for line in self._waiting:
            while line:
                turn = line.popleft()
                if not turn.done():
                    turn.set_result(None)
                    return
        self.running -= 1

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _lower_priority() -> None:
    """Run this (hashing) thread at a lower CPU priority than the event loop's."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or not allowed
        tid = threading.get_native_id()
        now = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, now + HASH_NICENESS))


class Attempt:
    """One login in progress: say how it ended."""

    def __init__(self, guard: LoginGuard, username: str, address: str) -> None:
        self.guard, self.username, self.address = guard, username, address
        self.outcome: str | None = None

    def failed(self) -> None:
        self.outcome = "failed"
        self.guard.record_failure(self.username, self.address)

    def succeeded(self) -> None:
        self.outcome = "ok"
        self.guard.users.clear(self.guard.user_key(self.username))
        self.guard.trust.succeeded(address_key(self.address), self.guard._now())


class LoginGuard:
    def __init__(self, settings: LoginSettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.users = _Tracker(settings.user_failures, settings)
        self.addresses = _Tracker(settings.ip_failures, settings)
        self.pool = HashPool(settings.hash_workers, settings.hash_queue)
        self.in_flight: dict[str, int] = {}
        # CPU is spent in real time: the budget runs on the monotonic clock, not the hub's
        # (a test's fake clock).
        rate = settings.unknown_hashes_per_second
        self.unknown = _Budget(rate, max(1.0, settings.unknown_burst), time.monotonic())
        self.trust = _Trust(settings.trust_seconds)
        self.refusals = securitylog.Summaries()  # a flood of refusals: a line per interval

    def _now(self) -> float:
        return self.clock.now().timestamp()

    async def remember_addresses(self, sessions: Any) -> None:
        """Know the addresses users logged in from in the last ``trust_seconds``
        (``sessions``: the store's SessionStore)."""
        since = self.clock.now() - timedelta(seconds=self.settings.trust_seconds)
        found = await sessions.addresses_since(since, MAX_TRACKED)
        self.trust.seed([(address_key(a), at.timestamp()) for a, at in reversed(found)])

    @staticmethod
    def user_key(username: str) -> str:
        # Case-folded: "Alice" and "alice" share one count (usernames are matched exactly,
        # but guessing must not get five tries per spelling).
        return username.casefold()[:150]

    def refusal(self, username: str | None, address: str) -> TooManyRequests | None:
        """Why this login is refused before any hashing, or None. ``username`` None: what
        the address alone decides (LoginShield asks before the body is read)."""
        return self._check(username, address)[0]

    def _check(self, username: str | None, address: str
               ) -> tuple[TooManyRequests | None, bool]:
        """(why refused or None, whether its address is known)."""
        now = self._now()
        key = address_key(address)
        user = self.user_key(username) if username is not None else None
        wait = self.addresses.locked_for(key, now)
        if user is not None:
            wait = max(wait, self.users.locked_for(user, now))
        if wait > 0:
            self.refusals.offender("login.refused", f"locked-out {key}", user=username,
                                 address=address, reason="locked-out",
                                 retry_after=round(wait, 1))
            return TooManyRequests(
                "too many failed logins for this user or from this address; try again "
                f"in {int(-(-wait // 1))} s", code="login-locked", retry_after=wait), False
        if self.in_flight.get(key, 0) >= self.settings.per_ip_in_flight:
            self.refusals.offender("login.refused", f"too-many-in-flight {key}",
                                 user=username, address=address, reason="too-many-in-flight")
            return TooManyRequests("too many logins in progress from this address; wait "
                                   "for them to finish", code="login-rate-limited",
                                   retry_after=1), False
        known = self.trust.known(key, now)
        if self.pool.full(known) or not (known or self.unknown.ready(time.monotonic())):
            reason = "hash-pool-full" if self.pool.full(known) else "unknown-address-budget"
            self.refusals.offender("login.refused", f"{reason} {key}", user=username,
                                 address=address, reason=reason)
            return ServiceBusy("the hub is checking too many passwords right now; try "
                               "again in a moment", code="login-busy", retry_after=1), known
        return None, known

    @contextlib.asynccontextmanager
    async def attempt(self, username: str, address: str) -> AsyncIterator[Attempt]:
        """Admit one login or raise TooManyRequests / ServiceBusy (before any hashing)."""
        refused, known = self._check(username, address)
        if refused is not None:
            raise refused
        if not known:
            self.unknown.take(time.monotonic())
        key = address_key(address)
        self.pool.admitted += 1
        self.in_flight[key] = self.in_flight.get(key, 0) + 1
        attempt = Attempt(self, username, address)
        known_login = _known_login.set(known)
        try:
            yield attempt
        finally:
            _known_login.reset(known_login)
            self.pool.admitted -= 1
            left = self.in_flight.get(key, 1) - 1
            if left > 0:
                self.in_flight[key] = left
            else:
                self.in_flight.pop(key, None)

    def record_failure(self, username: str, address: str) -> None:
        now = self._now()
        user_lock = self.users.failed(self.user_key(username), now)
        addr_lock = self.addresses.failed(address_key(address), now)
        securitylog.warning("login.failed", user=username, address=address)
        if user_lock:
            securitylog.warning("login.lockout", scope="user", user=username, address=address,
                                seconds=round(user_lock, 1))
        if addr_lock:
            securitylog.warning("login.lockout", scope="address", user=username,
                                address=address, seconds=round(addr_lock, 1))

    def close(self) -> None:
        self.refusals.flush_all()
        self.pool.close()


class LoginShield:
    """``POST /api/login`` from an address that is locked out, that has its logins in
    flight already (429), or whose login would be over the unknown addresses' budget or
    take the pool's reserve (503), is answered here, before routing, body and password: a
    flood of guesses costs the hub a header parse per guess. The connection is kept: closing
    it would only trade each refused guess for a new connection (accept, close). The
    rest of the login's checks are the route's (api/account.py)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in LOGIN_PATHS \
                and scope["method"] == "POST":
            services = getattr(scope["app"].state, "services", None)
            client = scope.get("client")
            if services is not None:
                refused = services.login_guard.refusal(
                    None, str(client[0]) if client and client[0] else "unknown")
                if refused is not None:
                    await _answer(send, refused)
                    return
        await self.app(scope, receive, send)


async def _answer(send: Send, exc: TooManyRequests) -> None:
    """The answer the app's error handler gives (api/app.py), without the app."""
    body = json.dumps(exc.to_dict(), ensure_ascii=True).encode()
    await send({"type": "http.response.start", "status": exc.status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", b"%d" % len(body)),
        (b"retry-after", b"%d" % exc.retry_after)]})
    await send({"type": "http.response.body", "body": body})

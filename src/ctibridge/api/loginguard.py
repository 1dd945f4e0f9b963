"""Password guessing, bounded: lockouts per username and per address, and a hashing
pool that a flood of logins cannot fill.

A login is checked in this order, the cheap refusals first:

1. the username or the client address is locked out → 429 + ``Retry-After``,
   before any hashing (an unknown username is locked like a real one, so the
   answer tells nothing about which names exist);
2. the address already has ``per_ip_in_flight`` logins in progress → 429 at once;
3. every hashing thread is busy and ``hash_queue`` logins already wait → 503 +
   ``Retry-After`` at once (rather than a queue that makes a real login wait a minute);
4. the password is checked on the pool's own threads (``hash_workers``), never on
   the threads the rest of the hub shares.

After ``user_failures`` failures for a username (``ip_failures`` for an address),
each further failure locks it for ``lockout_seconds`` × 2^(n-1), up to
``max_lockout_seconds``; failures are forgotten ``forget_after_seconds`` after the
last one, and a good password clears the username's count.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from .. import securitylog
from ..clock import Clock
from ..config import LoginSettings
from ..model.errors import ServiceBusy, TooManyRequests

T = TypeVar("T")

MAX_TRACKED = 50_000  # usernames and addresses remembered (oldest forgotten first)


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0
    locked_until: float = 0.0


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


class HashPool:
    """The threads passwords are hashed on, with admission: a bounded number running
    or waiting, refused beyond."""

    def __init__(self, workers: int, queue: int) -> None:
        self.workers = workers
        self.capacity = workers + queue
        self.admitted = 0
        self._executor = ThreadPoolExecutor(max_workers=workers,
                                            thread_name_prefix="ctibridge-hash")

    def full(self) -> bool:
        return self.admitted >= self.capacity

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on a hashing thread (UserStore.run_hash)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(fn, *args))

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


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


class LoginGuard:
    def __init__(self, settings: LoginSettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.users = _Tracker(settings.user_failures, settings)
        self.addresses = _Tracker(settings.ip_failures, settings)
        self.pool = HashPool(settings.hash_workers, settings.hash_queue)
        self.in_flight: dict[str, int] = {}

    def _now(self) -> float:
        return self.clock.now().timestamp()

    @staticmethod
    def user_key(username: str) -> str:
        # Case-folded: "Alice" and "alice" share one count (usernames are matched exactly,
        # but guessing must not get five tries per spelling).
        return username.casefold()[:150]

    @contextlib.asynccontextmanager
    async def attempt(self, username: str, address: str) -> AsyncIterator[Attempt]:
        """Admit one login or raise TooManyRequests / ServiceBusy (before any hashing)."""
        now = self._now()
        wait = max(self.users.locked_for(self.user_key(username), now),
                   self.addresses.locked_for(address, now))
        if wait > 0:
            securitylog.warning("login.refused", user=username, address=address,
                                reason="locked-out", retry_after=round(wait, 1))
            raise TooManyRequests(
                "too many failed logins for this user or from this address; try again "
                f"in {int(-(-wait // 1))} s", code="login-locked", retry_after=wait)
        if self.in_flight.get(address, 0) >= self.settings.per_ip_in_flight:
            securitylog.warning("login.refused", user=username, address=address,
                                reason="too-many-in-flight")
            raise TooManyRequests("too many logins in progress from this address; wait "
                                  "for them to finish", code="login-rate-limited",
                                  retry_after=1)
        if self.pool.full():
            securitylog.warning("login.refused", user=username, address=address,
                                reason="hash-pool-full")
            raise ServiceBusy("the hub is checking too many passwords right now; try "
                              "again in a moment", code="login-busy", retry_after=1)
        self.pool.admitted += 1
        self.in_flight[address] = self.in_flight.get(address, 0) + 1
        attempt = Attempt(self, username, address)
        try:
            yield attempt
        finally:
            self.pool.admitted -= 1
            left = self.in_flight.get(address, 1) - 1
            if left > 0:
                self.in_flight[address] = left
            else:
                self.in_flight.pop(address, None)

    def record_failure(self, username: str, address: str) -> None:
        now = self._now()
        user_lock = self.users.failed(self.user_key(username), now)
        addr_lock = self.addresses.failed(address, now)
        securitylog.warning("login.failed", user=username, address=address)
        if user_lock:
            securitylog.warning("login.lockout", scope="user", user=username, address=address,
                                seconds=round(user_lock, 1))
        if addr_lock:
            securitylog.warning("login.lockout", scope="address", user=username,
                                address=address, seconds=round(addr_lock, 1))

    def close(self) -> None:
        self.pool.close()

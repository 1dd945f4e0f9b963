"""Password guessing over a real port: lockouts with Retry-After, no hint about which
usernames exist, and a flood of bad logins that cannot starve a real one."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from ..integration.harness import RunningHub, running_hub

LIMITS = {"user_failures": 3, "ip_failures": 50, "lockout_seconds": 2,
          "max_lockout_seconds": 60, "forget_after_seconds": 600}


async def login(h: RunningHub, user: str, password: str, *, source: str = "127.0.0.1"
                ) -> httpx.Response:
    transport = httpx.AsyncHTTPTransport(local_address=source)
    async with httpx.AsyncClient(base_url=h.url, transport=transport, timeout=60) as http:
        return await http.post("/api/login", json={"username": user, "password": password})


async def test_wrong_passwords_lock_the_user_out_with_growing_lockouts(tmp_path: Path) -> None:
    async with running_hub(tmp_path, auth={"login": LIMITS}) as h:
        for _ in range(3):
            assert (await login(h, "alice", "guess")).status_code == 401
        # The 4th failure locks alice for 2 s: even the right password is refused,
        # without being checked.
        assert (await login(h, "alice", "guess")).status_code == 401
        locked = await login(h, "alice", "alice")
        assert locked.status_code == 429
        assert locked.json()["code"] == "login-locked"
        assert int(locked.headers["Retry-After"]) == 2
        await h.clock.advance(2.5)
        assert (await login(h, "alice", "guess")).status_code == 401
        again = await login(h, "alice", "alice")
        assert again.status_code == 429 and int(again.headers["Retry-After"]) == 4  # doubled
        await h.clock.advance(4.5)
        assert (await login(h, "alice", "alice")).status_code == 200
        # A good password clears the count: one more mistake does not lock.
        assert (await login(h, "alice", "guess")).status_code == 401
        assert (await login(h, "alice", "alice")).status_code == 200


async def test_an_unknown_username_is_locked_like_a_real_one(tmp_path: Path) -> None:
    async with running_hub(tmp_path, auth={"login": LIMITS}) as h:
        real = [await login(h, "bob", "guess") for _ in range(5)]
        ghost = [await login(h, "nobody-here", "guess") for _ in range(5)]
        assert [r.status_code for r in real] == [r.status_code for r in ghost] \
            == [401, 401, 401, 401, 429]
        assert real[-1].json()["message"] == ghost[-1].json()["message"]
        assert real[-1].headers["Retry-After"] == ghost[-1].headers["Retry-After"]


async def test_an_address_guessing_many_usernames_is_locked_out(tmp_path: Path) -> None:
    limits = {**LIMITS, "ip_failures": 6}
    async with running_hub(tmp_path, auth={"login": limits}) as h:
        codes = [(await login(h, f"user{i}", "guess", source="127.0.0.7")).status_code
                 for i in range(8)]
        assert codes[:7] == [401] * 7 and codes[7] == 429
        # Another address is not affected.
        assert (await login(h, "carol", "carol", source="127.0.0.8")).status_code == 200


async def test_a_flood_of_bad_logins_is_refused_early_and_a_real_login_gets_through(
        tmp_path: Path) -> None:
    limits = {**LIMITS, "user_failures": 1000, "ip_failures": 1000, "hash_workers": 2,
              "hash_queue": 4, "per_ip_in_flight": 4}
    async with running_hub(tmp_path, auth={"login": limits}) as h:
        guard = h.app.state.services.login_guard
        users = h.app.state.services.store.users
        busiest = 0
        hashing = users.run_hash

        async def counted(fn: Any, *args: Any) -> Any:
            nonlocal busiest
            busiest = max(busiest, guard.pool.admitted)
            return await hashing(fn, *args)

        users.run_hash = counted
        # 200 wrong passwords at once: 100 from one address, 100 spread over 50 others.
        flood = [login(h, "alice", f"guess{i}") for i in range(100)]
        flood += [login(h, "alice", f"guess{i}", source=f"127.0.1.{i % 50 + 1}")
                  for i in range(100)]
        answers = await asyncio.gather(*flood)
        codes = [r.status_code for r in answers]
        # Never more passwords in the pool than it holds; the rest were refused at
        # once with a Retry-After, not queued behind the others.
        assert busiest <= 2 + 4
        assert codes.count(401) <= len(codes) - 100
        refused = [r for r in answers if r.status_code in (429, 503)]
        assert refused and all(int(r.headers["Retry-After"]) >= 1 for r in refused)
        assert {r.json()["code"] for r in refused} <= {"login-rate-limited", "login-busy"}

        # During a second flood, bob logs in from his own address, retrying as told.
        flood = [asyncio.create_task(login(h, "alice", f"again{i}",
                                           source=f"127.0.2.{i % 50 + 1}")) for i in range(200)]
        for _ in range(30):
            r = await login(h, "bob", "bob", source="127.0.3.1")
            if r.status_code != 503:
                break
            await asyncio.sleep(0.05)
        assert r.status_code == 200, r.text
        await asyncio.gather(*flood)
        assert busiest <= 2 + 4


async def test_a_locked_out_address_is_refused_before_its_login_is_read(
        tmp_path: Path, caplog: Any) -> None:
    limits = {**LIMITS, "ip_failures": 2}
    async with running_hub(tmp_path, auth={"login": limits}) as h:
        for i in range(3):
            assert (await login(h, f"user{i}", "guess", source="127.0.0.7")).status_code == 401
        # Locked: even a body the route could not parse is answered 429 with Retry-After,
        # so the refusal comes before routing and body (api/loginguard.py LoginShield).
        transport = httpx.AsyncHTTPTransport(local_address="127.0.0.7")
        async with httpx.AsyncClient(base_url=h.url, transport=transport) as http:
            with caplog.at_level("WARNING", logger="ctibridge.security"):
                answers = [await http.post("/api/login", content=b"{not json")
                           for _ in range(30)]
        assert {r.status_code for r in answers} == {429}
        assert {r.json()["code"] for r in answers} == {"login-locked"}
        assert all(int(r.headers["Retry-After"]) >= 1 for r in answers)
        assert "default-src 'self'" in answers[0].headers["content-security-policy"]
        # 30 refusals of one address: one line now, the rest summed later, not 30 lines.
        refused = [r for r in caplog.records if '"login.refused"' in r.getMessage()]
        assert len(refused) == 1
        # Another address still logs in.
        assert (await login(h, "carol", "carol", source="127.0.0.8")).status_code == 200


async def test_guesses_from_many_new_addresses_get_a_budget_and_a_regular_user_goes_first(
        tmp_path: Path) -> None:
    """200 addresses the hub never saw a good login from guess as fast as they can: the
    passwords checked for them stay within unknown_hashes_per_second (plus what may be
    saved up), the rest are answered 503 from the request head; carol, who logged in from
    her address before, logs in at once, ahead of the guesses waiting for a thread."""
    limits = {**LIMITS, "user_failures": 1000, "ip_failures": 1000, "hash_workers": 1,
              "hash_queue": 8, "per_ip_in_flight": 4, "unknown_hashes_per_second": 0.5,
              "unknown_burst": 2}
    async with running_hub(tmp_path, auth={"login": limits}) as h:
        assert (await login(h, "carol", "carol", source="127.0.0.9")).status_code == 200
        users = h.app.state.services.store.users
        hashing = users.run_hash
        checked: list[float] = []
        order: list[str] = []

        async def counted(fn: Any, *args: Any) -> Any:
            checked.append(asyncio.get_running_loop().time())
            result = await hashing(fn, *args)
            order.append("carol" if args[-1] == "carol" else "guess")
            return result

        users.run_hash = counted
        loop = asyncio.get_running_loop()
        started = loop.time()
        stop = loop.time() + 3.0

        async def guesser(i: int) -> list[int]:
            codes = []
            while loop.time() < stop:
                r = await login(h, f"guess{i}", "wrong", source=f"127.0.4.{i % 200 + 1}")
                codes.append(r.status_code)
            return codes

        flood = [asyncio.create_task(guesser(i)) for i in range(200)]
        await asyncio.sleep(1.0)
        waiting_before = len(order)
        r = await login(h, "carol", "carol", source="127.0.0.9")
        assert r.status_code == 200, r.text  # first try: no 503 for her
        # She was not put behind the guesses already waiting for the one thread.
        carol_at = order.index("carol")
        assert carol_at <= waiting_before + 2, (carol_at, waiting_before)
        codes = [c for task in await asyncio.gather(*flood) for c in task]
        elapsed = loop.time() - started
        guesses_checked = len(checked) - 1
        # One every 2 s, 2 saved up: far below what the pool's thread gets through.
        assert guesses_checked <= 2 + 0.5 * elapsed + 1, (guesses_checked, elapsed)
        assert codes.count(503) > codes.count(401)


def test_ipv6_addresses_count_by_their_64_network() -> None:
    from ctibridge.api.loginguard import address_key

    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:ffff::9")
    assert address_key("2001:db8:1:2::1") != address_key("2001:db8:1:3::1")
    assert address_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert address_key("192.0.2.7") == "192.0.2.7"


async def test_addresses_users_logged_in_from_are_still_known_after_a_restart(
        tmp_path: Path) -> None:
    """The hub reads the addresses of the last trust_seconds' logins from its sessions
    at start: a restart during a flood does not put the office behind the flood."""
    limits = {**LIMITS, "unknown_hashes_per_second": 0.5, "unknown_burst": 2}
    async with running_hub(tmp_path, auth={"login": limits}) as h:
        assert (await login(h, "carol", "carol", source="127.0.0.9")).status_code == 200
    async with running_hub(tmp_path, auth={"login": limits}) as h:
        guard = h.app.state.services.login_guard
        now = h.clock.now().timestamp()
        assert guard.trust.known("127.0.0.9", now)
        assert not guard.trust.known("127.0.0.10", now)
        # A guesser from elsewhere spends the budget; carol is not counted against it.
        codes = [(await login(h, f"g{i}", "x", source="127.0.0.10")).status_code
                 for i in range(6)]
        assert 503 in codes
        assert (await login(h, "carol", "carol", source="127.0.0.9")).status_code == 200

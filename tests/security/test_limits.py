"""Limits: nobody reaching the port can make the hub buffer a huge body or hold its
connections with a request that never ends (slowloris), and one address cannot take
every connection.

Each attack goes through raw sockets to a real hub on a real port, served by the
same protocol as ``ctibridge serve`` (api/server.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable

import httpx

from .conftest import Hub, read_response, until

HEAD = ("POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "{length}\r\n")
MB = 1024 * 1024


def status_and_body(raw: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body) if body.strip() else {}


async def upload(hub: Hub, path: str, size: int, *, chunked: bool) -> tuple[bytes, int]:
    """Send ``size`` bytes of body as fast as the hub takes them; return what the hub
    answered and how many body bytes it let us send before it closed."""
    reader, writer = await hub.raw()
    length = "Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {size}\r\n"
    writer.write(HEAD.format(path=path, length=length).encode())
    chunk = b"x" * 65536
    sent = 0

    async def pump() -> None:
        nonlocal sent
        with contextlib.suppress(ConnectionError):
            while sent < size:
                writer.write(b"10000\r\n" + chunk + b"\r\n" if chunked else chunk)
                await writer.drain()
                sent += len(chunk)

    pumping = asyncio.create_task(pump())
    try:
        answer = await read_response(reader, 30)
    finally:
        await pumping
        writer.close()
    return answer, sent


async def test_a_200_mb_login_body_is_refused_with_413_before_it_is_read(hub: Hub) -> None:
    answer, sent = await upload(hub, "/api/login", 200 * MB, chunked=False)
    status, body = status_and_body(answer)
    assert status == 413 and body["code"] == "body-too-large"
    assert "4096" in str(body["message"])
    # The hub read a few buffers' worth, then closed: the rest was never sent.
    assert sent < 16 * MB, f"the hub let {sent / MB:.0f} MB in"


async def test_a_chunked_200_mb_body_is_cut_off_as_it_streams(hub: Hub) -> None:
    answer, sent = await upload(hub, "/api/commands", 200 * MB, chunked=True)
    status, body = status_and_body(answer)
    assert status == 413 and body["code"] == "body-too-large"
    assert "65536" in str(body["message"])
    assert sent < 16 * MB, f"the hub let {sent / MB:.0f} MB in"


async def test_four_huge_logins_at_once_leave_another_users_login_working(hub: Hub) -> None:
    attacks = [asyncio.create_task(upload(hub, "/api/login", 200 * MB, chunked=i % 2 == 1))
               for i in range(4)]
    token = await hub.token("alice")  # while they push
    assert token
    for answer, sent in await asyncio.gather(*attacks):
        assert status_and_body(answer)[0] == 413 and sent < 16 * MB


async def test_each_route_has_its_own_body_limit(start_hub: Callable[..., Awaitable[Hub]]
                                                 ) -> None:
    hub = await start_hub(digital=[{"name": "web", "type": "webhook",
                                    "secret": "s" * 32, "max_body_bytes": 512 * 1024}])
    async with httpx.AsyncClient(base_url=hub.url) as http:
        # Login is small: 5 KB is refused, whatever it holds.
        r = await http.post("/api/login", content=b"{" + b" " * 5000 + b"}")
        assert r.status_code == 413 and r.json()["code"] == "body-too-large"
        # The rest of the REST API takes 64 KiB: 60 KB reaches the route (which wants a login).
        r = await http.post("/api/commands", content=b"{" + b" " * 60_000 + b"}")
        assert r.status_code == 401
        r = await http.post("/api/commands", content=b"{" + b" " * 70_000 + b"}")
        assert r.status_code == 413
        # A webhook platform configured for 512 KiB gets 300 KB through to its signature check.
        r = await http.post("/api/digital/web/webhook", content=b"{" + b" " * 300_000 + b"}")
        assert r.status_code == 401, r.text
        r = await http.post("/api/digital/web/webhook", content=b"{" + b" " * 600_000 + b"}")
        assert r.status_code == 413


async def test_a_body_that_never_finishes_is_answered_408_and_closed(
        start_hub: Callable[..., Awaitable[Hub]]) -> None:
    hub = await start_hub(server={"limits": {"body_timeout_seconds": 1}})
    reader, writer = await hub.raw()
    writer.write(HEAD.format(path="/api/login", length="Content-Length: 100\r\n").encode()
                 + b'{"username": ')
    status, body = status_and_body(await read_response(reader, 10))
    assert status == 408 and body["code"] == "body-timeout"
    writer.close()


async def test_slowloris_heads_are_cut_off_and_the_hub_keeps_serving(
        start_hub: Callable[..., Awaitable[Hub]]) -> None:
    hub = await start_hub(server={"limits": {"header_timeout_seconds": 1}})
    loop = asyncio.get_running_loop()
    conns = [await hub.raw() for _ in range(200)]
    started = loop.time()

    async def trickle(writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            for i in range(1000):  # a header line every 50 ms: never the blank line
                writer.write(f"X-{i}: a\r\n".encode())
                await writer.drain()
                await asyncio.sleep(0.05)

    trickles = [asyncio.create_task(trickle(w)) for _, w in conns]
    try:
        async with httpx.AsyncClient(base_url=hub.url) as http:
            assert (await http.get("/healthz")).status_code == 200  # served meanwhile
        answers = await asyncio.gather(*(read_response(r, 15) for r, _ in conns))
        elapsed = loop.time() - started
    finally:
        for t in trickles:
            t.cancel()
        for _, w in conns:
            w.close()
    assert all(status_and_body(a)[0] == 408 for a in answers), {a[:40] for a in answers}
    assert elapsed < 10, f"the trickling connections were held {elapsed:.1f} s"
    await until(lambda: hub.guard.count("127.0.0.1") <= 1, "the connections to be released")


async def test_a_connection_that_sends_nothing_is_closed(
        start_hub: Callable[..., Awaitable[Hub]]) -> None:
    hub = await start_hub(server={"limits": {"header_timeout_seconds": 1}})
    reader, writer = await hub.raw()
    status, body = status_and_body(await read_response(reader, 10))
    assert status == 408 and body["code"] == "head-timeout"
    writer.close()


async def test_a_huge_request_head_is_refused_431(hub: Hub) -> None:
    reader, writer = await hub.raw()
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    with contextlib.suppress(ConnectionError):
        for _ in range(200):  # 200 × 8 KiB of one header, never ended
            writer.write(b"X-Big: " + b"a" * 8192)
            await writer.drain()
    status, body = status_and_body(await read_response(reader, 10))
    assert status == 431 and body["code"] == "head-too-large"
    writer.close()


async def test_one_address_cannot_hold_more_than_its_connections(
        start_hub: Callable[..., Awaitable[Hub]]) -> None:
    hub = await start_hub(server={"limits": {"connections_per_ip": 20}})
    held = [await hub.raw() for _ in range(20)]
    await until(lambda: hub.guard.count("127.0.0.1") == 20, "20 connections held")
    reader, writer = await hub.raw()
    status, body = status_and_body(await read_response(reader, 10))
    assert status == 503 and body["code"] == "too-many-connections"
    writer.close()
    # WebSockets count too: with one held connection freed, a socket opens, then nothing more.
    held.pop()[1].close()
    await until(lambda: hub.guard.count("127.0.0.1") == 19, "one connection released")
    import websockets

    ticket_free = held.pop()
    ticket_free[1].close()  # room for the login and ticket requests
    await until(lambda: hub.guard.count("127.0.0.1") == 18, "another released")
    ticket = await hub.ticket("alice")
    await until(lambda: hub.guard.count("127.0.0.1") == 18, "the login's connections closed")
    async with websockets.connect(f"ws://127.0.0.1:{hub.port}/ws?ticket={ticket}") as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        await until(lambda: hub.guard.count("127.0.0.1") == 19, "the socket counted")
        extra = await hub.raw()
        held.append(extra)
        reader, writer = await hub.raw()
        status, _ = status_and_body(await read_response(reader, 10))
        assert status == 503
        writer.close()
    for _, w in held:
        w.close()
    # Once they are gone, the address is welcome again.
    await until(lambda: hub.guard.count("127.0.0.1") == 0, "every connection released")
    async with httpx.AsyncClient(base_url=hub.url) as http:
        assert (await http.get("/healthz")).status_code == 200


async def test_an_idle_kept_alive_connection_is_closed(
        start_hub: Callable[..., Awaitable[Hub]]) -> None:
    hub = await start_hub(server={"limits": {"keep_alive_seconds": 0.5}})
    reader, writer = await hub.raw()
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    answer = await read_response(reader, 10)  # ends when the hub closes the idle connection
    assert answer.startswith(b"HTTP/1.1 200")
    writer.close()


async def test_a_connection_flood_is_refused_at_accept_and_held_to_the_accept_budget(
        start_hub: Callable[..., Awaitable[Hub]]) -> None:
    """One address opens connections as fast as it can: those over its cap get their 503
    straight from accept() (no HTTP protocol is built for them), and past the budget the
    hub stops accepting for a moment instead of spending its loop on them. An agent's
    socket opened before keeps working, and the flood's end leaves the hub open to all."""
    hub = await start_hub(server={"limits": {"connections_per_ip": 10,
                                             "accept_per_second": 200}})
    import websockets

    ticket = await hub.ticket("alice")
    async with websockets.connect(f"ws://127.0.0.1:{hub.port}/ws?ticket={ticket}") as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        held = [await hub.raw() for _ in range(9)]  # with the socket: the cap of 10
        await until(lambda: hub.guard.count("127.0.0.1") == 10, "ten connections held")
        built = len(hub.server.server_state.connections)

        async def knock() -> int:
            try:
                reader, writer = await asyncio.wait_for(hub.raw(), 10)
            except (OSError, TimeoutError):
                return 0
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            try:
                answer = await read_response(reader, 10)
            except (OSError, TimeoutError):
                return 0
            finally:
                writer.close()
            return status_and_body(answer)[0] if answer else 0

        answers = await asyncio.gather(*(knock() for _ in range(600)))
        assert answers.count(503) > 400  # answered, not reset
        assert 200 not in answers  # none got past the cap
        # 600 connections at a budget of 200 a second (400 saved up): accepting paused.
        assert hub.guard.paused > 0
        assert hub.guard.refused["too-many-connections"] >= answers.count(503)
        # No HTTP protocol object was built for the refused ones.
        assert len(hub.server.server_state.connections) <= built
        # Alice's socket lived through it.
        await ws.send(json.dumps({"type": "command", "id": "r1", "op": "agent.login"}))
        while (frame := json.loads(await ws.recv())).get("id") != "r1":
            pass
        assert frame["type"] == "ack", frame
        for _, w in held:
            w.close()
    await until(lambda: hub.guard.count("127.0.0.1") == 0, "every connection released")
    async with httpx.AsyncClient(base_url=hub.url) as http:
        assert (await http.get("/healthz")).status_code == 200

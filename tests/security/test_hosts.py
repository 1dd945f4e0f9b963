"""DNS rebinding: a page whose own name resolves to the hub reaches it with
``Host: evil.com``; the hub answers only to its own names, over REST and on the
WebSocket handshake, so that page never reads a thing (not the demo's logins, not
a ``hello``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx

from .conftest import Hub, read_response


async def handshake(hub: Hub, host: str, ticket: str, origin: str) -> bytes:
    """A browser's WebSocket handshake, with the Host and Origin a rebinding page sends."""
    reader, writer = await hub.raw()
    writer.write(
        f"GET /ws?ticket={ticket} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        f"Sec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n".encode())
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        rest = b""
        if head.startswith(b"HTTP/1.1 101"):
            rest = await asyncio.wait_for(reader.read(4096), 10)  # the first frame
        else:
            rest = await read_response(reader, 10)
        return head + rest
    finally:
        writer.close()


async def test_a_rebinding_page_gets_no_demo_passwords(hub: Hub) -> None:
    async with httpx.AsyncClient(base_url=hub.url) as http:
        r = await http.get("/api/public-config", headers={"Host": "evil.com"})
        assert r.status_code == 400 and r.json()["code"] == "host-not-allowed"
        assert "password" not in r.text and "alice" not in r.text
        assert "server.allowed_hosts" in r.json()["message"]  # says what to do
        r = await http.post("/api/login", headers={"Host": "evil.com:80"},
                            json={"username": "alice", "password": "alice"})
        assert r.status_code == 400
        # The hub's own names still work, with or without a port.
        for host in (f"127.0.0.1:{hub.port}", "localhost", f"[::1]:{hub.port}"):
            r = await http.get("/api/public-config", headers={"Host": host})
            assert r.status_code == 200 and r.json()["demo_logins"], host


async def test_a_rebinding_page_gets_no_hello_on_the_websocket(hub: Hub) -> None:
    ticket = await hub.ticket("alice")
    answer = await handshake(hub, "evil.com", ticket, "http://evil.com")
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"hello" not in answer and b"host-not-allowed" in answer
    # The ticket was not spent on the refused handshake: the real bar still opens with it.
    answer = await handshake(hub, f"127.0.0.1:{hub.port}", ticket, f"http://127.0.0.1:{hub.port}")
    assert answer.startswith(b"HTTP/1.1 101") and b"hello" in answer


async def test_configured_names_are_answered(start_hub: Callable[..., Awaitable[Hub]]) -> None:
    hub = await start_hub(server={"public_url": "https://cti.example.com",
                                  "allowed_hosts": ["*.corp.example", "cti-backup.example.com"]})
    async with httpx.AsyncClient(base_url=hub.url) as http:
        for host, status in [("cti.example.com", 200), ("CTI.example.com.", 200),
                             ("cti-backup.example.com:8443", 200), ("a.corp.example", 200),
                             ("corp.example", 400), ("evilcorp.example", 400),
                             ("cti.example.com.evil.com", 400), ("", 400)]:
            r = await http.get("/api/public-config", headers={"Host": host})
            assert r.status_code == status, (host, r.text)


async def test_probes_may_call_health_by_address(hub: Hub) -> None:
    async with httpx.AsyncClient(base_url=hub.url) as http:
        r = await http.get("/healthz", headers={"Host": "10.1.2.3:8000"})
        assert r.status_code == 200
        r = await http.get("/readyz", headers={"Host": "10.1.2.3:8000"})
        assert r.json() == {"status": "ready"}  # the bare status, nothing more

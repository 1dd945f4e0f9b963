"""Hostile agent sockets against a real hub on a real port (issue 13).

Each test plays one attack found in the review and asserts the defence: the
frame is answered or the attacker is cut, and another agent's session goes on.
"""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import websockets

from tests.integration.harness import AgentClient, RunningHub, running_hub

# The hub's answers that mean "it broke" rather than "you broke a rule".
CRASH_CODES = {1006, 1011}


async def still_works(client: AgentClient, op: str = "agent.login") -> None:
    reply = await client.command(op)
    assert reply["type"] in ("ack", "error") and reply.get("code") != "internal-error", reply


async def test_an_id_longer_than_python_reads_is_a_clear_error(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as h:
        alice = await h.agent("alice")
        start = len(alice.frames)
        await alice.send('{"type": "command", "op": "agent.login", "id": ' + "7" * 5000 + "}")
        err = await alice.wait_for(lambda f: f["type"] == "error", "an error", start=start)
        assert err["code"] == "bad-json" and "number" in err["message"]
        await alice.send('{"type": "ping", "id": ' + "9" * 40 + "}")  # readable, too big
        err = await alice.wait_for(lambda f: f["type"] == "error", "an error",
                                   start=start + 1)
        assert err["code"] == "bad-message" and "2^53" in err["message"]
        await still_works(alice)
        assert h.hub.agents["alice"].state.status == "not_ready"
        await alice.close()


async def test_ids_1_and_quoted_1_are_two_commands(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as h:
        alice = await h.agent("alice")
        await alice.send({"type": "command", "id": 1, "op": "agent.login"})
        first = await alice.wait_for(lambda f: f.get("id") == 1, "the answer to id 1")
        await alice.send({"type": "command", "id": "1", "op": "agent.ready"})
        second = await alice.wait_for(lambda f: f.get("id") == "1", 'the answer to id "1"')
        assert first["type"] == second["type"] == "ack"
        assert h.hub.agents["alice"].state.status == "ready"  # "1" ran, not replayed
        # A real retry of id 1 is still answered from the cache, nothing redone.
        start = len(alice.frames)
        await alice.send({"type": "command", "id": 1, "op": "agent.login"})
        again = await alice.wait_for(lambda f: f.get("id") == 1, "the retry", start=start)
        assert again == first
        assert h.hub.agents["alice"].state.status == "ready"
        await alice.close()


async def test_hostile_frames_after_the_rate_limit_trips_are_answered_not_crashing(
    tmp_path: Path,
) -> None:
    server = {"rate_per_second": 5, "rate_burst": 5}
    server = {**server, "limits": {"ws_rate_grace_seconds": 30}}
    async with running_hub(tmp_path, server=server) as h:
        alice = await h.agent("alice")
        for i in range(5):
            await alice.send({"type": "ping", "id": i})
        start = len(alice.frames)
        # Over budget now: the review crashed the socket with each of these.
        await alice.send("[" * 30_000)
        await alice.send('{"type": "ping", "id": "x\\ud800"}')
        await alice.send('{"type": "ping", "id": ' + "7" * 5000 + "}")
        limited = await alice.wait_for(lambda f: f.get("code") == "rate-limited",
                                       "rate-limited", start=start)
        assert limited["id"] is None and "slow down" in limited["message"]
        # Read at the budget's pace, each is answered in its turn; nothing is echoed.
        for _ in range(30):
            answers = [f for f in alice.frames[start:] if f.get("code") == "bad-json"]
            if len(answers) == 3:
                break
            await asyncio.sleep(0.1)
        assert len(answers) == 3 and all(a["id"] is None for a in answers)
        await still_works(alice)
        assert alice.ws.close_code is None
        await alice.close()


async def test_a_flooder_is_cut_after_the_grace_and_the_other_agent_goes_on(
    tmp_path: Path,
) -> None:
    async with running_hub(tmp_path, server={"limits": {"ws_rate_grace_seconds": 1.0}}) as h:
        flooder, bob = await h.agent("alice"), await h.agent("bob")
        await bob.ok("agent.login")

        async def flood() -> int:
            sent = 0
            try:
                while True:
                    await flooder.ws.send(json.dumps({"type": "ping", "id": sent}))
                    sent += 1
                    if sent % 100 == 0:
                        await asyncio.sleep(0)
            except websockets.ConnectionClosed:
                return sent

        flooding = asyncio.create_task(flood())
        # Bob works while Alice floods.
        await bob.ok("agent.ready")
        await bob.ok("agent.not_ready", reason="break")
        sent = await asyncio.wait_for(flooding, 20)
        assert await flooder.closed_by_hub() == 1008
        assert flooder.ws.close_reason == "rate-limited"
        answered = [f for f in flooder.frames if f.get("type") == "pong"]
        assert len(answered) < sent  # most of the flood was never read
        assert sum(f.get("code") == "rate-limited" for f in flooder.frames) >= 1
        await bob.ok("agent.ready")
        assert h.hub.agents["bob"].state.status == "ready"
        # The flooder may come back (with a new ticket) and behave.
        again = await h.agent("alice")
        await still_works(again)
        for c in (again, bob):
            await c.close()


async def test_a_user_cannot_open_sockets_without_limit(tmp_path: Path) -> None:
    async with running_hub(tmp_path, server={"limits": {"ws_per_user": 2}}) as h:
        tabs = [await h.agent("alice"), await h.agent("alice")]
        ticket = await h.ticket("alice")
        async with websockets.connect(h.ws_url(ticket)) as third:
            err = json.loads(await third.recv())
            assert err["code"] == "too-many-sockets" and "2 sockets" in err["message"]
            await third.wait_closed()
            assert third.close_code == 4029
        # Another user is not affected, and closing a tab frees a place.
        bob = await h.agent("bob")
        await tabs[0].close()
        await asyncio.sleep(0.1)
        tabs[0] = await h.agent("alice")
        for c in (*tabs, bob):
            await still_works(c)
            await c.close()


def never_reading_socket(h: RunningHub, ticket: str) -> socket.socket:
    """A WebSocket client that completes the handshake by writing it, then never reads."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills fast
    host, port = h.url.removeprefix("http://").split(":")
    sock.connect((host, int(port)))
    sock.sendall((f"GET /ws?ticket={ticket} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                  "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    return sock


def dropped_by_hub(sock: socket.socket) -> bool:
    """Whether the hub has dropped the connection (read everything left, then EOF/RST)."""
    sock.setblocking(False)
    try:
        while True:
            chunk = sock.recv(1 << 20)
            if not chunk:
                return True
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


async def dropped(sockets: list[socket.socket], within: float = 8.0) -> bool:
    """Whether the hub drops them all within ``within`` seconds: at once when it could
    not even write a close frame, after the close handshake's grace (5 s) otherwise."""
    for _ in range(int(within / 0.1)):
        if all(dropped_by_hub(s) for s in sockets):
            return True
        await asyncio.sleep(0.1)
    return False


def big_call(h: RunningHub, i: int) -> None:
    """A customer call with as much attached data as the hub keeps (~7 KB per event)."""
    h.sim.customer_calls("support", number=f"+3361234{i:04d}",
                         attached={f"k{j}": "x" * 990 for j in range(7)})


async def supervisors_served(h: RunningHub, n: int, within: float = 10.0) -> bool:
    for _ in range(int(within / 0.05)):
        if h.hub.notifier.subscriber_count() == n:
            return True
        await asyncio.sleep(0.05)
    return False


async def test_never_reading_supervisors_are_reset_when_a_send_times_out(
    tmp_path: Path,
) -> None:
    async with running_hub(tmp_path, server={"limits": {"ws_send_timeout_seconds": 0.5}}) as h:
        alice = await h.agent("alice")
        silent = [never_reading_socket(h, await h.ticket("sam")) for _ in range(3)]
        assert await supervisors_served(h, 4)
        # A steady trickle of events: no queue overflows, but once the kernel's
        # buffers are full (megabytes) every send to them blocks.
        for i in range(1500):
            big_call(h, i)
            await h.clock.advance(0.1)  # type: ignore[attr-defined]
            await asyncio.sleep(0.005)
            if h.hub.notifier.subscriber_count() == 1:
                break
        assert await supervisors_served(h, 1), "a never-reading socket is still served"
        # Reset, not left to drain: the memory held for them is freed.
        assert await dropped(silent)
        for s in silent:
            s.close()
        await still_works(alice)
        await alice.close()


async def test_a_burst_a_socket_cannot_take_overflows_its_queue_and_cuts_it(
    tmp_path: Path,
) -> None:
    async with running_hub(tmp_path, server={"limits": {"ws_send_queue_bytes": 64 * 1024}}) as h:
        alice = await h.agent("alice")
        silent = never_reading_socket(h, await h.ticket("sam"))
        assert await supervisors_served(h, 2)
        for i in range(40):  # ~300 KB in one step of the hub: more than the queue holds
            big_call(h, i)
        assert await supervisors_served(h, 1)
        assert await dropped([silent])
        silent.close()
        await still_works(alice)
        await alice.close()


async def test_a_supervisor_snapshot_is_bounded_however_much_is_live(tmp_path: Path) -> None:
    limits = {"snapshot_calls": 10, "attached_value_chars": 100, "attached_total_chars": 1000}
    async with running_hub(tmp_path, server={"limits": limits}) as h:
        for i in range(25):  # nobody is ready: they all wait
            h.sim.customer_calls("support", number=f"+3361234{i:04d}",
                                 attached={"notes": "x" * 50_000, "n": str(i),
                                           **{f"k{j}": "y" * 90 for j in range(20)}})
        for _ in range(50):
            if len(h.hub.calls.live()) == 25:
                break
            await h.clock.advance(1)  # type: ignore[attr-defined]
        assert len(h.hub.calls.live()) == 25
        sam = await h.agent("sam")
        snap = sam.snapshot
        assert len(snap["calls"]) == 10
        assert snap["truncated"]["calls"] == 25
        for call in snap["calls"]:
            attached = call["attached"]
            assert len(attached["notes"]) == 100 and attached["notes"].endswith("…")
            assert sum(len(k) + len(v) for k, v in attached.items()) <= 1000
        # The live event carries the same bounded data.
        h.sim.customer_calls("support", number="+33612349999", attached={"notes": "z" * 10_000})
        queued = await sam.event("call.queued", timeout=10,
                                 where=lambda d: d["call"]["customer"]["number"].endswith("9999"))
        assert len(queued["call"]["attached"]["notes"]) == 100
        await sam.close()

"""Fencing under load: a core whose event loop falls behind its lease sends nothing
stale, a new core's numbering never leaves a bar behind, and a burst of requests
does not cost the core its lease (real NATS, as the other cluster tests)."""

from __future__ import annotations

import asyncio
import json
import time
from types import SimpleNamespace

import nats

from ctibridge.cluster.codec import principal_to
from ctibridge.cluster.lease import Lease
from ctibridge.cluster.owner import Owner
from ctibridge.cluster.relay import Relay
from ctibridge.cluster.subjects import FENCE_HEADER, SEQ_HEADER, Names
from ctibridge.core.notifier import SUPERVISORS, Notifier
from ctibridge.core.permissions import Principal
from ctibridge.model.agent import Role
from ctibridge.telephony.simulator import SimulatorConnector

from .conftest import NATS_URL, Cluster


async def test_a_core_held_past_its_lease_sends_nothing_until_it_knows(
    cluster: Cluster,
) -> None:
    """The owner's event loop is held (a burst) past the moment another node could take
    the lease: what it queued meanwhile waits. Renewed (nobody took it): it goes out.
    Taken by another node: it never reaches the bus."""
    nc = await nats.connect(NATS_URL)
    now = [1000.0]
    names = Names(cluster.name)
    bucket = f"{cluster.name}_lease"
    owner: Owner | None = None

    async def lost(token: int) -> None:
        assert owner is not None
        await owner.stop()  # as the node does: the core stops

    lease = Lease(nc.jetstream(), "n1", bucket, ttl=3.0,
                  on_acquired=lambda token: asyncio.sleep(0), on_lost=lost,
                  clock=lambda: now[0])
    seen: list[int] = []

    async def got(msg: nats.aio.msg.Msg) -> None:
        seen.append(int(msg.headers[SEQ_HEADER]))

    sub = await nc.subscribe(names.stream_subject("alice"), cb=got)
    try:
        await lease.step()
        assert lease.held and lease.valid() and lease.epoch is not None
        owner = Owner(nc, SimpleNamespace(core_routes=None), lease.epoch, names,
                      valid=lease.valid)
        await owner.start()
        owner.frame("alice", 1, '{"seq":1}')
        await _until(lambda: seen == [1], "the frame sent while the lease holds")

        now[0] += 2.0  # the loop was held 2 s: 2/3 of the lease, no renewal ran
        assert lease.held and not lease.valid()
        owner.frame("alice", 2, '{"seq":2}')
        await _settle(nc)
        assert seen == [1]
        await lease.step()  # the late renewal goes through: nobody took the lease
        await _until(lambda: seen == [1, 2], "the frame held, sent once renewed")

        now[0] += 2.0
        owner.frame("alice", 3, '{"seq":3}')
        kv = await nc.jetstream().key_value(bucket)
        await kv.put("core", b"n2")  # another node has the lease now
        await lease.step()  # our renewal is refused: fenced
        assert not lease.held
        await _settle(nc)
        assert seen == [1, 2] and owner.dropped == 1
    finally:
        await sub.unsubscribe()
        await lease.stop(release=False)
        await nc.close()


async def test_a_frame_too_large_for_the_bus_is_dropped_and_the_next_ones_go(
    cluster: Cluster,
) -> None:
    nc = await nats.connect(NATS_URL)
    names = Names(cluster.name)
    seen: list[int] = []

    async def got(msg: nats.aio.msg.Msg) -> None:
        seen.append(int(msg.headers[SEQ_HEADER]))

    sub = await nc.subscribe(names.stream_subject("alice"), cb=got)
    owner = Owner(nc, SimpleNamespace(core_routes=None), 1, names)
    try:
        await owner.start()
        owner.frame("alice", 1, "x" * (nc.max_payload + 1))  # thousands of calls listed
        owner.frame("alice", 2, '{"seq":2}')
        await _until(lambda: seen == [2], "the frame after the one too large")
        assert owner.too_large == 1 and owner.published == 1
    finally:
        await owner.stop()
        await sub.unsubscribe()
        await nc.close()


async def test_a_bar_whose_seq_a_new_core_reuses_starts_again(cluster: Cluster) -> None:
    """Frames of a deposed core reached this node after the new core read the stream:
    the new core numbers from below them. The bar's socket is told to start again
    (a new snapshot) instead of silently dropping the new core's frames as repeats."""
    nc = await nats.connect(NATS_URL)
    names = Names(cluster.name)
    notifier = Notifier()
    relay = Relay(nc, nc.jetstream(), notifier, names)
    subject = names.stream_subject("alice")

    async def frame(seq: int, token: int) -> None:
        await nc.publish(subject, json.dumps({"seq": seq}).encode(),
                         headers={SEQ_HEADER: str(seq), FENCE_HEADER: str(token)})

    try:
        await relay.start()
        await relay.open("alice")
        bar = notifier.subscribe("alice")
        local = notifier.stream("alice")
        for seq in (1, 2, 3):
            await frame(seq, 5)  # the deposed core (token 5) got as far as 3
        await _until(lambda: local.seq == 3, "the old core's frames")
        assert [bar.queue.get_nowait()[0] for _ in range(3)] == [1, 2, 3]  # type: ignore[index]

        await frame(2, 9)  # the new core (token 9) read the stream when it ended at 1
        await _until(lambda: relay.renumbered == 1, "the renumbering noticed")
        assert bar.resync and await bar.queue.get() is None  # its socket starts again
        assert local.seq == 2 and [s for s, _ in local.buffer] == [2]

        fresh = notifier.subscribe("alice")  # the bar, reconnected
        await frame(3, 9)
        item = await asyncio.wait_for(fresh.queue.get(), 5)
        assert item is not None and item[0] == 3  # the new core's 3, not a repeat

        await frame(4, 5)  # the deposed core still talking: dropped
        await frame(4, 9)
        await _until(lambda: local.seq == 4, "the new core's next frame")
        assert relay.dropped_fenced == 1 and fresh.queue.qsize() == 1
    finally:
        await relay.stop()
        await nc.close()


async def test_thousands_of_commands_at_once_keep_the_core_on_its_node(
    cluster: Cluster,
) -> None:
    """Every bar of a large site sends a command at the same moment (a shift starts):
    the core works through them without missing a renewal of its lease."""
    n = 2000
    agents = [{"id": f"a{i:04d}", "name": f"Agent {i}", "extension": str(20000 + i)}
              for i in range(n)]
    sim = SimulatorConnector("sim", clock=cluster.clock, seed=7,
                             devices=[a["extension"] for a in agents])
    core = await cluster.node("a", hub={"agents": agents}, sim=sim, lease_seconds=1.0)
    await cluster.core()
    node = core.app.state.services.cluster
    nc = await nats.connect(NATS_URL)
    states: set[str] = set()  # the agents whose stream got an agent.state
    supervisors = node.names.stream_subject(SUPERVISORS)

    async def frame(msg: nats.aio.msg.Msg) -> None:
        if json.loads(msg.data)["name"] == "agent.state" and msg.subject != supervisors:
            states.add(msg.subject)

    await nc.subscribe(f"{node.names.events}.>", cb=frame)
    try:
        def login(agent_id: str) -> bytes:
            who = Principal(agent_id, frozenset({Role.AGENT}), agent_id, agent_id, None)
            return json.dumps({"principal": principal_to(who), "op": "agent.login",
                               "args": {}}).encode()

        for _ in range(100):  # the core's platform up: a first login goes through
            first = json.loads((await nc.request(node.names.command, login("a0000"),
                                                 timeout=10)).data)
            if "ok" in first:
                break
            await asyncio.sleep(0.1)
        started = time.monotonic()
        replies = await asyncio.gather(*(
            nc.request(node.names.command, login(a["id"]), timeout=60) for a in agents))
        took = time.monotonic() - started
        answers = [json.loads(r.data) for r in replies]
        assert all("ok" in a for a in answers), [a for a in answers if "ok" not in a][:3]
        hub = core.app.state.services.hub
        assert sum(1 for a in hub.agents.values() if a.state.status == "not_ready") == n
        print(f"{n} logins in {took:.1f} s")
        assert [h[0] for h in node.history] == ["started"], node.history
        assert node.owner is not None and node.owner.dropped == 0
        # Every login reached the bus, however long the lease's renewal had to wait.
        await _until(lambda: len(states) == n, f"{n} agents' new state on the bus")
    finally:
        await nc.close()


async def _settle(nc: nats.aio.client.Client) -> None:
    """Anything on its way has arrived (a round trip to the server, then a moment)."""
    await nc.flush()
    await asyncio.sleep(0.3)


async def _until(check: object, what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)

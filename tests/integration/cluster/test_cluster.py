"""Several hub nodes on NATS JetStream: one core, sockets on any node."""

from __future__ import annotations

from .conftest import Cluster


async def test_an_agent_with_tabs_on_two_nodes_takes_a_call(cluster: Cluster) -> None:
    a = await cluster.node("a")
    assert await cluster.core() is a  # the first node takes the lease
    b = await cluster.node("b")
    tab_a = await a.agent("alice")
    tab_b = await b.agent("alice")
    assert tab_a.snapshot["seq"] == tab_b.snapshot["seq"]
    assert tab_b.snapshot["agent"]["state"]["status"] == "logged_out"

    # Commands from node b reach the core on node a.
    await tab_b.ok("agent.login")
    await tab_b.ok("agent.ready")
    ready_a = await tab_a.wait_for(lambda f: f.get("name") == "agent.state"
                                   and f["data"]["agent"]["state"]["status"] == "ready",
                                   "ready on node a")
    ready_b = await tab_b.wait_for(lambda f: f.get("name") == "agent.state"
                                   and f["data"]["agent"]["state"]["status"] == "ready",
                                   "ready on node b")
    assert ready_a["seq"] == ready_b["seq"]  # one numbering for the agent, on every node

    ref = a.sim.customer_calls("support", number="+33612345678", name="Camille Petit")
    offered = await tab_b.event("call.offered")
    call_id = offered["call"]["call_id"]
    await tab_a.event("call.offered")
    await tab_b.ok("call.answer", call_id=call_id)
    await tab_a.event("call.answered")
    await tab_b.event("call.answered")
    a.sim.customer_hangs_up(ref)
    await tab_b.event("call.ended")
    await tab_a.event("call.ended")

    seqs_a = [f["seq"] for f in tab_a.frames if f.get("type") == "event"]
    seqs_b = [f["seq"] for f in tab_b.frames if f.get("type") == "event"]
    assert seqs_a == seqs_b == list(range(seqs_a[0], seqs_a[0] + len(seqs_a)))

    # A third tab on node b resumes from before the call: it gets what it missed.
    offered_seq = next(f["seq"] for f in tab_b.frames if f.get("name") == "call.offered")
    late = await b.agent("alice")
    await late.send({"type": "resume", "since": offered_seq - 1})
    await late.wait_for(lambda f: f.get("seq") == seqs_b[-1], "the replay")
    assert [(f["seq"], f["name"]) for f in late.frames] == [
        (f["seq"], f["name"]) for f in tab_b.frames
        if f.get("type") == "event" and f["seq"] >= offered_seq]


async def test_a_command_with_no_core_running_gets_a_stable_error(cluster: Cluster) -> None:
    a = await cluster.node("a")
    await cluster.core()
    tab = await a.agent("alice")
    # The core stops (its lease handed back) and nobody takes it: node a keeps serving
    # sockets, commands are refused with a code a client can act on.
    node = a.app.state.services.cluster
    assert node.lease is not None
    await node.lease.stop(release=False)
    reply = await tab.command("agent.login")
    assert reply["type"] == "error" and reply["code"] == "no-core", reply


async def test_resume_on_another_node_replays_from_jetstream(cluster: Cluster) -> None:
    a = await cluster.node("a")
    await cluster.core()
    b = await cluster.node("b")
    tab = await a.agent("alice")
    first = tab.snapshot["seq"]
    await tab.ok("agent.login")
    await tab.ok("agent.ready")
    await tab.ok("agent.not_ready", reason="break")
    last = await tab.wait_for(lambda f: f.get("name") == "agent.state"
                              and f["data"]["agent"]["state"]["status"] == "not_ready"
                              and f["data"]["agent"]["state"]["reason"] == "break",
                              "the break")
    await tab.close()
    # The bar reconnects to node b, which never had a socket for alice.
    again = await b.agent("alice")
    await again.send({"type": "resume", "since": first})
    end = await again.wait_for(lambda f: f.get("seq") == last["seq"], "the last event")
    # (Later events may follow: what matters is everything up to the last, once each.)
    got = [f["seq"] for f in again.frames if f.get("type") == "event" and f["seq"] <= end["seq"]]
    assert got == list(range(first + 1, end["seq"] + 1)), got


async def test_a_ticket_from_one_node_opens_a_socket_on_another_once(cluster: Cluster) -> None:
    import json

    import websockets

    a = await cluster.node("a")
    await cluster.core()
    b = await cluster.node("b")
    ticket = await a.ticket("alice")  # behind a load balancer: REST on a, socket on b
    async with websockets.connect(b.ws_url(ticket)) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        assert json.loads(await ws.recv())["type"] == "snapshot"
    async with websockets.connect(b.ws_url(ticket)) as ws:  # used up, on every node
        refused = json.loads(await ws.recv())
        assert refused["code"] == "ticket-invalid"


async def test_a_node_cut_from_nats_is_fenced_before_another_takes_the_core(
    cluster: Cluster,
) -> None:
    a = await cluster.node("a")
    await cluster.core()
    b = await cluster.node("b")
    tab = await b.agent("alice")
    await tab.ok("agent.login")
    before = await tab.wait_for(lambda f: f.get("name") == "agent.state", "the login")

    node_a = a.app.state.services.cluster
    await node_a.nc.close()  # a partition: a can no longer renew its lease
    await cluster.core(timeout=15.0, on="b")
    assert node_a.owner is None
    node_b = b.app.state.services.cluster
    # a stopped acting (its last tenure) before b started its own, with a newer token.
    _, token_a, fenced_at = [h for h in node_a.history if h[0] == "fenced"][-1]
    _, token_b, started_at = [h for h in node_b.history if h[0] == "started"][-1]
    assert fenced_at < started_at and token_b > token_a

    # The bar on b keeps working with the new core, its seq going on where it was:
    # first the new core's platform comes up, then commands work again.
    await tab.wait_for(lambda f: f.get("name") == "platform.status" and f["data"]["up"]
                       and f["seq"] > before["seq"], "the platform up on the new core",
                       timeout=15.0)
    # The new core gave alice back her stored state (logged in, not ready) and told her
    # bar; a change she makes now comes from it.
    restored = await tab.wait_for(lambda f: f.get("name") == "agent.state"
                                  and f["seq"] > before["seq"], "her state from the new core")
    assert restored["data"]["agent"]["state"]["status"] == "not_ready"
    await tab.ok("agent.ready")
    after = await tab.wait_for(lambda f: f.get("name") == "agent.state"
                               and f["data"]["agent"]["state"]["status"] == "ready",
                               "a change made on the new core")
    seqs = [f["seq"] for f in tab.frames if f.get("type") == "event"]
    assert seqs == list(range(seqs[0], seqs[-1] + 1)) and seqs[-1] >= after["seq"]  # no gap


async def test_directory_pages_and_presence_reach_a_bar_on_another_node(
    cluster: Cluster,
) -> None:
    a = await cluster.node("a")
    await cluster.core()
    b = await cluster.node("b")
    watcher = await b.agent("alice")
    quiet = await b.agent("carol")
    page = await watcher.ok("directory.get", limit=2)
    assert [e["agent_id"] for e in page["entries"]] == ["alice", "bob"]
    assert page["next"] == "bob"
    await watcher.ok("directory.watch")
    bob = await a.agent("bob")
    await bob.ok("agent.login")
    seen = await watcher.wait_for(lambda f: f.get("type") == "presence"
                                  and f["agent"]["agent_id"] == "bob", "bob's presence")
    assert seen["agent"]["status"] == "not_ready"
    await quiet.ok("agent.login")  # a sure last frame for carol's socket
    assert not [f for f in quiet.frames if f.get("type") == "presence"]

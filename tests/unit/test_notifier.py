"""Events reach the streams allowed to see them, in order, with replay."""

import json

from ctibridge.core.notifier import SUPERVISORS, Notifier
from ctibridge.model.events import HubEvent


def ev(n: int, *agents: str) -> HubEvent:
    return HubEvent("call.updated", {"n": n}, frozenset(agents))


async def test_each_agent_gets_its_own_monotonic_sequence() -> None:
    notifier = Notifier()
    alice = notifier.subscribe("alice")
    bob = notifier.subscribe("bob")
    notifier.publish(ev(1, "alice"))
    notifier.publish(ev(2, "alice", "bob"))
    assert [alice.queue.get_nowait()[0] for _ in range(2)] == [1, 2]
    assert bob.queue.get_nowait()[0] == 1
    assert notifier.stream(SUPERVISORS).seq == 2


async def test_resume_replays_what_was_missed_or_asks_for_a_snapshot() -> None:
    notifier = Notifier(replay=10)
    for n in range(1, 16):
        notifier.publish(ev(n, "alice"))
    stream = notifier.stream("alice")
    assert [s for s, _ in stream.since(12) or []] == [13, 14, 15]
    assert stream.since(15) == []
    assert stream.since(2) is None  # too old: the client needs a fresh snapshot


async def test_a_subscriber_that_cannot_keep_up_is_cut_off_not_waited_for() -> None:
    notifier = Notifier(queue_size=10)
    slow = notifier.subscribe("alice")
    fast = notifier.subscribe("alice")
    for n in range(20):
        notifier.publish(ev(n, "alice"))
        if not fast.queue.empty():
            fast.queue.get_nowait()
    assert slow.overflowed and slow.queue.get_nowait() is None
    assert not fast.overflowed


def test_a_tap_sees_every_event_and_a_failing_tap_does_not_stop_delivery() -> None:
    notifier = Notifier()
    seen: list[str] = []

    def broken(_: HubEvent) -> None:
        raise RuntimeError("observer bug")

    notifier.tap(broken)
    untap = notifier.tap(lambda e: seen.append(e.name))
    notifier.publish(HubEvent("call.offered", {}, frozenset({"alice"})))
    untap()
    notifier.publish(HubEvent("call.ended", {}, frozenset({"alice"})))
    assert seen == ["call.offered"]
    assert notifier.stream("alice").seq == 2


def test_a_frame_encoded_once_reads_the_same_on_every_stream() -> None:
    notifier = Notifier()
    alice = notifier.subscribe("alice")
    bob = notifier.subscribe("bob")
    notifier.publish(ev(1, "bob"))
    notifier.publish(HubEvent("call.offered", {"caller": "+33 1 42 68 53 00", "note": "é\"}"},
                              frozenset({"alice", "bob"})))

    a = json.loads(alice.queue.get_nowait()[1])
    bob.queue.get_nowait()
    b = json.loads(bob.queue.get_nowait()[1])
    assert a == {"type": "event", "seq": 1, "name": "call.offered",
                 "data": {"caller": "+33 1 42 68 53 00", "note": "é\"}"}}
    assert b["seq"] == 2 and b["data"] == a["data"]


def presence(agent_id: str, status: str) -> dict[str, str]:
    return {"agent_id": agent_id, "status": status}


async def test_presence_goes_only_to_the_sockets_that_watch() -> None:
    notifier = Notifier()
    quiet = notifier.subscribe("alice")
    everyone = notifier.subscribe("bob")
    one = notifier.subscribe("carol")
    notifier.watch(everyone, None)
    notifier.watch(one, frozenset({"dave"}))
    notifier.presence(presence("erin", "ready"))
    notifier.presence(presence("dave", "busy"))
    assert quiet.queue.empty()
    seq, frame = everyone.queue.get_nowait()  # type: ignore[misc]
    assert seq is None and json.loads(frame) == {"type": "presence",
                                                  "agent": presence("erin", "ready")}
    assert everyone.queue.qsize() == 1
    assert json.loads(one.queue.get_nowait()[1])["agent"]["agent_id"] == "dave"  # type: ignore[index]
    notifier.unsubscribe(everyone)  # a closed socket watches nothing any more
    notifier.unwatch(one)
    notifier.presence(presence("dave", "ready"))
    assert one.queue.empty() and notifier.watchers() == 0


async def test_an_agents_replay_buffer_is_bounded_in_bytes_as_well_as_events() -> None:
    notifier = Notifier(replay=1000, replay_chars=20_000)
    for n in range(200):
        notifier.publish(HubEvent("call.updated", {"pad": "x" * 1000, "n": n},
                                  frozenset({"alice"})))
    stream = notifier.stream("alice")
    assert stream.buffered_chars <= 20_000
    assert stream.buffered_chars == sum(len(f) for _, f in stream.buffer)
    assert stream.since(199 - len(stream.buffer) + 1) is not None
    assert stream.since(150) is None  # older than what is kept: a fresh snapshot
    # The supervisors' one stream is bounded by count only.
    assert len(notifier.stream(SUPERVISORS).buffer) == 200


async def test_all_replay_buffers_together_stay_within_the_nodes_budget() -> None:
    """Thousands of agents, each under its own bound: together they hold no more than
    the node's budget, the newest frames kept, whoever they belong to."""
    notifier = Notifier(replay=500, replay_chars=128 * 1024, replay_total_chars=200_000)
    agents = [f"a{i:04d}" for i in range(1000)]
    for n in range(5):  # five calls' worth of frames for every agent, in turn
        for a in agents:
            notifier.publish(HubEvent("call.updated", {"pad": "x" * 300, "n": n},
                                      frozenset({a})))
    held = sum(s.buffered_chars for s in notifier.streams())
    budget = notifier.replay_budget
    assert budget is not None
    assert held == budget.chars <= 200_000
    assert held > 200_000 - 1000  # only what had to go went
    assert budget.frames == sum(len(s.buffer) for s in notifier.streams())
    # The last agents served keep their last frames, the first ones lost theirs.
    last, first = notifier.stream(agents[-1]), notifier.stream(agents[0])
    assert [s for s, _ in last.since(4) or []] == [5]
    assert first.since(4) is None  # a resume from there gets a fresh snapshot
    # The budget's bookkeeping does not grow with the frames that went through it.
    assert len(budget.order) <= 2 * budget.frames + 1024


async def test_a_dropped_stream_gives_its_share_of_the_budget_back() -> None:
    notifier = Notifier(replay=100, replay_total_chars=100_000)
    for n in range(10):
        notifier.publish(HubEvent("call.updated", {"pad": "x" * 1000, "n": n},
                                  frozenset({"alice", "bob"})))
    budget = notifier.replay_budget
    assert budget is not None
    before, bobs = budget.chars, notifier.stream("bob").buffered_chars
    notifier.drop("bob")  # nobody reads bob's stream on this node any more
    assert budget.chars == before - bobs == sum(s.buffered_chars for s in notifier.streams())
    assert budget.frames == sum(len(s.buffer) for s in notifier.streams())

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

"""The agent socket's limits as pure logic: frame reading, the rate guard, the
sockets-per-user counter, attached-data bounds and the outgoing queue's byte bound."""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctibridge.api.frames import Refusal, encode, id_key, read_frame
from ctibridge.api.wslimits import RateGuard, SocketCounter, Verdict
from ctibridge.core.bounds import AttachedLimits
from ctibridge.core.notifier import Subscriber


@given(st.text(max_size=300))
def test_any_text_is_read_or_refused_never_raised(text: str) -> None:
    result = read_frame(text)
    assert isinstance(result, Refusal | tuple)


def test_hostile_json_is_refused_with_the_documented_codes() -> None:
    cases = {
        '{"id": ' + "1" * 5000 + "}": "bad-json",  # past Python's int limit
        "[" * 100_000: "bad-json",
        '{"id": "\\ud800"}': "bad-json",
        '{"id": true}': "bad-message",
        '{"id": 1.5}': "bad-message",
        '{"id": "' + "x" * 129 + '"}': "bad-message",
        '{"id": ' + "9" * 30 + "}": "bad-message",
        "[]": "bad-message",
    }
    for text, code in cases.items():
        result = read_frame(text)
        assert isinstance(result, Refusal) and result.code == code, text[:40]
    frame, fid = read_frame('{"type": "ping", "id": 7}')  # type: ignore[misc]
    assert fid == 7 and frame["type"] == "ping"


def test_ids_of_different_types_are_different_keys() -> None:
    assert id_key(1) != id_key("1")
    assert id_key("a") == id_key("a")


def test_a_frame_with_a_lone_surrogate_is_still_encodable() -> None:
    text = encode({"message": "call c\ud800 does not exist"})
    text.encode("utf-8")
    assert json.loads(text)["message"] == "call c\ud800 does not exist"


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_a_flood_is_warned_once_then_throttled_then_cut_after_the_grace() -> None:
    clock = Clock()
    guard = RateGuard(rate=10, burst=5, grace=2.0, clock=clock)
    assert [guard.admit() for _ in range(5)] == [Verdict.ADMIT] * 5
    # A flooder always has its next message ready: the hub reads it when a token is back.
    verdicts: list[tuple[float, Verdict]] = []
    while not verdicts or verdicts[-1][1] is not Verdict.CUT:
        verdict = guard.admit()
        verdicts.append((clock.t, verdict))
        if verdict in (Verdict.WARN, Verdict.WAIT):
            clock.t += guard.wait_time()
        assert clock.t < 10, "never cut"
    assert verdicts[0][1] is Verdict.WARN
    assert [v for _, v in verdicts].count(Verdict.WARN) == 1
    admitted = [t for t, v in verdicts if v is Verdict.ADMIT]
    assert len(admitted) == pytest.approx(20, abs=2)  # read at the budget's pace meanwhile
    assert 2.0 <= verdicts[-1][0] < 2.2  # cut once the grace is over


def test_a_client_that_calms_down_starts_afresh() -> None:
    clock = Clock()
    guard = RateGuard(rate=10, burst=2, grace=2.0, clock=clock)
    assert [guard.admit() for _ in range(3)] == [Verdict.ADMIT, Verdict.ADMIT, Verdict.WARN]
    clock.t += guard.wait_time()
    assert guard.admit() is Verdict.ADMIT  # the waiting message is read
    clock.t += 1.5  # quiet longer than RateGuard.QUIET
    assert guard.admit() is Verdict.ADMIT
    clock.t += 10
    assert [guard.admit() for _ in range(3)] == [Verdict.ADMIT, Verdict.ADMIT, Verdict.WARN]


def test_sockets_per_user_are_counted_and_given_back() -> None:
    counter = SocketCounter(per_user=2)
    assert counter.take("alice") and counter.take("alice")
    assert not counter.take("alice")
    assert counter.take("bob")
    counter.give_back("alice")
    assert counter.take("alice")
    for _ in range(3):
        counter.give_back("alice")
    assert "alice" not in counter.open


def test_attached_data_is_cut_to_its_bounds() -> None:
    limits = AttachedLimits(value_chars=10, total_chars=30, keys=3)
    small = {"a": "1", "b": "2"}
    assert limits.cap(small) == small
    capped = limits.cap({"long": "x" * 100, "b": "y" * 9, "c": "z" * 9, "d": "w"})
    assert capped["long"] == "x" * 9 + "…"
    assert limits.fits(capped)
    assert len(capped) <= 3 and sum(len(k) + len(v) for k, v in capped.items()) <= 30


async def test_the_outgoing_queue_is_bounded_in_bytes_as_well_as_in_frames() -> None:
    sub = Subscriber("alice", asyncio.Queue(1000), max_chars=10_000)
    for seq in range(1, 10):
        sub.offer(seq, "x" * 1000)
    assert not sub.overflowed
    item = sub.queue.get_nowait()
    assert item is not None
    sub.taken(item[1])
    sub.offer(10, "x" * 1000)
    sub.offer(11, "x" * 1000)
    assert not sub.overflowed
    sub.offer(12, "x" * 5000)
    assert sub.overflowed
    assert sub.queue.get_nowait() is None  # the sender is told to cut the socket

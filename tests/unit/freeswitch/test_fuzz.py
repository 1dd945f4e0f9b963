"""Fuzzing the ESL parser with mutated real frames: it never crashes, never loses a byte.

``test_100k_mutated_frames`` feeds 100,000 mutated frames (CTIBRIDGE_ESL_FUZZ_FRAMES
changes the count) taken from the real captures, in random chunks, with a fixed seed
per batch (a failure names its seed). A hypothesis test adds shrinking mutations.
Invariants: only Frame or ParseError come out; frames, errors and separators cover the
input exactly; decoding an event either works or raises EslError, nothing else.
"""

from __future__ import annotations

import os
import random

from hypothesis import given
from hypothesis import strategies as st

from ctibridge.recording.esl import read_esl_file
from ctibridge.telephony.freeswitch.esl import EslError, EslParser, Frame, ParseError, parse_event

from .fake_esl import FIXTURES
from .test_framing import accounted

TOTAL = int(os.environ.get("CTIBRIDGE_ESL_FUZZ_FRAMES", "100000"))
BATCH = 2000


def _seeds() -> list[bytes]:
    out: list[bytes] = []
    for name in ("10-agent-status.esl", "10-agent-status.json.esl", "11b-command-errors.esl",
                 "11a-auth-failure.esl", "08-click-to-call.esl"):
        data = read_esl_file(FIXTURES / name).server_bytes
        for f in EslParser().feed(data):
            if isinstance(f, Frame) and f.size < 4000:  # small ones: more frames per second
                out.append(data[f.offset:f.offset + f.size])
    return out


SEEDS = _seeds()
DIGITS = b"0123456789"


def mutate(rng: random.Random, frame: bytes) -> bytes:
    b = bytearray(frame)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(7)
        i = rng.randrange(len(b) + 1)
        if op == 0 and b:
            b[min(i, len(b) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1 and b:
            del b[min(i, len(b) - 1):min(i, len(b) - 1) + rng.randint(1, 8)]
        elif op == 2:
            b[i:i] = bytes(rng.choice(b"\n\n:% \x00\xff{}") for _ in range(rng.randint(1, 4)))
        elif op == 3 and b:
            j = rng.randrange(len(b))
            b[i:i] = b[j:j + rng.randint(1, 40)]
        elif op == 4:
            k = b.find(b"Content-Length: ")
            if k >= 0:
                k += 16
                end = k
                while end < len(b) and b[end] in DIGITS:
                    end += 1
                b[k:end] = str(max(0, int(b[k:end] or b"0") + rng.randint(-20, 20))).encode() \
                    if rng.random() < 0.8 else b"-" + bytes(rng.choice(DIGITS) for _ in range(3))
        elif op == 5:
            del b[rng.randrange(len(b) + 1):]
        else:
            b[i:i] = b"\n"
    return bytes(b)


def check(stream: bytes, chunks: list[int]) -> int:
    p = EslParser(max_frame_bytes=1 << 20)
    out: list[Frame | ParseError] = []
    pos = 0
    for n in chunks:
        out.extend(p.feed(stream[pos:pos + n]))
        pos += n
    out.extend(p.feed(stream[pos:]))
    out.extend(p.finish())
    assert all(isinstance(f, Frame | ParseError) for f in out)
    assert accounted(stream, out) == len(stream)
    for f in out:
        if isinstance(f, Frame) and f.is_event:
            try:
                parse_event(f)
            except EslError:
                pass
    return len(out)


def test_100k_mutated_frames() -> None:
    done = 0
    seed = 0
    while done < TOTAL:
        rng = random.Random(seed)
        n = min(BATCH, TOTAL - done)
        stream = b"".join(mutate(rng, rng.choice(SEEDS)) for _ in range(n))
        chunks = [rng.randint(1, 9000) for _ in range(len(stream) // 4000)]
        try:
            check(stream, chunks)
        except AssertionError as exc:  # pragma: no cover - names the batch to replay
            raise AssertionError(f"batch seed {seed}: {exc}") from None
        done += n
        seed += 1
    assert done >= TOTAL


@given(st.lists(st.tuples(st.integers(0, len(SEEDS) - 1), st.integers(0, 2**32)),
                min_size=1, max_size=30),
       st.lists(st.integers(1, 500), max_size=50))
def test_mutated_streams_shrink_to_a_minimal_case(picks: list[tuple[int, int]],
                                                 chunks: list[int]) -> None:
    stream = b"".join(mutate(random.Random(s), SEEDS[i]) for i, s in picks)
    check(stream, chunks)


def test_the_seeds_are_real_frames() -> None:
    assert len(SEEDS) > 50

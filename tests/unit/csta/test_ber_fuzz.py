"""Fuzz of the BER decoder: mutated frames either decode or raise CstaDecodeError.

Each hypothesis example draws a seed and mutates FRAMES_PER_EXAMPLE frames from it
(bit flips, byte changes, truncation, insertion, splices of two messages, length
bytes set to extremes). ``CTIBRIDGE_FUZZ_FRAMES`` sets how many mutated frames in
all, as for the XML fuzz: 10,000 by default (about a second of CPU), 100,000 in
``scripts/test.sh``.
"""

import os
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ctibridge.telephony.csta.ber import BerCodec
from ctibridge.telephony.csta.message import CstaDecodeError, CstaMessage
from ctibridge.telephony.csta.oxe import OxeFraming

from .ber_examples import EXAMPLES

codec = BerCodec()
CORPUS = [codec.encode(m) for m in EXAMPLES.values()]
FRAMES = int(os.environ.get("CTIBRIDGE_FUZZ_FRAMES", "10000"))
FRAMES_PER_EXAMPLE = 500
EXAMPLES_RUN = max(1, FRAMES // FRAMES_PER_EXAMPLE)
decoded = {"frames": 0}


def mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(7)
        if op == 0 and b:
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
        elif op == 1 and b:
            b[rng.randrange(len(b))] = rng.randrange(256)
        elif op == 2 and b:
            del b[rng.randrange(len(b)):]
        elif op == 3:
            i = rng.randrange(len(b) + 1)
            b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 4:
            other = rng.choice(CORPUS)
            i, j = rng.randrange(len(b) + 1), rng.randrange(len(other) + 1)
            b = b[:i] + bytearray(other[j:])
        elif op == 5 and len(b) > 1:
            b[1] = rng.choice((0x00, 0x7F, 0x80, 0x81, 0x84, 0xFF))  # outer length byte
        elif op == 6 and b:
            i = rng.randrange(len(b))
            b[i] = rng.choice((0x80, 0x84, 0x8F, 0xFF, 0x1F, 0x3F))  # long forms, high tags
    return bytes(b)


@pytest.mark.fuzz
@settings(max_examples=EXAMPLES_RUN, derandomize=True)
@given(st.integers(min_value=0, max_value=2**32))
def test_mutated_frames_decode_or_raise_the_codec_error(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(FRAMES_PER_EXAMPLE):
        frame = mutate(rng, rng.choice(CORPUS))
        try:
            msg = codec.decode(frame)
        except CstaDecodeError as err:
            assert err.payload == frame  # nothing lost: the bad bytes travel with the error
        else:
            assert isinstance(msg, CstaMessage)
        decoded["frames"] += 1


@given(st.binary(max_size=300))
def test_random_bytes_decode_or_raise_the_codec_error(data: bytes) -> None:
    try:
        codec.decode(data)
    except CstaDecodeError:
        pass


@given(st.binary(max_size=600), st.integers(min_value=1, max_value=50))
def test_framing_never_raises_anything_but_the_codec_error(data: bytes, cut: int) -> None:
    f = OxeFraming()
    try:
        for i in range(0, len(data), cut):
            for frame in f.feed(data[i:i + cut]):
                try:
                    codec.decode(frame.payload)
                except CstaDecodeError:
                    pass
    except CstaDecodeError:
        pass


def test_the_fuzz_decoded_its_share_of_frames() -> None:
    # Runs after the fuzz above in file order: every frame asked for was decoded.
    if decoded["frames"]:
        assert decoded["frames"] >= EXAMPLES_RUN * FRAMES_PER_EXAMPLE

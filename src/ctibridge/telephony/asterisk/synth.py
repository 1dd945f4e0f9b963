"""AMI traffic built from real recordings: the same calls again, with fresh ids.

Used by ``bench/ami.py`` (a busy hour: many calls at once) and by tests that
need many calls (memory bounds). Nothing is invented: every message is a
recorded one; only the identifiers that tie messages to a call are rewritten
so that copies never collide:

* ``Uniqueid``/``Linkedid`` values (``<epoch>.<sequence>``): the epoch becomes
  one per copy, the sequence (unique within a recording) is kept;
* channel names' 8-hex counters (``Local/6001@agents-0000000b;1``);
* bridge UUIDs (``BridgeUniqueid``).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence

_ID = re.compile(rb"(?<![\w.])\d{10}\.(\d+)(?![\w.])")
_CHAN = re.compile(rb"(@[\w-]+?)-([0-9a-f]{8})(?=;[12]|[\r\n,\s]|$)")
_UUID = re.compile(rb"(?<![\w-])([0-9a-f]{8})(-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")
EPOCH = 1_900_000_000


def rewrite_ids(data: bytes, copy: int) -> bytes:
    """``data`` (AMI bytes) as copy number ``copy`` (0..65535): ids made unique."""
    if not 0 <= copy < 0x10000:
        raise ValueError("copy must be in 0..65535")
    data = _ID.sub(lambda m: b"%d.%s" % (EPOCH + copy, m.group(1)), data)
    data = _CHAN.sub(lambda m: m.group(1) + b"-%08x" % (int(m.group(2), 16) + copy * 0x10000),
                     data)
    return _UUID.sub(lambda m: b"%08x" % ((int(m.group(1), 16) + copy + 1) & 0xFFFFFFFF)
                     + m.group(2), data)


def messages(data: bytes) -> list[bytes]:
    """Recorded server bytes cut into messages (each with its CRLF CRLF)."""
    return [block + b"\r\n\r\n" for block in data.split(b"\r\n\r\n") if block.strip()]


def interleave(calls: Sequence[Sequence[bytes]], *, concurrent: int, seed: int = 0
               ) -> Iterable[bytes]:
    """The messages of ``calls`` mixed as on a busy PBX: about ``concurrent``
    calls in progress at once, each call's messages in their order."""
    rnd = random.Random(seed)
    waiting = list(range(len(calls)))[::-1]
    active: list[tuple[int, int]] = []  # (call, next message)
    while waiting or active:
        while waiting and len(active) < concurrent:
            active.append((waiting.pop(), 0))
        k = rnd.randrange(len(active))
        call, i = active[k]
        yield calls[call][i]
        if i + 1 < len(calls[call]):
            active[k] = (call, i + 1)
        else:
            active.pop(k)

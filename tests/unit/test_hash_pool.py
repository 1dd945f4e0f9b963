"""Password hashing runs below the event loop's CPU priority (a login flood must not
delay every socket: docs/security.md, "Password guessing")."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from ctibridge.api.loginguard import HASH_NICENESS, HashPool


@pytest.mark.skipif(sys.platform != "linux", reason="threads have their own nice on Linux")
async def test_hashing_threads_are_nicer_than_the_event_loop() -> None:
    pool = HashPool(workers=2, queue=4)
    try:
        mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        theirs = await pool.run(
            lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        assert theirs == min(19, mine + HASH_NICENESS)
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine
    finally:
        pool.close()

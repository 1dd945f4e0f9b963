from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ctibridge.model.events import PlatformStatus

from .harness import Rig, make_rig


@pytest.fixture(params=["avaya", "openscape", "openscape-answer-first"])
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    """The same scenarios per vendor framing, and with acknowledgements before events."""
    vendor, _, order = str(request.param).partition("-")
    r = await make_rig(vendor)
    r.peer.answer_first = order == "answer-first"
    try:
        await r.wait(PlatformStatus, lambda e: e.up)
        yield r
    finally:
        await r.stop()

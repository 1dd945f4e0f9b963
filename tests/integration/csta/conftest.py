from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ctibridge.model.events import PlatformStatus

from .harness import Rig, make_rig


@pytest.fixture(params=["avaya", "openscape"])
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    r = await make_rig(request.param)
    try:
        await r.wait(PlatformStatus, lambda e: e.up)
        yield r
    finally:
        await r.stop()

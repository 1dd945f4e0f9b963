"""What both live suites (lab Asterisk, lab FreeSWITCH) share: the skip when no lab is
named, where transcripts go, the agents' bars, waiting for events and for the lab's
channels to go."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ..integration.harness import RunningHub

JEAN = {"number": "+33123456789", "name": "Jean Dupont"}
T = 20.0  # seconds: generous, the lab's handsets ring 2 s and the far end 3 s


def skip_without_lab(items: list[pytest.Item], env: str, reason: str, here: Path,
                     *, but: Path | None = None) -> None:
    """Skip the tests below ``here`` (not those below ``but``) unless ``env`` is set."""
    if os.environ.get(env):
        return
    skip = pytest.mark.skip(reason=f"live suite: set {env}{reason}")
    for item in items:
        path = Path(str(item.fspath))
        if here in path.parents and (but is None or but not in path.parents):
            item.add_marker(skip)


def record_folder(tmp_path: Path) -> Path:
    """Where a scenario's transcript goes: CTIBRIDGE_LIVE_RECORD, else the test's folder."""
    folder = Path(os.environ.get("CTIBRIDGE_LIVE_RECORD") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class LiveHub:
    h: RunningHub

    async def agent(self, who: str, *, ready: bool = True) -> Any:
        """A bar for ``who``, logged in (and ready unless told otherwise)."""
        bar = await self.h.agent(who)
        await bar.ok("agent.login")
        if ready:
            await bar.ok("agent.ready")
        return bar


def mine(call_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda d: bool(d["call"]["call_id"] == call_id)


async def next_event(bar: Any, name: str, start: int, *, timeout: float = T,
                     where: Any = lambda d: True) -> dict[str, Any]:
    """The first ``name`` event the bar got after its frame number ``start``."""
    frame = await bar.wait_for(
        lambda f: f.get("type") == "event" and f["name"] == name and where(f["data"]),
        f"event {name}", timeout, start=start)
    return dict(frame["data"])


async def consult_answered(alice: Any, bob: Any, call_id: str) -> str:
    """Alice consults Bob on her call; Bob answers: the consultation's id."""
    reply = await alice.ok("call.consult", call_id=call_id, target="bob")
    consult_id = reply["call_id"]
    await bob.event("call.answered", timeout=T, where=mine(consult_id))
    return str(consult_id)


async def channels_gone(lab: Any, timeout: float = 6.0) -> list[dict[str, Any]]:
    """Wait for the lab to have no channel left; return what is left at the end."""
    left: list[dict[str, Any]] = []
    for _ in range(int(timeout / 0.25)):
        left = await lab.channels()
        if not left:
            return []
        await asyncio.sleep(0.25)
    return left

"""A real hub with the digital simulator beside the telephony simulator, on one FakeClock."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from ctibridge.digital.simulator import DigitalSimulator
from ctibridge.model.agent import AgentStatus
from ctibridge.model.party import Channel

from ..harness import AgentClient, RunningHub, running_hub

DIGITAL = [{"name": "digisim", "type": "simulator",
            "options": {"per_minute": 0, "chat_turns": [0, 0]}}]
QUEUES = [{"name": "support", "channels": ["voice", "chat", "email", "sms"],
           "sl_seconds": 30, "offer_timeout_seconds": 20}]


@contextlib.asynccontextmanager
async def omni_hub(tmp_path: Path, **overrides: Any) -> AsyncIterator[RunningHub]:
    settings: dict[str, Any] = {"digital": DIGITAL, "queues": QUEUES, **overrides}
    async with running_hub(tmp_path, **settings) as h:
        yield h


def dsim(h: RunningHub) -> DigitalSimulator:
    sim = h.app.state.services.digital["digisim"]
    assert isinstance(sim, DigitalSimulator)
    return sim


async def ready(agent: AgentClient) -> None:
    await agent.ok("agent.login")
    await agent.ok("agent.ready")
    await agent.event("agent.state", where=lambda d: d["agent"]["state"]["status"] == "ready")


async def settle(h: RunningHub) -> None:
    """Let background work (routing, platform pushes, their echoes) run to the end."""
    for _ in range(30):
        await asyncio.sleep(0)
    await h.clock.advance(0)  # type: ignore[attr-defined]


async def until(pred: Callable[[], bool], what: str, tries: int = 600) -> None:
    """Wait (at most ~3 s of real time) for background tasks to make ``pred`` true."""
    for _ in range(tries):
        if pred():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"never saw {what}")


async def available_on_both(h: RunningHub, sim: DigitalSimulator) -> AgentClient:
    """Alice ready in the hub, and so on the digital platform."""
    alice = await h.agent("alice")
    await ready(alice)
    await until(lambda: sim.agents.get("alice") == (AgentStatus.READY, None),
                "alice available on the digital platform")
    return alice


async def chat_accepted(h: RunningHub, alice: AgentClient) -> str:
    """A chat arrives for ready Alice: offered, it keeps no call away (the PBX still has
    her ready); accepted, the PBX pauses her busy-elsewhere. The chat's ref."""
    ref = dsim(h).arrive(Channel.CHAT)
    offer = await alice.event("interaction.offered")
    await settle(h)
    assert h.sim.device_state("1001").status == AgentStatus.READY
    await alice.ok("interaction.accept", interaction_id=offer["interaction"]["interaction_id"])
    await until(lambda: h.sim.device_state("1001").reason == "busy-elsewhere",
                "the PBX pausing alice busy-elsewhere")
    return ref


def offered(frame: dict[str, Any], iid: str | None = None) -> bool:
    return iid is None or frame["interaction"]["interaction_id"] == iid


def events(agent: AgentClient, name: str) -> list[dict[str, Any]]:
    return [f["data"] for f in agent.frames if f.get("type") == "event" and f["name"] == name]

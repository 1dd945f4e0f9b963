"""A CSTA peer on real TCP and a connector on it, per vendor framing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ctibridge.clock import SystemClock
from ctibridge.model.events import PlatformEvent
from ctibridge.telephony.csta.config import parse_options
from ctibridge.telephony.csta.connector import CstaConnector
from ctibridge.telephony.csta.framing import DmccFraming, OpenScapeFraming
from ctibridge.telephony.csta.xml import ED4, XmlCodec
from tests.peers.csta.server import CstaPeer, avaya_device_id
from tests.peers.csta.switch import Switch

E = TypeVar("E", bound=PlatformEvent)
STATIONS = {"2001": "3001", "2002": "3002", "2003": "3003"}
WAIT = 5.0  # generous: a failure shows as a missing event, never as slowness


@dataclass
class Rig:
    peer: CstaPeer
    connector: CstaConnector
    seen: list[PlatformEvent] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None
    _new: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def switch(self) -> Switch:
        return self.peer.switch

    async def start(self) -> None:
        async def pump() -> None:
            async for ev in self.connector.events():
                self.seen.append(ev)
                self._new.set()

        self._task = asyncio.create_task(pump())
        await self.connector.start()

    async def stop(self) -> None:
        await self.connector.stop()
        if self._task is not None:
            self._task.cancel()
        await self.peer.stop()

    async def wait(self, kind: type[E], pred: Callable[[E], bool] = lambda e: True,
                   *, after: int = 0) -> E:
        """The first ``kind`` event (from index ``after``) matching ``pred``."""
        async def look() -> E:
            while True:
                for ev in self.seen[after:]:
                    if isinstance(ev, kind) and pred(ev):
                        return ev
                self._new.clear()
                await self._new.wait()

        return await asyncio.wait_for(look(), WAIT)

    async def until(self, cond: Callable[[], bool]) -> None:
        async def poll() -> None:
            while not cond():  # noqa: ASYNC110 - the peer's state has no event to wait on
                await asyncio.sleep(0.01)

        await asyncio.wait_for(poll(), WAIT)

    def mark(self) -> int:
        return len(self.seen)

    def since(self, mark: int) -> list[PlatformEvent]:
        return self.seen[mark:]


async def make_peer(vendor: str, **extra: Any) -> tuple[CstaPeer, dict[str, Any]]:
    """A started peer playing ``vendor``'s switch, and the connector options to reach it."""
    if vendor == "avaya":
        switch = Switch(STATIONS, call_id_format="{:d}",
                        device_id=avaya_device_id("CM1", "10.0.0.1"))
        peer = CstaPeer(switch, XmlCodec(ED4), DmccFraming, dialect="dmcc",
                        user="ctib", password="secret", session_duration=extra.pop(
                            "session_duration", 180))
        opts: dict[str, Any] = {"dialect": "avaya", "username": "ctib", "password": "secret",
                                "switch_name": "CM1"}
    else:
        switch = Switch(STATIONS, call_id_format="FF0001000000000{:017X}")
        peer = CstaPeer(switch, XmlCodec(ED4), OpenScapeFraming, dialect="openscape")
        opts = {"dialect": "openscape"}
    port = await peer.start()
    opts.update(host="127.0.0.1", port=port, devices=list(STATIONS),
                agent_ids=dict(STATIONS), reconnect_min=0.05, reconnect_max=0.2,
                request_timeout=3.0)
    opts.update(extra)
    opts["agent_ids"] = {d: a for d, a in opts["agent_ids"].items() if d in opts["devices"]}
    return peer, opts


async def make_rig(vendor: str, **extra: Any) -> Rig:
    peer, opts = await make_peer(vendor, **extra)
    connector = CstaConnector("pbx", parse_options("pbx", opts), clock=SystemClock())
    rig = Rig(peer, connector)
    await rig.start()
    return rig

"""The live FreeSWITCH suite: the real hub against a real lab FreeSWITCH
(scripts/lab/freeswitch).

Skipped unless ``CTIBRIDGE_LIVE_FREESWITCH`` is ``host:port:password`` of a running lab
(what start.sh prints). CI does not run it. ``CTIBRIDGE_LIVE_RECORD=<folder>`` keeps
each scenario's ESL link as a transcript there (how tests/fixtures/freeswitch was
captured).

Each test resets the lab over a separate ESL session (no channel, agents Logged Out),
runs a hub on a real port with the real FreeSWITCH connector, whose link passes through
a recording proxy, and drives it as the agents' bars do, over the WebSocket protocol.
Customers are loopback calls into the lab's from-pstn dialplan; the agents' handsets are
null channels that ring 2 s and answer (scripts/lab/freeswitch/conf).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ctibridge.clock import SystemClock
from ctibridge.recording.esl import EslFraming
from ctibridge.recording.proxy import RecordingProxy
from ctibridge.telephony.freeswitch.client import EslClient
from ctibridge.telephony.freeswitch.connector import FreeSwitchConnector
from ctibridge.telephony.freeswitch.normalizer import parse_json_rows

from ...integration.harness import running_hub
from ..common import LiveHub, record_folder, skip_without_lab

ENV = "CTIBRIDGE_LIVE_FREESWITCH"
AGENTS = [
    {"id": "alice", "name": "Alice Martin", "extension": "6001", "platform": "fs"},
    {"id": "bob", "name": "Bob Durand", "extension": "6002", "platform": "fs"},
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_without_lab(items, ENV, "=host:port:password of a running lab FreeSWITCH "
                     "(scripts/lab/freeswitch/start.sh)", Path(__file__).parent)


def target() -> tuple[str, int, str]:
    host, port, password = os.environ[ENV].split(":", 2)
    return host, int(port), password


class Lab:
    """The lab's own ESL session: customers, resets, what the switch says."""

    def __init__(self) -> None:
        host, port, password = target()
        self.esl = EslClient(host, port, password, ping_interval=0)

    async def connect(self) -> None:
        await self.esl.connect()

    async def close(self) -> None:
        await self.esl.close()

    async def api(self, command: str) -> str:
        return await self.esl.api(command, check=False)

    async def reset(self) -> None:
        await self.api("hupall NORMAL_CLEARING")
        for name in ("sim_ring_6001", "sim_ring_6002"):
            await self.api(f"global_setvar {name}=2000")
        for agent in ("6001@default", "6002@default"):
            await self.api(f"callcenter_config agent set status {agent} 'Logged Out'")
            await self.api(f"callcenter_config agent set state {agent} Waiting")
        for _ in range(40):
            if not await self.channels():
                return
            await asyncio.sleep(0.25)

    async def channels(self) -> list[dict[str, Any]]:
        return parse_json_rows(await self.api("show channels as json"))

    async def customer_call(self, *, hangup_after: float = 600,
                            number: str = "+33123456789", name: str = "Jean Dupont") -> str:
        """A customer into the from-pstn dialplan; the handset hangs up after ``hangup_after``
        seconds (counted from the IVR's answer). Returns the bgapi Job-UUID."""
        job = await self.esl.bgapi(
            f"originate {{origination_caller_id_name='{name}',origination_caller_id_number="
            f"{number}}}loopback/0140000000/from-pstn &sleep({int(hangup_after * 1000)})")
        return job.uuid

    async def status(self, agent: str, *, becomes: str | None = None) -> str:
        """The agent's status; with ``becomes``, once it is that (the hub pushes states
        after acknowledging the bar's command), or what it is after 5 s."""
        for _ in range(50):
            got = (await self.api(f"callcenter_config agent get status {agent}")).strip()
            if becomes is None or got == becomes:
                return got
            await asyncio.sleep(0.1)
        return got


@dataclass
class Live(LiveHub):
    connector: FreeSwitchConnector
    proxy: RecordingProxy
    lab: Lab
    folder: Path
    name: str

    async def cut_link(self) -> None:
        """The link breaks (the proxy goes); a new proxy on the same port records the
        connection the connector makes next."""
        port = self.proxy.port
        await self.proxy.stop()
        self.proxy = proxy_for(self.folder, f"{self.name}-after-cut", port=port)
        await self.proxy.start()


def proxy_for(folder: Path, name: str, *, port: int = 0) -> RecordingProxy:
    host, esl_port, _ = target()
    return RecordingProxy(
        (host, esl_port), folder / f"{name}.esl", EslFraming(),
        lambda n: [f"ctibridge transcript: live scenario {name} (connection {n})",
                   "protocol: freeswitch-esl",
                   f"recorded: {datetime.now(UTC).isoformat(timespec='seconds')} by "
                   "tests/live/freeswitch (the hub's own ESL link, via the recording proxy)",
                   "secrets masked: auth",
                   "format: '>>> ' lines = what we sent; LF line ends"],
        listen=("127.0.0.1", port))


@contextlib.asynccontextmanager
async def live_hub(tmp_path: Path, name: str, **over: Any) -> AsyncIterator[Live]:
    folder = record_folder(tmp_path)
    _, _, password = target()
    proxy = proxy_for(folder, name)
    await proxy.start()
    options: dict[str, Any] = {
        "host": "127.0.0.1", "port": proxy.port, "password": password,
        "queues": ["support@default"], "region": "FR",
        "agents": {"6001": {}, "6002": {}}, "reconnect_max": 1.0, "ping_interval": 5}
    options.update(over)
    lab = Lab()
    await lab.connect()
    await lab.reset()
    connector = FreeSwitchConnector.from_options("fs", options, SystemClock())
    live: Live | None = None
    try:
        async with running_hub(tmp_path, clock=SystemClock(), connectors={"fs": connector},
                               telephony=[{"name": "fs", "type": "freeswitch"}],
                               agents=AGENTS, wrap_up_seconds=0) as h:
            await asyncio.wait_for(connector.wait_up(), 15)
            live = Live(h, connector, proxy, lab, folder, name)
            yield live
    finally:
        with contextlib.suppress(Exception):
            await lab.reset()
        await lab.close()
        await (live.proxy if live is not None else proxy).stop()

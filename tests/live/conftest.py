"""The live suite: the real hub against a real lab Asterisk (scripts/lab/asterisk).

Skipped unless ``CTIBRIDGE_LIVE_ASTERISK`` names a running lab: its run folder
(what start.sh printed; restart scenarios need it) or ``host:amiport:httpport``.
CI does not run it: without the variable every test here is a skip, CI=true
or not. ``CTIBRIDGE_LIVE_RECORD=<folder>`` keeps each scenario's AMI link as
a transcript there (how tests/fixtures/asterisk was captured).

Each test resets the lab (no channel, empty queues, default handsets), runs
a hub on a real port with the real Asterisk connector, and drives it as the
agents' bars do, over the WebSocket protocol. The connector's link passes
through a recording proxy, so a failing scenario leaves its transcript.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ctibridge.clock import SystemClock
from ctibridge.recording.asterisk import AmiFraming, options_header
from ctibridge.recording.proxy import RecordingProxy
from ctibridge.telephony.asterisk.config import AsteriskOptions
from ctibridge.telephony.asterisk.connector import AsteriskConnector

from ..integration.harness import running_hub
from .common import LiveHub, record_folder, skip_without_lab

ROOT = Path(__file__).resolve().parents[2]
LAB_DIR = ROOT / "scripts" / "lab" / "asterisk"
ENV = "CTIBRIDGE_LIVE_ASTERISK"


def _load_labctl() -> Any:
    spec = importlib.util.spec_from_file_location("labctl", LAB_DIR / "labctl.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["labctl"] = module
    spec.loader.exec_module(module)
    return module


labctl = _load_labctl()
Lab = labctl.Lab

AGENTS = [
    {"id": "alice", "name": "Alice Martin", "extension": "6001", "platform": "pbx"},
    {"id": "bob", "name": "Bob Durand", "extension": "6002", "platform": "pbx"},
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    # tests/live/freeswitch has its own switch (CTIBRIDGE_LIVE_FREESWITCH, its conftest)
    skip_without_lab(items, ENV, " to a running lab Asterisk (scripts/lab/asterisk/README.md)",
                     here, but=here / "freeswitch")


@dataclass
class Target:
    host: str
    ami_port: int
    http_port: int
    run: Path | None  # the run folder: restarts are possible
    prefix: Path | None

    def lab(self) -> Any:
        return Lab(self.host, self.ami_port)


def target() -> Target:
    value = os.environ[ENV]
    if os.path.isdir(value):
        env = labctl.read_env(value)
        return Target(env.get("AMI_HOST", "127.0.0.1"), int(env["AMI_PORT"]),
                      int(env["HTTP_PORT"]), Path(value), Path(env["ASTERISK_PREFIX"]))
    host, ami, http = value.rsplit(":", 2)
    return Target(host, int(ami), int(http), None, None)


def options(t: Target, *, port: int | None = None, ari: bool = True,
            **over: Any) -> AsteriskOptions:
    agents = {ext: {"interface": f"Local/{ext}@agents", "dial": f"Local/{ext}@agents-phone",
                    "state_interface": f"Custom:{ext}", "name": f"Agent {ext}"}
              for ext in ("6001", "6002")}
    base: dict[str, Any] = {
        "host": t.host, "port": port or t.ami_port, "username": "ctibridge",
        "secret": "ctibridge-secret", "queues": ["support"], "region": "FR",
        "variables": ["CUSTOMER_ID", "ACCOUNT", "IVR_CHOICE"],
        "originate_context": "from-internal", "transfer_context": "internal",
        "agents": agents,
    }
    if ari:
        base["ari"] = {"url": f"http://{t.host}:{t.http_port}/ari", "username": "ctibridge",
                       "password": "ctibridge-secret", "app": "ctibridge"}
    base.update(over)
    return AsteriskOptions.model_validate(base)


@dataclass
class Live(LiveHub):
    connector: AsteriskConnector
    proxy: RecordingProxy
    lab: Any
    target: Target


@contextlib.asynccontextmanager
async def live_hub(tmp_path: Path, name: str, *, ari: bool = True, upstream: int | None = None,
                   **over: Any) -> AsyncIterator[Live]:
    """The hub with the Asterisk connector, its link recorded as ``name``.ami."""
    t = target()
    folder = record_folder(tmp_path)
    opts = options(t, ari=ari, **over)
    proxy = RecordingProxy(
        (t.host, upstream or t.ami_port), folder / f"{name}.ami", AmiFraming(),
        lambda n: [f"ctibridge transcript: live scenario {name} (connection {n})",
                   "protocol: asterisk-ami",
                   f"recorded: {datetime.now(UTC).isoformat(timespec='seconds')} by tests/live "
                   "(the hub's own AMI link, via the recording proxy)",
                   "secrets masked: Secret, Key", options_header(opts)])
    await proxy.start()
    opts = opts.model_copy(update={"port": proxy.port})
    lab = t.lab()
    await lab.connect()
    await lab.reset(members=True)
    connector = AsteriskConnector("pbx", opts, clock=SystemClock())
    try:
        async with running_hub(tmp_path, clock=SystemClock(), connectors={"pbx": connector},
                               telephony=[{"name": "pbx", "type": "asterisk"}],
                               agents=AGENTS, wrap_up_seconds=0) as h:
            await _wait_up(connector)
            yield Live(h, connector, proxy, lab, t)
    finally:
        with contextlib.suppress(Exception):
            await lab.reset()
        await lab.close()
        await proxy.stop()


async def _wait_up(connector: AsteriskConnector, timeout: float = 15.0) -> None:
    import asyncio

    try:
        await asyncio.wait_for(connector.wait_up(), timeout)
    except TimeoutError:
        raise AssertionError(f"the connector never came up: {connector.health().detail}") from None

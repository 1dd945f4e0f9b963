"""`ctibridge edge --config edge.yaml` as an operator runs it: a process on the site's
leaf node, read from the cloud through the `edge` telephony type."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from ctibridge.clock import SystemClock
from ctibridge.edge.connector import EdgeConnector, EdgeOptions
from ctibridge.model.agent import AgentStatus
from ctibridge.model.events import (
    AgentStateChanged,
    PlatformEvent,
    PlatformResynced,
    PlatformStatus,
)

from .wan import cloud_and_leaf


def read(path: Path) -> str:
    return path.read_text(errors="replace")


async def next_of(events: object, kind: type, timeout: float = 30.0) -> PlatformEvent:
    async def scan() -> PlatformEvent:
        async for event in events:  # type: ignore[attr-defined]
            if isinstance(event, kind):
                return event
        raise AssertionError("the event stream ended")
    return await asyncio.wait_for(scan(), timeout)


async def test_the_edge_process_serves_its_simulator_to_the_cloud(tmp_path: Path) -> None:
    async with cloud_and_leaf(tmp_path) as servers:
        (tmp_path / "edge.yaml").write_text(f"""
telephony:
  - name: pbx
    type: simulator
    options: {{devices: ["1001", "1002"]}}
edge:
  nats_url: {servers.leaf_url}
  cluster: acme
  edge_id: paris
  domain: {servers.domain}
  heartbeat_seconds: 0.5
  buffer_bytes: 33554432
""")
        log = (tmp_path / "edge.log").open("wb")  # a file: a full pipe would block it
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ctibridge.cli", "edge", "--config",
            str(tmp_path / "edge.yaml"), stdout=log, stderr=asyncio.subprocess.STDOUT)
        link = EdgeConnector("pbx", EdgeOptions(edge_id="paris", domain=servers.domain,
                                                cluster="acme", nats_url=servers.cloud_url,
                                                down_after_seconds=1.5), SystemClock())
        events = link.events()
        try:
            await link.start()
            # The edge's status as the cloud sees it (once the process runs), and the
            # simulator's snapshot (kept at the site, or the one the cloud asks for).
            while not (isinstance(ev := await next_of(events, PlatformEvent), PlatformStatus)
                       and ev.detail.startswith("edge paris:")):
                pass
            assert ev.up
            again = await next_of(events, PlatformResynced)
            assert isinstance(again, PlatformResynced)
            assert set(again.agents) == {"1001", "1002"}
            # A command crosses to the site, the platform's echo comes back.
            await link.set_agent_state("1001", AgentStatus.READY)
            echo = await next_of(events, AgentStateChanged)
            assert isinstance(echo, AgentStateChanged)
            assert (echo.device, echo.status) == ("1001", AgentStatus.READY)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                code = await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                code = await proc.wait()
            log.close()
            output = read(tmp_path / "edge.log")
        assert code == 0, output
        assert "edge paris: pbx into nats://127.0.0.1" in output
        # The edge gone: the cloud says so once its heartbeats are missed.
        down = await next_of(events, PlatformStatus, timeout=5)
        assert isinstance(down, PlatformStatus) and not down.up
        assert down.detail.startswith("edge paris unreachable since")
        await link.stop()


async def test_the_edge_needs_its_section(tmp_path: Path) -> None:
    (tmp_path / "edge.yaml").write_text("telephony: [{name: pbx, type: simulator}]\n")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ctibridge.cli", "edge", "--config", str(tmp_path / "edge.yaml"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    assert proc.returncode == 2
    assert "no `edge` section" in out.decode()


async def run_edge(tmp_path: Path, edge: str, *, stop_after: float | None = None
                   ) -> tuple[int, str]:
    """`ctibridge edge` with the simulator and this `edge` section: exit code, output."""
    (tmp_path / "edge.yaml").write_text(
        "telephony: [{name: pbx, type: simulator}]\nedge: " + edge + "\n")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ctibridge.cli", "edge", "--config", str(tmp_path / "edge.yaml"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    if stop_after is not None:
        await asyncio.sleep(stop_after)
        proc.send_signal(signal.SIGTERM)
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_an_edge_pointed_at_the_wrong_domain_says_so(tmp_path: Path) -> None:
    async with cloud_and_leaf(tmp_path) as servers:
        code, out = await run_edge(tmp_path, f"{{nats_url: '{servers.leaf_url}', "
                                             "edge_id: paris, domain: lyon}")
    assert code == 2, out
    assert "has no JetStream in domain 'lyon'" in out


async def test_an_edge_waits_for_its_leaf_node_and_still_stops(tmp_path: Path) -> None:
    from ..harness import free_port

    code, out = await run_edge(tmp_path, f"{{nats_url: 'nats://127.0.0.1:{free_port()}', "
                                         "edge_id: paris, domain: paris}", stop_after=4.0)
    assert code == 0, out
    assert "edge.leaf_unreachable" in out

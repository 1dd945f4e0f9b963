"""`ctibridge agent` across a hub restart: a real `ctibridge demo` process on a real port,
stopped and started again under a real terminal client process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

import httpx

from tests.integration.harness import free_port
from tests.integration.test_terminal_agent import Terminal

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


class Hub:
    """`ctibridge demo` as a user runs it (no simulated calls), on one port and database."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.db = tmp_path / "demo.db"
        self.url = f"http://127.0.0.1:{self.port}/"
        self.proc: asyncio.subprocess.Process | None = None
        self.output: list[str] = []
        self._drain: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ctibridge.cli", "demo", "--port", str(self.port),
            "--db", str(self.db), "--calls-per-minute", "0",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=ENV)
        self._drain = asyncio.create_task(self._read(self.proc))
        async with httpx.AsyncClient(base_url=self.url) as http:
            for _ in range(600):
                assert self.proc.returncode is None, "\n".join(self.output)
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise AssertionError("the hub never got ready:\n" + "\n".join(self.output))

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            self.output.append(line.decode(errors="replace").rstrip())

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(self.proc.wait(), 20)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        if self._drain is not None:
            await self._drain


async def test_the_terminal_client_says_the_link_is_lost_and_comes_back_after_a_restart(
    tmp_path: Path,
) -> None:
    hub = Hub(tmp_path)
    await hub.start()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ctibridge.cli", "agent", "--url", hub.url, "--user", "bob",
        "--password", "bob", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, env=ENV)
    term = Terminal(proc)
    seen: list[str] = []
    try:
        await term.expect("connected to ctibridge")
        await term.type("login")
        await term.type("ready")
        await term.expect("[state] ready")
        await term.type("dial 06 30 72 13 11")  # as people write numbers
        line = await term.expect("[call.", timeout=15)
        assert "+33630721311" in line, line
        await term.type("hangup")
        await term.expect("[call.ended]", timeout=15)

        await hub.stop()
        await term.expect("link to the hub lost", timeout=30)
        await term.type("state")
        await term.expect("not connected to the hub (last known:")
        await term.type("ready")
        await term.expect("not connected to the hub (reconnecting…): not sent")

        await hub.start()
        back = await term.expect("reconnected; state:", timeout=60)
        seen.append(back)
        term.lines.clear()  # from here on, only what the client says after the restart
        await term.type("state")
        await term.type("login")  # whatever the restart kept, the commands work again
        await term.type("ready")
        # The restart may have given bob back "ready" already (no [state] line then): the
        # hub's answer to "ready" says where he is.
        await term.expect('"status": "ready"', timeout=15)

        proc.send_signal(signal.SIGINT)  # one Ctrl-C
        await asyncio.wait_for(proc.wait(), 10)
        assert proc.stdout is not None
        rest = (await proc.stdout.read()).decode(errors="replace")
        assert proc.returncode == 0, rest
        assert "Traceback" not in rest and "bye" in rest, rest
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await hub.stop()

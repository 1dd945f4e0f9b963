"""`ctibridge agent`, the terminal client, takes a simulated call end to end."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from .harness import running_hub


class Terminal:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []

    async def type(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((line + "\n").encode())
        await self.proc.stdin.drain()

    async def expect(self, text: str, timeout: float = 10.0) -> str:
        assert self.proc.stdout is not None

        async def scan() -> str:
            for line in self.lines:
                if text in line:
                    return line
            while True:
                raw = await self.proc.stdout.readline()  # type: ignore[union-attr]
                if not raw:
                    raise AssertionError(f"terminal ended without {text!r}: {self.lines}")
                line = raw.decode().rstrip()
                self.lines.append(line)
                if text in line:
                    return line

        try:
            found = await asyncio.wait_for(scan(), timeout)
        except TimeoutError:
            raise AssertionError(f"no {text!r} in {self.lines}") from None
        self.lines = self.lines[self.lines.index(found) + 1:] if found in self.lines else []
        return found

    async def quit(self) -> None:
        """Leave as a user would; kill it if it does not go."""
        if self.proc.returncode is not None:
            return
        await self.type("quit")
        try:
            await asyncio.wait_for(self.proc.wait(), 5)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


async def test_a_terminal_agent_takes_a_call_from_login_to_wrap_up(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as h:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ctibridge.cli", "agent", "--url", h.url, "--user", "bob",
            "--password", "bob", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT)
        term = Terminal(proc)
        try:
            await term.expect("connected to ctibridge")
            await term.expect("state: logged_out")
            await term.type("login")
            await term.expect("[state] not_ready (login)")
            await term.type("ready")
            await term.expect("[state] ready")
            h.sim.customer_calls("support", number="+33612345678", name="Camille Petit",
                                 attached={"customer_id": "C-7"})
            line = await term.expect("[call.offered]")
            assert "+33612345678" in line and "Camille Petit" in line and "customer_id=C-7" in line
            await term.type("answer")
            await term.expect("[call.answered]")
            await term.type("hold")
            await term.expect("[call.held]")
            await term.type("retrieve")
            await term.expect("[call.retrieved]")
            await term.type("hangup")
            await term.expect("[call.ended]")
            await term.expect("[state] wrap_up")
            await term.type("wrapup resolved all good")
            await term.expect('ok {"interaction"')  # its ack, not an earlier one
            await term.type("ready")
            await term.expect("[state] ready")
            await term.type("fly away")
            await term.expect("unknown or incomplete command")
        finally:
            await term.quit()
        await h.hub.flush()
        rows = await h.hub.store.interactions.list(agent_id="bob")
        assert rows and rows[0].disposition == "resolved" and rows[0].notes == "all good"

"""A `ctibridge` command (serve, demo) as a real OS process, for the tests that need one.

What makes it real is also what makes it slow to write each time: the process's output
must be read while it runs (a full pipe would stall it) and kept for the error message,
readiness is polled (there is no event to wait on), and the process is stopped whatever
the test did. The tests that kill a process themselves do so through ``proc``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

import httpx


class CliProcess:
    """A running `ctibridge` command and every line it has printed so far."""

    def __init__(self, proc: asyncio.subprocess.Process, output: list[str]) -> None:
        self.proc = proc
        self.output = output

    def log(self, last: int | None = None) -> str:
        return "\n".join(self.output[-last:] if last else self.output)


async def answers_readyz(url: str) -> bool:
    """``url``'s /readyz answers 200 (False while nothing listens there yet)."""
    async with httpx.AsyncClient(base_url=url) as http:
        with contextlib.suppress(httpx.TransportError):
            return (await http.get("/readyz")).status_code == 200
    return False


@contextlib.asynccontextmanager
async def cli_process(what: str, *args: str, ready: Callable[[], Awaitable[object]],
                      env: Mapping[str, str] | None = None, tries: int = 600,
                      stop: signal.Signals = signal.SIGINT, output: list[str] | None = None,
                      ) -> AsyncIterator[CliProcess]:
    """``ctibridge *args``, yielded once ``ready()`` is truthy (polled every 0.1 s, at
    most ``tries`` times); ``what`` names it in errors. When the block ends it gets
    ``stop`` (SIGINT: Ctrl-C, as a user stops it; SIGKILL: a crash), then SIGKILL if it
    is still there 15 s later. ``output`` (when given) collects what it prints."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ctibridge.cli", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
    running = CliProcess(proc, [] if output is None else output)

    async def drain() -> None:  # keep its pipe flowing, keep what it said for errors
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            running.output.append(line.decode(errors="replace").rstrip())

    reader = asyncio.create_task(drain())
    try:
        for _ in range(tries):
            if proc.returncode is not None:
                raise AssertionError(f"{what} exited:\n" + running.log())
            if await ready():
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"{what} never got ready:\n" + running.log())
        yield running
    finally:
        if proc.returncode is None:
            proc.send_signal(stop)
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        await reader

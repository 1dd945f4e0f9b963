"""The README's main command: `ctibridge demo` as a process, driven like a new user would.

It starts, serves the demo CRM, the bar and the supervisor page, and a terminal
agent takes one of its simulated calls end to end; the call lands in the demo
CRM's history.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from .harness import free_port
from .serveproc import answers_readyz, cli_process
from .test_terminal_agent import Terminal


@contextlib.asynccontextmanager
async def demo_process(tmp_path: Path, calls_per_minute: str = "30",
                       output: list[str] | None = None) -> AsyncIterator[str]:
    """``output`` (when given) collects what the process prints. Stopped with Ctrl-C
    (SIGINT), as a user stops it: it must stop cleanly."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # (Up to a minute to get ready: the demo CRM seeds its contacts first.)
    async with cli_process("ctibridge demo", "demo", "--port", str(port),
                           "--db", str(tmp_path / "demo.db"),
                           "--calls-per-minute", calls_per_minute,
                           ready=lambda: answers_readyz(url), output=output) as process:
        assert any(f"open {url}/" in line for line in process.output), process.output
        yield url
    assert process.proc.returncode == 0, process.log()  # a clean stop


async def test_the_demo_serves_its_pages_and_a_terminal_agent_takes_a_call_logged_in_the_crm(
    tmp_path: Path,
) -> None:
    async with demo_process(tmp_path) as url, httpx.AsyncClient(base_url=url) as http:
        home = await http.get("/")
        assert home.status_code in (302, 303, 307) and \
            home.headers["location"].endswith("/democrm/?user=alice")
        for page in ("/democrm/?user=alice", "/agentbar/", "/supervisor/?user=sam"):
            r = await http.get(page)
            assert r.status_code == 200 and "<html" in r.text.lower(), page

        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ctibridge.cli", "agent", "--url", url, "--user", "bob",
            "--password", "bob", stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        term = Terminal(proc)
        try:
            await term.expect("connected to ctibridge")
            await term.type("login")
            await term.expect("[state] not_ready (login)")
            await term.type("ready")
            offered = await term.expect("[call.offered]", timeout=60)  # ~one call per 2 s
            await term.type("answer")
            await term.expect("[call.answered]")
            await term.type("hangup")
            await term.expect("[call.ended]")
            await term.type("wrapup resolved taken from the terminal")
            await term.expect('ok {"interaction"')  # its ack, not an earlier command's
            await term.type("logout")  # ends the wrap-up: the call goes to the CRM
            await term.expect("[state] logged_out")
        finally:
            await term.quit()

        # The call is logged once in the demo CRM's history, with the wrap-up.
        crm = {"X-Api-Key": "demo-crm-key"}
        mine: list[dict[str, object]] = []
        for _ in range(100):
            r = await http.get("/democrm/api/activities", headers=crm)
            assert r.status_code == 200, r.text
            mine = [a for a in r.json()["activities"]
                    if a.get("notes") == "taken from the terminal"]
            if mine:
                break
            await asyncio.sleep(0.1)
        assert len(mine) == 1, (offered, mine)
        assert (mine[0]["kind"], mine[0]["disposition"], mine[0]["agent"]) == (
            "call", "resolved", "Bob Durand")  # the agent's name, not the login


async def test_the_demo_starts_quietly_calls_wait_for_the_server_and_lookups_log_no_request(
    tmp_path: Path,
) -> None:
    output: list[str] = []
    # Ten calls a second from the start: each is looked up in the demo CRM while it waits
    # (prefetch). None may reach the CRM before this server listens and has its contacts.
    async with demo_process(tmp_path, "600", output) as url, \
            httpx.AsyncClient(base_url=url) as http:
        for _ in range(100):  # until a few lookups have been made
            metrics = await http.get("/metrics")
            if metrics.status_code == 200 and "crm" in metrics.text:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(2)
    started = next(i for i, line in enumerate(output) if "Application startup complete" in line)
    before, after = output[:started], output[started:]
    assert not [line for line in before if "traffic.started" in line], before
    assert any("traffic.started" in line for line in after), after
    for line in output:
        assert "ConnectError" not in line and "lookup_failed" not in line, line
        assert "HTTP Request:" not in line, line  # one line per lookup: quieted

"""``ctibridge telephony test`` against the fake AMI server (run in a thread)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ctibridge.cli import app

from .fake_ami import FakeAmi, Member, Script, login_script, script_from

runner = CliRunner()


@pytest.fixture
def fake_ami_port(request: pytest.FixtureRequest) -> Iterator[int]:
    scripts: list[Script] = request.param()
    loop = asyncio.new_event_loop()
    started = threading.Event()
    stop = asyncio.Event()
    port: list[int] = []

    async def serve() -> None:
        async with FakeAmi(scripts, members=[
                Member("support", "Local/6001@agents", "Agent 6001"),
                Member("support", "Local/6002@agents", "Agent 6002", True, "Training")]) as srv:
            port.append(srv.port)
            started.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    started.wait(5)
    yield port[0]
    loop.call_soon_threadsafe(stop.set)
    thread.join(5)


def config(tmp_path: Path, port: int, **extra: str) -> Path:
    more = "".join(f", {k}: {v}" for k, v in extra.items())
    f = tmp_path / "c.yaml"
    f.write_text(f"""telephony:
  - name: pbx
    type: asterisk
    options:
      host: 127.0.0.1
      port: {port}
      username: ctibridge
      secret: ctibridge-secret
      queues: [support]
      agents:
        "6001": {{interface: Local/6001@agents}}
        "6002": {{interface: Local/6002@agents}}{more and chr(10) + "      " + more[2:]}
""")
    return f


@pytest.mark.parametrize("fake_ami_port", [lambda: [script_from("13-resync-mid-call.ami")]],
                         indirect=True)
def test_telephony_test_prints_the_link_the_calls_and_the_agents(
    tmp_path: Path, fake_ami_port: int
) -> None:
    result = runner.invoke(app, ["telephony", "test", "-c", str(config(tmp_path, fake_ami_port)),
                                 "--seconds", "0.5"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "link up: connected to Asterisk Call Manager/11.0.0" in out
    assert "snapshot: 2 call(s), 2 agent(s)" in out
    assert "call 1795572767.60 inbound +33123456789 queue=support 6001=connected" in out
    assert "agent 6002: not_ready (Training)" in out
    assert "call.ended ref=1795572772.64 device=None cause=abandoned" in out


@pytest.mark.parametrize("fake_ami_port", [lambda: [script_from("10b-login-failed.ami")]],
                         indirect=True)
def test_telephony_test_says_why_login_failed_in_one_line(
    tmp_path: Path, fake_ami_port: int
) -> None:
    result = runner.invoke(app, ["telephony", "test", "-c", str(config(tmp_path, fake_ami_port))])
    assert result.exit_code == 1
    [line] = [x for x in result.output.splitlines() if x.startswith("error:")]
    assert "authentication failed" in line and "(Authentication failed)" in line
    assert "refused AMI user 'ctibridge'" in line and "options.secret" in line
    # What the command says is true: it stops here, so no "retrying in ...".
    assert "unreachable" not in line and "retrying" not in line
    assert "Traceback" not in result.output


@pytest.mark.parametrize("fake_ami_port", [lambda: [login_script()]], indirect=True)
def test_a_bad_option_is_a_config_error_naming_the_field(
    tmp_path: Path, fake_ami_port: int
) -> None:
    f = config(tmp_path, fake_ami_port, auth="sha1")
    result = runner.invoke(app, ["telephony", "test", "-c", str(f)])
    assert result.exit_code == 2
    assert "options.auth" in result.output and "Traceback" not in result.output

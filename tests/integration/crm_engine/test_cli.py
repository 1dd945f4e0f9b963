"""``ctibridge mapping check|test`` against the in-house REST CRM on a real port."""

from __future__ import annotations

import asyncio
from pathlib import Path

from typer.testing import CliRunner

from ctibridge.cli import app

from .conftest import INHOUSE_REST
from .testcrm import CLIENT_SECRET

runner = CliRunner()
ENV = {"INHOUSE_CRM_SECRET": CLIENT_SECRET}


async def invoke(*args: str) -> tuple[int, str]:
    # The command runs its own event loop: give it a thread, the CRM keeps this loop.
    result = await asyncio.to_thread(runner.invoke, app, list(args), env=ENV)
    return result.exit_code, result.output


async def test_mapping_test_shows_the_pop_and_the_log_request_without_sending(crm) -> None:
    state, url = crm
    code, out = await invoke("mapping", "test", str(INHOUSE_REST), "--number", "06 12 34 56 78",
                             "--var", f"crm_url={url}")
    assert code == 0, out
    assert "number '06 12 34 56 78' → +33612345678 (E.164)" in out
    assert "by_phone: '0612345678' (national_digits): 1 record(s)" in out
    assert "pop: one (lookup 'by_phone')" in out
    assert "[person P-1] Jeanne Martin, Boulangerie Martin" in out
    assert f"open: {url}/people/P-1" in out
    assert f"log: would send (add --log to send it)\n  POST {url}/api/v2/calls" in out
    assert '"person":"P-1"' in out and '"duration_min":2' in out
    assert state.calls == {}


async def test_mapping_test_with_log_sends_it_and_data_drives_the_ivr_lookup(crm) -> None:
    state, url = crm
    code, out = await invoke("mapping", "test", str(INHOUSE_REST), "-n", "+15550100",
                             "--data", "customer_id=A1002", "--var", f"crm_url={url}", "--log")
    assert code == 0, out
    assert "pop: one (lookup 'by_account')" in out and "logged: activity C-1" in out
    [logged] = state.calls.values()
    assert logged["person"] == "P-2"


async def test_mapping_test_reports_an_unavailable_crm(crm) -> None:
    state, url = crm
    state.mode = "500"
    code, out = await invoke("mapping", "test", str(INHOUSE_REST), "-n", "0612345678",
                             "--var", f"crm_url={url}")
    assert code == 1
    assert "pop: CRM unavailable: lookup 'by_phone': HTTP 500 from GET" in out


async def test_mapping_check_lists_faults_with_lines(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(INHOUSE_REST.read_text().replace("results: data.people", "results: data.["))
    code, out = await invoke("mapping", "check", str(bad), "--var", "crm_url=http://x")
    assert code == 2
    assert f"{bad}:49: lookups[1].results: not a valid JMESPath expression" in out
    assert f"{bad}:59: lookups[2].results: not a valid JMESPath expression" in out
    assert "Traceback" not in out


async def test_mapping_check_accepts_the_example() -> None:
    code, out = await invoke("mapping", "check", str(INHOUSE_REST), "--var", "crm_url=http://x")
    assert code == 0, out
    assert "lookups, in order: by_record_id, by_account, by_phone" in out

"""A user tries their own CRM in the demo, as docs/crm-mapping.md ("Try a mapping in the
demo") says: ``ctibridge demo --mapping`` (or ``--config``) as a process, a test call
placed from a chosen number through the simulator's REST API, the pop from their CRM
in alice's bar, and the call logged there once.

Their CRM is the DRF-like test CRM (phone search, then the contact's own page for the
company; a call log that needs exactly one linked record).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import yaml

from .crm.realcrm import TOKEN, seeded, serve_real_crm
from .crm_engine.test_cli_trace import mapping
from .harness import AgentClient, RunningHub, free_port
from .serveproc import answers_readyz, cli_process


@contextlib.asynccontextmanager
async def demo(*args: str) -> AsyncIterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    async with cli_process("ctibridge demo", "demo", "--port", str(port), *args,
                           ready=lambda: answers_readyz(url)) as process:
        assert any("api/simulator/sim/calls" in line for line in process.output), \
            process.output
        yield url


@pytest.mark.parametrize("how", ["--mapping", "--config"])
async def test_a_call_placed_from_a_chosen_number_pops_and_is_logged_in_my_crm(
    tmp_path: Path, how: str,
) -> None:
    async with serve_real_crm(seeded()) as crm:
        drf = mapping(tmp_path)  # tmp_path/drf.yaml
        if how == "--mapping":
            args = ["--mapping", str(drf), "--var", f"crm_url={crm.url}",
                    "--var", f"crm_token={TOKEN}", "--calls-per-minute", "0"]
        else:
            config = tmp_path / "mydemo.yaml"
            config.write_text(yaml.safe_dump({
                "crm": {"mapping": "drf.yaml",
                        "variables": {"crm_url": crm.url, "crm_token": TOKEN}},
                "traffic": {"calls_per_minute": 0}, "wrap_up_seconds": 10}))
            args = ["--config", str(config)]
        async with demo(*args, "--db", str(tmp_path / "demo.db")) as url, \
                httpx.AsyncClient(base_url=url) as http:
            home = await http.get("/")
            assert home.headers["location"].endswith("/agentbar/?user=alice")  # no demo CRM
            alice = AgentClient(RunningHub(url, None, None, None, None), "alice")  # type: ignore[arg-type]
            await alice.connect()
            await alice.ok("agent.login")
            await alice.ok("agent.ready")
            # As documented: the admin's token, then a call from a number my CRM knows.
            token = (await http.post("/api/login", json={"username": "admin",
                                                         "password": "admin"})).json()["token"]
            admin = {"Authorization": f"Bearer {token}"}
            r = await http.post("/api/simulator/sim/calls", headers=admin,
                                json={"queue": "support", "number": "+33612345678"})
            assert r.status_code == 200 and r.json()["ref"], r.text
            offered = await alice.event("call.offered", timeout=10)
            pop = await alice.event("screenpop", where=lambda d: d["outcome"] == "one",
                                    timeout=10)
            [camille] = pop["matches"]
            assert (camille["name"], camille["company"]) == ("Camille Petit",
                                                             "Boulangerie Petit")
            call_id = offered["call"]["call_id"]
            await alice.ok("call.answer", call_id=call_id)
            await alice.event("call.answered")
            [live] = (await http.get("/api/calls", headers=admin)).json()
            assert live["call_id"] == call_id
            r = await http.post(f"/api/simulator/sim/calls/{call_id}/hangup", headers=admin)
            assert r.json() == {"call_id": call_id}
            await alice.event("call.ended")
            await alice.ok("interaction.wrap_up", interaction_id=pop["interaction_id"],
                           disposition="resolved", notes="tried my CRM")
            await alice.ok("agent.ready")  # ends the wrap-up: the call goes to the CRM
            for _ in range(100):
                if crm.interactions:
                    break
                await asyncio.sleep(0.1)
            await alice.close()
    [logged] = crm.interactions.values()
    assert logged["contact"] == int(camille["record_id"])
    assert logged["description"].startswith("ctibridge:")

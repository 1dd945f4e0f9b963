"""The hub SIGKILLed with call-log POSTs in flight, against a CRM that ignores keys.

The hub is a real process (``ctibridge serve``); the CRM is realcrm.py's, in this
test's loop. Log POSTs hang after the CRM created their record; the hub is
killed; it restarts. With a check step every call ends with exactly one record,
with no manual step. Without one, the calls in flight become ``uncertain`` and
are never sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from ..harness import free_port
from .hubs import eventually
from .realcrm import MAPPING, RealCrm, seeded, serve_real_crm, variables
from .test_exactly_once import (
    a_round_of_calls,
    admin_client,
    agent_clients,
    every_agent_ready,
    hub_config,
    hub_process,
    tail,
    until,
)

CAMILLE = "+33612345678"


def write_config(tmp_path: Path, port: int, crm: RealCrm, *, check: bool) -> Path:
    data = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    if not check:
        del data["log"]["find_existing"]
    data["connection"]["timeout_seconds"] = 30  # the kill comes first
    mapping = tmp_path / "realcrm.yaml"
    mapping.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return hub_config(tmp_path, port, {
        "mapping": str(mapping), "variables": variables(crm),
        "call_log": {"first_retry_seconds": 0.2, "settle_seconds": 0.5}})


def outbox_rows(db: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return [r[0] for r in conn.execute("SELECT interaction_id FROM call_log_outbox")]


async def counts(http: Any) -> dict[str, int]:
    return dict((await http.get("/api/calllog", params={"limit": 1})).json()["counts"])


@pytest.mark.parametrize("check", [True, False], ids=["with-check", "no-check"])
async def test_a_hub_killed_with_log_posts_in_flight_never_logs_twice(
    tmp_path: Path, check: bool,
) -> None:
    port = free_port()
    log = tmp_path / "hub.log"
    url = f"http://127.0.0.1:{port}"
    async with serve_real_crm(seeded()) as crm:
        config = write_config(tmp_path, port, crm, check=check)
        async with hub_process(config, port, log) as proc:
            async with await admin_client(url) as http, agent_clients(url) as agents:
                await every_agent_ready(http)
                await a_round_of_calls(http, 0, CAMILLE, agents)  # logged normally
                await until(http, "/api/calllog", lambda b: b["counts"]["delivered"] == 3,
                            "the first round logged")
                crm.slow_logs = 60  # from now on: created, then no answer
                await a_round_of_calls(http, 1, CAMILLE, agents)
                await eventually(lambda: crm.in_flight == 3, "three log POSTs in flight",
                                 within=10)
            proc.send_signal(signal.SIGKILL)
            await asyncio.to_thread(proc.wait, 10)
        in_flight = crm.in_flight
        crm.slow_logs = 0
        async with hub_process(config, port, log), await admin_client(url) as http:
            want = {"delivered": 6} if check else {"delivered": 3, "uncertain": 3}
            await until(http, "/api/calllog",
                        lambda b: {k: v for k, v in b["counts"].items() if v} == want,
                        f"the outbox settled as {want}")
            await asyncio.sleep(1.5)  # past settle_seconds and a retry: nothing more
            assert {k: v for k, v in (await counts(http)).items() if v} == want
        queued = outbox_rows(tmp_path / "hub.db")
        assert len(queued) == 6, tail(log)
        per_call = Counter(iid for iid in queued for _ in crm.interactions_of(iid))
        assert per_call == dict.fromkeys(queued, 1), (per_call, tail(log))
        assert len(crm.interactions) == 6 and crm.log_posts == 6
        print(f"\n{in_flight} POSTs in flight at the kill; {crm.log_posts} log POSTs; "
              f"{len(crm.requests)} requests in all")

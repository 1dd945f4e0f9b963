"""A station login survives the core being killed.

Alice's configured phone is 2001; today she logs in at station 2004. The core's node
is SIGKILLed: the new core must know her at 2004 (stored with her state, restored at
its start), so a call to 2004 rings on her bar, not on nobody's. Same processes as
test_takeover_calls.py (takeover.py): two `ctibridge serve` nodes, the CSTA switch
peer in this process outliving the core.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from .conftest import Cluster
from .processes import until
from .takeover import CAMILLE, switch_settings, two_nodes

pytestmark = pytest.mark.postgres

PHONES = {"2001": "3001", "2002": "3002", "2003": "3003", "2004": "3004"}  # ext -> ACD id


def settings(switch_port: int) -> dict[str, Any]:
    return {
        **switch_settings(switch_port, PHONES),
        "stations": [{"extension": "2004", "platform": "pbx"}],  # a desk nobody owns
    }


async def test_an_agent_logged_in_at_another_station_is_still_there_after_a_takeover(
    cluster: Cluster, tmp_path: Path,
) -> None:
    async with two_nodes(tmp_path, cluster.name, PHONES, "FF0003000000000{:017X}",
                         settings) as run:
        switch, a, b = run.switch, run.a, run.b
        alice = await run.bar(b, "alice")
        placed = await alice.ok("agent.login", station="2004")
        assert placed["agent"]["extension"] == "2004"
        await alice.ok("agent.ready")
        await alice.event("agent.state",
                          where=lambda d: d["agent"]["state"]["status"] == "ready")
        assert switch.agent_state["2004"] == "ready"
        await asyncio.sleep(0.3)  # the core writes its store in 50 ms batches

        await a.kill()
        await until("b runs the core", b.is_core, timeout=15)
        again = await run.bar(b, "alice")  # her snapshot from the new core
        me = again.snapshot["agent"]
        assert (me["platform"], me["extension"], me["devices"]) == \
            ("pbx", "2004", {"pbx": "2004"}), me
        assert me["state"]["status"] == "ready"

        # A customer calls her station: it rings on her bar, and she answers.
        await until("the new core linked to the switch",
                    lambda: switch.agent_state.get("2004") == "ready")
        switch.inbound_call(CAMILLE, "2004")
        call = (await alice.event("call.offered", timeout=10))["call"]
        assert alice.my_state(call) == "alerting"
        await alice.ok("call.answer", call_id=call["call_id"])
        await alice.event("call.answered")
        assert switch.call_of("2004").connections["2004"] == "connected"  # type: ignore[union-attr]
        # Her configured phone is nobody's now: a call there is not hers.
        assert switch.call_of("2001") is None

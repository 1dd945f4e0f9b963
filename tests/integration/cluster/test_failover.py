"""The core's node killed (SIGKILL, a real process): another node takes the core over.

Two `ctibridge serve` processes of one cluster. Each has its own SQLite file here
(production shares PostgreSQL): the bar logs in on the node it stays connected to.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..harness import AgentClient, RunningHub
from .conftest import Cluster
from .processes import node_process, until

AGENTS = [{"id": "alice", "name": "Alice Martin", "extension": "1001"},
          {"id": "bob", "name": "Bob Durand", "extension": "1002"}]


def sqlite_of(tmp_path: Path, node_id: str) -> str:
    return f"sqlite:///{tmp_path / f'{node_id}.db'}"


async def test_the_core_moves_to_another_node_when_its_process_is_killed(
    cluster: Cluster, tmp_path: Path,
) -> None:
    async with node_process(tmp_path, cluster.name, "a", sqlite_of(tmp_path, "a"),
                            agents=AGENTS) as a:
        await until("a runs the core", a.is_core, every=0.1)
        async with node_process(tmp_path, cluster.name, "b", sqlite_of(tmp_path, "b"),
                                agents=AGENTS) as b:
            assert not await b.is_core()
            # A bar on b (the protocol client of the in-process tests, on a real port).
            bar = AgentClient(RunningHub(b.url, None, None, None, None), "alice")  # type: ignore[arg-type]
            await bar.connect()
            await bar.ok("agent.login")
            before = await bar.wait_for(lambda f: f.get("name") == "agent.state", "the login")

            await a.kill()  # no goodbye: the lease must expire
            await until("b runs the core", b.is_core, every=0.1)
            status = await b.status()
            assert status is not None and status["token"] is not None

            await bar.ok("agent.login")  # answered by the new core
            after = await bar.wait_for(lambda f: f.get("name") == "agent.state"
                                       and f["seq"] > before["seq"], "an event of the new core")
            # (The new core also tells the bar alice's restored state: any order.)
            seqs = [f["seq"] for f in bar.frames if f.get("type") == "event"]
            assert seqs == list(range(seqs[0], seqs[-1] + 1)) and after["seq"] in seqs, seqs
            await bar.close()
    assert json.dumps(status)  # what /readyz said is plain JSON


"""Screen-pop benchmark: call offered → pop on the agent's socket, minus the CRM's time.

    .venv/bin/python bench/screenpop.py [--calls 40] [--crm-ms 150]

One process: a CRM answering every request after a fixed delay (a real HTTP
server, through the real mapping engine), a real hub (uvicorn) with the
simulator, and one agent on a real WebSocket. Two runs:

- without prefetch: the lookup starts when the call is offered, so the pop
  comes ``crm-ms`` plus our overhead after the offer; we print the overhead;
- with prefetch: the call waits in queue longer than the CRM takes, then the
  agent becomes ready; the pop comes with the offer.

The baseline, measured in the same run, is a WebSocket round trip to the same
hub (a ``ping`` answered by ``pong``). Figures are printed with their ratio to
it: absolute numbers on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stats import pct  # noqa: E402  (bench/stats.py: benchmarks run as scripts)
from tests.integration.harness import AgentClient, RunningHub, free_port  # noqa: E402

from ctibridge.api.app import create_app  # noqa: E402
from ctibridge.config import Settings  # noqa: E402
from ctibridge.crm.mapping import load_mapping  # noqa: E402
from ctibridge.telephony.simulator import SimulatorConnector  # noqa: E402

MAPPING = """
name: bench
connection: {base_url: "{{ vars.crm_url }}", timeout_seconds: 10}
phone: {default_region: FR, formats: [e164]}
record: {id: id, name: name}
lookups:
  - name: by_phone
    phone: true
    request: {path: /contacts, query: {phone: "{{ number }}"}}
    results: contacts
"""


async def serve(app: object, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                                           access_log=False, lifespan="on"))  # type: ignore[arg-type]
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.01)
    return server, task


async def run(calls: int, crm_ms: float, prefetch: bool, tmp: Path) -> tuple[list[float], float]:
    delay = crm_ms / 1000

    async def contacts(request: Request) -> JSONResponse:
        await asyncio.sleep(delay)
        return JSONResponse({"contacts": [{"id": "C1", "name": "Camille",
                                           "phone": request.query_params.get("phone")}]})

    crm_port, hub_port = free_port(), free_port()
    crm_server, crm_task = await serve(Starlette(routes=[Route("/contacts", contacts)]), crm_port)
    (tmp / "bench.yaml").write_text(MAPPING)
    settings = Settings.load(None, demo=True, wrap_up_seconds=0,
                             database={"url": f"sqlite:///{tmp / f'hub-{prefetch}.db'}"},
                             server={"host": "127.0.0.1", "port": hub_port},
                             agents=[{"id": "alice", "name": "Alice", "extension": "1001"}],
                             crm={"mapping": "bench.yaml", "prefetch": prefetch,
                                  "log_calls": False, "pop_timeout_seconds": 30})
    sim = SimulatorConnector("sim", devices=["1001"], ring_timeout=600)
    crm = load_mapping(tmp / "bench.yaml", {"crm_url": f"http://127.0.0.1:{crm_port}"})
    app = create_app(settings, connectors={"sim": sim}, crm=crm)
    hub_server, hub_task = await serve(app, hub_port)
    h = RunningHub(f"http://127.0.0.1:{hub_port}", app, sim, sim.clock, settings)
    alice = AgentClient(h, "alice")
    await alice.connect()
    await alice.ok("agent.login")
    out: list[float] = []
    rtts: list[float] = []
    try:
        for i in range(calls):
            t = time.perf_counter()
            await alice.send({"type": "ping", "id": f"p{i}"})
            await alice.wait_for(lambda f, i=i: f.get("id") == f"p{i}", "pong")
            rtts.append(time.perf_counter() - t)
            if prefetch:
                ref = sim.customer_calls("support", number=f"+3361234{i:04d}")
                await asyncio.sleep(delay * 1.5)  # the call waits in queue
                start = len(alice.frames)
                await alice.ok("agent.ready")
            else:
                await alice.ok("agent.ready")
                start = len(alice.frames)
                ref = sim.customer_calls("support", number=f"+3361234{i:04d}")
            offered = await alice.wait_for(lambda f: f.get("name") == "call.offered", "offer",
                                           start=start)
            t_offer = time.perf_counter()
            await alice.wait_for(lambda f: f.get("name") == "screenpop", "pop", start=start)
            t_pop = time.perf_counter()
            del offered
            out.append(t_pop - t_offer - (0 if prefetch else delay))
            await alice.ok("agent.not_ready", reason="break")
            sim.customer_hangs_up(ref)
            await alice.wait_for(lambda f: f.get("name") == "call.ended", "end", start=start)
    finally:
        await alice.close()
        hub_server.should_exit = crm_server.should_exit = True
        await hub_task
        await crm_task
    return out, statistics.median(rtts)


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=40)
    ap.add_argument("--crm-ms", type=float, default=150.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        plain, rtt = await run(args.calls, args.crm_ms, False, Path(d))
        pre, rtt2 = await run(args.calls, args.crm_ms, True, Path(d))
    base = statistics.median([rtt, rtt2])
    ms = 1000
    print(f"baseline WebSocket round trip (median): {base * ms:.2f} ms")
    for name, xs in (("no prefetch, offer→pop minus CRM time", plain),
                     ("prefetch while queued, offer→pop", pre)):
        p50, p99 = pct(xs, 50), pct(xs, 99)
        print(f"{name}: p50 {p50 * ms:.2f} ms ({p50 / base:.1f}× RTT), "
              f"p99 {p99 * ms:.2f} ms ({p99 / base:.1f}× RTT)")
    gain = (pct(plain, 50) + args.crm_ms / ms) / max(pct(pre, 50), 1e-6)
    print(f"prefetch gain at p50: the agent waits {pct(pre, 50) * ms:.2f} ms instead of "
          f"{(pct(plain, 50) * ms + args.crm_ms):.2f} ms ({gain:.0f}× sooner)")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())

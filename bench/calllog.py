"""Call-log benchmark: 1,000 wrapped-up calls delivered to a CRM like real ones.

    .venv/bin/python bench/calllog.py [--calls 1000] [--latency 0.02] [--outage 60]

The CRM is the test CRM of tests/integration/crm/realcrm.py (a DRF API that
ignores idempotency keys) on a real port, answering every request after
``--latency`` seconds; the hub side is the real outbox on a SQLite file and the
real worker (20 deliveries at once). 1,000 interactions are written as wrapped
up, as the hub writes them, and the worker delivers them. Runs:

* **idempotent**: the mapping says the CRM honours the key (no check, no mark);
* **check step**: the mapping declares ``log.find_existing``: each row is marked
  in doubt before its POST leaves (one more database write), no check needed;
* **all in doubt**: the same, every row already in doubt (as after a crash with
  everything in flight): a check (GET) before each POST;
* **outage**: the CRM down (port closed) for ``--outage`` seconds from the first
  write, then back: time from its return until the outbox is empty, with the
  hub's default backoff (1 s doubling to 300 s, jittered).

Printed per run: logs per second, p50/p99 time from wrap-up (the row written) to
the record created in the CRM, and the CRM's own answer time for the log POST in
the same run, as the baseline: p99 wrap-up→record as a multiple of it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1] / "src"))
sys.path.insert(0, str(HERE.parents[1]))

from stats import pct  # noqa: E402  (bench/stats.py: benchmarks run as scripts)
from tests.integration.crm.realcrm import MAPPING, RealCrm, seeded, variables  # noqa: E402

from ctibridge.clock import SystemClock  # noqa: E402
from ctibridge.core.calllog import CallLogWorker  # noqa: E402
from ctibridge.crm.mapping import load_mapping  # noqa: E402
from ctibridge.logs import configure  # noqa: E402
from ctibridge.model.interaction import Interaction  # noqa: E402
from ctibridge.model.party import Channel, Direction, Party  # noqa: E402
from ctibridge.store import Database, Store  # noqa: E402


async def run(mode: str, calls: int, latency: float, outage: float,
              folder: Path, rate: float = 0.0) -> dict[str, Any]:
    crm: RealCrm = seeded()
    crm.latency = latency
    await crm.up()
    data = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    if mode == "idempotent":
        data["log"].pop("find_existing")
        data["log"]["idempotent"] = True  # a white lie for the baseline: no mark, no check
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{mode}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    connector = load_mapping(path, variables(crm))
    db = Database(f"sqlite:///{folder / f'{mode}.db'}")
    await db.start()
    store = Store(db)
    clock = SystemClock()
    [camille] = [c for c in crm.contacts.values() if c["first_name"] == "Camille"]
    record = {"record_id": str(camille["id"]), "name": "Camille Petit", "kind": "contact"}
    worker = CallLogWorker(store, connector, clock, owner="bench")
    loop = asyncio.get_running_loop()
    written: dict[str, float] = {}
    try:
        if mode == "outage":
            await crm.down()
        now = clock.now()
        batch: list[Interaction] = []
        for i in range(calls):
            it = Interaction(f"i-{mode}-{i:05d}", Channel.VOICE, Direction.INBOUND,
                             Party("+33612345678"), now - timedelta(seconds=60),
                             accepted_at=now - timedelta(seconds=55),
                             ended_at=now - timedelta(seconds=5), wrapped_at=now,
                             agent_id="alice", crm_record=record)
            batch.append(it)
        if rate:  # wrap-ups arriving one by one, the worker running (and nudged, as by the hub)
            await worker.start()
            began = loop.time()
            for i, it in enumerate(batch):
                await asyncio.sleep(max(0.0, began + i / rate - loop.time()))
                await store.write(interactions=[it], call_log="realcrm")
                written[it.interaction_id] = loop.time()
                worker.nudge()
        else:  # a burst, in the hub's batches (~20 per transaction)
            for start in range(0, calls, 20):
                chunk = batch[start:start + 20]
                await store.write(interactions=chunk, call_log="realcrm")
                t = loop.time()
                for it in chunk:
                    written[it.interaction_id] = t
        if mode == "all-in-doubt":
            for _ in batch:  # as a crash with every row in flight leaves them
                claimed = await store.outbox.claim("dead", clock.now(), 60, 1)
                await store.outbox.sending(claimed[0].interaction_id, "dead")
            await store.outbox.release_owner("dead")
        if not rate:
            began = loop.time()
            await worker.start()
        back = None
        if mode == "outage":
            await asyncio.sleep(outage)
            await crm.up()
            back = loop.time()
        while (await store.outbox.counts())["delivered"] < calls:
            await asyncio.sleep(0.05)
        ended = loop.time()
    finally:
        await worker.stop()
        await connector.stop()
        await db.stop()
        await crm.down()
    created = {}
    for rid, at in crm.created_at.items():
        text = crm.interactions[rid]["description"]
        created[text.rsplit("ctibridge:", 1)[1]] = at
    assert len(created) == calls, f"{len(created)} records for {calls} calls"
    delays = [(created[k] - written[k]) * 1000 for k in written]
    posts = [ms for m, p, ms in crm.timings if m == "POST" and p == "/api/interactions/"]
    checks = sum(1 for m, p, _ in crm.timings if m == "GET" and p == "/api/interactions/")
    per_call = {k: len(crm.interactions_of(k)) for k in written}
    return {
        "mode": mode, "calls": calls, "logs_per_s": calls / (ended - began),
        "p50_ms": statistics.median(delays), "p99_ms": pct(delays, 99),
        "crm_p50_ms": statistics.median(posts), "crm_p99_ms": pct(posts, 99),
        "checks": checks, "posts": len(posts), "exactly_once": set(per_call.values()) == {1},
        "drain_s": (ended - back) if back is not None else None,
    }


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--latency", type=float, default=0.02, help="the CRM's answer time (s)")
    ap.add_argument("--outage", type=float, default=60.0, help="seconds the CRM is down")
    ap.add_argument("--modes", default="idempotent,check-step,all-in-doubt,outage")
    ap.add_argument("--rate", type=float, default=0.0,
                    help="wrap-ups per second (0: all at once, a burst)")
    args = ap.parse_args()
    configure(level="error")
    with tempfile.TemporaryDirectory() as tmp:
        # Warm-up, not reported: imports, first connections, template compilation.
        await run("idempotent", min(50, args.calls), args.latency, 0, Path(tmp) / "warm")
        for mode in args.modes.split(","):
            rate = 0.0 if mode in ("outage", "all-in-doubt") else args.rate
            r = await run(mode, args.calls, args.latency, args.outage, Path(tmp), rate)
            line = (f"{r['mode']:>13}: {r['logs_per_s']:6.1f} logs/s"
                    f"{f' (paced at {rate:g}/s)' if rate else ''}; wrap-up→record p50 "
                    f"{r['p50_ms']:7.0f} ms, p99 {r['p99_ms']:7.0f} ms; CRM's own answer "
                    f"p50 {r['crm_p50_ms']:5.1f} ms, p99 {r['crm_p99_ms']:5.1f} ms "
                    f"(p99 ratio {r['p99_ms'] / r['crm_p99_ms']:.0f}×); {r['posts']} POSTs, "
                    f"{r['checks']} checks; exactly once: {r['exactly_once']}")
            if r["drain_s"] is not None:
                line += f"; drained {r['drain_s']:.1f} s after the CRM came back"
            print(line, flush=True)


if __name__ == "__main__":
    asyncio.run(main())

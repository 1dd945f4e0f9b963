"""CSTA benchmark: decode + normalize throughput, then event-in -> agent socket latency.

    .venv/bin/python bench/csta.py [--calls 2000] [--seconds 3]
    .venv/bin/python bench/csta.py --hub [--devices 1000] [--calls 300] [--rate 20]

**Passes** (default), one CPU, the same bytes each time: the events a CSTA
switch sends for ``--calls`` call scenarios (inbound call answered, held,
retrieved, hung up; every 4th consulted and transferred), produced by the
test peer's switch (``tests/peers/csta``) with every station monitored, encoded
in ECMA-323 XML and framed with the OpenScape header:

* **raw read**, the baseline: the byte stream cut into frames (the 8-byte
  header only), nothing decoded;
* **decode**: the same, then every payload through the XML codec into
  :class:`CstaMessage`;
* **decode + normalize**: then every event through the connector's
  :class:`CallTracker` (call model, one ref per call, dedupe per monitor).

The same three passes run for ECMA-285 BER when ``ctibridge.telephony.csta.ber``
is importable (h15b's codec; with its OXE framing). Printed: events per second and
each pass's cost as a ratio to the raw read.

**Hub** (``--hub``): the peer on a real socket (this process, other CPU), a hub
process pinned to one CPU with the CSTA connector monitoring ``--devices``
stations, one agent per station on a real WebSocket (ready; they answer what
rings). Each inbound call's caller number carries its index; the time the
peer wrote the ``DeliveredEvent`` bytes to the time the agent's socket has
``call.offered`` parsed is the latency. Baseline in the same run: a bare TCP
hop of the same bytes (peer write -> client read).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1] / "src"))
sys.path.insert(0, str(HERE.parents[1]))

from stats import pct, pin  # noqa: E402
from tests.peers.csta.switch import Switch  # noqa: E402

from ctibridge.clock import SystemClock  # noqa: E402
from ctibridge.telephony.csta.calls import CallTracker  # noqa: E402
from ctibridge.telephony.csta.framing import OpenScapeFraming  # noqa: E402
from ctibridge.telephony.csta.message import (  # noqa: E402
    Codec,
    ConnectionId,
    CstaMessage,
    Device,
    Framing,
    Kind,
)
from ctibridge.telephony.csta.xml import XmlCodec  # noqa: E402

# ------------------------------------------------------------------ passes


def scenario_events(calls: int) -> list[CstaMessage]:
    """What a switch sends, in order, for ``calls`` scenarios on 20 monitored stations."""
    stations = {str(2000 + i): str(3000 + i) for i in range(20)}
    sw = Switch(stations, call_id_format="FF0001000000000{:017X}")
    out: list[CstaMessage] = []
    sw.sink = lambda session, msg: out.append(msg)
    for ext in stations:
        sw.invoke("bench", CstaMessage(kind=Kind.INVOKE, name="MonitorStart",
                                       args={"monitorObject": Device.of(ext)}))

    def do(name: str, **args: Any) -> CstaMessage:
        answer = sw.invoke("bench", CstaMessage(kind=Kind.INVOKE, name=name, args=args))
        assert answer.kind is Kind.RESULT, (name, answer.error)
        return answer

    for i in range(calls):
        a, b = str(2000 + i % 20), str(2000 + (i + 7) % 20)
        cid = sw.inbound_call(f"06{i:08d}", a, queue="5000" if i % 3 == 0 else None)
        do("AnswerCall", callToBeAnswered=ConnectionId(cid, a))
        do("HoldCall", callToBeHeld=ConnectionId(cid, a))
        do("RetrieveCall", callToBeRetrieved=ConnectionId(cid, a))
        if i % 4 == 0:
            c2 = do("ConsultationCall", existingCall=ConnectionId(cid, a),
                    consultedDevice=Device.of(b)).connection("initiatedCall")
            assert c2 is not None
            do("AnswerCall", callToBeAnswered=ConnectionId(c2.call_id, b))
            t = do("TransferCall", heldCall=ConnectionId(cid, a),
                   activeCall=ConnectionId(c2.call_id, a)).connection("transferredCall")
            assert t is not None
            do("ClearConnection", connectionToBeCleared=ConnectionId(t.call_id, b))
        else:
            do("ClearConnection", connectionToBeCleared=ConnectionId(cid, a))
    return out


def stream(events: list[CstaMessage], codec: Codec, framing: Framing) -> bytes:
    return b"".join(framing.frame(codec.encode(m), 9999) for m in events)


def run_passes(label: str, data: bytes, codec: Codec, make_framing: Any, n_events: int,
               seconds: float, stations: set[str]) -> None:
    chunks = [data[i:i + 65536] for i in range(0, len(data), 65536)]

    def raw() -> int:
        f = make_framing()
        return sum(len(f.feed(c)) for c in chunks)

    def decode() -> int:
        f = make_framing()
        n = 0
        for c in chunks:
            for fr in f.feed(c):
                codec.decode(fr.payload)
                n += 1
        return n

    def normalize() -> int:
        f = make_framing()
        tracker = CallTracker(stations.__contains__, lambda d: d, SystemClock(), lambda m: {})
        n = 0
        for c in chunks:
            for fr in f.feed(c):
                tracker.handle(codec.decode(fr.payload))
                n += 1
        return n

    rates = {}
    for name, fn in (("raw read", raw), ("decode", decode), ("decode + normalize", normalize)):
        count, t0 = 0, time.process_time()
        while True:
            got = fn()
            assert got == n_events, (name, got, n_events)
            count += got
            if time.process_time() - t0 >= seconds:
                break
        rates[name] = count / (time.process_time() - t0)
    base = rates["raw read"]
    print(f"\n{label}: {n_events} events, {len(data) / n_events:.0f} bytes/event")
    for name, r in rates.items():
        print(f"  {name:20s} {r:12,.0f} events/s   cost x{base / r:6.1f} of raw read")


def passes(args: argparse.Namespace) -> None:
    pin(0)
    events = scenario_events(args.calls)
    stations = {str(2000 + i) for i in range(20)}
    xml = XmlCodec()
    run_passes("ECMA-323 XML, OpenScape framing", stream(events, xml, OpenScapeFraming()),
               xml, OpenScapeFraming, len(events), args.seconds, stations)
    try:
        from ctibridge.telephony.csta import ber, oxe  # type: ignore[attr-defined]
    except ImportError as exc:
        print(f"\nECMA-285 BER: not measured ({exc})")
        return
    codec = ber.BerCodec()
    framing = oxe.OxeFraming
    run_passes("ECMA-285 BER, OXE framing", stream(
        [m if m.invoke_id is not None else _with_id(m, i) for i, m in enumerate(events)],
        codec, framing()), codec, framing, len(events), args.seconds, stations)


def _with_id(m: CstaMessage, i: int) -> CstaMessage:
    from dataclasses import replace

    return replace(m, invoke_id=1 + i % 9999)


# -------------------------------------------------------------------- hub


async def _hub(port: int, csta_port: int, devices: int, workdir: str) -> None:
    import uvicorn
    from argon2 import PasswordHasher

    from ctibridge.api.app import create_app
    from ctibridge.config import Settings
    from ctibridge.logs import configure
    from ctibridge.store import Database, Store
    from ctibridge.telephony.csta.config import parse_options
    from ctibridge.telephony.csta.connector import CstaConnector

    configure(level="warning")
    clock = SystemClock()
    ids = [f"a{i:04d}" for i in range(devices)]
    exts = [str(20000 + i) for i in range(devices)]
    options = {"dialect": "openscape", "host": "127.0.0.1", "port": csta_port,
               "devices": exts, "heartbeat": 30}
    settings = Settings.load(
        None,
        database={"url": f"sqlite:///{workdir}/bench.db"},
        server={"host": "127.0.0.1", "port": port, "replay_events": 50,
                "rate_per_second": 1000, "rate_burst": 1000},
        telephony=[{"name": "pbx", "type": "csta", "options": options}],
        agents=[{"id": i, "name": i, "extension": e, "platform": "pbx"}
                for i, e in zip(ids, exts, strict=True)],
        wrap_up_seconds=0,
    )
    conn = CstaConnector("pbx", parse_options("pbx", options), clock=clock)
    db = Database(settings.database.url)
    await db.start()
    store = Store(db, hasher=PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    app = create_app(settings, connectors={"pbx": conn}, clock=clock, store=store)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                                           lifespan="on", access_log=False,
                                           ws_max_size=2**20))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    services = app.state.services
    issued = []
    for i in ids:
        user = await store.users.create(i, f"{i}-bench-password", ["agent"], agent_id=i)
        _, access, _ = await services.sessions.open(user, None)
        issued.append(access)
    Path(workdir, "tokens.json").write_text(json.dumps(issued))
    print("READY", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    server.should_exit = True
    await task
    await db.stop()


async def hub(args: argparse.Namespace) -> None:
    import httpx
    import websockets
    from tests.peers.csta.server import CstaPeer

    from ctibridge.telephony.csta.xml import ED4

    pin(1)
    exts = [str(20000 + i) for i in range(args.devices)]
    switch = Switch({e: e for e in exts})
    peer = CstaPeer(switch, XmlCodec(ED4), OpenScapeFraming, dialect="openscape")
    sent: dict[int, int] = {}

    def timed_send(msg: CstaMessage) -> None:  # when each Delivered's bytes left the peer
        if msg.name == "DeliveredEvent":
            calling = msg.device_id("callingDevice") or ""
            if calling.startswith("07"):
                sent.setdefault(int(calling[2:]), time.perf_counter_ns())

    peer.on_sent = timed_send
    csta_port = await peer.start()
    with tempfile.TemporaryDirectory() as workdir:
        port = _free_port()
        proc = subprocess.Popen([sys.executable, str(HERE), "_hub", str(port), str(csta_port),
                                 str(args.devices), workdir],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "READY":
                raise SystemExit("the hub did not start")
            tokens = json.loads(Path(workdir, "tokens.json").read_text())
            url = f"http://127.0.0.1:{port}"
            got: dict[int, int] = {}
            sockets: list[Any] = []
            async with httpx.AsyncClient(base_url=url, timeout=60) as http:
                async def one(token: str) -> None:
                    r = await http.post("/api/ws-ticket",
                                        headers={"Authorization": f"Bearer {token}"})
                    ws = await websockets.connect(
                        url.replace("http", "ws") + f"/ws?ticket={r.json()['ticket']}",
                        max_size=2**22)
                    await ws.recv()
                    await ws.recv()
                    await ws.send(json.dumps({"type": "command", "id": "l",
                                              "op": "agent.login"}))
                    await ws.send(json.dumps({"type": "command", "id": "r",
                                              "op": "agent.ready"}))
                    sockets.append(ws)

                for i in range(0, len(tokens), 50):
                    await asyncio.gather(*(one(t) for t in tokens[i:i + 50]))

            async def listen(ws: Any) -> None:
                with contextlib.suppress(websockets.ConnectionClosed):
                    async for raw in ws:
                        now = time.perf_counter_ns()
                        frame = json.loads(raw)
                        if frame.get("type") == "event" and frame.get("name") == "call.offered":
                            number = ((frame["data"].get("call") or {}).get("customer")
                                      or {}).get("number") or ""
                            digits = number.lstrip("+").removeprefix("33").lstrip("0")
                            if digits.startswith("7"):
                                got.setdefault(int(digits[1:]), now)

            tasks = [asyncio.create_task(listen(ws)) for ws in sockets]
            # Logins and "ready" reach the switch as GetAgentState/SetAgentState: let them
            # finish, so the figures are about calls, not the morning login storm.
            await asyncio.sleep(args.warmup)
            gap = 1.0 / args.rate
            for i in range(args.calls):
                switch.inbound_call(f"07{i:08d}", exts[(i * 37) % len(exts)])
                await asyncio.sleep(gap)
            await asyncio.sleep(2.0)
            lat = [(got[i] - sent[i]) / 1e6 for i in sent if i in got]
            base = await _tcp_baseline(args.calls, args.rate)
            print(f"\nevent-in -> agent socket, {args.devices} monitored devices, "
                  f"{args.calls} calls at {args.rate}/s: {len(lat)} offers seen")
            for name, xs in (("hub", lat), ("bare TCP hop", base)):
                print(f"  {name:14s} p50 {pct(xs, 50):7.2f} ms  p99 {pct(xs, 99):7.2f} ms  "
                      f"max {max(xs) if xs else float('nan'):7.2f} ms")
            if lat and base:
                print(f"  ratio p50 x{pct(lat, 50) / pct(base, 50):.0f}, "
                      f"p99 x{pct(lat, 99) / pct(base, 99):.0f}")
            for t in tasks:
                t.cancel()
            for ws in sockets:
                await ws.close()
        finally:
            with contextlib.suppress(Exception):
                assert proc.stdin is not None
                proc.stdin.write("\n")
                proc.stdin.flush()
            proc.wait(timeout=30)
            await peer.stop()


async def _tcp_baseline(count: int, rate: float) -> list[float]:
    """Peer write -> client read of one framed DeliveredEvent, same pace, same loop."""
    payload = OpenScapeFraming().frame(XmlCodec().encode(CstaMessage(
        kind=Kind.EVENT, name="DeliveredEvent", cross_ref="1",
        args={"connection": ConnectionId("FF01", "2001"), "cause": "newCall"})), 9999)
    stamps: list[int] = []
    got: list[float] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(count):
            stamps.append(time.perf_counter_ns())
            writer.write(payload)
            await asyncio.sleep(1.0 / rate)
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", server.sockets[0].getsockname()[1])
    framing = OpenScapeFraming()
    while len(got) < count:
        data = await reader.read(65536)
        if not data:
            break
        now = time.perf_counter_ns()
        for _ in framing.feed(data):
            got.append((now - stamps[len(got)]) / 1e6)
    writer.close()
    server.close()
    return got


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_hub":
        pin(0)
        port, csta_port, devices, workdir = sys.argv[2:6]
        asyncio.run(_hub(int(port), int(csta_port), int(devices), workdir))
        return
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--calls", type=int, default=None)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--hub", action="store_true")
    p.add_argument("--devices", type=int, default=1000)
    p.add_argument("--rate", type=float, default=20.0)
    p.add_argument("--warmup", type=float, default=8.0)
    args = p.parse_args()
    if args.hub:
        args.calls = args.calls or 300
        asyncio.run(hub(args))
    else:
        args.calls = args.calls or 2000
        passes(args)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()

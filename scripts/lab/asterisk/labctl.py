#!/usr/bin/env python3
"""Drive a lab Asterisk: simulated customers and agent handsets (standard library only).

    python3 scripts/lab/asterisk/labctl.py RUN_DIR call [--number +33123456789]
            [--name "Jean Dupont"] [--did 0140000000] [--hangup-after 600]
            [--queue support] [--customer-id C-1042] [--account ACME-77]
    python3 .../labctl.py RUN_DIR ring 6001 manual|SECONDS   how the handset answers
    python3 .../labctl.py RUN_DIR answer 6001                the agent picks up (manual)
    python3 .../labctl.py RUN_DIR hangup CHANNEL|UNIQUEID    hang up a channel
    python3 .../labctl.py RUN_DIR channels                   what is up
    python3 .../labctl.py RUN_DIR reset                      hang up everything, clear knobs

RUN_DIR is the folder start.sh printed (its lab.env holds the ports). The
``Lab`` class is what the live suite uses (tests/live/).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CRLF = b"\r\n"
AGENTS = ("6001", "6002")
QUEUES = ("support", "sales")


def read_env(run: str | Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in (Path(run) / "lab.env").read_text().splitlines():
        k, _, v = line.partition("=")
        if k:
            env[k.strip()] = v.strip()
    return env


Msg = dict[str, Any]  # key -> value; repeated keys keep the first (enough for the lab)


def parse(block: bytes) -> Msg:
    out: Msg = {}
    for line in block.decode("utf-8", "replace").split("\r\n"):
        k, sep, v = line.partition(":")
        if sep and k not in out:
            out[k.strip()] = v.strip()
    return out


@dataclass
class Customer:
    """A simulated customer's call: their handset channel (the Local ;1 half)."""

    uniqueid: str  # also the call's Linkedid (the oldest channel)
    channel: str
    number: str


class Lab:
    """One AMI session as the lab user (read/write all)."""

    def __init__(self, host: str, port: int, user: str = "lab", secret: str = "lab-secret"):
        self.host, self.port, self.user, self.secret = host, port, user, secret
        self._ids = itertools.count(1)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._waiters: list[tuple[Callable[[Msg], bool], asyncio.Future[Msg]]] = []
        self.events: list[Msg] = []

    @classmethod
    def from_run(cls, run: str | Path) -> Lab:
        env = read_env(run)
        return cls(env.get("AMI_HOST", "127.0.0.1"), int(env["AMI_PORT"]),
                   env.get("LAB_USER", "lab"), env.get("LAB_SECRET", "lab-secret"))

    async def __aenter__(self) -> Lab:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self, timeout: float = 10.0) -> None:
        self._reader, self._writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), timeout)
        await self._reader.readline()  # banner
        self._task = asyncio.create_task(self._read())
        r = await self.action("Login", Username=self.user, Secret=self.secret, Events="on")
        if r.get("Response") != "Success":
            raise RuntimeError(f"lab login refused: {r.get('Message')}")

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass

    async def _read(self) -> None:
        assert self._reader is not None
        buf = b""
        while data := await self._reader.read(65536):
            buf += data
            while (end := buf.find(b"\r\n\r\n")) >= 0:
                block, buf = buf[:end], buf[end + 4:]
                if not block.strip():
                    continue
                msg = parse(block)
                if "Event" in msg:
                    self.events.append(msg)
                    del self.events[:-5000]
                for pred, fut in list(self._waiters):
                    if not fut.done() and pred(msg):
                        fut.set_result(msg)
        for _, fut in self._waiters:
            if not fut.done():
                fut.set_exception(ConnectionError("the lab AMI session closed"))

    def expect(self, pred: Callable[[Msg], bool]) -> asyncio.Future[Msg]:
        """A future for the next message matching ``pred`` (register before acting)."""
        fut: asyncio.Future[Msg] = asyncio.get_running_loop().create_future()
        self._waiters.append((pred, fut))
        fut.add_done_callback(lambda f: self._waiters.remove((pred, fut)))
        return fut

    async def send(self, action: str, *pairs: tuple[str, str], **headers: Any) -> str:
        assert self._writer is not None, "connect() first"
        aid = f"lab-{next(self._ids)}"
        lines = [("Action", action), ("ActionID", aid), *pairs,
                 *((k, str(v)) for k, v in headers.items() if v is not None)]
        self._writer.write(b"".join(f"{k}: {v}".encode() + CRLF for k, v in lines) + CRLF)
        await self._writer.drain()
        return aid

    async def action(self, action: str, *pairs: tuple[str, str], timeout: float = 10.0,
                     **headers: Any) -> Msg:
        ids: list[str] = []
        fut = self.expect(lambda m: "Response" in m and m.get("ActionID") in ids)
        ids.append(await self.send(action, *pairs, **headers))
        return await asyncio.wait_for(fut, timeout)

    async def list_action(self, action: str, timeout: float = 10.0, **headers: Any) -> list[Msg]:
        items: list[Msg] = []
        ids: list[str] = []

        def mine(m: Msg) -> bool:
            if m.get("ActionID") not in ids or "Event" not in m:
                return False
            if m.get("EventList") == "Complete":
                return True
            items.append(m)
            return False

        fut = self.expect(mine)
        ids.append(await self.send(action, **headers))
        await asyncio.wait_for(fut, timeout)
        return items

    async def wait_event(self, name: str, timeout: float = 10.0,
                         **match: str) -> Msg:
        fut = self.expect(lambda m: m.get("Event") == name
                          and all(m.get(k) == v for k, v in match.items()))
        return await asyncio.wait_for(fut, timeout)

    # ------------------------------------------------------------ the lab

    async def customer_call(self, number: str = "+33123456789", name: str = "Jean Dupont",
                            did: str = "0140000000", hangup_after: float = 600,
                            queue: str | None = None, customer_id: str | None = None,
                            account: str | None = None, timeout: float = 10.0) -> Customer:
        """A customer calls the DID: IVR data, then the queue. Returns their handset."""
        variables = [("Variable", f"SIM_CALLER_HANGUP_AFTER={hangup_after:g}")]
        for k, v in (("SIM_QUEUE", queue), ("SIM_CUSTOMER_ID", customer_id),
                     ("SIM_ACCOUNT", account)):
            if v:
                variables.append(("Variable", f"{k}={v}"))
        cid = f'"{name}" <{number}>' if name else f"<{number}>"
        ids: list[str] = []
        done = self.expect(lambda m: m.get("Event") == "OriginateResponse"
                           and m.get("ActionID") in ids)
        ids.append(await self.send("Originate", *variables, Channel=f"Local/{did}@from-pstn",
                                   Context="caller-sim", Exten="talk", Priority=1,
                                   CallerID=cid, Async="true", Timeout=30000))
        r = await asyncio.wait_for(done, timeout)
        if r.get("Response") != "Success":
            raise RuntimeError(f"the customer's call failed: {r}")
        return Customer(r["Uniqueid"], r["Channel"], number)

    async def hangup(self, channel: str, cause: int = 16) -> Msg:
        return await self.action("Hangup", Channel=channel, Cause=cause)

    async def set_ring(self, ext: str, how: str | float) -> None:
        """How the handset of ``ext`` answers: after N seconds, or "manual"."""
        await self.action("Setvar", Variable=f"SIM_RING_{ext}",
                          Value=how if isinstance(how, str) else f"{how:g}")

    async def answer(self, ext: str) -> None:
        """The agent picks up the ringing handset (ring mode "manual")."""
        await self.action("Setvar", Variable=f"SIM_ANSWER_{ext}", Value="1")

    async def channels(self) -> list[Msg]:
        return await self.list_action("CoreShowChannels")

    async def members(self) -> list[Msg]:
        return [m for m in await self.list_action("QueueStatus") if m["Event"] == "QueueMember"]

    async def reset(self, *, members: bool = False) -> None:
        """Hang up every channel, clear the knobs (and remove the agents' memberships)."""
        for ext in AGENTS:
            for knob in ("SIM_RING_", "SIM_ANSWER_", "SIM_HOLD_"):
                await self.action("Setvar", Variable=f"{knob}{ext}", Value="")
        for _ in range(50):
            chans = await self.channels()
            if not chans:
                break
            for c in chans:
                await self.action("Hangup", Channel=c["Channel"])
            await asyncio.sleep(0.2)
        for ext in AGENTS:
            await self.action("Setvar", Variable=f"DEVICE_STATE(Custom:{ext})",
                              Value="NOT_INUSE")
        if members:
            for m in await self.members():
                await self.action("QueueRemove", Queue=m["Queue"], Interface=m["Location"])


async def _main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run", help="the run folder start.sh printed")
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("call", help="a customer calls the queue")
    c.add_argument("--number", default="+33123456789")
    c.add_argument("--name", default="Jean Dupont")
    c.add_argument("--did", default="0140000000")
    c.add_argument("--hangup-after", type=float, default=600)
    c.add_argument("--queue")
    c.add_argument("--customer-id")
    c.add_argument("--account")
    r = sub.add_parser("ring", help="how a handset answers: SECONDS or manual")
    r.add_argument("ext")
    r.add_argument("how")
    a = sub.add_parser("answer", help="a manual handset picks up")
    a.add_argument("ext")
    h = sub.add_parser("hangup", help="hang up a channel (name or Uniqueid)")
    h.add_argument("channel")
    sub.add_parser("channels", help="list the channels")
    rs = sub.add_parser("reset", help="hang up everything and clear the knobs")
    rs.add_argument("--members", action="store_true", help="also empty the queues")
    args = p.parse_args(argv)
    async with Lab.from_run(args.run) as lab:
        if args.cmd == "call":
            cust = await lab.customer_call(args.number, args.name, args.did, args.hangup_after,
                                           args.queue, args.customer_id, args.account)
            print(json.dumps(cust.__dict__))
        elif args.cmd == "ring":
            await lab.set_ring(args.ext, args.how if args.how == "manual" else float(args.how))
        elif args.cmd == "answer":
            await lab.answer(args.ext)
        elif args.cmd == "hangup":
            chan = args.channel
            if "/" not in chan:
                found = [c["Channel"] for c in await lab.channels() if c["Uniqueid"] == chan]
                if not found:
                    print(f"no channel with Uniqueid {chan}", file=sys.stderr)
                    return 1
                chan = found[0]
            print((await lab.hangup(chan)).get("Message"))
        elif args.cmd == "channels":
            for ch in await lab.channels():
                print(f"{ch['Channel']:<45} {ch.get('ChannelStateDesc', ''):<8} "
                      f"{ch.get('Context', '')},{ch.get('Exten', '')} "
                      f"{ch.get('Application', '')} linkedid={ch.get('Linkedid')}")
        elif args.cmd == "reset":
            await lab.reset(members=args.members)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(_main(sys.argv[1:])))

"""``ctibridge agent``: a small terminal agent over the real WebSocket protocol.

It logs in over REST, opens the socket with a ticket, prints events as they
come and turns typed lines into commands. Call ids can be abbreviated to their
last characters, or omitted when the agent has one call; digital work and CRM
records are picked by their number in the lists it prints.

A lost link (the hub restarted, the network went away, no answer to pings) is
said at once; the client logs in again and reconnects with backoff, asks the
hub to ``resume`` from the last event it saw and prints the state it finds.
Commands typed meanwhile are refused with that reason, never silently dropped.
One Ctrl-C (or ``quit``, or the end of input) leaves cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import shlex
import sys
import threading
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx
import websockets

from .model.errors import CtiError, Unauthorized

HELP = """commands:
  login | logout | ready | notready REASON
  dial NUMBER (spaces allowed) | answer [CALL] | hangup [CALL] | hold [CALL] | retrieve [CALL]
  transfer TARGET [CALL]         blind transfer to an agent, extension or number
  consult TARGET [CALL]          hold and call TARGET
  complete | conference | cancel finish the consultation (cancel: back to the caller)
  dtmf DIGITS [CALL] | wrapup DISPOSITION [NOTES…]
  work                           digital work offered to you or in progress, numbered
  accept [N] | decline [N] [REASON…] | close [N] [DISPOSITION] [NOTES…]
  records [CALL]                 the CRM records the caller's number matches, numbered
  pick N [CALL]                  log the call against record N
  calls | state | help | quit    (Ctrl-C leaves too)"""


class TerminalAgent:
    def __init__(self, out: Any = sys.stdout) -> None:
        self.out = out
        self.calls: dict[str, dict[str, Any]] = {}
        self.agent: dict[str, Any] = {}
        self.pending_wrap: list[str] = []
        self.digital: dict[str, dict[str, Any]] = {}  # offered or active, by interaction id
        self.pops: dict[str, dict[str, Any]] = {}  # screen pops by call id
        self.ids = itertools.count(1)
        self.me: str | None = None
        self.seq = 0  # the last event applied (snapshot or event), for resume
        self._said: dict[str, str] = {}  # call id or "state" -> the last line printed
        self.connected = False

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    # --------------------------------------------------------------- incoming

    def on_frame(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "hello":
            self.me = (frame.get("user") or {}).get("agent_id")
            self.say(f"connected to {frame.get('server')} as {self.me}")
        elif kind == "snapshot":
            seq = frame.get("seq")
            self.seq = seq if isinstance(seq, int) else 0
            self.agent = frame.get("agent") or {}
            self.calls = {c["call_id"]: c for c in frame.get("calls", [])}
            self.pending_wrap = [i["interaction_id"] for i in frame.get("interactions", [])
                                 if i.get("ended_at") and not i.get("wrapped_at")
                                 and i.get("accepted_at")]
            self.digital = {i["interaction_id"]: i for i in frame.get("digital", [])
                            if i.get("state") in ("offered", "active")}
            self.pops = {p["call_id"]: p for p in frame.get("screenpops", [])
                         if p.get("call_id") in self.calls}
            self.say(f"state: {self.state_text()}; {len(self.calls)} call(s)"
                     + (f", {len(self.digital)} digital" if self.digital else ""))
            for c in self.calls.values():
                self.say("  " + self._describe(c))
            self._list_work()
        elif kind == "event":
            seq = frame.get("seq")
            if isinstance(seq, int):
                if seq <= self.seq:
                    return  # already in the snapshot, or replayed twice by a resume
                self.seq = seq
            self._event(frame.get("name", ""), frame.get("data") or {})
        elif kind == "ack":
            self.say(f"ok {json.dumps(frame.get('result'), ensure_ascii=False)[:200]}")
        elif kind == "error":
            self.say(f"refused ({frame.get('code')}): {frame.get('message')}")

    def _event(self, name: str, data: dict[str, Any]) -> None:
        if name == "agent.state":
            self.agent = data.get("agent", self.agent)
            self._say_once("state", f"[state] {self.state_text()}")  # not for load changes
            return
        if name == "screenpop":
            self._pop(data)
            return
        if name in ("interaction.offered", "interaction.accepted", "interaction.withdrawn",
                    "interaction.closed") or (name == "interaction.updated"
                                              and data.get("interaction", {}).get("channel")
                                              not in (None, "voice")):
            self._work_event(name, data)
            return
        if name == "interaction.updated":
            it = data.get("interaction", {})
            iid = it.get("interaction_id")
            if it.get("ended_at") and it.get("accepted_at") and not it.get("wrapped_at"):
                if iid not in self.pending_wrap:
                    self.pending_wrap.append(iid)
            elif it.get("wrapped_at") and iid in self.pending_wrap:
                self.pending_wrap.remove(iid)
            return
        call = data.get("call")
        if not isinstance(call, dict):
            self.say(f"[{name}] {data}")
            return
        mine = self._my_conn(call)
        if call.get("ended_at") or mine is None or mine["state"] in ("ended", "failed"):
            self.calls.pop(call["call_id"], None)
            self.pops.pop(call["call_id"], None)
        else:
            self.calls[call["call_id"]] = call
        extra = f" ({data['cause']})" if data.get("cause") else ""
        # A platform may report one step twice (both legs of a delivered call): once here.
        self._say_once(call["call_id"], f"[{name}]{extra} {self._describe(call)}")
        if call["call_id"] not in self.calls:
            self._said.pop(call["call_id"], None)

    def _say_once(self, key: str, line: str) -> None:
        if self._said.get(key) != line:
            self._said[key] = line
            self.say(line)

    def _work_event(self, name: str, data: dict[str, Any]) -> None:
        it = data.get("interaction") or {}
        iid = it.get("interaction_id")
        if not iid:
            return
        mine = it.get("agent_id") == self.me and it.get("state") in ("offered", "active")
        if mine:
            self.digital[iid] = it
        else:
            self.digital.pop(iid, None)
        if name == "interaction.updated" and not mine:
            return  # another agent's work, or back in the queue: nothing to do here
        why = f" ({data['reason']})" if data.get("reason") else ""
        number = f"{self._work_number(iid)}. " if iid in self.digital else ""
        self.say(f"[{name}]{why} {number}{self._describe_work(it)}")

    def _work_number(self, iid: str) -> int:
        return list(self._work()).index(iid) + 1

    def _work(self) -> dict[str, dict[str, Any]]:
        return dict(sorted(self.digital.items(), key=lambda kv: str(kv[1].get("created_at"))))

    def _describe_work(self, it: dict[str, Any]) -> str:
        cust = it.get("customer") or {}
        who = " ".join(x for x in (cust.get("name"), cust.get("number")) if x) or "unknown"
        what = it.get("subject") or it.get("preview") or ""
        deadline = f" until {it['offer_deadline'][11:19]}" \
            if it.get("state") == "offered" and it.get("offer_deadline") else ""
        return (f"{it.get('channel')} from {who} [{it.get('state')}{deadline}]"
                + (f" {what}" if what else ""))

    def _list_work(self) -> None:
        for n, it in enumerate(self._work().values(), 1):
            self.say(f"  {n}. {self._describe_work(it)}")

    def _pop(self, pop: dict[str, Any]) -> None:
        call_id = pop.get("call_id")
        if not call_id:
            return
        self.pops[call_id] = pop
        matches = pop.get("matches") or []
        outcome = pop.get("outcome")
        if outcome == "several" and not pop.get("selected"):
            self.say(f"[screenpop] {len(matches)} records match call …{call_id[-6:]}; "
                     "pick N chooses the one to log against:")
            self._list_records(pop)
        elif matches:
            chosen = next((m for m in matches if m.get("record_id") == pop.get("selected")),
                          matches[0])
            self.say(f"[screenpop] {chosen.get('name') or chosen.get('record_id')}"
                     + (f" {chosen['url']}" if chosen.get("url") else ""))
        elif outcome == "none":
            self.say("[screenpop] no record matches"
                     + (f"; create one: {pop['create_url']}" if pop.get("create_url") else ""))
        elif outcome == "unavailable":
            self.say(f"[screenpop] the CRM is unavailable ({pop.get('error')})")

    def _list_records(self, pop: dict[str, Any]) -> None:
        for n, m in enumerate(pop.get("matches") or [], 1):
            chosen = " (chosen)" if m.get("record_id") == pop.get("selected") else ""
            extra = f", {m['company']}" if m.get("company") else ""
            self.say(f"  {n}. {m.get('name') or '?'}{extra} [{m.get('record_id')}]{chosen}")

    def _my_conn(self, call: dict[str, Any]) -> dict[str, Any] | None:
        return next((c for c in call.get("connections", []) if c.get("agent_id") == self.me),
                    None)

    def state_text(self) -> str:
        st = self.agent.get("state", {})
        reason = f" ({st['reason']})" if st.get("reason") else ""
        return f"{st.get('status', '?')}{reason}"

    def _describe(self, call: dict[str, Any]) -> str:
        cust = call.get("customer") or {}
        who = " ".join(x for x in (cust.get("name"), cust.get("number")) if x) or "unknown"
        mine = self._my_conn(call)
        attached = ", ".join(f"{k}={v}" for k, v in (call.get("attached") or {}).items())
        return (f"call …{call['call_id'][-6:]} {call.get('direction')} {who}"
                f" [{mine['state'] if mine else '-'}]" + (f" {{{attached}}}" if attached else ""))

    # --------------------------------------------------------------- outgoing

    def _call_id(self, hint: str | None) -> str:
        if hint:
            found = [c for c in self.calls if c.endswith(hint) or c == hint]
            if len(found) == 1:
                return found[0]
            raise ValueError(f"no single call matches {hint!r}")
        live = list(self.calls)
        ringing = [c for c in live if (self._my_conn(self.calls[c]) or {}).get("state")
                   == "alerting"]
        if ringing:
            return ringing[0]
        connected = [c for c in live if (self._my_conn(self.calls[c]) or {}).get("state")
                     in ("connected", "initiated")]
        if len(connected) == 1:
            return connected[0]
        if len(live) == 1:
            return live[0]
        raise ValueError("name the call (last characters of its id); 'calls' lists them")

    def _work_id(self, hint: str | None, state: str) -> str:
        work = self._work()
        if hint:
            if hint.isdigit() and 0 < int(hint) <= len(work):
                return list(work)[int(hint) - 1]
            found = [i for i in work if i.endswith(hint)]
            if len(found) == 1:
                return found[0]
            raise ValueError(f"no digital work numbered {hint}; 'work' lists it")
        candidates = [i for i, it in work.items() if it.get("state") == state]
        if len(candidates) == 1:
            return candidates[0]
        raise ValueError(f"{'no' if not candidates else 'more than one'} {state} digital work"
                         f"{'' if not candidates else '; give its number'} ('work' lists it)")

    def _pop_for(self, hint: str | None) -> dict[str, Any]:
        if hint or len(self.pops) != 1:
            call_id = self._call_id(hint)
            pop = self.pops.get(call_id)
            if pop is None:
                raise ValueError("no CRM records for that call")
            return pop
        return next(iter(self.pops.values()))

    def _consult_pair(self) -> tuple[str, str]:
        consult = next((c for c in self.calls.values() if c.get("consult_of")), None)
        if consult is None:
            raise ValueError("there is no consultation call")
        return consult["consult_of"], consult["call_id"]

    def parse(self, line: str) -> dict[str, Any] | None:
        """Turn a typed line into a command frame (None for local commands)."""
        words = shlex.split(line)
        if not words:
            return None
        verb, rest = words[0].lower(), words[1:]
        arg = rest[0] if rest else None
        simple = {"answer": "call.answer", "hangup": "call.hangup", "hold": "call.hold",
                  "retrieve": "call.retrieve"}
        if verb == "help":
            self.say(HELP)
            return None
        if verb == "calls":
            for c in self.calls.values():
                self.say("  " + self._describe(c))
            return None
        if verb == "state":
            self.say(self.state_text() if self.connected
                     else f"not connected to the hub (last known: {self.state_text()})")
            return None
        if verb == "work":
            if not self.digital:
                self.say("no digital work")
            self._list_work()
            return None
        if verb == "records":
            self._list_records(self._pop_for(arg))
            return None
        frame: dict[str, Any]
        if verb == "login":
            frame = {"op": "agent.login"}
        elif verb == "logout":
            frame = {"op": "agent.logout"}
        elif verb == "ready":
            frame = {"op": "agent.ready"}
        elif verb in ("notready", "not_ready", "pause"):
            frame = {"op": "agent.not_ready", "reason": arg or "break"}
        elif verb == "dial" and arg:
            # "06 30 72 13 11" as people write numbers: the words are one number.
            frame = {"op": "call.dial", "number": "".join(rest)}
        elif verb in simple:
            frame = {"op": simple[verb], "call_id": self._call_id(arg)}
        elif verb in ("transfer", "consult") and arg:
            op = "call.blind_transfer" if verb == "transfer" else "call.consult"
            frame = {"op": op, "target": arg,
                     "call_id": self._call_id(rest[1] if len(rest) > 1 else None)}
        elif verb in ("complete", "conference", "cancel"):
            call_id, consult_id = self._consult_pair()
            op = {"complete": "call.complete_transfer", "conference": "call.conference",
                  "cancel": "call.cancel_consult"}[verb]
            frame = {"op": op, "call_id": call_id, "consult_call_id": consult_id}
        elif verb == "dtmf" and arg:
            frame = {"op": "call.dtmf", "digits": arg,
                     "call_id": self._call_id(rest[1] if len(rest) > 1 else None)}
        elif verb == "accept":
            frame = {"op": "interaction.accept",
                     "interaction_id": self._work_id(arg, "offered")}
        elif verb == "decline":
            frame = {"op": "interaction.decline",
                     "interaction_id": self._work_id(arg, "offered"),
                     "reason": " ".join(rest[1:]) or None}
        elif verb == "close":
            numbered = bool(arg and arg.isdigit())
            frame = {"op": "interaction.close",
                     "interaction_id": self._work_id(arg if numbered else None, "active"),
                     "disposition": (rest[1] if numbered and len(rest) > 1
                                     else None if numbered else arg),
                     "notes": " ".join(rest[2:] if numbered else rest[1:]) or None}
        elif verb == "pick" and arg:
            pop = self._pop_for(rest[1] if len(rest) > 1 else None)
            matches = pop.get("matches") or []
            if not arg.isdigit() or not 0 < int(arg) <= len(matches):
                raise ValueError(f"pick a record from 1 to {len(matches)} ('records' lists them)")
            frame = {"op": "crm.select", "call_id": pop["call_id"],
                     "record_id": matches[int(arg) - 1]["record_id"]}
        elif verb in ("wrapup", "wrap") and arg:
            if not self.pending_wrap:
                raise ValueError("nothing to wrap up")
            frame = {"op": "interaction.wrap_up", "interaction_id": self.pending_wrap[0],
                     "disposition": arg, "notes": " ".join(rest[1:]) or None}
        else:
            raise ValueError(f"unknown or incomplete command {line!r}; type help")
        return {"type": "command", "id": f"t-{next(self.ids)}", **frame}


async def login(url: str, username: str, password: str) -> str:
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        try:
            r = await http.post("/api/login", json={"username": username, "password": password})
        except httpx.HTTPError as exc:
            raise CtiError(f"cannot reach the hub at {url} ({exc})",
                           code="hub-unreachable") from None
        if r.status_code == 401:
            raise Unauthorized("wrong username or password", code="login-failed")
        if r.status_code in (429, 503):  # locked out or busy: say so, and when to retry
            body = r.json() if r.headers.get("content-type", "").startswith(
                "application/json") else {}
            raise CtiError(f"{body.get('message', 'login refused for now')} "
                           f"(retry after {r.headers.get('Retry-After', '?')} s)",
                           code=str(body.get("code", "rate-limited")))
        r.raise_for_status()
        token = r.json()["token"]
        t = await http.post("/api/ws-ticket", headers={"Authorization": f"Bearer {token}"})
        t.raise_for_status()
        return str(t.json()["ticket"])


def ws_url(url: str, ticket: str) -> str:
    parts = urlsplit(urljoin(url, "/ws"))
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path, f"ticket={ticket}", ""))


RETRY_FIRST, RETRY_MAX = 0.5, 10.0  # seconds between reconnection attempts (doubling)
PING_EVERY, PING_TIMEOUT = 10.0, 10.0  # a hub that stops answering is a lost link


def _stdin_lines(loop: asyncio.AbstractEventLoop) -> asyncio.Queue[str | None]:
    """Lines typed, None at the end of input. A daemon thread: blocked on the
    terminal, it never keeps the program from leaving (one Ctrl-C is enough)."""
    lines: asyncio.Queue[str | None] = asyncio.Queue()

    def read() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line)
        loop.call_soon_threadsafe(lines.put_nowait, None)

    threading.Thread(target=read, name="stdin", daemon=True).start()
    return lines


class Link:
    """The socket to the hub, kept up: reconnects with backoff and resumes."""

    def __init__(self, url: str, username: str, password: str, agent: TerminalAgent) -> None:
        self.url, self.username, self.password = url, username, password
        self.agent = agent
        self.ws: Any = None
        self.up = asyncio.Event()

    async def run(self, first_ticket: str) -> None:
        ticket: str | None = first_ticket
        delay = RETRY_FIRST
        lost_said = False
        while True:
            try:
                if ticket is None:
                    ticket = await login(self.url, self.username, self.password)
                async with websockets.connect(ws_url(self.url, ticket), max_size=2**20,
                                              ping_interval=PING_EVERY,
                                              ping_timeout=PING_TIMEOUT) as ws:
                    ticket = None  # a ticket is good for one connection
                    await self._session(ws, resumed=lost_said)
                    why = "the hub closed the connection"
            except (OSError, websockets.WebSocketException, CtiError, httpx.HTTPError) as exc:
                why = _reason(exc)
                ticket = None
                if isinstance(exc, Unauthorized):
                    self.agent.say(f"cannot log in again: {exc.message}")
                    raise
            if self.agent.connected:
                self.agent.say(f"link to the hub lost: {why}; reconnecting…")
                lost_said = True
                delay = RETRY_FIRST
            elif not lost_said:
                self.agent.say(f"cannot reach the hub: {why}; retrying…")
                lost_said = True
            self.agent.connected = False
            self.up.clear()
            self.ws = None
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)

    async def _session(self, ws: Any, *, resumed: bool) -> None:
        last_seen = self.agent.seq
        hello = json.loads(await ws.recv())
        self.agent.on_frame(hello)
        snapshot = json.loads(await ws.recv())
        self.agent.on_frame(snapshot)
        self.ws = ws
        self.agent.connected = True
        self.up.set()
        if resumed:
            self.agent.say(f"reconnected; state: {self.agent.state_text()}")
            if 0 < last_seen:
                # The events missed since the last one seen (the same hub), or a fresh
                # snapshot; anything the snapshot already holds is skipped by its seq.
                await ws.send(json.dumps({"type": "resume", "since": last_seen}))
        async for raw in ws:
            with contextlib.suppress(ValueError):
                self.agent.on_frame(json.loads(raw))

    async def send(self, frame: dict[str, Any]) -> bool:
        if self.ws is None or not self.agent.connected:
            self.agent.say("not connected to the hub (reconnecting…): not sent")
            return False
        try:
            await self.ws.send(json.dumps(frame))
        except websockets.WebSocketException:
            self.agent.say("the link dropped before the command left: not sent")
            return False
        return True


def _reason(exc: BaseException) -> str:
    if isinstance(exc, CtiError):
        return exc.message
    if isinstance(exc, websockets.ConnectionClosed):
        return "the connection closed"
    return str(exc) or type(exc).__name__


async def run_terminal_agent(url: str, username: str, password: str) -> None:
    ticket = await login(url, username, password)
    agent = TerminalAgent()
    lines = _stdin_lines(asyncio.get_running_loop())
    link = Link(url, username, password, agent)
    keeper = asyncio.create_task(link.run(ticket))
    try:
        await asyncio.wait({keeper, asyncio.create_task(link.up.wait())},
                           return_when=asyncio.FIRST_COMPLETED)
        if keeper.done():
            keeper.result()  # could not connect at all: say why
        agent.say("type help for commands")
        while True:
            next_line = asyncio.create_task(lines.get())
            await asyncio.wait({keeper, next_line}, return_when=asyncio.FIRST_COMPLETED)
            if keeper.done():
                next_line.cancel()
                keeper.result()
            line = next_line.result()
            if line is None or line.strip() in ("quit", "exit"):
                break
            try:
                frame = agent.parse(line)
            except ValueError as exc:
                agent.say(str(exc))
                continue
            if frame is not None:
                await link.send(frame)
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await keeper
        agent.say("bye")

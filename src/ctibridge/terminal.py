"""``ctibridge agent``: a small terminal agent over the real WebSocket protocol.

It logs in over REST, opens the socket with a ticket, prints events as they
come and turns typed lines into commands. Call ids can be abbreviated to their
last characters, or omitted when the agent has one call.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import shlex
import sys
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx
import websockets

from .model.errors import CtiError, Unauthorized

HELP = """commands:
  login | logout | ready | notready REASON
  dial NUMBER | answer [CALL] | hangup [CALL] | hold [CALL] | retrieve [CALL]
  transfer TARGET [CALL]         blind transfer to an agent, extension or number
  consult TARGET [CALL]          hold and call TARGET
  complete | conference | cancel finish the consultation (cancel: back to the caller)
  dtmf DIGITS [CALL] | wrapup DISPOSITION [NOTES…] | calls | state | help | quit"""


class TerminalAgent:
    def __init__(self, out: Any = sys.stdout) -> None:
        self.out = out
        self.calls: dict[str, dict[str, Any]] = {}
        self.agent: dict[str, Any] = {}
        self.pending_wrap: list[str] = []
        self.ids = itertools.count(1)
        self.me: str | None = None

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    # --------------------------------------------------------------- incoming

    def on_frame(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "hello":
            self.me = (frame.get("user") or {}).get("agent_id")
            self.say(f"connected to {frame.get('server')} as {self.me}")
        elif kind == "snapshot":
            self.agent = frame.get("agent") or {}
            self.calls = {c["call_id"]: c for c in frame.get("calls", [])}
            self.pending_wrap = [i["interaction_id"] for i in frame.get("interactions", [])
                                 if i.get("ended_at") and not i.get("wrapped_at")
                                 and i.get("accepted_at")]
            self.say(f"state: {self._state()}; {len(self.calls)} call(s)")
            for c in self.calls.values():
                self.say("  " + self._describe(c))
        elif kind == "event":
            self._event(frame.get("name", ""), frame.get("data") or {})
        elif kind == "ack":
            self.say(f"ok {json.dumps(frame.get('result'), ensure_ascii=False)[:200]}")
        elif kind == "error":
            self.say(f"refused ({frame.get('code')}): {frame.get('message')}")

    def _event(self, name: str, data: dict[str, Any]) -> None:
        if name == "agent.state":
            self.agent = data.get("agent", self.agent)
            self.say(f"[state] {self._state()}")
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
        else:
            self.calls[call["call_id"]] = call
        extra = f" ({data['cause']})" if data.get("cause") else ""
        self.say(f"[{name}]{extra} {self._describe(call)}")

    def _my_conn(self, call: dict[str, Any]) -> dict[str, Any] | None:
        return next((c for c in call.get("connections", []) if c.get("agent_id") == self.me),
                    None)

    def _state(self) -> str:
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
            self.say(self._state())
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
            frame = {"op": "call.dial", "number": arg}
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


async def run_terminal_agent(url: str, username: str, password: str) -> None:
    ticket = await login(url, username, password)
    agent = TerminalAgent()
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | None] = asyncio.Queue()

    def read_stdin() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line)
        loop.call_soon_threadsafe(lines.put_nowait, None)

    loop.run_in_executor(None, read_stdin)
    async with websockets.connect(ws_url(url, ticket), max_size=2**20) as ws:

        async def reader() -> None:
            async for raw in ws:
                with contextlib.suppress(ValueError):
                    agent.on_frame(json.loads(raw))

        task = asyncio.create_task(reader())
        agent.say("type help for commands")
        try:
            while True:
                line = await lines.get()
                if line is None or line.strip() in ("quit", "exit"):
                    break
                try:
                    frame = agent.parse(line)
                except ValueError as exc:
                    agent.say(str(exc))
                    continue
                if frame is not None:
                    await ws.send(json.dumps(frame))
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

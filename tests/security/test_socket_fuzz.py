"""Fuzzing the agent socket: no frame escapes the handler as an exception.

A real hub on a real port (in a thread of its own, on the system clock) and
real WebSocket clients, an agent's and a supervisor's. Hypothesis sends frames
of every shape (commands with arguments of every JSON type, ids of every type,
broken JSON, deep nesting, 5,000-digit numbers, lone surrogates, binary); after
each one a ping must still come back on the same socket, and every error on the
way must carry a code that docs/protocol/agent-websocket.md lists.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import ClientConnection, connect

from ctibridge.clock import SystemClock
from tests.integration.harness import RunningHub, running_hub

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol" / "agent-websocket.md"


def documented_codes() -> set[str]:
    """The error codes the protocol document lists (its "Error codes" section)."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Error codes", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"`([a-z][a-z0-9-]+)`", section))


@dataclass
class Hub:
    running: RunningHub
    loop: asyncio.AbstractEventLoop

    def ticket(self, user: str) -> str:
        return asyncio.run_coroutine_threadsafe(self.running.ticket(user), self.loop).result(30)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    ready: list[Hub] = []
    started = threading.Event()
    stop: list[asyncio.Event] = []

    async def serve() -> None:
        stop.append(asyncio.Event())
        # No rate limit in the way: every fuzzed frame is read and answered.
        async with running_hub(tmp_path_factory.mktemp("fuzz"), clock=SystemClock(),
                               server={"rate_per_second": 100_000,
                                       "rate_burst": 100_000}) as h:
            ready.append(Hub(h, asyncio.get_running_loop()))
            started.set()
            await stop[0].wait()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert started.wait(60), "the hub did not start"
    yield ready[0]
    ready[0].loop.call_soon_threadsafe(stop[0].set)
    thread.join(30)


class Probe:
    """One socket: send a frame, then a ping; collect what the hub answered between."""

    def __init__(self, hub: Hub, user: str) -> None:
        self.hub, self.user = hub, user
        self.n = 0
        self.ws = self._connect()

    def _connect(self) -> ClientConnection:
        ws = connect(self.hub.running.ws_url(self.hub.ticket(self.user)), max_size=2**24)
        ws.__enter__()  # closed by the fixture
        assert json.loads(ws.recv(10))["type"] == "hello"
        assert json.loads(ws.recv(10))["type"] == "snapshot"
        return ws

    def answers_to(self, frame: str | bytes) -> list[dict[str, Any]]:
        self.n += 1
        probe = f"probe-{self.n}"
        self.ws.send(frame)
        self.ws.send(json.dumps({"type": "ping", "id": probe}))
        got = []
        while True:
            reply = json.loads(self.ws.recv(10))  # raises if the socket was closed
            if reply.get("type") == "pong" and reply.get("id") == probe:
                return got
            if reply.get("type") != "event":
                got.append(reply)


@pytest.fixture(scope="module")
def probes(hub: Hub) -> Iterator[dict[str, Probe]]:
    out = {user: Probe(hub, user) for user in ("alice", "sam")}
    yield out
    for p in out.values():
        p.ws.close()


OPS = ["agent.login", "agent.logout", "agent.ready", "agent.not_ready", "call.dial",
       "call.answer", "call.hangup", "call.hold", "call.retrieve", "call.mute", "call.unmute",
       "call.dtmf", "call.blind_transfer", "call.consult", "call.complete_transfer",
       "call.conference", "interaction.wrap_up", "interaction.accept", "interaction.decline",
       "interaction.close", "crm.select", "crm.refresh", "call.teleport"]

strings = st.one_of(st.text(max_size=40), st.sampled_from(
    ["", "alice", "bob", "1002", "+33612345678", "break", "resolved", "c-nope", "../../x",
     "\ud800", "a\udfffb", "x" * 300, "1,2", "\r\n", "<script>"]))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-2**70, 2**70),
                    st.floats(allow_nan=False, allow_infinity=False), strings)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(strings, inner, max_size=4)), max_leaves=12)
ARGS = ["call_id", "consult_call_id", "target", "number", "digits", "reason", "agent_id",
        "interaction_id", "disposition", "notes", "record_id", "attached", "platform", "since"]

frames = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(["command", "ping", "resume"]), values)},
    optional={"id": st.one_of(st.integers(), strings, values),
              "op": st.one_of(st.sampled_from(OPS), values),
              **{name: values for name in ARGS}})

# Well-formed commands with arguments of every type: what reaches the command layer.
plausible = st.one_of(strings, strings, strings, values)  # mostly the right type
# What each op needs (agent-websocket.md), so that frames get past the first check.
NEEDS = {"agent.not_ready": ["reason"], "call.dial": ["number"], "call.dtmf": ["call_id", "digits"],
         "call.blind_transfer": ["call_id", "target"], "call.consult": ["call_id", "target"],
         "call.complete_transfer": ["call_id", "consult_call_id"],
         "call.conference": ["call_id", "consult_call_id"], "crm.select": ["call_id", "record_id"],
         "interaction.wrap_up": ["interaction_id", "disposition"],
         **{op: ["call_id"] for op in ("call.answer", "call.hangup", "call.hold", "call.retrieve",
                                       "call.mute", "call.unmute", "crm.refresh")},
         **{op: ["interaction_id"] for op in ("interaction.accept", "interaction.decline",
                                              "interaction.close")}}


@st.composite
def commands(draw: st.DrawFn) -> dict[str, Any]:
    op = draw(st.sampled_from(OPS))
    names = NEEDS.get(op, []) + draw(st.lists(st.sampled_from(ARGS), max_size=2))
    return {"type": "command", "id": draw(st.one_of(st.integers(0, 2**53), st.text(max_size=20))),
            "op": op, **{name: draw(plausible) for name in names}}


texts = st.one_of(
    *[commands().map(json.dumps)] * 6,  # most frames should reach the command layer
    frames.map(json.dumps),  # ASCII-escaped: lone surrogates arrive as \\ud800
    frames.map(lambda f: json.dumps(f, ensure_ascii=False).encode("utf-8", "replace").decode()),
    st.text(max_size=200),
    st.integers(1, 60_000).map(lambda n: "[" * n),
    st.integers(1, 3_000).map(lambda n: '{"type": "ping", "id": ' + "[" * n + "]" * n + "}"),
    st.integers(4_000, 6_000).map(lambda n: '{"type":"command","op":"agent.ready","id":'
                                  + "9" * n + "}"),
    st.binary(max_size=64),
)


@settings(max_examples=500, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(frame=texts, user=st.sampled_from(["alice", "sam"]))
def test_no_frame_escapes_the_handler(probes: dict[str, Probe], frame: str | bytes,
                                      user: str) -> None:
    answers = probes[user].answers_to(frame)  # the socket is still open: the ping came back
    documented = documented_codes()
    for reply in answers:
        assert reply["type"] in ("ack", "error", "pong", "snapshot"), reply
        if reply["type"] == "error":
            assert reply["code"] != "internal-error", (frame, reply)
            assert reply["code"] in documented, f"undocumented code {reply['code']}: {reply}"
            assert reply["message"]

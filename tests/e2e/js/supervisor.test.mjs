// The supervisor page's pure modules: its catalogues and the board (snapshot + events),
// including the omnichannel formats the router will send (load, capacity, interactions).
import assert from "node:assert/strict";
import test from "node:test";

import { Board, loadParts } from "../../../src/ctibridge/web/supervisor/board.js";
import en from "../../../src/ctibridge/web/supervisor/i18n/en.js";
import fr from "../../../src/ctibridge/web/supervisor/i18n/fr.js";
import { setLanguage, t } from "../../../src/ctibridge/web/supervisor/i18n/index.js";

test("the supervisor catalogues have the same keys and placeholders", () => {
  assert.deepEqual(Object.keys(fr).sort(), Object.keys(en).sort());
  const holes = (s) => (s.match(/\{\w+\}/g) ?? []).sort().join();
  for (const key of Object.keys(en)) assert.equal(holes(fr[key]), holes(en[key]), key);
});

test("texts fall back to the bar's catalogue in the same language", () => {
  setLanguage("fr", { remember: false });
  assert.equal(t("queues.heading"), "Files d'attente");
  assert.equal(t("state.agent.ready"), "Disponible"); // the bar's word
  assert.equal(t("error.agent-busy"), "Impossible pendant un appel.");
  setLanguage("en", { remember: false });
  assert.equal(t("state.agent.busy"), "On a call");
});

const T0 = "2026-01-05T09:00:00+00:00";
const agent = (id, status, extra = {}) => ({ agent_id: id, name: id.toUpperCase(), extension: "1",
  platform: "sim", state: { status, since: T0, reason: null, deadline: null }, calls: [], ...extra });

function snapshot(extra = {}) {
  return { type: "snapshot", seq: 5, agents: [agent("bob", "ready"), agent("alice", "ready")], calls: [],
    interactions: [], reason_codes: [{ code: "break", label: { en: "Break", fr: "Pause" } }],
    queues: [{ queue: "support", waiting: 0 }], ...extra };
}

test("the board applies events after the snapshot once, and says what changed", () => {
  const board = new Board();
  const effects = [];
  board.addEventListener("change", (e) => effects.push(...e.detail.effects));
  board.applySnapshot(snapshot());
  assert.deepEqual(board.agentList().map((a) => a.agent_id), ["alice", "bob"]);
  board.applyEvent({ type: "event", seq: 5, name: "agent.state", data: { agent: agent("alice", "busy") } });
  assert.equal(board.agents.get("alice").state.status, "ready"); // seq 5 is in the snapshot already
  board.applyEvent({ type: "event", seq: 6, name: "queue.stats", data: { queues: [{ queue: "support", waiting: 2 }] } });
  board.applyEvent({ type: "event", seq: 7, name: "agent.state",
    data: { agent: agent("alice", "not_ready", { state: { status: "not_ready", reason: "break", since: T0 } }) } });
  assert.deepEqual(effects.map((e) => e.kind), ["snapshot", "queue", "agent"]);
  assert.equal(board.queues[0].waiting, 2);
});

test("calls and digital interactions become live rows and agents' work", () => {
  const board = new Board();
  board.applySnapshot(snapshot());
  const call = { call_id: "c1", direction: "inbound", customer: { number: "+33612345678", name: "Camille" },
    queue: "support", created_at: T0, consult_of: null,
    connections: [{ device: "queue:support", state: "ended" }, { device: "1", state: "connected", agent_id: "alice", since: T0 }] };
  board.applyEvent({ type: "event", seq: 6, name: "call.answered", data: { call } });
  const chat = { interaction_id: "i1", channel: "chat", customer: { name: "Léa" }, agent_id: "alice",
    queue: "web", attached: { subject: "Order 42" }, created_at: T0, queued_at: T0, offered_at: T0, accepted_at: T0 };
  board.applyEvent({ type: "event", seq: 7, name: "interaction.accepted", data: { interaction: chat } });
  const rows = board.live();
  assert.deepEqual(rows.map((r) => [r.channel, r.state, r.agents.join()]),
    [["voice", "call.connected", "alice"], ["chat", "work.accepted", "alice"]]);
  assert.equal(rows[1].subject, "Order 42");
  assert.deepEqual(board.callsOf("alice").map((c) => c.call_id), ["c1"]);
  assert.deepEqual(board.interactionsOf("alice").map((i) => i.interaction_id), ["i1"]);
  board.applyEvent({ type: "event", seq: 8, name: "interaction.closed", data: { interaction: chat } });
  board.applyEvent({ type: "event", seq: 9, name: "call.ended", data: { call: { ...call, ended_at: T0 } } });
  assert.deepEqual(board.live(), []);
  assert.deepEqual(board.agents.get("alice").calls, []);
});

test("per-channel load comes from load and capacity, in channel order, and is absent without them", () => {
  assert.equal(loadParts(agent("a", "ready")), null);
  const parts = loadParts(agent("a", "busy", { load: { chat: 2, voice: 1 },
    capacity: { email: 2, chat: 3, voice: 1 }, availability: { chat: true, voice: false } }));
  assert.deepEqual(parts.map((p) => [p.channel, p.load, p.capacity, p.available]),
    [["voice", 1, 1, false], ["chat", 2, 3, true], ["email", 0, 2, null]]);
});

test("the board keeps who listens in on each call, silent listeners too, and where I can", () => {
  const board = new Board();
  const call = { call_id: "c1", platform: "sim", direction: "inbound", customer: { name: "Camille" },
    created_at: T0, connections: [{ device: "1", state: "connected", agent_id: "alice", since: T0 }] };
  board.applySnapshot(snapshot({ calls: [{ ...call, monitors: [{ device: "1090", by: "sam", mode: "listen" }] }],
    supervision: { sim: { modes: ["listen", "whisper"], device: "1090" } } }));
  assert.deepEqual(board.supervision.sim, { modes: ["listen", "whisper"], device: "1090" });
  assert.deepEqual(board.monitorsOf("c1"), [{ device: "1090", by: "sam", mode: "listen" }]);
  // Other call events carry only the supervisors the agent hears: the listener stays.
  board.applyEvent({ type: "event", seq: 6, name: "call.held", data: { call: { ...call, monitors: [] } } });
  assert.equal(board.monitorsOf("c1")[0].mode, "listen");
  const effects = [];
  board.addEventListener("change", (e) => effects.push(...e.detail.effects));
  board.applyEvent({ type: "event", seq: 7, name: "call.monitored", data: { call, device: "1090", by: "sam",
    mode: "whisper", monitors: [{ device: "1090", by: "sam", mode: "whisper" }] } });
  assert.deepEqual(effects.map((e) => [e.kind, e.mode]), [["monitor", "whisper"]]);
  assert.equal(board.monitorsOf("c1")[0].mode, "whisper");
  board.applyEvent({ type: "event", seq: 8, name: "call.ended", data: { call: { ...call, ended_at: T0 } } });
  assert.deepEqual(board.monitorsOf("c1"), []);
});

test("calls.live after a takeover: a call of that platform the new core does not list leaves the board", (t) => {
  const board = new Board();
  const onCall = (id, agentId, platform = "sim") => ({ call_id: id, platform, direction: "inbound",
    customer: { name: id }, created_at: T0, consult_of: null,
    connections: [{ device: "1", state: "connected", agent_id: agentId, since: T0 }] });
  board.applySnapshot(snapshot({ calls: [onCall("c-1", "alice"), onCall("c-9", "bob", "pbx")] }));
  board.applyEvent({ type: "event", seq: 6, name: "call.answered", data: { call: onCall("c-2", "bob") } });
  assert.deepEqual(board.callsOf("alice").map((c) => c.call_id), ["c-1"]);
  // The new core took Alice's call back under another id (the old one was never written),
  // with a supervisor listening in; Bob's is gone; the other platform's call is untouched.
  const back = { ...onCall("c-3", "alice"), monitors: [{ device: "1090", by: "sam", mode: "listen" }] };
  board.applyEvent({ type: "event", seq: 7, name: "calls.live", data: { platform: "sim", calls: [back] } });
  assert.deepEqual([...board.calls.keys()].sort(), ["c-3", "c-9"]);
  assert.deepEqual(board.live().map((r) => [r.id, r.agents.join()]), [["c-9", "bob"], ["c-3", "alice"]]);
  assert.deepEqual(board.callsOf("alice").map((c) => c.call_id), ["c-3"]);
  assert.deepEqual(board.agents.get("bob").calls, []);
  assert.deepEqual(board.monitorsOf("c-3"), [{ device: "1090", by: "sam", mode: "listen" }]);

  // Malformed lists are ignored, seq included: nothing is dropped for them.
  const warn = t.mock.method(console, "warn", () => {});
  board.applyEvent({ type: "event", seq: 8, name: "calls.live", data: { platform: "sim", calls: [{}] } });
  board.applyEvent({ type: "event", seq: 8, name: "calls.live", data: { calls: [] } });
  board.applyEvent({ type: "event", seq: 8, name: "calls.live", data: { platform: "sim", calls: [], part: 3, parts: 2 } });
  assert.equal(warn.mock.calls.length, 3);
  assert.equal(board.seq, 7);
  assert.deepEqual([...board.calls.keys()].sort(), ["c-3", "c-9"]);
});

test("a calls.live in parts drops ghosts once its last part is in, and not after a missed part", () => {
  const board = new Board();
  const c = (id) => ({ call_id: id, platform: "sim", direction: "inbound", customer: {}, created_at: T0,
    connections: [{ device: "queue:support", state: "queued" }] });
  board.applySnapshot(snapshot({ calls: [c("c-1"), c("c-2"), c("ghost")] }));
  const live = (seq, calls, part, parts) => board.applyEvent({ type: "event", seq, name: "calls.live",
    data: { platform: "sim", calls, part, parts } });
  live(6, [c("c-1")], 1, 2);
  assert.deepEqual([...board.calls.keys()], ["c-1", "c-2", "ghost"]); // not all in yet
  live(7, [c("c-2")], 2, 2);
  assert.deepEqual([...board.calls.keys()], ["c-1", "c-2"]);
  // Part 1 of the next list was missed (the socket resumed past it): part 2 alone drops nothing.
  board.applyEvent({ type: "event", seq: 8, name: "call.queued", data: { call: c("c-4") } });
  live(10, [c("c-2")], 2, 2);
  assert.deepEqual([...board.calls.keys()], ["c-1", "c-2", "c-4"]);
});

import assert from "node:assert/strict";
import test from "node:test";

import { BarStore } from "../../../src/ctibridge/web/agentbar/store.js";

const T = "2026-01-01T10:00:00+00:00";
const agent = (status = "ready") => ({ agent_id: "alice", name: "Alice", extension: "1001", platform: "sim",
  state: { status, since: T, reason: null, deadline: null }, calls: [] });
const call = (id, state, extra = {}) => ({ call_id: id, platform: "sim", direction: "inbound",
  customer: { number: "+33612345678", name: "Camille" }, queue: "support", attached: {},
  connections: [{ device: "1001", agent_id: "alice", state, since: T }], consult_of: null,
  created_at: T, answered_at: null, ended_at: null, end_cause: null, ...extra });
const snapshot = (seq, calls = [], more = {}) => ({ type: "snapshot", seq, agent: agent(), calls,
  interactions: [], capabilities: { "call.mute": false }, reason_codes: [], dispositions: [], directory: [],
  wrap_up_seconds: 30, ...more });
const ev = (seq, name, data) => ({ type: "event", seq, name, data });

function recorder(store) {
  const effects = [];
  store.addEventListener("change", (e) => effects.push(...e.detail.effects));
  return effects;
}

test("an offered call rings, is answered once, and leaves when it ends", () => {
  const s = new BarStore();
  const fx = recorder(s);
  s.applySnapshot(snapshot(3));
  s.applyEvent(ev(4, "call.offered", { call: call("c-1", "alerting") }));
  assert.deepEqual(s.ringing().map((c) => c.call_id), ["c-1"]);
  s.applyEvent(ev(5, "call.answered", { call: call("c-1", "connected") }));
  s.applyEvent(ev(6, "call.held", { call: call("c-1", "held") }));
  s.applyEvent(ev(7, "call.retrieved", { call: call("c-1", "connected") }));
  assert.equal(s.activeCall().call_id, "c-1");
  s.applyEvent(ev(8, "call.ended", { call: call("c-1", "ended", { ended_at: T }), cause: "customer-hangup" }));
  assert.equal(s.calls.size, 0);
  const kinds = fx.filter((f) => f.kind !== "agent").map((f) => f.kind);
  assert.deepEqual(kinds, ["offered", "answered", "ended"]);
  assert.equal(fx.find((f) => f.kind === "ended").cause, "customer-hangup");
});

test("the snapshot replaces every call: a stale call disappears", () => {
  const s = new BarStore();
  const fx = recorder(s);
  s.applySnapshot(snapshot(1, [call("c-old", "connected")]));
  s.applySnapshot(snapshot(9, [call("c-new", "alerting")]));
  assert.deepEqual([...s.calls.keys()], ["c-new"]);
  assert.ok(fx.some((f) => f.kind === "ended" && f.call_id === "c-old"));
  assert.ok(fx.some((f) => f.kind === "offered" && f.call.call_id === "c-new"));
  assert.equal(s.seq, 9);
});

test("events replayed after a snapshot are skipped; a restarted hub's lower seq is accepted", () => {
  const s = new BarStore();
  s.applySnapshot(snapshot(10, [call("c-1", "connected")]));
  assert.equal(s.applyEvent(ev(9, "call.ended", { call: call("c-1", "ended", { ended_at: T }) })), false);
  assert.equal(s.calls.size, 1);
  s.applySnapshot(snapshot(2, [call("c-1", "connected")])); // new hub, new numbering
  assert.equal(s.applyEvent(ev(3, "call.held", { call: call("c-1", "held") })), true);
  assert.equal(s.myState(s.calls.get("c-1")), "held");
});

test("malformed events are ignored with a warning and change nothing", (t) => {
  const warn = t.mock.method(console, "warn", () => {});
  const s = new BarStore();
  s.applySnapshot(snapshot(1));
  assert.equal(s.applyEvent({ type: "event", seq: "2", name: "call.offered", data: {} }), false);
  assert.equal(s.applyEvent(ev(2, "call.offered", { call: { call_id: 7 } })), false);
  assert.equal(s.applyEvent(ev(3, "call.offered", { call: { call_id: "c", connections: "x" } })), false);
  assert.equal(s.applyEvent(ev(4, "agent.state", { agent: { agent_id: "mallory", state: { status: "ready" } } })), false);
  assert.equal(s.calls.size, 0);
  assert.ok(warn.mock.callCount() >= 4);
});

test("a call where my leg ended (transferred away) leaves my view", () => {
  const s = new BarStore();
  s.applySnapshot(snapshot(1, [call("c-1", "connected")]));
  const moved = call("c-1", "ended");
  moved.connections.push({ device: "1002", agent_id: "bob", state: "connected", since: T });
  s.applyEvent(ev(2, "call.transferred", { call: moved }));
  assert.equal(s.calls.size, 0);
});

test("a consultation is found from the call it was made from", () => {
  const s = new BarStore();
  s.applySnapshot(snapshot(1, [call("c-1", "held"), call("c-2", "connected", { consult_of: "c-1", direction: "internal" })]));
  assert.equal(s.consultOf("c-1").call_id, "c-2");
  assert.equal(s.activeCall().call_id, "c-2");
  assert.deepEqual(s.heldCalls().map((c) => c.call_id), ["c-1"]);
});

test("wrap-up work is the ended, answered, unwrapped interactions", () => {
  const s = new BarStore();
  const it = (id, more) => ({ interaction_id: id, agent_id: "alice", created_at: T, customer: {},
    accepted_at: T, ended_at: T, wrapped_at: null, disposition: null, ...more });
  s.applySnapshot(snapshot(1, [], { interactions: [it("i-1"), it("i-2", { accepted_at: null }), it("i-3", { wrapped_at: T })] }));
  assert.deepEqual(s.pendingWrapUps().map((i) => i.interaction_id), ["i-1"]);
  s.applyEvent(ev(2, "interaction.updated", { interaction: it("i-1", { wrapped_at: T, disposition: "resolved" }) }));
  assert.deepEqual(s.pendingWrapUps(), []);
  assert.equal(s.recent().length, 3);
});

test("capabilities: false means no, absent means ask the hub", () => {
  const s = new BarStore();
  s.applySnapshot(snapshot(1));
  assert.equal(s.can("call.mute"), false);
  assert.equal(s.can("call.hold"), true);
});

test("a malformed event with a big seq does not make the store skip the real ones", (t) => {
  t.mock.method(console, "warn", () => {});
  const s = new BarStore();
  s.applySnapshot(snapshot(1));
  assert.equal(s.applyEvent(ev(10_000, "call.offered", { call: { call_id: {}, connections: "x" } })), false);
  assert.equal(s.seq, 1);
  assert.equal(s.applyEvent(ev(2, "call.offered", { call: call("c-1", "alerting") })), true);
  assert.equal(s.ringing().length, 1);
});

test("a finished call whose CRM log waits for my pick is listed until it is settled", () => {
  const s = new BarStore();
  const fx = recorder(s);
  const waiting = { interaction_id: "i-9", status: "waiting", agent_id: "alice",
    choices: [{ record_id: "104", name: "Jean Morel" }, { record_id: "105", name: "Lucie Morel" }] };
  s.applySnapshot(snapshot(3, [], { calllog_waiting: [waiting, { interaction_id: "bad" }] }));
  assert.deepEqual([...s.logWaiting.keys()], ["i-9"]);  // the malformed one is ignored
  s.applyEvent(ev(4, "calllog.waiting", { ...waiting, interaction_id: "i-10" }));
  assert.deepEqual([...s.logWaiting.keys()], ["i-9", "i-10"]);
  s.applyEvent(ev(5, "calllog.settled", { interaction_id: "i-9", status: "pending" }));
  assert.deepEqual([...s.logWaiting.keys()], ["i-10"]);
  assert.deepEqual(fx.filter((f) => f.kind === "calllog").map((f) => [f.interactionId, f.waiting]),
    [["i-10", true], ["i-9", false]]);
  assert.equal(s.applyEvent(ev(6, "calllog.waiting", { interaction_id: "i-11" })), false);
});

test("calls.live after a takeover: a call the new core does not list is a ghost, dropped", () => {
  const s = new BarStore();
  const fx = recorder(s);
  s.applySnapshot(snapshot(3));
  const other = { ...call("c-9", "connected"), platform: "pbx" }; // another platform: untouched
  s.applyEvent(ev(4, "call.answered", { call: call("c-1", "connected") }));
  s.applyEvent(ev(5, "call.answered", { call: other }));
  // The new core took the call back under another id (not yet written by the old one).
  s.applyEvent(ev(6, "calls.live", { platform: "sim", calls: [call("c-2", "connected")] }));
  assert.deepEqual([...s.calls.keys()].sort(), ["c-2", "c-9"]);
  const ended = fx.find((f) => f.kind === "ended");
  assert.equal(ended.cause, "gone-after-resync");
  s.applyEvent(ev(7, "calls.live", { platform: "sim", calls: [] }));
  assert.deepEqual([...s.calls.keys()], ["c-9"]);
  assert.equal(s.applyEvent(ev(8, "calls.live", { platform: "sim", calls: [{}] })), false); // malformed
});

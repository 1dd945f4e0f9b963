import assert from "node:assert/strict";
import test from "node:test";

import { dataEntry, isConference, participants, transferTargets } from "../../../src/ctibridge/web/agentbar/context.js";

const LABELS = {
  keys: { reason: { en: "Reason for calling", fr: "Motif de l'appel" } },
  values: { reason: { cancellation: { en: "Cancellation", fr: "Résiliation" } } },
};

test("call data keys and codes get their configured names, else stay raw", () => {
  assert.deepEqual(dataEntry(LABELS, "reason", "cancellation", "fr"),
    { key: "Motif de l'appel", value: "Résiliation", raw: { key: "reason", value: "cancellation" } });
  assert.equal(dataEntry(LABELS, "reason", "cancellation", "de").value, "Cancellation"); // English fallback
  assert.deepEqual(dataEntry(LABELS, "mood", "calm", "fr"), { key: "mood", value: "calm", raw: { key: "mood", value: "calm" } });
  assert.equal(dataEntry(LABELS, "reason", "other", "fr").value, "other");
  assert.equal(dataEntry(undefined, "reason", { a: 1 }, "fr").value, '{"a":1}');
});

const conn = (device, state, agent_id = null, name = null) => ({ device, state, agent_id, name, since: "" });

test("a conference is two or more others on a call; a consultation never is", () => {
  const call = { direction: "inbound", customer: { number: "+33612345678", name: "Camille" },
    connections: [conn("queue:support", "ended"), conn("1001", "connected", "alice", "Alice"),
      conn("1002", "connected", "bob", "Bob")] };
  assert.deepEqual(participants(call, "alice").map((p) => p.name), ["Camille", "Bob"]);
  assert.equal(isConference(call, "alice"), true);
  call.connections[2].state = "ended";
  assert.equal(isConference(call, "alice"), false);
  const consult = { direction: "internal", consult_of: "c-1", customer: { number: "1002" },
    connections: [conn("1001", "connected", "alice"), conn("1002", "connected", "bob", "Bob"),
      conn("1003", "connected", "carol", "Carol")] };
  assert.equal(isConference(consult, "alice"), false);
});

test("a customer leg the platform reports is not counted twice", () => {
  const call = { direction: "inbound", customer: { number: "+33612345678", name: "Camille" },
    connections: [conn("+33612345678", "connected"), conn("1001", "connected", "alice", "Alice")] };
  assert.deepEqual(participants(call, "alice").map((p) => p.kind), ["customer"]);
});

test("an outside number conferenced in is listed beside the customer", () => {
  const call = { direction: "inbound", customer: { number: "+33612345678", name: "Camille" },
    connections: [conn("SIP/trunk-0001", "connected"), conn("1001", "connected", "alice", "Alice"),
      conn("+33140000000", "connected")] };
  assert.deepEqual(participants(call, "alice").map((p) => [p.kind, p.name ?? p.number]),
    [["customer", "Camille"], ["external", "+33140000000"]]);
  assert.equal(isConference(call, "alice"), true);
});

test("transfer targets: reachable colleagues, ready first, never logged out nor me", () => {
  const presence = [
    { agent_id: "carol", name: "Carol", platform: "sim", extension: "1003", status: "busy" },
    { agent_id: "bob", name: "Bob", platform: "sim", extension: "1002", status: "ready" },
    { agent_id: "dan", name: "Dan", platform: "sim", extension: "1004", status: "logged_out" },
    { agent_id: "alice", name: "Alice", platform: "sim", extension: "1001", status: "ready" },
    { agent_id: "eve", name: "Eve", platform: "pbx2", extension: "2005", devices: { pbx2: "2005" }, status: "ready" },
  ];
  assert.deepEqual(transferTargets(presence, "alice", "sim").map((d) => [d.agent_id, d.device]),
    [["bob", "1002"], ["carol", "1003"]]);
  assert.deepEqual(transferTargets(presence, "alice", "pbx2").map((d) => d.agent_id), ["eve"]);
  assert.deepEqual(transferTargets(null, "alice", "sim"), []);
});

import assert from "node:assert/strict";
import test from "node:test";

import { chosen, safeUrl, validPop } from "../../../src/ctibridge/web/agentbar/screenpop.js";
import { BarStore } from "../../../src/ctibridge/web/agentbar/store.js";
import { validCommand } from "../../../src/ctibridge/web/agentbar/embed.js";

const HUB = "http://hub.example:8080/agentbar/";
const match = (id, extra = {}) => ({ record_id: id, name: `Contact ${id}`, company: "ACME",
  url: `/democrm/contacts/${id}`, kind: "contact", fields: {}, ...extra });
const pop = (extra = {}) => ({ call_id: "c-1", interaction_id: "i-1", outcome: "one", matches: [match("12")],
  selected: null, create_url: null, lookup: "by_phone", error: null,
  party: { number: "+33612345678", name: null }, ...extra });

test("a pop's record URLs are made absolute against the hub; script URLs are dropped", () => {
  const p = validPop(pop({ matches: [match("1"), match("2", { url: "javascript:alert(1)" })],
    outcome: "several", create_url: "data:text/html,<b>x</b>" }), HUB);
  assert.equal(p.matches[0].url, "http://hub.example:8080/democrm/contacts/1");
  assert.equal(p.matches[1].url, null);
  assert.equal(p.create_url, null);
  assert.equal(safeUrl("https://crm.example/x?a=<b>", HUB), "https://crm.example/x?a=%3Cb%3E");
});

test("malformed pops are refused, malformed matches dropped", () => {
  assert.equal(validPop({ call_id: "c-1", outcome: "maybe" }, HUB), null);
  assert.equal(validPop({ outcome: "one" }, HUB), null);
  assert.equal(validPop(pop({ matches: "all" }), HUB), null);
  const p = validPop(pop({ outcome: "several", matches: [match("1"), { name: "no id" }, 7] }), HUB);
  assert.deepEqual(p.matches.map((m) => m.record_id), ["1"]);
});

test("the record to open is the selected one, else the only match", () => {
  const several = validPop(pop({ outcome: "several", matches: [match("1"), match("2")] }), HUB);
  assert.equal(chosen(several), null);
  assert.equal(chosen({ ...several, selected: "2" }).record_id, "2");
  assert.equal(chosen(validPop(pop(), HUB)).record_id, "12");
  assert.equal(chosen(validPop(pop({ outcome: "unavailable", matches: [] }), HUB)), null);
});

test("a later pop for the same call replaces the earlier one; the snapshot brings them back", () => {
  const s = new BarStore(HUB);
  const effects = [];
  s.addEventListener("change", (e) => effects.push(...e.detail.effects));
  s.applySnapshot({ seq: 1, agent: null, calls: [], screenpops: [pop({ call_id: "c-0" }), { junk: 1 }] });
  assert.deepEqual([...s.screenpops.keys()], ["c-0"]);
  s.applyEvent({ type: "event", seq: 2, name: "screenpop", data: pop({ outcome: "unavailable", matches: [],
    error: "lookup by_phone: HTTP 503" }) });
  s.applyEvent({ type: "event", seq: 3, name: "screenpop", data: pop() });
  assert.equal(s.screenpops.get("c-1").outcome, "one");
  assert.deepEqual(effects.filter((f) => f.kind === "screenpop").map((f) => f.pop.outcome),
    ["one", "unavailable", "one"]);
  // A bad pop is ignored and does not move seq.
  assert.equal(s.applyEvent({ type: "event", seq: 4, name: "screenpop", data: { call_id: "c-1" } }), false);
  assert.equal(s.seq, 3);
});

test("a host's dial may name the CRM record it was dialled from", () => {
  assert.deepEqual(validCommand({ target: "ctibridge", type: "dial", number: "0612345678", record_id: "12" }),
    { type: "dial", number: "0612345678", id: undefined, record_id: "12" });
  assert.deepEqual(validCommand({ type: "ctibridge.dial", number: "0612345678", record_id: 12, id: "d" }),
    { type: "dial", number: "0612345678", id: "d", record_id: "12" });
  assert.equal(validCommand({ target: "ctibridge", type: "dial", number: "1", record_id: { $ne: 1 } }), null);
  assert.equal(validCommand({ target: "ctibridge", type: "dial", number: "1", record_id: "a\nb" }), null);
  assert.deepEqual(validCommand({ target: "ctibridge", type: "hello", auto_open: false }),
    { type: "hello", id: undefined, auto_open: false });
  assert.equal(validCommand({ target: "ctibridge", type: "hello", auto_open: "no" }), null);
  assert.equal(validCommand({ source: "ctibridge", type: "ctibridge.screenpop" }), null);
});

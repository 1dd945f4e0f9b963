// The bar's digital work (chat, email, SMS, social): checking interactions, the
// interaction.* reducer, the store's digital part and the per-channel load line.
import assert from "node:assert/strict";
import test from "node:test";

import {
  applyWorkEvent, loadParts, loadText, secondsLeft, senderText, validWork, workFromSnapshot,
} from "../../../src/ctibridge/web/agentbar/digital.js";
import { BarStore } from "../../../src/ctibridge/web/agentbar/store.js";

const BASE = "http://hub.example:8080/agentbar/";
const T = "2026-01-05T09:00:00+00:00";
const chat = (extra = {}) => ({ interaction_id: "i-chat-1", channel: "chat", direction: "inbound",
  customer: { number: null, name: "Camille Martin" }, call_id: null, agent_id: "alice", queue: "support",
  attached: {}, platform: "web", state: "offered", subject: "Ma commande", preview: "Bonjour, où en est…",
  content_url: "/democrm/conversations/42", offer_deadline: "2026-01-05T09:00:20+00:00", messages: 1,
  created_at: T, queued_at: T, offered_at: T, accepted_at: null, ended_at: null, ...extra });
const agent = (extra = {}) => ({ agent_id: "alice", name: "Alice", extension: "1001", platform: "sim",
  state: { status: "busy", since: T, reason: null, deadline: null }, calls: [], ...extra });
const ev = (seq, name, data) => ({ type: "event", seq, name, data });

test("a digital interaction is checked: links must be http(s), markup stays text", () => {
  const hostile = '<img src=x onerror="alert(1)">';
  const w = validWork(chat({ customer: { name: hostile }, subject: "<b>hi</b>", preview: "a\u0000b",
    content_url: "/democrm/conversations/42" }), BASE);
  assert.equal(w.customer.name, hostile); // kept as text: the card sets it with textContent
  assert.equal(w.subject, "<b>hi</b>");
  assert.equal(w.preview, "ab");
  assert.equal(w.content_url, "http://hub.example:8080/democrm/conversations/42");
  assert.equal(validWork(chat({ content_url: "javascript:alert(1)" }), BASE).content_url, null);
  assert.equal(validWork(chat({ channel: "voice" }), BASE), null, "a call is not digital work");
  assert.equal(validWork(chat({ interaction_id: "" }), BASE), null);
  assert.equal(validWork(chat({ channel: "fax" }), BASE), null);
  assert.equal(validWork(chat({ subject: "x".repeat(1000) }), BASE).subject.length, 300);
  // Without a state, it is derived from the timestamps.
  assert.equal(validWork(chat({ state: undefined, accepted_at: T }), BASE).state, "active");
});

test("the sender is the name, else the address, handle or number", () => {
  assert.equal(senderText(validWork(chat(), BASE)), "Camille Martin");
  assert.equal(senderText(validWork(chat({ customer: { address: "c@example.fr" } }), BASE)), "c@example.fr");
  assert.equal(senderText(validWork(chat({ customer: { number: "+33612345678" } }), BASE)), "+33612345678");
  assert.equal(senderText(validWork(chat({ customer: {}, attached: { email: "c@example.fr" } }), BASE)),
    "c@example.fr");
  assert.equal(senderText(validWork(chat({ customer: {} }), BASE)), "");
});

test("offer, accept, a new message, close: one effect each, and the work leaves", () => {
  const work = new Map();
  const fx = (name, data) => applyWorkEvent(work, name, data, "alice", BASE);
  assert.equal(fx("interaction.offered", { interaction: chat() }).kind, "work-offered");
  assert.equal(work.get("i-chat-1").state, "offered");
  assert.equal(fx("interaction.accepted", { interaction: chat({ state: "active", accepted_at: T }) }).kind,
    "work-accepted");
  const upd = fx("interaction.updated", { interaction: chat({ state: "active", accepted_at: T, messages: 2 }) });
  assert.deepEqual([upd.kind, upd.more], ["work-updated", true]);
  assert.equal(work.get("i-chat-1").messages, 2);
  assert.equal(fx("interaction.closed", { interaction: chat({ state: "closed", ended_at: T }) }).kind,
    "work-closed");
  assert.equal(work.size, 0);
  assert.equal(fx("interaction.closed", { interaction: chat({ state: "closed" }) }), null, "closed twice: no news");
});

test("an offer that times out, is abandoned or taken is withdrawn with its reason", () => {
  const work = new Map();
  applyWorkEvent(work, "interaction.offered", { interaction: chat() }, "alice", BASE);
  const gone = applyWorkEvent(work, "interaction.withdrawn",
    { interaction: chat({ state: "queued", agent_id: null }), reason: "timeout" }, "alice", BASE);
  assert.deepEqual([gone.kind, gone.reason, gone.work.interaction_id], ["work-withdrawn", "timeout", "i-chat-1"]);
  assert.equal(work.size, 0);
  // A call rings for the agent: the chat offer it blocks goes back, said as such.
  applyWorkEvent(work, "interaction.offered", { interaction: chat() }, "alice", BASE);
  const busy = applyWorkEvent(work, "interaction.withdrawn",
    { interaction: chat({ state: "queued", agent_id: null }), reason: "busy" }, "alice", BASE);
  assert.deepEqual([busy.kind, busy.reason], ["work-withdrawn", "busy"]);

  applyWorkEvent(work, "interaction.offered", { interaction: chat() }, "alice", BASE);
  const taken = applyWorkEvent(work, "interaction.accepted",
    { interaction: chat({ state: "active", agent_id: "bob" }) }, "alice", BASE);
  assert.deepEqual([taken.kind, taken.reason], ["work-withdrawn", "taken"]);
  // Declined (here or in another tab): the hub puts it back in the queue with an update.
  applyWorkEvent(work, "interaction.offered", { interaction: chat() }, "alice", BASE);
  const declined = applyWorkEvent(work, "interaction.updated",
    { interaction: chat({ state: "queued", agent_id: null }) }, "alice", BASE);
  assert.deepEqual([declined.kind, declined.reason], ["work-withdrawn", "declined"]);
  assert.equal(applyWorkEvent(work, "interaction.offered", { interaction: chat({ agent_id: "bob" }) },
    "alice", BASE), null, "someone else's offer is not mine");
  assert.equal(applyWorkEvent(work, "interaction.withdrawn", { interaction: chat(), reason: "nonsense" },
    "alice", BASE), null);
});

test("the snapshot keeps my offered and active work only", () => {
  const work = workFromSnapshot([chat(), chat({ interaction_id: "i-2", state: "active" }),
    chat({ interaction_id: "i-3", state: "queued" }), chat({ interaction_id: "i-4", agent_id: "bob" }),
    { interaction_id: 5 }], "alice", BASE);
  assert.deepEqual([...work.keys()].sort(), ["i-2", "i-chat-1"]);
});

test("the bar's store shows offers and active work, keeps calls' wrap-up and recent calls apart", () => {
  const s = new BarStore(BASE);
  const effects = [];
  s.addEventListener("change", (e) => effects.push(...e.detail.effects));
  const email = chat({ interaction_id: "i-mail", channel: "email", state: "active", accepted_at: T,
    offer_deadline: null });
  const call = { interaction_id: "i-call", channel: "voice", call_id: "c-1", agent_id: "alice",
    customer: { number: "+33612345678" }, created_at: T, accepted_at: T, ended_at: T, wrapped_at: null };
  s.applySnapshot({ type: "snapshot", seq: 3, agent: agent(), calls: [], interactions: [call, { ...email, ended_at: T }],
    digital: [chat(), email], dispositions: [], reason_codes: [] });
  assert.deepEqual(s.workOffers().map((w) => w.interaction_id), ["i-chat-1"]);
  assert.deepEqual(s.workActive().map((w) => w.interaction_id), ["i-mail"]);
  assert.deepEqual(s.recent().map((i) => i.interaction_id), ["i-call"], "recent calls are calls");
  assert.deepEqual(s.pendingWrapUps().map((i) => i.interaction_id), ["i-call"]);
  assert.ok(effects.some((f) => f.kind === "work-offered" && f.snapshot));

  assert.equal(s.applyEvent(ev(4, "interaction.accepted", { interaction: chat({ state: "active", accepted_at: T }) })), true);
  assert.deepEqual(s.workActive().map((w) => w.interaction_id).sort(), ["i-chat-1", "i-mail"]);
  assert.equal(s.workOffers().length, 0);
  // A call's interaction.updated still feeds the wrap-up, not the digital work.
  s.applyEvent(ev(5, "interaction.updated", { interaction: { ...call, wrapped_at: T, disposition: "sale" } }));
  assert.equal(s.pendingWrapUps().length, 0);
  assert.equal(s.work.has("i-call"), false);
  // A malformed one does not move seq.
  assert.equal(s.applyEvent(ev(6, "interaction.closed", { interaction: { channel: "chat" } })), false);
  assert.equal(s.seq, 5);
  // The hub says it is gone (an error answer): the card leaves with a notice.
  s.dropWork("i-mail", "gone");
  assert.deepEqual(s.workActive().map((w) => w.interaction_id), ["i-chat-1"]);
  assert.deepEqual(effects.filter((f) => f.kind === "work-withdrawn").map((f) => f.reason), ["gone"]);
});

test("the load line reads voice 1/1 · chat 2/3 · email 0/2 and says why a channel is closed", () => {
  const a = agent({ load: { voice: 1, chat: 2 }, capacity: { voice: 1, chat: 3, email: 2, sms: 0, social: 2 },
    availability: { voice: { open: false, why: "at-capacity", free: 0, detail: "1/1" },
      chat: { open: true, why: "available", free: 1, detail: null },
      email: { open: true, why: "available", free: 2, detail: null },
      social: { open: false, why: "blocked", free: 0, detail: "voice" } } });
  const parts = loadParts(a);
  assert.equal(loadText(parts), "voice 1/1 · chat 2/3 · email 0/2 · social 0/2", "sms is not handled: not shown");
  assert.deepEqual(parts.map((p) => [p.channel, p.open, p.why]), [
    ["voice", false, "at-capacity"], ["chat", true, "available"], ["email", true, "available"],
    ["social", false, "blocked"]]);
  assert.equal(loadText(parts, (c) => c.toUpperCase()).split(" · ")[0], "VOICE 1/1");
  // Availability.to_dict() shape: {status, since, channels: {c: {available, why, free, detail}}}.
  const b = agent({ load: { chat: 1 }, capacity: { voice: 1, chat: 3 },
    availability: { status: "busy", since: T, channels: { voice: { available: false, why: "blocked", detail: "chat" } } } });
  assert.deepEqual(loadParts(b).map((p) => [p.channel, p.load, p.open, p.detail]),
    [["voice", 0, false, "chat"], ["chat", 1, null, null]]);
  assert.equal(loadParts(agent()), null, "a hub without omnichannel sends neither");
});

test("the offer countdown counts whole seconds down to zero", () => {
  const deadline = "2026-01-05T09:00:20+00:00";
  assert.equal(secondsLeft(deadline, Date.parse(T)), 20);
  assert.equal(secondsLeft(deadline, Date.parse(T) + 19_100), 1);
  assert.equal(secondsLeft(deadline, Date.parse(T) + 60_000), 0);
  assert.equal(secondsLeft(null, 0), null);
});

test("every channel, closed-channel reason, withdrawal and digital error has a text in EN and FR", async () => {
  const { default: en } = await import("../../../src/ctibridge/web/agentbar/i18n/en.js");
  const { default: fr } = await import("../../../src/ctibridge/web/agentbar/i18n/fr.js");
  const keys = [
    ...["voice", "chat", "email", "sms", "social"].map((c) => `channel.${c}`),
    ...["logged-out", "not-ready", "wrap-up", "not-enabled", "at-capacity", "blocked", "closed"]
      .map((w) => `load.why.${w}`),
    ...["timeout", "abandoned", "taken", "declined", "gone", "busy"].map((r) => `work.withdrawn.${r}`),
    ...["no-such-interaction", "not-offered-to-you", "offer-expired", "already-closed", "not-yours"]
      .map((c) => `error.work.${c}`),
  ];
  for (const k of keys) assert.ok(en[k] && fr[k], k);
});

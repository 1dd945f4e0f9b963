// Digital work (chat, email, SMS, social) as the bar knows it: checked
// interactions, the reducer that applies the interaction.* events, and the
// per-channel load line. No DOM, no I/O (tests/e2e/js/digital.test.mjs).
//
// Whatever a customer wrote (sender name, subject, preview) is kept as a plain,
// length-limited string: the card puts it in with textContent, never as HTML.

import { safeUrl } from "./screenpop.js";

export const CHANNELS = ["voice", "chat", "email", "sms", "social"];
export const WORK_EVENTS = new Set(["interaction.offered", "interaction.accepted", "interaction.updated",
  "interaction.withdrawn", "interaction.closed"]);
export const WITHDRAW_REASONS = new Set(["timeout", "abandoned", "taken", "busy"]);
const STATES = new Set(["queued", "offered", "active", "closed"]);
// Text symbols every system font has (no colour-emoji font needed); the channel's
// name is always written beside them.
const ICONS = { voice: "\u260e\ufe0e", chat: "\u275d", email: "\u2709\ufe0e", sms: "\u2706", social: "@" };

const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const id = (v) => (typeof v === "string" && v.length > 0 && v.length <= 200 ? v : null);
/** A display string: control characters out, at most `max` characters. */
export function clean(v, max = 200) {
  if (typeof v !== "string") return "";
  // eslint-disable-next-line no-control-regex
  const s = v.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "").trim();
  return s.length > max ? s.slice(0, max - 1) + "…" : s;
}
const iso = (v) => (typeof v === "string" && !Number.isNaN(Date.parse(v)) ? v : null);

/** Whether an interaction dict is digital work (anything but a call). */
export function isDigital(i) {
  return isObj(i) && typeof i.channel === "string" && i.channel !== "voice" && !i.call_id;
}

/**
 * A digital interaction as the protocol describes it, normalized, or null when it is
 * not one. `content_url` is kept only when it is http(s) (resolved against `base`).
 */
export function validWork(i, base) {
  if (!isDigital(i) || !id(i.interaction_id) || !CHANNELS.includes(i.channel)) return null;
  const customer = isObj(i.customer) ? i.customer : {};
  const attached = isObj(i.attached) ? Object.fromEntries(Object.entries(i.attached).slice(0, 50)
    .filter(([, v]) => typeof v === "string").map(([k, v]) => [clean(k, 60), clean(v, 200)])) : {};
  const state = STATES.has(i.state) ? i.state
    : i.ended_at ? "closed" : i.accepted_at ? "active" : i.offered_at ? "offered" : "queued";
  return {
    interaction_id: i.interaction_id, channel: i.channel, state,
    platform: clean(i.platform, 40) || null, agent_id: id(i.agent_id), queue: clean(i.queue, 60) || null,
    customer: { name: clean(customer.name), number: clean(customer.number, 64),
      address: clean(customer.address), handle: clean(customer.handle) },
    subject: clean(i.subject ?? attached.subject, 300), preview: clean(i.preview, 500),
    content_url: safeUrl(i.content_url, base),
    offer_deadline: iso(i.offer_deadline), messages: Number.isInteger(i.messages) && i.messages >= 0 ? i.messages : 0,
    created_at: iso(i.created_at), offered_at: iso(i.offered_at), accepted_at: iso(i.accepted_at),
    ended_at: iso(i.ended_at), disposition: id(i.disposition), attached,
  };
}

/** Who wrote: the name, else the address, handle or number; "" when nothing is known. */
export function senderText(work) {
  const c = work?.customer ?? {};
  const at = work?.attached ?? {};
  return c.name || c.address || c.handle || c.number || at.email || at.address || at.handle || "";
}

export function channelIcon(channel) {
  return ICONS[channel] ?? "•";
}

/** Seconds left before `deadline` (ISO) at `now` (ms), never negative; null without one. */
export function secondsLeft(deadline, now) {
  const at = Date.parse(deadline ?? "");
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

/**
 * Apply one interaction.* event to `work` (interaction_id -> work), for agent `me`.
 * Returns the effect for the bar ({kind, work, reason?}) or null when nothing changed.
 * Only offered or active work of mine is kept: anything else leaves the map.
 */
export function applyWorkEvent(work, name, data, me, base) {
  const it = validWork(data?.interaction, base);
  if (!it) return null;
  const key = it.interaction_id;
  const had = work.get(key) ?? null;
  const mine = !me || !it.agent_id || it.agent_id === me;
  if (name === "interaction.withdrawn" || name === "interaction.closed"
    || it.state === "closed" || it.state === "queued" || !mine) {
    if (!had) return null;
    work.delete(key);
    if (name === "interaction.closed" || it.state === "closed") return { kind: "work-closed", work: it };
    // Back in the queue without a withdrawal: the agent declined it (from this tab or another).
    const reason = WITHDRAW_REASONS.has(data.reason) ? data.reason
      : !mine ? "taken" : name === "interaction.withdrawn" ? "timeout" : "declined";
    return { kind: "work-withdrawn", work: had, reason };
  }
  if (name === "interaction.offered" && it.state !== "offered") it.state = "offered";
  if (name === "interaction.accepted") it.state = "active";
  work.set(key, it);
  if (it.state === "offered" && had?.state !== "offered") return { kind: "work-offered", work: it };
  if (it.state === "active" && had?.state !== "active") return { kind: "work-accepted", work: it };
  return { kind: "work-updated", work: it, more: it.messages > (had?.messages ?? 0) };
}

/** The snapshot's `digital` list as a map (offered or active work of mine only). */
export function workFromSnapshot(list, me, base) {
  const work = new Map();
  for (const raw of Array.isArray(list) ? list : []) {
    const it = validWork(raw, base);
    if (!it) { console.warn("ctibridge: snapshot digital interaction ignored", raw); continue; }
    if ((it.state === "offered" || it.state === "active") && (!me || !it.agent_id || it.agent_id === me)) {
      work.set(it.interaction_id, it);
    }
  }
  return work;
}

/** Offers first-to-expire first; active work oldest first. */
export function offers(work) {
  return [...work.values()].filter((w) => w.state === "offered")
    .sort((a, b) => String(a.offer_deadline ?? "~").localeCompare(String(b.offer_deadline ?? "~")));
}

export function active(work) {
  return [...work.values()].filter((w) => w.state === "active")
    .sort((a, b) => String(a.accepted_at ?? a.created_at).localeCompare(String(b.accepted_at ?? b.created_at)));
}

/**
 * Per channel: load, capacity and whether it is open (and why not), from the agent dict's
 * `load`, `capacity` and `availability` (either {channel: …} or Availability.to_dict()'s
 * {channels: {…}}). Null when the hub sends neither load nor capacity.
 */
export function loadParts(agent) {
  const load = isObj(agent?.load) ? agent.load : null;
  const cap = isObj(agent?.capacity) ? agent.capacity : null;
  if (!load && !cap) return null;
  const avail = isObj(agent.availability) ? (isObj(agent.availability.channels)
    ? agent.availability.channels : agent.availability) : {};
  const channels = [...new Set([...Object.keys(cap ?? {}), ...Object.keys(load ?? {})])]
    .filter((c) => CHANNELS.includes(c))
    .sort((a, b) => CHANNELS.indexOf(a) - CHANNELS.indexOf(b));
  return channels.map((c) => {
    const a = isObj(avail[c]) ? avail[c] : null;
    const open = a ? (typeof a.open === "boolean" ? a.open : a.available !== false) : null;
    return { channel: c, load: Math.max(0, Number(load?.[c] ?? 0) || 0),
      capacity: cap && Number.isFinite(Number(cap[c])) ? Number(cap[c]) : null,
      open, why: a && typeof a.why === "string" ? a.why : null,
      detail: a && (typeof a.detail === "string" || typeof a.detail === "number") ? String(a.detail) : null };
  }).filter((p) => p.capacity !== 0 || p.load > 0); // a channel not handled here is not shown
}

/** "voice 1/1 · chat 2/3 · email 0/2", with `label(channel)` naming each channel. */
export function loadText(parts, label = (c) => c) {
  if (!parts) return "";
  return parts.map((p) => `${label(p.channel)} ${p.load}${p.capacity === null ? "" : `/${p.capacity}`}`).join(" · ");
}

// What a call card says about a call beyond its state (no DOM here): who is in a
// conference, the names of call data keys and values, and the colleagues a call can
// go to with their presence.

const ENDED = new Set(["ended", "failed"]);
// Presence as the transfer list shows it, best first; logged-out colleagues never come.
export const PRESENCE_ORDER = ["ready", "wrap_up", "not_ready", "busy"];

const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

/** A label {en, fr, …} in `lang` (English when missing), or null. */
export function labelIn(label, lang) {
  if (!isObj(label)) return null;
  const text = label[lang] ?? label.en;
  return typeof text === "string" && text ? text : null;
}

/**
 * One call data entry for people: the configured name of the key and of the value
 * (a code such as `cancellation`), else the raw text.
 */
export function dataEntry(labels, key, value, lang) {
  const raw = typeof value === "string" ? value : JSON.stringify(value);
  const k = labelIn(labels?.keys?.[key], lang) ?? String(key);
  const v = (typeof value === "string" && labelIn(labels?.values?.[key]?.[value], lang)) || raw;
  return { key: k, value: v, raw: { key: String(key), value: raw } };
}

/**
 * The others on a call, as I hear them: the customer (on a customer call) and every
 * other live connection (agents by name). `me` is my agent id.
 */
export function participants(call, me) {
  const out = [];
  const conns = Array.isArray(call?.connections) ? call.connections : [];
  const live = conns.filter((c) => isObj(c) && !ENDED.has(c.state) && !String(c.device ?? "").startsWith("queue:"));
  const customer = isObj(call?.customer) ? call.customer : {};
  const customerCall = call?.direction !== "internal" && !call?.consult_of;
  // The customer's own leg, when the platform reports one (else they are implied): the
  // one on their number, else the first leg without an agent. Other such legs are
  // outside parties brought in (a consulted outside number, conferenced).
  const outside = live.filter((c) => !c.agent_id);
  const customerLeg = customerCall
    ? outside.find((c) => customer.number && c.device === customer.number) ?? outside[0] ?? null : null;
  if (customerCall) out.push({ kind: "customer", name: customer.name ?? null, number: customer.number ?? null });
  for (const c of live) {
    if (c.agent_id === me || c === customerLeg) continue;
    if (c.agent_id) out.push({ kind: "agent", agent_id: c.agent_id, name: c.name ?? c.agent_id, number: c.device ?? null });
    else out.push({ kind: "external", name: c.name ?? null, number: c.device ?? null });
  }
  return out;
}

/** A conference: I hear two or more others at once (a consultation is not one). */
export function isConference(call, me) {
  if (!call || call.consult_of) return false;
  return participants(call, me).length >= 2;
}

/**
 * Colleagues a call on `platform` can go to: those the hub listed (never logged out,
 * never me) who have a phone there, with that device; ready first, then by name.
 */
export function transferTargets(presence, me, platform) {
  const rank = (s) => { const i = PRESENCE_ORDER.indexOf(s); return i < 0 ? PRESENCE_ORDER.length : i; };
  return (Array.isArray(presence) ? presence : [])
    .filter((d) => isObj(d) && d.agent_id !== me && d.status !== "logged_out")
    .map((d) => ({ ...d, device: !platform || d.platform === platform ? d.extension
      : isObj(d.devices) ? d.devices[platform] : undefined }))
    .filter((d) => d.device !== undefined && d.device !== null)
    .sort((a, b) => rank(a.status) - rank(b.status)
      || String(a.name ?? a.agent_id).localeCompare(String(b.name ?? b.agent_id)));
}

// The supervisor's view of the hub, kept from the snapshot and the events of the
// supervisors' stream (docs/protocol/agent-websocket.md). No DOM here.
//
// Emits "change" {effects: [{kind: "agent"|"queue"|"snapshot", …}]} after each frame.

import { validCall } from "../agentbar/store.js";

const CHANNEL_ORDER = ["voice", "chat", "email", "sms", "social"];
const LIVE_CALL_STATES = ["connected", "held", "alerting", "initiated", "queued"];

function isObj(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

const isStr = (v) => typeof v === "string" && v.length > 0 && v.length <= 200;

/** A calls.live payload as the protocol describes it (parts: a large one cut in several). */
function validLive(d) {
  if (!isStr(d.platform) || !Array.isArray(d.calls) || !d.calls.every(validCall)) return false;
  if (d.part === undefined && d.parts === undefined) return true;
  return Number.isInteger(d.part) && Number.isInteger(d.parts) && d.part >= 1 && d.part <= d.parts;
}

function warn(what, frame) {
  console.warn(`ctibridge: ignored ${what}`, frame);
}

export class Board extends EventTarget {
  constructor() {
    super();
    this.reset();
  }

  reset() {
    this.loaded = false;
    this.seq = 0;
    this.user = null;
    this.agents = new Map();        // agent_id -> Agent.to_dict()
    this.calls = new Map();         // call_id -> Call.to_dict() (live)
    this.interactions = new Map();  // interaction_id -> Interaction.to_dict() (live digital)
    this.queues = [];               // queue.stats rows
    this.reasonCodes = [];
    this.supervision = {};          // platform -> {modes, device}: where I can listen in
    this.monitors = new Map();      // call_id -> [{device, by, mode}] (listeners too)
    this.liveParts = new Map();     // platform -> {part, ids}: a calls.live in parts so far
  }

  applyHello(frame) {
    if (isObj(frame.user)) this.user = frame.user;
  }

  applySnapshot(frame) {
    const user = this.user;
    this.reset();
    this.user = user;
    this.seq = Number.isInteger(frame.seq) ? frame.seq : 0;
    for (const a of Array.isArray(frame.agents) ? frame.agents : []) if (isObj(a) && a.agent_id) this.agents.set(a.agent_id, a);
    for (const c of Array.isArray(frame.calls) ? frame.calls : []) if (isObj(c) && c.call_id) this.calls.set(c.call_id, c);
    for (const c of this.calls.values()) if (Array.isArray(c.monitors) && c.monitors.length) this.monitors.set(c.call_id, c.monitors);
    this.supervision = isObj(frame.supervision) ? frame.supervision : {};
    for (const i of Array.isArray(frame.interactions) ? frame.interactions : []) this._interaction(i);
    this.queues = Array.isArray(frame.queues) ? frame.queues.filter(isObj) : [];
    this.reasonCodes = Array.isArray(frame.reason_codes) ? frame.reason_codes.filter(isObj) : [];
    this.loaded = true;
    this._emit([{ kind: "snapshot" }]);
  }

  applyEvent(frame) {
    // A resume may replay what the snapshot already holds.
    if (Number.isInteger(frame.seq) && frame.seq <= this.seq) return;
    const data = isObj(frame.data) ? frame.data : {};
    const name = String(frame.name ?? "");
    // Checked before anything moves (a bad list must not drop every call of a platform).
    if (name === "calls.live" && !validLive(data)) return warn("calls.live without a platform and valid calls", frame);
    if (Number.isInteger(frame.seq)) this.seq = frame.seq;
    const effects = [];
    if (name === "agent.state" && isObj(data.agent) && data.agent.agent_id) {
      const before = this.agents.get(data.agent.agent_id);
      this.agents.set(data.agent.agent_id, { ...before, ...data.agent });
      const was = before?.state;
      const now = data.agent.state;
      if (!was || was.status !== now?.status || was.reason !== now?.reason) effects.push({ kind: "agent", agent: data.agent });
    } else if (name === "queue.stats" && Array.isArray(data.queues)) {
      const before = new Map(this.queues.map((q) => [q.queue, q.waiting]));
      this.queues = data.queues.filter(isObj);
      for (const q of this.queues) if (before.get(q.queue) !== q.waiting) effects.push({ kind: "queue", queue: q });
    } else if (name.startsWith("call.") && isObj(data.call) && data.call.call_id) {
      const call = data.call;
      if (name === "call.ended" || call.ended_at) this.calls.delete(call.call_id);
      else this.calls.set(call.call_id, call);
      // Only call.monitored lists silent listeners; other call events keep what it said.
      if (name === "call.monitored" && Array.isArray(data.monitors)) {
        this.monitors.set(call.call_id, data.monitors.filter(isObj));
        effects.push({ kind: "monitor", call_id: call.call_id, mode: data.mode ?? null, by: data.by ?? null });
      }
      if (!this.calls.has(call.call_id)) this.monitors.delete(call.call_id);
      this._syncAgentCalls(call);
    } else if (name === "calls.live") {
      this._live(data);
    } else if (name.startsWith("interaction.") && isObj(data.interaction)) {
      if (name === "interaction.closed") this.interactions.delete(data.interaction.interaction_id);
      else this._interaction(data.interaction);
    } else if (name === "platform.status") {
      // Nothing on the board yet: the agents' states say enough.
    }
    this._emit(effects);
  }

  /**
   * What the hub has live on a platform after its resync (a new core after a takeover):
   * the calls listed are as it says; once the whole list is in (the last of its parts),
   * a call of that platform it does not name is a ghost, dropped.
   */
  _live(data) {
    const part = data.part ?? 1;
    const parts = data.parts ?? 1;
    const before = this.liveParts.get(data.platform);
    // A part out of order (one missed): its calls are taken, nothing is dropped.
    const ids = part === 1 ? new Set() : before?.part === part - 1 ? before.ids : null;
    this.liveParts.delete(data.platform);
    for (const c of data.calls) {
      if (c.ended_at) continue;
      ids?.add(c.call_id);
      this.calls.set(c.call_id, c);
      // The supervisors' view of a call lists its listeners too.
      if (Array.isArray(c.monitors) && c.monitors.length) this.monitors.set(c.call_id, c.monitors.filter(isObj));
      else this.monitors.delete(c.call_id);
      this._syncAgentCalls(c);
    }
    if (!ids) return;
    if (part < parts) {
      this.liveParts.set(data.platform, { part, ids });
      return;
    }
    for (const [id, c] of this.calls) {
      if ((c.platform ?? data.platform) !== data.platform || ids.has(id)) continue;
      this.calls.delete(id);
      this.monitors.delete(id);
      this._syncAgentCalls({ ...c, ended_at: c.ended_at ?? "gone-after-resync" });
    }
  }

  _interaction(it) {
    if (!isObj(it) || !it.interaction_id) return;
    if (!it.channel || it.channel === "voice") return; // calls are shown from the calls themselves
    if (it.ended_at || it.wrapped_at) this.interactions.delete(it.interaction_id);
    else this.interactions.set(it.interaction_id, it);
  }

  /** Keep agent.calls right between agent.state events (the call events say who is on it). */
  _syncAgentCalls(call) {
    for (const conn of Array.isArray(call.connections) ? call.connections : []) {
      const a = conn.agent_id && this.agents.get(conn.agent_id);
      if (!a) continue;
      const calls = new Set(Array.isArray(a.calls) ? a.calls : []);
      if (call.ended_at || !LIVE_CALL_STATES.includes(conn.state)) calls.delete(call.call_id);
      else calls.add(call.call_id);
      this.agents.set(a.agent_id, { ...a, calls: [...calls].sort() });
    }
  }

  _emit(effects) {
    this.dispatchEvent(new CustomEvent("change", { detail: { effects } }));
  }

  // ------------------------------------------------------------ views

  agentList() {
    return [...this.agents.values()].sort((a, b) => String(a.name).localeCompare(String(b.name)));
  }

  agentName(agentId) {
    return this.agents.get(agentId)?.name ?? agentId ?? "";
  }

  callsOf(agentId) {
    return [...this.calls.values()].filter((c) => (c.connections ?? []).some(
      (x) => x.agent_id === agentId && LIVE_CALL_STATES.includes(x.state)));
  }

  monitorsOf(callId) {
    return this.monitors.get(callId) ?? [];
  }

  interactionsOf(agentId) {
    return [...this.interactions.values()].filter((i) => i.agent_id === agentId);
  }

  /**
   * Every live customer interaction as one row: voice calls (not internal, not
   * consultations) and digital interactions, oldest first.
   */
  live() {
    const rows = [];
    for (const c of this.calls.values()) {
      if (c.direction === "internal" || c.consult_of) continue;
      const conns = c.connections ?? [];
      const agents = conns.filter((x) => x.agent_id && LIVE_CALL_STATES.includes(x.state));
      const state = LIVE_CALL_STATES.find((s) => conns.some((x) => x.state === s)) ?? "queued";
      rows.push({ id: c.call_id, channel: "voice", customer: c.customer ?? {}, queue: c.queue ?? null,
        agents: agents.map((x) => x.agent_id), state: `call.${state}`, since: c.created_at, subject: null });
    }
    for (const i of this.interactions.values()) {
      const state = i.accepted_at ? "accepted" : i.offered_at ? "offered" : "queued";
      rows.push({ id: i.interaction_id, channel: i.channel, customer: i.customer ?? {}, queue: i.queue ?? null,
        agents: i.agent_id ? [i.agent_id] : [], state: `work.${state}`,
        since: i.queued_at ?? i.created_at, subject: i.attached?.subject ?? null });
    }
    return rows.sort((a, b) => String(a.since).localeCompare(String(b.since)));
  }
}

/**
 * Per-channel load, "voice 1/1 · chat 2/3", from the agent's load and capacity
 * (sent by the omnichannel router); null when the hub sends neither.
 */
export function loadParts(agent) {
  const load = isObj(agent?.load) ? agent.load : null;
  const cap = isObj(agent?.capacity) ? agent.capacity : null;
  if (!load && !cap) return null;
  const channels = [...new Set([...Object.keys(cap ?? {}), ...Object.keys(load ?? {})])]
    .sort((a, b) => rank(a) - rank(b));
  return channels.map((c) => ({ channel: c, load: Number(load?.[c] ?? 0),
    capacity: cap && c in cap ? Number(cap[c]) : null,
    available: isObj(agent.availability) ? agent.availability[c] ?? null : null }));
}

function rank(channel) {
  const i = CHANNEL_ORDER.indexOf(channel);
  return i < 0 ? CHANNEL_ORDER.length : i;
}

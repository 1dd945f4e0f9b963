// What the bar knows, built from the hub's snapshot and events (no DOM, no I/O).
//
// The snapshot is authoritative: it replaces every call, so a bar that was away
// never shows a call that no longer exists. Events carry whole objects (a call,
// an agent, an interaction), so applying one is a replacement, never a patch.
// Each change dispatches a "change" event whose detail lists the effects the
// rest of the bar reacts to: a call starts ringing, is answered, leaves, the
// agent's state changes, a screen pop arrives.

import { WORK_EVENTS, active, applyWorkEvent, isDigital, offers, workFromSnapshot } from "./digital.js";
import { validPop } from "./screenpop.js";

const LIVE = new Set(["initiated", "queued", "alerting", "connected", "held"]);
const CALL_EVENTS = new Set([
  "call.queued", "call.initiated", "call.offered", "call.answered", "call.held",
  "call.retrieved", "call.transferred", "call.conferenced", "call.updated", "call.ended",
  "call.failed", "call.dtmf",
]);
const RECENT_MAX = 20;
const POPS_MAX = 50;

export const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const isStr = (v) => typeof v === "string" && v.length > 0 && v.length <= 200;

/** A call as the protocol describes it, or null (with a warning) if it is not one. */
export function validCall(c) {
  if (!isObj(c) || !isStr(c.call_id) || !Array.isArray(c.connections)) return null;
  if (!c.connections.every((x) => isObj(x) && typeof x.state === "string")) return null;
  if (c.customer !== undefined && c.customer !== null && !isObj(c.customer)) return null;
  if (c.attached !== undefined && c.attached !== null && !isObj(c.attached)) return null;
  return c;
}

/** A call-log row waiting for the agent's pick: its choices are CRM records. */
export function validWaiting(w) {
  return isObj(w) && isStr(w.interaction_id) && Array.isArray(w.choices)
    && w.choices.every((c) => isObj(c) && isStr(String(c.record_id ?? "")));
}

export function validInteraction(i) {
  return isObj(i) && isStr(i.interaction_id) ? i : null;
}

export function validAgent(a) {
  return isObj(a) && isStr(a.agent_id) && isObj(a.state) && typeof a.state.status === "string"
    ? a : null;
}

const list = (v) => (Array.isArray(v) ? v : []);
const coded = (v) => list(v).filter((x) => isObj(x) && isStr(x.code));

export class BarStore extends EventTarget {
  /** @param {string} base  where relative CRM URLs are resolved (the hub) */
  constructor(base = globalThis.location?.href ?? "http://localhost/") {
    super();
    this.base = base;
    this.reset();
  }

  reset() {
    this.user = null;           // from hello
    this.agent = null;          // <agent>, or null for a user who is not an agent
    this.calls = new Map();     // call_id -> <call>, only calls where I have a live leg
    this.interactions = [];     // newest first, those awaiting wrap-up first
    this.capabilities = {};
    this.platformCapabilities = {};
    this.reasonCodes = [];
    this.dispositions = [];
    this.directory = [];
    this.presence = null;       // colleagues with their presence (directory.get), null until asked
    this.callDataLabels = { keys: {}, values: {} };
    this.wrapUpSeconds = 0;
    this.platforms = {};
    this.seq = 0;
    this.loaded = false;        // a snapshot has been applied
    this.muted = new Set();     // call ids muted from this bar (the protocol carries no mute state)
    this.dtmf = new Map();      // call_id -> digits seen on the call
    this.screenpops = new Map(); // call_id -> the latest screen pop (screenpop.js validPop)
    this.work = new Map();      // interaction_id -> my offered/active digital work (digital.js validWork)
    this.logWaiting = new Map(); // interaction_id -> a finished call whose CRM log waits for my pick
    this._seen = new Map();     // call_id -> my connection state, to derive effects
    this._answered = new Set(); // call ids already reported as answered
  }

  get agentId() {
    return this.agent?.agent_id ?? this.user?.agent_id ?? null;
  }

  // ------------------------------------------------------------ reading

  /** My connection on a call: the live one if any, else the last one. */
  myConnection(call) {
    const me = this.agentId;
    if (!call || !me) return null;
    const mine = call.connections.filter((c) => c.agent_id === me);
    return mine.find((c) => LIVE.has(c.state)) ?? mine[mine.length - 1] ?? null;
  }

  myState(call) {
    return this.myConnection(call)?.state ?? null;
  }

  /** Calls in the order the bar shows them (oldest first). */
  liveCalls() {
    return [...this.calls.values()].sort((a, b) => String(a.created_at).localeCompare(String(b.created_at)));
  }

  ringing() {
    return this.liveCalls().filter((c) => this.myState(c) === "alerting");
  }

  /** The call the agent is talking on (connected), else dialling (initiated). */
  activeCall() {
    const calls = this.liveCalls();
    return calls.filter((c) => this.myState(c) === "connected").pop()
      ?? calls.find((c) => this.myState(c) === "initiated") ?? null;
  }

  heldCalls() {
    return this.liveCalls().filter((c) => this.myState(c) === "held");
  }

  /** The live consultation made from `callId`, if any. */
  consultOf(callId) {
    return this.liveCalls().find((c) => c.consult_of === callId) ?? null;
  }

  /** Interactions ended and answered, not yet wrapped: the wrap-up form's work (calls only). */
  pendingWrapUps() {
    return this.interactions.filter((i) => !isDigital(i) && i.ended_at && i.accepted_at && !i.wrapped_at
      && (!this.agentId || i.agent_id === this.agentId));
  }

  recent() {
    return this.interactions.filter((i) => !isDigital(i) && i.ended_at);
  }

  /** Digital work offered to me (first to expire first), and the work I carry. */
  workOffers() {
    return offers(this.work);
  }

  workActive() {
    return active(this.work);
  }

  /** Whether the phone can do `op`; on `platform` (a call's) when the agent is on several. */
  can(op, platform) {
    // Without a call, the phone is the agent's voice platform (their station's).
    platform = platform ?? this.agent?.platform;
    const caps = (platform && isObj(this.platformCapabilities[platform]))
      ? this.platformCapabilities[platform] : this.capabilities;
    // Unknown ops count as possible: the hub answers a clear error if not.
    return caps[op] !== false;
  }

  // ------------------------------------------------------------ writing

  applyHello(frame) {
    if (!isObj(frame.user)) return warn("hello without a user", frame);
    this.user = frame.user;
    return true;
  }

  applySnapshot(snap) {
    if (!Number.isInteger(snap.seq) || snap.seq < 0) return warn("snapshot without a seq", snap);
    if (snap.agent !== null && snap.agent !== undefined && !validAgent(snap.agent)) {
      return warn("snapshot with a malformed agent", snap);
    }
    const hadAgent = this.agent;
    this.agent = snap.agent ?? null;
    this.seq = snap.seq;
    this.capabilities = isObj(snap.capabilities) ? snap.capabilities : {};
    this.platformCapabilities = isObj(snap.platform_capabilities) ? snap.platform_capabilities : {};
    this.reasonCodes = coded(snap.reason_codes);
    this.dispositions = coded(snap.dispositions);
    this.callDataLabels = dataLabels(snap.call_data_labels);
    // Not in the snapshot any more (its size grew with the center): the bar asks
    // for it with directory.get and keeps it with setDirectory/applyPresence.
    if (snap.directory !== undefined) this.setDirectory(snap.directory, false);
    this.wrapUpSeconds = Number(snap.wrap_up_seconds) || 0;
    this.platforms = isObj(snap.platforms) ? snap.platforms : {};
    this.interactions = list(snap.interactions).filter(validInteraction).slice(0, RECENT_MAX);
    this.calls = new Map();
    for (const c of list(snap.calls)) {
      if (!validCall(c)) { warn("snapshot call ignored", c); continue; }
      if (LIVE.has(this.myState(c) ?? "") && !c.ended_at) this.calls.set(c.call_id, c);
    }
    for (const id of this.muted) if (!this.calls.has(id)) this.muted.delete(id);
    const pops = new Map();
    for (const p of list(snap.screenpops)) {
      const pop = validPop(p, this.base);
      if (pop) pops.set(pop.call_id, pop); else warn("snapshot screen pop ignored", p);
    }
    this.screenpops = pops;
    this.logWaiting = new Map(list(snap.calllog_waiting).filter(validWaiting).map((w) => [w.interaction_id, w]));
    const hadWork = this.work;
    this.work = workFromSnapshot(snap.digital, this.agent?.agent_id ?? this.user?.agent_id ?? null, this.base);
    this.loaded = true;
    const effects = this._diff();
    if (this.agent && !sameState(hadAgent, this.agent)) effects.push({ kind: "agent", agent: this.agent });
    for (const pop of this.screenpops.values()) effects.push({ kind: "screenpop", pop, snapshot: true });
    for (const w of this.work.values()) {
      if (w.state === "offered" && hadWork.get(w.interaction_id)?.state !== "offered") {
        effects.push({ kind: "work-offered", work: w, snapshot: true });
      }
    }
    this._emit(effects, "snapshot");
    return true;
  }

  /** Apply one event frame; false when it is malformed or already applied. */
  applyEvent(frame) {
    if (!Number.isInteger(frame.seq) || typeof frame.name !== "string" || !isObj(frame.data)) {
      return warn("malformed event", frame);
    }
    if (this.loaded && frame.seq <= this.seq) return false; // replayed: the snapshot has it
    const { name, data } = frame;
    // Check the payload before touching anything (a bad frame must not move `seq`).
    let call = null, agent = null, it = null, pop = null;
    if (CALL_EVENTS.has(name)) {
      call = validCall(data.call);
      if (!call) return warn(`${name} without a valid call`, frame);
    } else if (name === "agent.state") {
      agent = validAgent(data.agent);
      if (!agent) return warn("agent.state without a valid agent", frame);
      if (this.agentId && agent.agent_id !== this.agentId) return warn("agent.state for someone else", frame);
    } else if (WORK_EVENTS.has(name) && isDigital(data.interaction)) {
      if (!validInteraction(data.interaction)) return warn(`${name} without a valid interaction`, frame);
    } else if (name === "interaction.updated") {
      it = validInteraction(data.interaction);
      if (!it) return warn("interaction.updated without a valid interaction", frame);
    } else if (name === "screenpop") {
      pop = validPop(data, this.base);
      if (!pop) return warn("screenpop without a valid call_id and outcome", frame);
    } else if (name === "calls.live") {
      if (!isStr(data.platform) || !Array.isArray(data.calls) || !data.calls.every(validCall)) {
        return warn("calls.live without a platform and valid calls", frame);
      }
    } else if (name === "platform.status" && !isStr(data.platform)) {
      return warn("platform.status without a platform", frame);
    } else if ((name === "calllog.waiting" && !validWaiting(data))
      || (name === "calllog.settled" && !isStr(data.interaction_id))) {
      return warn(`${name} without a valid interaction`, frame);
    }
    if (this.loaded && frame.seq > this.seq + 1) {
      console.warn("ctibridge: events %d..%d were missed; applying the newer one", this.seq + 1, frame.seq - 1);
    }
    this.seq = frame.seq;
    const effects = [];
    const causes = new Map();
    if (call) {
      const mine = this.myState(call);
      const gone = call.ended_at || name === "call.ended" || !LIVE.has(mine ?? "");
      if (gone) {
        if (this.calls.has(call.call_id)) {
          causes.set(call.call_id, typeof data.cause === "string" ? data.cause : (call.end_cause ?? null));
        }
        this.calls.delete(call.call_id);
        this.muted.delete(call.call_id);
        this.dtmf.delete(call.call_id);
      } else {
        this.calls.set(call.call_id, call);
      }
      if (name === "call.dtmf" && typeof data.digits === "string") {
        this.dtmf.set(call.call_id, ((this.dtmf.get(call.call_id) ?? "") + data.digits).slice(-32));
      }
    } else if (agent) {
      this.agent = agent;
      effects.push({ kind: "agent", agent });
    } else if (WORK_EVENTS.has(name) && isDigital(data.interaction)) {
      const fx = applyWorkEvent(this.work, name, data, this.agentId, this.base);
      if (fx) effects.push(fx);
    } else if (it) {
      this._upsertInteraction(it);
      effects.push({ kind: "interaction", interaction: it });
    } else if (name === "calls.live") {
      // What the hub has live on this platform after its resync (a new core after a
      // takeover): a call of that platform it does not list is a ghost, dropped.
      const live = new Map(data.calls.map((c) => [c.call_id, c]));
      for (const [id, c] of this.calls) {
        if ((c.platform ?? data.platform) === data.platform && !live.has(id)) {
          causes.set(id, "gone-after-resync");
          this.calls.delete(id);
          this.muted.delete(id);
          this.dtmf.delete(id);
        }
      }
      for (const c of live.values()) {
        if (LIVE.has(this.myState(c) ?? "") && !c.ended_at) this.calls.set(c.call_id, c);
      }
    } else if (name === "platform.status") {
      this.platforms = { ...this.platforms, [data.platform]: {
        ...this.platforms[data.platform], up: !!data.up, detail: String(data.detail ?? "") } };
      effects.push({ kind: "platform", platform: data.platform, up: !!data.up });
    } else if (pop) {
      // A later pop for the same call replaces the earlier one ("unavailable", then "one").
      this.screenpops.delete(pop.call_id);
      this.screenpops.set(pop.call_id, pop);
      while (this.screenpops.size > POPS_MAX) this.screenpops.delete(this.screenpops.keys().next().value);
      effects.push({ kind: "screenpop", pop });
    } else if (name === "calllog.waiting") {
      this.logWaiting.set(data.interaction_id, data);
      effects.push({ kind: "calllog", interactionId: data.interaction_id, waiting: true });
    } else if (name === "calllog.settled") {
      this.logWaiting.delete(data.interaction_id);
      effects.push({ kind: "calllog", interactionId: data.interaction_id, waiting: false });
    } else {
      console.info("ctibridge: event %s not handled by this bar", name);
    }
    effects.unshift(...this._diff(causes));
    this._emit(effects, name);
    return true;
  }

  /** Forget a call the hub says does not exist (e.g. an error no-such-call). */
  dropCall(callId) {
    if (!this.calls.delete(callId)) return;
    this.muted.delete(callId);
    this._emit(this._diff(new Map([[callId, "gone"]])), "drop");
  }

  /** Forget digital work the hub says is gone (no-such-interaction, offer-expired, already-closed). */
  dropWork(interactionId, reason = "gone") {
    const had = this.work.get(interactionId);
    if (!had || !this.work.delete(interactionId)) return;
    this._emit([{ kind: "work-withdrawn", work: had, reason }], "drop");
  }

  /** The colleagues the hub listed with their presence (directory.get). */
  setPresence(agents) {
    this.presence = list(agents).filter((d) => isObj(d) && isStr(d.agent_id) && isStr(d.status));
    this._emit([], "presence");
  }

  /** The directory's entries as directory.get answered them (one or more pages). */
  setDirectory(entries, emit = true) {
    this.directory = list(entries).filter((d) => isObj(d) && isStr(d.agent_id));
    if (emit) this._emit([], "directory");
  }

  /** A "presence" frame (after directory.watch): one agent's entry changed. */
  applyPresence(entry) {
    if (!isObj(entry) || !isStr(entry.agent_id)) return warn("presence without an agent", entry);
    const i = this.directory.findIndex((d) => d.agent_id === entry.agent_id);
    if (i >= 0) this.directory[i] = entry; else this.directory.push(entry);
    this._emit([], "directory");
    return true;
  }

  setMuted(callId, muted) {
    if (muted) this.muted.add(callId); else this.muted.delete(callId);
    this._emit([], "mute");
  }

  _upsertInteraction(it) {
    const rest = this.interactions.filter((i) => i.interaction_id !== it.interaction_id);
    rest.push(it);
    const pending = (i) => (i.wrapped_at ? 1 : 0);
    rest.sort((a, b) => pending(a) - pending(b) || String(b.created_at).localeCompare(String(a.created_at)));
    this.interactions = rest.slice(0, RECENT_MAX);
  }

  // What changed for me, call by call, since the last change.
  _diff(causes = new Map()) {
    const prev = this._seen;
    const effects = [];
    const now = new Map();
    for (const call of this.calls.values()) {
      const state = this.myState(call);
      now.set(call.call_id, state);
      if (state === "alerting" && prev.get(call.call_id) !== "alerting") {
        effects.push({ kind: "offered", call });
      }
      if (state === "connected" && !this._answered.has(call.call_id)) {
        this._answered.add(call.call_id);
        effects.push({ kind: "answered", call });
      }
    }
    for (const [id] of prev) {
      if (!now.has(id)) {
        effects.push({ kind: "ended", call_id: id, cause: causes.get(id) ?? null });
        this._answered.delete(id);
      }
    }
    this._seen = now;
    return effects;
  }

  _emit(effects, reason) {
    this.dispatchEvent(new CustomEvent("change", { detail: { effects, reason } }));
  }
}

function sameState(a, b) {
  if (!a || !b) return false;
  const x = a.state, y = b.state;
  return x.status === y.status && x.reason === y.reason && x.since === y.since;
}

function warn(what, frame) {
  console.warn(`ctibridge: ignored ${what}`, frame);
  return false;
}

/** {keys: {key: {en, fr}}, values: {key: {code: {en, fr}}}} from the snapshot, malformed parts dropped. */
export function dataLabels(raw) {
  const out = { keys: {}, values: {} };
  if (!isObj(raw)) return out;
  for (const [k, v] of Object.entries(isObj(raw.keys) ? raw.keys : {})) if (isObj(v)) out.keys[k] = v;
  for (const [k, codes] of Object.entries(isObj(raw.values) ? raw.values : {})) {
    if (!isObj(codes)) continue;
    out.values[k] = {};
    for (const [c, v] of Object.entries(codes)) if (isObj(v)) out.values[k][c] = v;
  }
  return out;
}

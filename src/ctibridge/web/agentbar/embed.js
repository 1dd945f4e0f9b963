// The postMessage contract with a host page (a CRM) that frames the bar.
// See docs/embedding.md. Outgoing: {source: "ctibridge", version: 1, type, data}.
// Incoming: {target: "ctibridge", type: "dial"|"set_state"|"hello", ...} (or the
// same with type "ctibridge.dial"…), accepted only from the parent window (or
// this window) and from an allowed origin.

export const EVENTS = ["call.offered", "call.answered", "call.ended", "screenpop", "ctibridge.screenpop", "ctibridge.open",
  "agent.state"];
const COMMANDS = new Set(["dial", "set_state", "hello"]);
const STATES = new Set(["ready", "not_ready", "logged_out"]);

const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

/** The command's type: "dial" for {target: "ctibridge", type: "dial"} or {type: "ctibridge.dial"}. */
function commandType(msg) {
  if (!isObj(msg) || typeof msg.type !== "string") return null;
  if (msg.target === "ctibridge") return msg.type;
  return msg.type.startsWith("ctibridge.") ? msg.type.slice("ctibridge.".length) : null;
}

/** Is this message meant for the bar at all (other scripts use postMessage too)? */
export function forUs(msg) {
  return isObj(msg) && (msg.target === "ctibridge"
    || (typeof msg.type === "string" && msg.type.startsWith("ctibridge.") && msg.source !== "ctibridge"));
}

/** A command from a host page, checked field by field; null when it is not one. */
export function validCommand(msg) {
  const type = commandType(msg);
  if (!COMMANDS.has(type)) return null;
  const id = msg.id;
  if (id !== undefined && !(typeof id === "string" && id.length <= 64) && !Number.isInteger(id)) return null;
  if (type === "dial") {
    if (typeof msg.number !== "string" || !/^\+?[0-9A-Za-z*#().\s-]{1,40}$/.test(msg.number.trim())) return null;
    let recordId = null;
    if (msg.record_id !== undefined && msg.record_id !== null) {
      if (Number.isInteger(msg.record_id)) recordId = String(msg.record_id);
      else if (typeof msg.record_id === "string" && /^[^\u0000-\u001f]{1,200}$/.test(msg.record_id)) recordId = msg.record_id;
      else return null;
    }
    return { type: "dial", number: msg.number.trim(), id, ...(recordId ? { record_id: recordId } : {}) };
  }
  if (type === "set_state") {
    if (!STATES.has(msg.status)) return null;
    if (msg.reason !== undefined && msg.reason !== null
      && !(typeof msg.reason === "string" && /^[a-z0-9][a-z0-9_.-]{0,39}$/.test(msg.reason))) return null;
    if (msg.status === "not_ready" && typeof msg.reason !== "string") return null;
    return { type: "set_state", status: msg.status, reason: msg.reason ?? null, id };
  }
  if (msg.auto_open !== undefined && typeof msg.auto_open !== "boolean") return null;
  return { type: "hello", id, ...(msg.auto_open !== undefined ? { auto_open: msg.auto_open } : {}) };
}

export class Embed {
  /**
   * @param {Window} win         this window
   * @param {(cmd, origin) => Promise<object>} onCommand  runs a command, resolves with a result
   */
  constructor(win, onCommand) {
    this.win = win;
    this.onCommand = onCommand;
    this.allowed = new Set();
    this.any = false;
    this.parentOrigin = null;
    this.framed = win.parent !== win;
    this._warned = false;
    this._listener = (ev) => this.receive(ev);
    win.addEventListener("message", this._listener);
    if (this.framed) this.parentOrigin = guessParentOrigin(win);
  }

  setAllowedOrigins(origins) {
    const list = Array.isArray(origins) ? origins.filter((o) => typeof o === "string") : [];
    this.any = list.includes("*");
    this.allowed = new Set(list.map((o) => o.replace(/\/+$/, "")));
  }

  allowedOrigin(origin) {
    return typeof origin === "string" && origin !== "null"
      && (this.any || origin === this.win.location.origin || this.allowed.has(origin));
  }

  /** Whether post() would reach a host page (framed, and the host's origin is allowed). */
  canPost() {
    return this.framed && !!this.parentOrigin && this.allowedOrigin(this.parentOrigin);
  }

  /** Tell the host page something happened (no-op when not framed or the host is not allowed). */
  post(type, data) {
    if (!this.framed) return false;
    const origin = this.parentOrigin;
    if (!origin || !this.allowedOrigin(origin)) {
      if (!this._warned) {
        this._warned = true;
        console.info("ctibridge: not posting events to the host page: its origin (%s) is not in embed_origins", origin);
      }
      return false;
    }
    this.win.parent.postMessage({ source: "ctibridge", version: 1, type, data }, origin);
    return true;
  }

  async receive(ev) {
    const msg = ev.data;
    if (!forUs(msg)) return; // not for us (other scripts use postMessage too)
    if (ev.source !== this.win.parent && ev.source !== this.win) {
      console.warn("ctibridge: ignored a message from a window that is not the host page", ev.origin);
      return;
    }
    if (!this.allowedOrigin(ev.origin)) {
      console.warn("ctibridge: ignored a message from an origin not in embed_origins:", ev.origin);
      return;
    }
    const cmd = validCommand(msg);
    if (!cmd) {
      console.warn("ctibridge: ignored a malformed command", msg);
      return;
    }
    if (ev.source === this.win.parent && this.framed) this.parentOrigin = ev.origin;
    let reply;
    try {
      reply = { ok: true, result: (await this.onCommand(cmd, ev.origin)) ?? {} };
    } catch (err) {
      reply = { ok: false, error: { code: err?.code ?? "error", message: String(err?.message ?? err) } };
    }
    if (ev.source && typeof ev.source.postMessage === "function") {
      ev.source.postMessage({ source: "ctibridge", version: 1, type: "command.result",
        data: { id: cmd.id ?? null, command: cmd.type, ...reply } }, ev.origin);
    }
  }

  close() {
    this.win.removeEventListener("message", this._listener);
  }
}

function guessParentOrigin(win) {
  try {
    const anc = win.location.ancestorOrigins;
    if (anc && anc.length) return anc[0];
  } catch { /* not supported */ }
  try {
    if (win.document.referrer) return new URL(win.document.referrer).origin;
  } catch { /* no referrer */ }
  return null;
}

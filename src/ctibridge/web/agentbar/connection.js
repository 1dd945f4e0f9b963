// Talking to the hub: REST login and tickets, the WebSocket, reconnection with
// exponential backoff and jitter, resume, commands answered by id.
//
// Events dispatched (CustomEvent, detail in brackets):
//   "status"   {status: "idle"|"connecting"|"online"|"reconnecting"|"stopped", retryIn, code}
//   "hello", "snapshot", "event", "presence"   {frame}
//   "server-error"  {code, message}   an error frame that answers no command of ours
//   "auth-lost"     {code, message}   the token is no longer accepted: sign in again
//   "tokens"        {token, refresh_token}   the access token was renewed (keep them)
//
// Access tokens are short (15 min by default): a request refused with 401 is retried
// once after trading the refresh token for a new access token (POST api/token/refresh).

export class HubError extends Error {
  constructor(code, message, details) {
    super(message || code);
    this.code = code;
    this.details = details;
  }
}

const FATAL_CLOSE = { 4004: "not-an-agent" };

export class HubClient extends EventTarget {
  /**
   * @param {object} opts
   * @param {string} opts.base   the hub's base URL ("http://host:port/"), API and /ws are under it
   */
  constructor({ base, fetchImpl, WebSocketImpl, random = Math.random, timers = globalThis,
    backoff = { first: 500, max: 15000 }, commandTimeout = 12000, heartbeat = 20000, seq = null } = {}) {
    super();
    this.base = new URL(base ?? "/", globalThis.location?.href ?? "http://localhost/");
    this.fetch = fetchImpl ?? ((...a) => globalThis.fetch(...a));
    this.WebSocket = WebSocketImpl ?? globalThis.WebSocket;
    this.random = random;
    this.timers = timers;
    this.backoff = backoff;
    this.commandTimeout = commandTimeout;
    this.heartbeatMs = heartbeat;
    this.token = null;
    this.refreshToken = null;
    this._refreshing = null;   // the refresh in progress, shared by concurrent requests
    this.status = "idle";
    this.attempt = 0;
    this.lastSeq = 0;          // the last seq seen, for resume
    this.seqSource = seq;      // or, better, the last seq the bar applied
    this.skewMs = 0;           // server time minus local time (from the Date header)
    this.ws = null;
    this.pending = new Map();  // command id -> {resolve, reject, timer, op}
    this.nextId = 1;
    this.prefix = "b-" + Math.floor(random() * 36 ** 6).toString(36) + "-";
    this._retryTimer = null;
    this._beat = null;
    this._socketNo = 0;
  }

  url(path) {
    return new URL(path, this.base).toString();
  }

  // ------------------------------------------------------------ REST

  async _json(path, opts = {}) {
    try {
      return await this._request(path, opts);
    } catch (err) {
      if (!opts.auth || err.status !== 401 || !this.refreshToken) throw err;
      const used = this.token;
      await this.renew(used);
      return await this._request(path, opts);
    }
  }

  /** A new access token from the refresh token (once, however many requests ask). */
  renew(expired = this.token) {
    if (this.token !== expired) return Promise.resolve(); // renewed meanwhile
    if (!this._refreshing) {
      const refreshToken = this.refreshToken;
      this._refreshing = this._request("api/token/refresh", { method: "POST", body: { refresh_token: refreshToken } })
        .then((data) => {
          if (!data || typeof data.token !== "string") throw new HubError("bad-message", "the hub sent no token");
          this.token = data.token;
          this.dispatchEvent(new CustomEvent("tokens", { detail: { token: data.token, refresh_token: refreshToken } }));
        })
        .catch((err) => {
          if (err.status === 401) this.refreshToken = null; // the session is over
          throw err;
        })
        .finally(() => { this._refreshing = null; });
    }
    return this._refreshing;
  }

  async _request(path, { method = "GET", body, auth = false, bearer = null } = {}) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (auth || bearer) headers.Authorization = `Bearer ${bearer ?? this.token}`;
    let res;
    try {
      res = await this.fetch(this.url(path), {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "omit", cache: "no-store",
      });
    } catch (err) {
      throw new HubError("hub-unreachable", String(err?.message ?? err));
    }
    const date = Date.parse(res.headers?.get?.("date") ?? "");
    if (!Number.isNaN(date)) {
      const skew = date - Date.now();
      this.skewMs = Math.abs(skew) > 3000 ? skew : 0; // a Date header has 1 s resolution
    }
    let data = null;
    try { data = await res.json(); } catch { data = null; }
    if (!res.ok) {
      const code = (data && typeof data.code === "string") ? data.code : `http-${res.status}`;
      const message = (data && typeof data.message === "string") ? data.message
        : (data && typeof data.detail === "string" ? data.detail : `HTTP ${res.status}`);
      const err = new HubError(code, message);
      err.status = res.status;
      throw err;
    }
    return data;
  }

  publicConfig() {
    return this._json("api/public-config");
  }

  async login(username, password) {
    const data = await this._json("api/login", { method: "POST", body: { username, password } });
    if (!data || typeof data.token !== "string") throw new HubError("bad-message", "the hub sent no token");
    this.token = data.token;
    this.refreshToken = typeof data.refresh_token === "string" ? data.refresh_token : null;
    return data;
  }

  /** End the session on the hub (best effort: signing out locally happens anyway). */
  async logout() {
    const bearer = this.token;
    this.token = null;
    this.refreshToken = null;
    if (!bearer) return;
    try { await this._request("api/logout", { method: "POST", bearer }); } catch { /* already over */ }
  }

  // ------------------------------------------------------------ socket

  start() {
    if (!this.token) throw new Error("sign in first");
    if (this.status === "online" || this.status === "connecting") return;
    this._stopped = false;
    this._connect();
  }

  stop() {
    this._stopped = true;
    this.timers.clearTimeout(this._retryTimer);
    this._stopHeartbeat();
    const ws = this.ws;
    this.ws = null;
    if (ws) { try { ws.close(1000, "bye"); } catch { /* already closed */ } }
    this._failPending("connection-lost");
    this._setStatus("stopped");
  }

  /** Reconnect at once (e.g. the browser says it is online again). */
  nudge() {
    if (this.status === "reconnecting" && !this._stopped) {
      this.timers.clearTimeout(this._retryTimer);
      this._connect();
    }
  }

  _setStatus(status, extra = {}) {
    this.status = status;
    this.dispatchEvent(new CustomEvent("status", { detail: { status, ...extra } }));
  }

  async _connect() {
    const socketNo = ++this._socketNo;
    this._setStatus(this.attempt === 0 && this.lastSeq === 0 ? "connecting" : "reconnecting", { retryIn: 0 });
    let ticket;
    try {
      const data = await this._json("api/ws-ticket", { method: "POST", auth: true });
      ticket = data?.ticket;
      if (typeof ticket !== "string") throw new HubError("bad-message", "the hub sent no ticket");
    } catch (err) {
      if (socketNo !== this._socketNo || this._stopped) return;
      if (err.status === 401 || err.status === 403) {
        this.stop();
        this.dispatchEvent(new CustomEvent("auth-lost", { detail: { code: err.code, message: err.message } }));
        return;
      }
      this._retry(err.code);
      return;
    }
    if (socketNo !== this._socketNo || this._stopped) return;
    const wsUrl = new URL("ws", this.base);
    wsUrl.protocol = wsUrl.protocol === "https:" ? "wss:" : "ws:";
    wsUrl.searchParams.set("ticket", ticket);
    let ws;
    try {
      ws = new this.WebSocket(wsUrl.toString());
    } catch (err) {
      this._retry("hub-unreachable");
      return;
    }
    this.ws = ws;
    const resumeFrom = this.seqSource ? this.seqSource() : this.lastSeq;
    let gotSnapshot = false;
    ws.onmessage = (m) => {
      if (this.ws !== ws) return;
      this._alive = true;
      const frame = parse(m.data);
      if (!frame) return;
      if (frame.type === "snapshot" && !gotSnapshot) {
        gotSnapshot = true;
        this.attempt = 0;
        this._handle(frame);
        this._setStatus("online");
        this._startHeartbeat(ws);
        // Ask for what we missed; the snapshot already reflects it, and the
        // store skips any replayed event it has (seq <= snapshot seq).
        if (resumeFrom > 0) this._send({ type: "resume", since: resumeFrom });
        return;
      }
      this._handle(frame);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this._stopHeartbeat();
      this._failPending("connection-lost");
      if (this._stopped) return;
      const fatal = FATAL_CLOSE[ev.code];
      if (fatal) {
        this._setStatus("stopped", { code: fatal });
        this.dispatchEvent(new CustomEvent("server-error", { detail: { code: fatal, message: ev.reason } }));
        return;
      }
      this._retry(ev.code === 4003 ? "origin-not-allowed" : "connection-lost");
    };
    ws.onerror = () => { /* onclose follows and decides */ };
  }

  _retry(code) {
    if (this._stopped) return;
    const ceiling = Math.min(this.backoff.max, this.backoff.first * 2 ** this.attempt);
    const delay = Math.round(ceiling / 2 + this.random() * ceiling / 2); // "equal jitter"
    this.attempt += 1;
    this._setStatus("reconnecting", { retryIn: delay, code });
    this.timers.clearTimeout(this._retryTimer);
    this._retryTimer = this.timers.setTimeout(() => this._connect(), delay);
  }

  _startHeartbeat(ws) {
    this._stopHeartbeat();
    this._beat = this.timers.setInterval(() => {
      if (this.ws !== ws) return;
      if (!this._alive) { // nothing for a whole period despite our ping: a dead link
        console.warn("ctibridge: the hub stopped answering; reconnecting");
        try { ws.close(4000, "heartbeat"); } catch { /* ignore */ }
        ws.onclose?.({ code: 4000, reason: "heartbeat" });
        return;
      }
      this._alive = false;
      this._send({ type: "ping", id: `${this.prefix}ping` });
    }, this.heartbeatMs);
  }

  _stopHeartbeat() {
    this.timers.clearInterval(this._beat);
    this._beat = null;
  }

  _send(frame) {
    if (!this.ws || this.ws.readyState !== 1) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  _handle(frame) {
    switch (frame.type) {
      case "hello":
        this.dispatchEvent(new CustomEvent("hello", { detail: { frame } }));
        return;
      case "snapshot":
        if (Number.isInteger(frame.seq)) this.lastSeq = frame.seq;
        this.dispatchEvent(new CustomEvent("snapshot", { detail: { frame } }));
        return;
      case "event":
        this.dispatchEvent(new CustomEvent("event", { detail: { frame } }));
        if (Number.isInteger(frame.seq) && frame.seq > this.lastSeq) this.lastSeq = frame.seq;
        return;
      case "ack":
      case "error": {
        const p = frame.id !== undefined && frame.id !== null ? this.pending.get(String(frame.id)) : null;
        if (p) {
          this.pending.delete(String(frame.id));
          this.timers.clearTimeout(p.timer);
          if (frame.type === "ack") p.resolve(isObject(frame.result) ? frame.result : {});
          else p.reject(new HubError(String(frame.code ?? "error"), String(frame.message ?? ""), frame.details));
        } else if (frame.type === "error") {
          this.dispatchEvent(new CustomEvent("server-error", {
            detail: { code: String(frame.code ?? "error"), message: String(frame.message ?? "") },
          }));
        } else {
          console.warn("ctibridge: ignored an answer to no command of ours", frame);
        }
        return;
      }
      case "presence":
        this.dispatchEvent(new CustomEvent("presence", { detail: { frame } }));
        return;
      case "pong":
        return;
      default:
        console.warn("ctibridge: ignored a frame of unknown type", frame);
    }
  }

  /** Send a command; resolves with the ack's result, rejects with a HubError. */
  command(op, args = {}) {
    return new Promise((resolve, reject) => {
      const id = this.prefix + this.nextId++;
      if (!this._send({ type: "command", id, op, ...args })) {
        reject(new HubError("not-connected", "not connected to the hub"));
        return;
      }
      const timer = this.timers.setTimeout(() => {
        this.pending.delete(id);
        reject(new HubError("timeout", `no answer to ${op}`));
      }, this.commandTimeout);
      this.pending.set(id, { resolve, reject, timer, op });
    });
  }

  _failPending(code) {
    for (const [id, p] of this.pending) {
      this.timers.clearTimeout(p.timer);
      p.reject(new HubError(code, `connection lost during ${p.op}`));
      this.pending.delete(id);
    }
  }
}

function isObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** One frame from the socket, or null (warned) if it is not a JSON object with a type. */
export function parse(data) {
  if (typeof data !== "string") {
    console.warn("ctibridge: ignored a binary frame");
    return null;
  }
  let frame;
  try {
    frame = JSON.parse(data);
  } catch {
    console.warn("ctibridge: ignored a frame that is not JSON", data.slice(0, 200));
    return null;
  }
  if (!isObject(frame) || typeof frame.type !== "string") {
    console.warn("ctibridge: ignored a frame without a type", frame);
    return null;
  }
  return frame;
}

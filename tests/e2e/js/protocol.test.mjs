// The connection's pure parts (frame parsing, backoff, commands) and the
// postMessage command validation, with fakes for the socket and timers.
import assert from "node:assert/strict";
import test from "node:test";

import { HubClient, parse } from "../../../src/ctibridge/web/agentbar/connection.js";
import { validCommand } from "../../../src/ctibridge/web/agentbar/embed.js";

test("frames that are not JSON objects with a type are dropped", (t) => {
  t.mock.method(console, "warn", () => {});
  assert.equal(parse("nope"), null);
  assert.equal(parse("[1,2]"), null);
  assert.equal(parse('{"no":"type"}'), null);
  assert.equal(parse(new ArrayBuffer(2)), null);
  assert.deepEqual(parse('{"type":"pong"}'), { type: "pong" });
});

test("host commands are checked field by field", () => {
  assert.deepEqual(validCommand({ target: "ctibridge", type: "dial", number: "+33 6 12 34 56 78" }),
    { type: "dial", number: "+33 6 12 34 56 78", id: undefined });
  assert.equal(validCommand({ target: "ctibridge", type: "dial", number: "<img src=x>" }), null);
  assert.equal(validCommand({ target: "ctibridge", type: "dial" }), null);
  assert.equal(validCommand({ target: "other", type: "dial", number: "1" }), null);
  assert.equal(validCommand({ target: "ctibridge", type: "eval", code: "x" }), null);
  assert.deepEqual(validCommand({ target: "ctibridge", type: "set_state", status: "not_ready", reason: "lunch", id: "r1" }),
    { type: "set_state", status: "not_ready", reason: "lunch", id: "r1" });
  assert.equal(validCommand({ target: "ctibridge", type: "set_state", status: "not_ready" }), null);
  assert.equal(validCommand({ target: "ctibridge", type: "set_state", status: "busy" }), null);
  assert.equal(validCommand({ target: "ctibridge", type: "set_state", status: "ready", reason: "<x>" }), null);
  assert.equal(validCommand("dial"), null);
});

class FakeTimers {
  constructor() { this.queue = []; this.n = 0; }
  setTimeout(fn, ms) { const id = ++this.n; this.queue.push({ id, fn, ms }); return id; }
  clearTimeout(id) { this.queue = this.queue.filter((x) => x.id !== id); }
  setInterval() { return 0; }
  clearInterval() {}
  runNext() { const x = this.queue.shift(); x.fn(); return x.ms; }
}

class FakeSocket {
  static all = [];
  constructor(url) { this.url = url; this.sent = []; this.readyState = 1; FakeSocket.all.push(this); }
  send(text) { this.sent.push(JSON.parse(text)); }
  close() { this.readyState = 3; }
  receive(frame) { this.onmessage({ data: JSON.stringify(frame) }); }
  drop(code = 1006) { this.readyState = 3; this.onclose({ code }); }
}

function client({ fail = 0, random = () => 0.5 } = {}) {
  let calls = 0;
  const fetchImpl = async (url) => {
    calls += 1;
    if (calls <= fail) throw new TypeError("network down");
    return { ok: true, status: 200, headers: new Map(), json: async () => ({ ticket: `t${calls}` }) };
  };
  const timers = new FakeTimers();
  const c = new HubClient({ base: "http://hub.test/", fetchImpl, WebSocketImpl: FakeSocket, random, timers });
  c.token = "tok";
  return { c, timers };
}

const tick = () => new Promise((r) => setImmediate(r));

test("reconnects with exponential backoff and jitter, then resumes from the last seq", async () => {
  FakeSocket.all = [];
  const { c, timers } = client({ fail: 3 });
  const statuses = [];
  c.addEventListener("status", (e) => statuses.push(e.detail.status));
  c.start();
  await tick();
  const delays = [];
  for (let i = 0; i < 3; i++) {
    delays.push(timers.runNext());
    await tick();
  }
  // 500, 1000, 2000 ms ceilings with "equal jitter" at random()=0.5: 3/4 of each.
  assert.deepEqual(delays, [375, 750, 1500]);
  const ws = FakeSocket.all.at(-1);
  assert.match(ws.url, /^ws:\/\/hub\.test\/ws\?ticket=t4$/);
  ws.receive({ type: "hello", user: {} });
  ws.receive({ type: "snapshot", seq: 7 });
  assert.equal(c.status, "online");
  assert.deepEqual(ws.sent, []); // first socket: nothing to resume
  ws.receive({ type: "event", seq: 8, name: "x", data: {} });
  ws.drop();
  assert.equal(c.status, "reconnecting");
  assert.equal(timers.runNext(), 375); // attempts reset once online
  await tick();
  const ws2 = FakeSocket.all.at(-1);
  ws2.receive({ type: "hello", user: {} });
  ws2.receive({ type: "snapshot", seq: 9 });
  assert.deepEqual(ws2.sent, [{ type: "resume", since: 8 }]);
  assert.ok(statuses.includes("connecting") && statuses.includes("online"));
});

test("commands resolve on ack, reject on error, and fail when the socket drops", async () => {
  FakeSocket.all = [];
  const { c } = client();
  c.start();
  await tick();
  const ws = FakeSocket.all.at(-1);
  ws.receive({ type: "snapshot", seq: 1 });
  const ok = c.command("call.hold", { call_id: "c-1" });
  const bad = c.command("call.answer", { call_id: "c-2" });
  const lost = c.command("agent.ready");
  const [a, b] = ws.sent;
  assert.equal(a.op, "call.hold");
  assert.notEqual(a.id, b.id);
  ws.receive({ type: "ack", id: a.id, result: { call_id: "c-1" } });
  ws.receive({ type: "error", id: b.id, code: "no-such-call", message: "gone" });
  assert.deepEqual(await ok, { call_id: "c-1" });
  await assert.rejects(bad, (e) => e.code === "no-such-call");
  ws.drop();
  await assert.rejects(lost, (e) => e.code === "connection-lost");
  await assert.rejects(c.command("agent.ready"), (e) => e.code === "not-connected");
});

test("a refused token stops reconnecting and asks to sign in again", async () => {
  const timers = new FakeTimers();
  const fetchImpl = async () => ({ ok: false, status: 401, headers: new Map(),
    json: async () => ({ code: "token-expired", message: "expired" }) });
  const c = new HubClient({ base: "http://hub.test/", fetchImpl, WebSocketImpl: FakeSocket, timers });
  c.token = "old";
  let lost = null;
  c.addEventListener("auth-lost", (e) => { lost = e.detail; });
  c.start();
  await tick();
  assert.equal(lost.code, "token-expired");
  assert.equal(c.status, "stopped");
  assert.equal(timers.queue.length, 0);
});

test("an expired access token is renewed once with the refresh token, then the ticket is asked again", async () => {
  FakeSocket.all = [];
  const timers = new FakeTimers();
  const seen = [];
  const fetchImpl = async (url, init) => {
    const path = new URL(url).pathname;
    seen.push([path, init.headers.Authorization ?? JSON.parse(init.body ?? "null")?.refresh_token]);
    if (path === "/api/token/refresh") {
      return { ok: true, status: 200, headers: new Map(), json: async () => ({ token: "new", expires_in: 900 }) };
    }
    if (init.headers.Authorization === "Bearer old") {
      return { ok: false, status: 401, headers: new Map(), json: async () => ({ code: "token-expired", message: "expired" }) };
    }
    return { ok: true, status: 200, headers: new Map(), json: async () => ({ ticket: "t1" }) };
  };
  const c = new HubClient({ base: "http://hub.test/", fetchImpl, WebSocketImpl: FakeSocket, timers });
  c.token = "old";
  c.refreshToken = "sid.secret";
  const renewed = [];
  c.addEventListener("tokens", (e) => renewed.push(e.detail.token));
  c.start();
  for (let i = 0; i < 5; i++) await tick();
  assert.deepEqual(seen, [["/api/ws-ticket", "Bearer old"], ["/api/token/refresh", "sid.secret"],
    ["/api/ws-ticket", "Bearer new"]]);
  assert.deepEqual(renewed, ["new"]);
  assert.match(FakeSocket.all.at(-1).url, /ticket=t1$/);
});

test("when the session is over the refresh is refused and the bar asks to sign in again", async () => {
  const timers = new FakeTimers();
  const fetchImpl = async () => ({ ok: false, status: 401, headers: new Map(),
    json: async () => ({ code: "session-ended", message: "this session is over" }) });
  const c = new HubClient({ base: "http://hub.test/", fetchImpl, WebSocketImpl: FakeSocket, timers });
  c.token = "old";
  c.refreshToken = "sid.secret";
  let lost = null;
  c.addEventListener("auth-lost", (e) => { lost = e.detail; });
  c.start();
  for (let i = 0; i < 5; i++) await tick();
  assert.equal(lost.code, "session-ended");
  assert.equal(c.refreshToken, null);
  assert.equal(c.status, "stopped");
});

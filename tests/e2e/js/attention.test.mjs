import assert from "node:assert/strict";
import test from "node:test";

import { Attention } from "../../../src/ctibridge/web/agentbar/attention.js";

function fakeWindow({ hidden = true, permission = "granted" } = {}) {
  const listeners = {};
  const shown = [];
  const intervals = new Map();
  let n = 0;
  class FakeNotification {
    static permission = permission;
    static asked = 0;
    static requestPermission() { FakeNotification.asked += 1; return Promise.resolve("granted"); }
    constructor(title, opts) { this.title = title; this.opts = opts; this.closed = false; shown.push(this); }
    close() { this.closed = true; }
  }
  const store = new Map();
  const win = {
    document: {
      hidden, title: "Ready · ctibridge",
      addEventListener: (name, fn) => { listeners[name] = fn; },
    },
    Notification: FakeNotification,
    localStorage: { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v) },
    setInterval: (fn) => { intervals.set(++n, fn); return n; },
    clearInterval: (id) => intervals.delete(id),
    focus() {},
  };
  return { win, shown, intervals, listeners, FakeNotification };
}

test("a call ringing in a hidden tab raises one notification and blinks the title", () => {
  const { win, shown, intervals, listeners } = fakeWindow();
  const a = new Attention(win);
  const ring = [{ call_id: "c-1", title: "Incoming call", body: "Camille — +33 6 12 34 56 78" }];
  a.ringing(ring, "📞 Camille");
  a.ringing(ring, "📞 Camille");
  assert.equal(shown.length, 1);
  assert.equal(shown[0].opts.body, "Camille — +33 6 12 34 56 78");
  assert.equal(win.document.title, "📞 Camille");
  [...intervals.values()][0]();
  assert.equal(win.document.title, "Ready · ctibridge");
  // The agent comes back to the tab: the title stops blinking.
  win.document.hidden = false;
  listeners.visibilitychange();
  assert.equal(intervals.size, 0);
  assert.equal(win.document.title, "Ready · ctibridge");
  // The call stops ringing: its notification closes.
  a.ringing([], "");
  assert.equal(shown[0].closed, true);
});

test("nothing happens while the tab is visible", () => {
  const { win, shown, intervals } = fakeWindow({ hidden: false });
  new Attention(win).ringing([{ call_id: "c-1", title: "t", body: "b" }], "x");
  assert.equal(shown.length, 0);
  assert.equal(intervals.size, 0);
});

test("the permission is asked once, and never when already decided", () => {
  const { win, FakeNotification } = fakeWindow({ permission: "default" });
  const a = new Attention(win);
  a.askOnce();
  a.askOnce();
  assert.equal(FakeNotification.asked, 1);
  const denied = fakeWindow({ permission: "denied" });
  new Attention(denied.win).askOnce();
  assert.equal(denied.FakeNotification.asked, 0);
});

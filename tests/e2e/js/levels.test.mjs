import assert from "node:assert/strict";
import test from "node:test";

import { levelOf, queueLevels, tally, worst } from "../../../src/ctibridge/web/supervisor/levels.js";

test("waiting and waits are worse when high, the service level when low", () => {
  const th = { warn: 3, alert: 6 };
  assert.equal(levelOf(2, th), "ok");
  assert.equal(levelOf(3, th), "warn");
  assert.equal(levelOf(6, th), "alert");
  const sl = { warn: 80, alert: 60 };
  assert.equal(levelOf(95, sl, { lowerIsWorse: true }), "ok");
  assert.equal(levelOf(80, sl, { lowerIsWorse: true }), "warn");
  assert.equal(levelOf(42, sl, { lowerIsWorse: true }), "alert");
  assert.equal(levelOf(5, undefined), null);
  assert.equal(levelOf(undefined, th), null);
});

test("a queue's levels follow its running longest wait; no service level, no colour", () => {
  const row = { waiting: 1, oldest_since: "2026-03-02T09:00:00Z", service_level: null,
    thresholds: { waiting: { warn: 2, alert: 4 }, longest_wait_seconds: { warn: 30, alert: 60 },
      service_level: { warn: 80, alert: 60 } } };
  const at = (s) => Date.parse("2026-03-02T09:00:00Z") + s * 1000;
  assert.deepEqual(queueLevels(row, at(10)), { waiting: "ok", longest: "ok", sl: null });
  assert.deepEqual(queueLevels(row, at(45)), { waiting: "ok", longest: "warn", sl: null });
  assert.equal(queueLevels(row, at(90)).longest, "alert");
  assert.deepEqual(queueLevels({ waiting: 9 }, at(0)), { waiting: null, longest: null, sl: null });
  assert.equal(worst(["ok", "alert", "warn"]), "alert");
  assert.equal(worst([null, null]), null);
});

test("the wallboard counts agents by state, logged-out ones not at all", () => {
  const a = (status) => ({ state: { status } });
  assert.deepEqual(tally([a("ready"), a("ready"), a("busy"), a("logged_out"), a("wrap_up")]),
    { ready: 2, busy: 1, wrap_up: 1, not_ready: 0 });
});

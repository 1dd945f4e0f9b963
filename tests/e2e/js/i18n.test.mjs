import assert from "node:assert/strict";
import test from "node:test";

import en from "../../../src/ctibridge/web/agentbar/i18n/en.js";
import fr from "../../../src/ctibridge/web/agentbar/i18n/fr.js";
import { detectLanguage, setLanguage, t } from "../../../src/ctibridge/web/agentbar/i18n/index.js";

test("both catalogues have the same keys and the same placeholders", () => {
  assert.deepEqual(Object.keys(fr).sort(), Object.keys(en).sort());
  const holes = (s) => (s.match(/\{\w+\}/g) ?? []).sort().join();
  for (const key of Object.keys(en)) assert.equal(holes(fr[key]), holes(en[key]), key);
});

test("every error code of the protocol has a text", () => {
  const codes = ["bad-json", "bad-message", "unknown-op", "message-too-large", "forbidden",
    "no-such-call", "no-such-interaction", "no-such-agent", "unknown-reason", "unknown-disposition",
    "capability-missing", "agent-not-logged-in", "agent-busy", "illegal-agent-transition",
    "illegal-connection-transition", "platform-error", "platform-down", "rate-limited", "not-an-agent",
    "station-ambiguous", "unknown-station", "bad-station", "station-busy", "station-needed",
    "station-change-needs-logout"];
  for (const c of codes) assert.ok(en[`error.${c}`] && fr[`error.${c}`], c);
});

test("the language comes from the stored choice, then the browser, then the fallback", () => {
  assert.equal(detectLanguage({ stored: "fr", languages: ["en-GB"] }), "fr");
  assert.equal(detectLanguage({ stored: null, languages: ["de-DE", "fr-CA"] }), "fr");
  assert.equal(detectLanguage({ stored: "xx", languages: ["de"], fallback: "fr" }), "fr");
  assert.equal(detectLanguage({ stored: null, languages: [], fallback: "zz" }), "en");
});

test("placeholders are filled as text", () => {
  setLanguage("fr", { remember: false });
  assert.equal(t("call.queue", { queue: "<b>support</b>" }), "File : <b>support</b>");
  setLanguage("en", { remember: false });
  assert.equal(t("conn.retry", { s: 3 }), "Connection lost — retrying in 3 s");
});

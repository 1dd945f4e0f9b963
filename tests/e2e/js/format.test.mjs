import assert from "node:assert/strict";
import test from "node:test";

import { codeLabel, dialable, formatDuration, formatPhone } from "../../../src/ctibridge/web/agentbar/format.js";

test("French numbers are grouped by two after the country code", () => {
  assert.equal(formatPhone("+33612345678"), "+33 6 12 34 56 78");
  assert.equal(formatPhone("+33 1 45 67 89 01"), "+33 1 45 67 89 01");
  assert.equal(formatPhone("0612345678"), "06 12 34 56 78");
});

test("other countries get their own or a generic grouping", () => {
  assert.equal(formatPhone("+14155550132"), "+1 415 555 0132");
  assert.equal(formatPhone("+41446681800"), "+41 44 668 18 00");
  assert.equal(formatPhone("+447700900123"), "+44 7700 900123");
  assert.match(formatPhone("+2349012345678"), /^\+234 [0-9 ]+$/);
});

test("extensions, names and junk come back unchanged", () => {
  assert.equal(formatPhone("1002"), "1002");
  assert.equal(formatPhone("anonymous"), "anonymous");
  assert.equal(formatPhone("<b>1</b>"), "<b>1</b>");
  assert.equal(formatPhone(undefined), "");
  assert.equal(formatPhone(42), "");
});

test("durations read as m:ss or h:mm:ss and never go negative", () => {
  assert.equal(formatDuration(0), "0:00");
  assert.equal(formatDuration(65.9), "1:05");
  assert.equal(formatDuration(3725), "1:02:05");
  assert.equal(formatDuration(-4), "0:00");
  assert.equal(formatDuration("x"), "0:00");
});

test("configured labels fall back to English, then to the code", () => {
  const lunch = { code: "lunch", label: { en: "Lunch", fr: "Déjeuner" } };
  assert.equal(codeLabel(lunch, "fr"), "Déjeuner");
  assert.equal(codeLabel(lunch, "de"), "Lunch");
  assert.equal(codeLabel({ code: "x" }, "fr"), "x");
  assert.equal(codeLabel(null, "fr"), "");
});

test("dialable keeps digits and drops separators, refuses the rest", () => {
  assert.equal(dialable(" +33 6 12-34.56 78 "), "+33612345678");
  assert.equal(dialable("1002"), "1002");
  assert.equal(dialable("bob"), "bob");
  assert.equal(dialable("<script>"), null);
  assert.equal(dialable(""), null);
});

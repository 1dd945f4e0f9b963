// Screen pop: what the hub found in the CRM for a call (the `screenpop` event),
// checked field by field, and the panel that shows it on the call's card.
// Record names come from the CRM: they go in as text, never as HTML.

import { enable, fill, h, onActivate } from "./dom.js";
import { formatPhone } from "./format.js";
import { t } from "./i18n/index.js";

export const OUTCOMES = new Set(["one", "several", "none", "unavailable"]);
const MAX_MATCHES = 20;

const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const text = (v, max = 200) => (typeof v === "string" && v.length <= max ? v : null);
const id = (v) => (typeof v === "string" && v.length > 0 && v.length <= 200 ? v
  : Number.isInteger(v) ? String(v) : null);

/** An absolute http(s) URL, resolved against `base`; null for anything else (javascript:, data:…). */
export function safeUrl(u, base) {
  if (typeof u !== "string" || !u || u.length > 2000) return null;
  try {
    const url = new URL(u, base);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

/** A CRM record (a match, or an interaction's crm_record), checked; null if it is not one. */
export function validMatch(m, base) {
  if (!isObj(m)) return null;
  const rid = id(m.record_id);
  if (!rid) return null;
  const fields = isObj(m.fields) ? m.fields : {};
  return { record_id: rid, name: text(m.name), company: text(m.company), url: safeUrl(m.url, base),
    kind: text(m.kind, 40) ?? "contact", fields };
}

/**
 * A screen pop as the protocol describes it (docs/protocol/agent-websocket.md), normalized,
 * or null when it is not one. Malformed matches are dropped; the rest is kept.
 */
export function validPop(d, base) {
  if (!isObj(d) || !id(d.call_id) || !OUTCOMES.has(d.outcome)) return null;
  if (d.matches !== undefined && d.matches !== null && !Array.isArray(d.matches)) return null;
  const raw = Array.isArray(d.matches) ? d.matches.slice(0, MAX_MATCHES) : [];
  const matches = raw.map((m) => validMatch(m, base)).filter(Boolean);
  if (matches.length !== raw.length) console.warn("ctibridge: ignored malformed CRM matches", d.matches);
  const party = isObj(d.party) ? { number: text(d.party.number, 64), name: text(d.party.name) } : null;
  return {
    call_id: id(d.call_id), interaction_id: id(d.interaction_id), outcome: d.outcome, matches,
    selected: id(d.selected), create_url: safeUrl(d.create_url, base),
    search_url: safeUrl(d.search_url, base), lookup: text(d.lookup),
    error: text(d.error, 500), party,
  };
}

/** The record to open: the one the agent (or the dial) selected, else the only match. */
export function chosen(pop) {
  if (!pop) return null;
  if (pop.selected) return pop.matches.find((m) => m.record_id === pop.selected) ?? null;
  return pop.outcome === "one" ? pop.matches[0] ?? null : null;
}

/** How a record is named on screen: its name, else "Record 12". */
export function recordTitle(m) {
  return (m.name && m.name.trim()) || t("crm.unnamed", { id: m.record_id });
}

/**
 * The panel of one call's card. `emit(detail)` sends a bar-action; ctx = {online, can}.
 * Rebuilt only when the pop, the language or the "choosing again" toggle changes.
 */
export class PopPanel {
  constructor(emit) {
    this.emit = emit;
    this.el = h("section", { class: "crm", hidden: true });
    this.key = null;
    this.choosing = false; // the agent asked to change the selected record
  }

  update(pop, ctx, lang) {
    this.last = [pop, ctx, lang];
    const popKey = JSON.stringify(pop);
    if (popKey !== this.popKey) { this.popKey = popKey; this.choosing = false; }
    const key = JSON.stringify([pop, lang, this.choosing]);
    if (key !== this.key) {
      this.key = key;
      const hadFocus = this.el.contains(document.activeElement);
      this.build(pop);
      // A new answer replaced the button the agent was on: stay in the panel.
      if (hadFocus) this.el.querySelector("button")?.focus();
    }
    for (const b of this.el.querySelectorAll("button[data-needs-hub]")) {
      const op = b.dataset.needsHub;
      enable(b, ctx.online && ctx.can(op), ctx.online ? t("why.capability") : t("why.offline"));
    }
    for (const b of this.el.querySelectorAll("button[data-needs-url]")) {
      enable(b, b.dataset.needsUrl === "1", t("why.no_url"));
    }
  }

  build(pop) {
    const el = this.el;
    el.hidden = !pop;
    if (!pop) { fill(el); return; }
    el.dataset.outcome = pop.outcome;
    el.setAttribute("aria-label", t("crm.heading"));
    const record = chosen(pop);
    if (record && !this.choosing) {
      el.dataset.view = "record";
      const open = h("button", { type: "button", class: "btn small crm-open", text: t("crm.open"),
        dataset: { needsUrl: record.url ? "1" : "0" },
        attrs: { "aria-label": t("crm.open_who", { name: recordTitle(record) }) } });
      onActivate(open, () => this.emit({ action: "crm_open", record_id: record.record_id }));
      const change = pop.matches.length > 1 ? onActivate(h("button", { type: "button",
        class: "btn small ghost crm-change", text: t("crm.change") }), () => {
        this.choosing = true;
        this.update(...this.last);
        this.el.querySelector("button")?.focus();
      }) : null;
      fill(el, h("div", { class: "crm-record" },
        h("span", { class: "crm-name", text: recordTitle(record) }),
        record.company ? h("span", { class: "crm-company muted", text: record.company }) : null),
      h("div", { class: "row" }, open, change));
      return;
    }
    if (pop.outcome === "several" || (record && this.choosing)) {
      el.dataset.view = "choose";
      const headId = `crm-h-${Math.random().toString(36).slice(2, 8)}`;
      fill(el, h("p", { class: "crm-title", id: headId, text: t("crm.several", { n: pop.matches.length }) }),
        h("ul", { class: "crm-matches", attrs: { "aria-labelledby": headId } }, ...pop.matches.map((m) => {
          const b = h("button", { type: "button", class: "btn small crm-pick", dataset: { record: m.record_id, needsHub: "crm.select" },
            attrs: { "aria-label": t("crm.pick_who", { name: recordTitle(m) }) } },
          h("span", { class: "crm-name", text: recordTitle(m) }),
          m.company ? h("span", { class: "crm-company muted", text: m.company }) : null);
          onActivate(b, () => { this.choosing = false; this.emit({ action: "crm_select", record_id: m.record_id }); });
          return h("li", {}, b);
        })));
      return;
    }
    if (pop.outcome === "none") {
      el.dataset.view = "none";
      const number = pop.party?.number ? formatPhone(pop.party.number) : t("call.unknown");
      // A CRM whose mapping says on_none: search offers its search page instead.
      const searching = !pop.create_url && !!pop.search_url;
      const create = searching
        ? h("button", { type: "button", class: "btn small crm-search", text: t("crm.search"),
          dataset: { needsUrl: "1" } })
        : h("button", { type: "button", class: "btn small crm-create", text: t("crm.create"),
          dataset: { needsUrl: pop.create_url ? "1" : "0" } });
      onActivate(create, () => this.emit({ action: searching ? "crm_search" : "crm_create" }));
      fill(el, h("p", { class: "crm-title", text: t("crm.none", { number }) }),
        h("div", { class: "row" }, create, this.refreshButton(t("crm.refresh"))));
      return;
    }
    el.dataset.view = "unavailable";
    fill(el, h("p", { class: "crm-title crm-down", text: t("crm.unavailable") }),
      pop.error ? h("p", { class: "crm-error muted", text: pop.error }) : null,
      h("div", { class: "row" }, this.refreshButton(t("crm.retry"))));
  }

  refreshButton(label) {
    return onActivate(h("button", { type: "button", class: "btn small crm-refresh", text: label,
      dataset: { needsHub: "crm.refresh" } }), () => this.emit({ action: "crm_refresh" }));
  }
}

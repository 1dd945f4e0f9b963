// <ctib-call>: one call, its data and what the agent can do with it.
// The card never talks to the hub: it dispatches a bubbling "bar-action" event
// ({action, call_id, ...}) that the bar turns into commands.

import { enable, fill, h, onActivate, setText } from "./dom.js";
import { formatDuration, formatPhone } from "./format.js";
import { getLanguage, t } from "./i18n/index.js";
import { PopPanel, chosen } from "./screenpop.js";
import { dataEntry, isConference, participants, transferTargets } from "./context.js";

const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];
let serial = 0;

/**
 * Who the agent talks to on `call`: for a call between agents (internal, or a
 * consultation) the other agent, from the directory; else the customer.
 */
export function otherParty(call, store) {
  if (call.direction === "internal" || call.consult_of) {
    const me = store.agentId;
    const others = call.connections.filter((c) => c.agent_id && c.agent_id !== me);
    const other = others.find((c) => !["ended", "failed"].includes(c.state)) ?? others[others.length - 1];
    const entry = other && store.directory.find((d) => d.agent_id === other.agent_id);
    if (other) {
      return { name: other.name ?? entry?.name ?? other.agent_id, number: entry?.extension ?? other.device ?? null };
    }
  }
  return call.customer;
}

/** The caller's (or callee's) name and number as shown everywhere. */
export function partyText(party) {
  const name = typeof party?.name === "string" ? party.name.trim() : "";
  const number = typeof party?.number === "string" ? formatPhone(party.number) : "";
  return { name, number, title: name || number || t("call.unknown") };
}

export class CallCard extends HTMLElement {
  constructor() {
    super();
    this.uid = `c${++serial}`;
    this.call = null;
    this.ctx = null;
    this.built = false;
  }

  connectedCallback() {
    if (!this.built) this.build();
  }

  build() {
    this.built = true;
    const id = this.uid;
    this.els = {};
    const e = this.els;
    e.heading = h("h3", { class: "call-title", id: `${id}-t` },
      e.dir = h("span", { class: "dir", attrs: { "aria-hidden": "true" } }),
      e.name = h("span", { class: "name" }));
    e.number = h("div", { class: "number", attrs: { dir: "ltr" } });
    e.state = h("span", { class: "call-state" });
    e.timer = h("span", { class: "timer", attrs: { role: "timer", "aria-live": "off" } });
    e.talkHold = h("span", { class: "talk-hold", hidden: true });
    e.queue = h("span", { class: "queue" });
    e.badge = h("span", { class: "badge", hidden: true });
    e.about = h("p", { class: "about", hidden: true });
    e.participants = h("div", { class: "participants", hidden: true });
    e.attached = h("dl", { class: "attached", attrs: { "aria-label": t("call.attached") } });
    e.crm = new PopPanel((detail) => this.emit(detail));
    const btn = (name, cls, hint) => {
      const b = h("button", { type: "button", class: `btn ${cls}`, dataset: { action: name } });
      if (hint) { b.dataset.hint = hint; b.title = hint; b.setAttribute("aria-keyshortcuts", hint); }
      return onActivate(b, () => this.act(name));
    };
    e.answer = btn("answer", "primary answer", "Alt+A");
    e.hold = btn("hold", "hold", "Alt+O");
    e.retrieve = btn("retrieve", "retrieve", "Alt+O");
    e.mute = btn("mute", "mute", "Alt+M");
    e.keypadBtn = btn("keypad", "keypad-toggle");
    e.transferBtn = btn("transfer", "transfer-toggle");
    e.hangup = btn("hangup", "danger hangup", "Alt+H");
    e.complete = btn("complete_transfer", "primary complete");
    e.conference = btn("conference", "conference");
    e.cancel = btn("cancel_consult", "cancel-consult");
    e.keypadBtn.setAttribute("aria-expanded", "false");
    e.transferBtn.setAttribute("aria-expanded", "false");
    e.keypadBtn.setAttribute("aria-controls", `${id}-k`);
    e.transferBtn.setAttribute("aria-controls", `${id}-x`);

    e.actions = h("div", { class: "actions", attrs: { role: "group", "aria-labelledby": `${id}-t` } },
      e.answer, e.retrieve, e.hold, e.mute, e.keypadBtn, e.transferBtn,
      e.complete, e.conference, e.cancel, e.hangup);

    // Transfer / consultation panel.
    e.target = h("input", { type: "text", class: "target", id: `${id}-target`, autocomplete: "off",
      attrs: { list: `${id}-dir`, inputmode: "tel" } });
    e.dirList = h("datalist", { id: `${id}-dir` });
    e.chips = h("div", { class: "chips", attrs: { role: "group" } });
    e.blind = h("button", { type: "button", class: "btn blind" });
    e.consult = h("button", { type: "button", class: "btn primary consult" });
    onActivate(e.blind, () => this.transfer("blind_transfer"));
    onActivate(e.consult, () => this.transfer("consult"));
    e.targetLabel = h("label", { attrs: { for: `${id}-target` } });
    e.transferPanel = h("form", { class: "panel transfer-panel", id: `${id}-x`, hidden: true,
      on: { submit: (ev) => { ev.preventDefault(); this.transfer("consult"); } } },
    e.targetLabel, e.target, e.dirList, e.chips, h("div", { class: "row" }, e.blind, e.consult));

    // DTMF keypad.
    e.digits = h("output", { class: "digits", attrs: { "aria-live": "polite" } });
    e.keys = KEYS.map((k) => onActivate(
      h("button", { type: "button", class: "key", text: k, dataset: { key: k } }),
      () => this.emit({ action: "dtmf", digits: k })));
    e.keypad = h("div", { class: "panel keypad", id: `${id}-k`, hidden: true },
      e.digits, h("div", { class: "keys", attrs: { role: "group" } }, ...e.keys));

    fill(this,
      h("article", { class: "call-body", attrs: { "aria-labelledby": `${id}-t` } },
        e.heading, e.number,
        h("div", { class: "call-meta" }, e.state, e.timer, e.talkHold, e.queue, e.badge),
        e.about, e.participants, e.attached, e.crm.el, e.actions, e.transferPanel, e.keypad));
    this.translate();
    if (this.call) this.update(this.call, this.ctx);
  }

  /** Put the texts of the current language on the fixed parts. */
  translate() {
    const e = this.els;
    if (!e) return;
    setText(e.answer, t("action.answer"));
    setText(e.hold, t("action.hold"));
    setText(e.retrieve, t("action.retrieve"));
    setText(e.keypadBtn, t("action.keypad"));
    setText(e.transferBtn, t("action.transfer"));
    setText(e.hangup, t("action.hangup"));
    setText(e.complete, t("action.complete_transfer"));
    setText(e.conference, t("action.conference"));
    setText(e.cancel, t("action.cancel_consult"));
    setText(e.blind, t("action.blind_transfer"));
    setText(e.consult, t("action.consult"));
    setText(e.targetLabel, t("transfer.target"));
    e.target.placeholder = t("transfer.placeholder");
    e.attached.setAttribute("aria-label", t("call.attached"));
    e.chips.setAttribute("aria-label", t("transfer.agents"));
    e.keys.forEach((k) => k.setAttribute("aria-label", t("keypad.key", { key: k.dataset.key })));
    if (this.call) this.update(this.call, this.ctx);
  }

  emit(detail) {
    this.dispatchEvent(new CustomEvent("bar-action", { bubbles: true, detail: { call_id: this.call?.call_id, ...detail } }));
  }

  act(name) {
    if (name === "keypad" || name === "transfer") {
      this.toggle(name);
      return;
    }
    this.emit({ action: name === "mute" && this.muted ? "unmute" : name });
  }

  toggle(which, open) {
    const e = this.els;
    const panel = which === "keypad" ? e.keypad : e.transferPanel;
    const button = which === "keypad" ? e.keypadBtn : e.transferBtn;
    const show = open ?? panel.hidden;
    panel.hidden = !show;
    button.setAttribute("aria-expanded", String(show));
    // Colleagues and their presence now, not as they were at sign-in.
    if (show && which === "transfer") this.emit({ action: "directory" });
    if (show) (which === "keypad" ? e.keys[0] : e.target).focus();
  }

  transfer(kind) {
    const target = this.els.target.value.trim();
    if (!target) {
      this.els.target.focus();
      this.emit({ action: "invalid", code: "no-target" });
      return;
    }
    this.emit({ action: kind, target });
  }

  /** Show `call` as seen by the agent; ctx = {store, online, now}. */
  update(call, ctx) {
    this.call = call;
    this.ctx = ctx;
    if (!this.built || !ctx) return;
    const { store, online } = ctx;
    const e = this.els;
    const mine = store.myConnection(call);
    const state = mine?.state ?? "ended";
    const parent = call.consult_of ? store.calls.get(call.consult_of) : null;
    const consult = store.consultOf(call.call_id);
    const customerCall = call.direction !== "internal" && !call.consult_of;
    const pop = customerCall ? store.screenpops.get(call.call_id) ?? null : null;
    let party = partyText(otherParty(call, store));
    const record = chosen(pop);
    // A caller the platform did not name is named after their CRM record.
    if (!party.name && record?.name) party = { ...party, name: record.name, title: record.name };
    this.dataset.state = state;
    this.dataset.callId = call.call_id;
    this.classList.toggle("is-consult", !!call.consult_of);
    this.muted = store.muted.has(call.call_id);

    setText(e.dir, call.direction === "outbound" ? "↗" : call.direction === "internal" ? "↔" : "↘");
    setText(e.name, party.title);
    setText(e.number, party.name ? party.number : "");
    e.number.hidden = !party.name || !party.number;
    const label = call.consult_of ? (state === "alerting" ? t("call.consult_from", { name: party.title })
      : t("call.consult_with", { name: party.title })) : party.title;
    this.setAttribute("aria-label", t(`state.call.${state}`) + " — " + label);
    setText(e.state, t(`state.call.${state}`));
    setText(e.queue, call.queue ? t("call.queue", { queue: call.queue }) : "");
    e.queue.hidden = !call.queue;
    const conference = isConference(call, store.agentId);
    this.classList.toggle("is-conference", conference);
    e.badge.hidden = !consult && !call.consult_of && !conference;
    setText(e.badge, consult ? t("call.consulting", { name: partyText(otherParty(consult, store)).title })
      : call.consult_of ? t("call.consultation") : conference ? t("call.conference") : "");
    this.renderContext(call, store, conference);
    this.clock = callClock(mine, call);
    this.tick(ctx.now ?? Date.now());

    // IVR / attached data, as text.
    const lang = getLanguage();
    const entries = Object.entries(call.attached ?? {}).slice(0, 12)
      .filter(([k]) => k !== "crm_record_id") // ours, for the pop: not the customer's data
      .map(([k, v]) => dataEntry(store.callDataLabels, k, v, lang));
    const key = lang + JSON.stringify(entries);
    if (this._attachedKey !== key) {
      this._attachedKey = key;
      fill(e.attached, ...entries.flatMap((x) => [
        h("dt", { text: x.key.slice(0, 60), dataset: { key: x.raw.key.slice(0, 60) } }),
        h("dd", { text: x.value.slice(0, 200), attrs: { title: x.value === x.raw.value ? null : x.raw.value.slice(0, 200) } }),
      ]));
    }
    e.attached.hidden = entries.length === 0;

    // What the CRM knows about the customer (not on calls between agents).
    e.crm.update(pop, { online, can: (op) => store.can(op) }, getLanguage());

    // Which buttons, and whether they may be used.
    const focused = this.contains(document.activeElement) ? document.activeElement : null;
    const show = (el, yes) => { el.hidden = !yes; };
    const isConsultOfMine = !!parent;
    show(e.answer, state === "alerting");
    show(e.hold, state === "connected");
    show(e.retrieve, state === "held");
    show(e.mute, state === "connected");
    show(e.keypadBtn, state === "connected");
    show(e.transferBtn, state === "connected" && !isConsultOfMine && !consult);
    show(e.hangup, state !== "alerting" && !isConsultOfMine);
    show(e.complete, isConsultOfMine && (state === "connected" || state === "initiated"));
    show(e.conference, isConsultOfMine && state === "connected");
    show(e.cancel, isConsultOfMine);
    if (state !== "connected") {
      if (!e.keypad.hidden) this.toggle("keypad", false);
      if (!e.transferPanel.hidden) this.toggle("transfer", false);
    }
    if (focused && (focused.hidden || focused.closest("[hidden]"))) this.focusPrimary();
    setText(e.mute, this.muted ? t("action.unmute") : t("action.mute"));
    e.mute.setAttribute("aria-pressed", String(this.muted));

    const offline = t("why.offline");
    const gate = (el, op) => {
      if (!online) enable(el, false, offline);
      else if (op && !store.can(op, call.platform)) enable(el, false, t("why.capability"));
      else enable(el, true);
    };
    gate(e.answer, "call.answer");
    gate(e.hold, "call.hold");
    gate(e.retrieve, "call.retrieve");
    gate(e.mute, "call.mute");
    gate(e.keypadBtn, "call.dtmf");
    gate(e.transferBtn, store.can("call.blind_transfer", call.platform)
      || store.can("call.consult", call.platform) ? null : "call.consult");
    gate(e.hangup, "call.hangup");
    gate(e.complete, "call.complete_transfer");
    gate(e.conference, "call.conference");
    gate(e.cancel, "call.cancel_consult");
    gate(e.blind, "call.blind_transfer");
    gate(e.consult, "call.consult");
    e.keys.forEach((k) => gate(k, "call.dtmf"));
    setText(e.digits, store.dtmf.get(call.call_id) ?? "");

    // Transfer targets: the other agents with a phone on this call's platform
    // (an agent may be on several), reached at their device there.
    // Transfer targets: the colleagues the hub listed when the panel opened (logged-out
    // ones never), with a phone on this call's platform, and their presence.
    this.renderTargets(call, store);
  }

  /** A consultation: the customer it is about. A conference: who is in it. */
  renderContext(call, store, conference) {
    const e = this.els;
    const about = call.consult_of && call.about ? partyText(call.about) : null;
    e.about.hidden = !about;
    if (about) {
      fill(e.about, h("span", { class: "muted", text: `${t("call.customer")} ` }),
        h("span", { class: "about-name", text: about.title }),
        about.name && about.number ? h("span", { class: "about-number", attrs: { dir: "ltr" }, text: ` · ${about.number}` }) : null);
    }
    const people = conference ? participants(call, store.agentId).map((p) => partyText(p).title) : [];
    e.participants.hidden = !conference;
    const key = getLanguage() + JSON.stringify(people);
    if (this._partKey !== key) {
      this._partKey = key;
      const id = `${this.uid}-p`;
      fill(e.participants, h("span", { class: "muted", id, text: t("call.participants") }),
        h("ul", { class: "participant-list", attrs: { "aria-labelledby": id } },
          ...people.map((name) => h("li", { text: name }))));
    }
  }

  renderTargets(call, store) {
    const e = this.els;
    const targets = transferTargets(store.presence, store.agentId, call.platform);
    const state = store.presence === null ? "loading" : targets.length ? "some" : "none";
    const dirKey = getLanguage() + state + JSON.stringify(targets.map((d) => [d.agent_id, d.name, d.device, d.status]));
    if (this._dirKey === dirKey) return;
    this._dirKey = dirKey;
    fill(e.dirList, ...targets.map((d) => h("option", { value: d.device || d.agent_id, label: `${d.name ?? d.agent_id}` })));
    if (state !== "some") {
      fill(e.chips, h("span", { class: "muted", text: t(state === "loading" ? "transfer.loading" : "transfer.nobody") }));
      return;
    }
    fill(e.chips, ...targets.map((d) => {
      const name = d.name || d.agent_id;
      const presence = t(`state.agent.${d.status}`);
      return h("button", {
        type: "button", class: "chip", dataset: { agent: d.agent_id, status: d.status },
        attrs: { title: d.device ? `${name} (${d.device})` : name,
          "aria-label": t("transfer.presence", { name, state: presence }) },
        on: { click: () => { e.target.value = d.device || d.agent_id; e.consult.focus(); } },
      }, h("span", { class: "dot", attrs: { "aria-hidden": "true" } }), h("span", { class: "name", text: name }),
      h("span", { class: "presence", text: presence }));
    }));
  }

  tick(now) {
    if (!this.els || !this.clock) return;
    const c = clockAt(this.clock, now);
    setText(this.els.timer, c.total === null ? "" : formatDuration(c.total));
    this.els.talkHold.hidden = c.talk === null;
    if (c.talk !== null) {
      setText(this.els.talkHold, t("call.talk_hold", { talk: formatDuration(c.talk), hold: formatDuration(c.hold) }));
    }
  }

  /** Focus the button the agent most likely wants next (never Hang up: Enter must not end a call). */
  focusPrimary() {
    const e = this.els;
    if (!e) return;
    const b = [e.answer, e.retrieve, e.complete, e.hold, e.keypadBtn].find((x) => !x.hidden);
    (b ?? this.querySelector("button:not([hidden])"))?.focus();
  }
}

/**
 * What a card's clock counts, from my connection: ringing time until answered, then the
 * whole call from the first answer (hold, retrieve and consultations do not restart it),
 * split into talk and hold time.
 */
export function callClock(mine, call) {
  const state = mine?.state ?? "ended";
  const since = Date.parse(mine?.since ?? call?.created_at ?? "");
  const connectedAt = Date.parse(mine?.connected_at ?? "");
  if ((state === "connected" || state === "held") && !Number.isNaN(connectedAt)) {
    const held = Number(mine.held_seconds);
    return { state, since, connectedAt, held: Number.isFinite(held) && held > 0 ? held : 0 };
  }
  return { state, since, connectedAt: NaN, held: 0 };
}

/** {total, talk, hold} in seconds at `now` (talk and hold null before the answer). */
export function clockAt(clock, now) {
  if (Number.isNaN(clock.connectedAt)) {
    return { total: Number.isNaN(clock.since) ? null : Math.max(0, (now - clock.since) / 1000), talk: null, hold: null };
  }
  const total = Math.max(0, (now - clock.connectedAt) / 1000);
  const holding = clock.state === "held" && !Number.isNaN(clock.since) ? Math.max(0, (now - clock.since) / 1000) : 0;
  const hold = Math.min(total, clock.held + holding);
  return { total, talk: Math.max(0, total - hold), hold };
}

customElements.define("ctib-call", CallCard);

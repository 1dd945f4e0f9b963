// <ctib-work>: one digital interaction (chat, email, SMS, social), offered or active.
// Like the call card it never talks to the hub: it dispatches a bubbling
// "work-action" event ({action, interaction_id, ...}) that the bar turns into
// interaction.accept / decline / close commands, or into opening the content.
// Sender, subject and preview are the customer's words: text only, never HTML.

import { enable, fill, h, onActivate, setText } from "./dom.js";
import { channelIcon, secondsLeft, senderText } from "./digital.js";
import { codeLabel, formatDuration } from "./format.js";
import { getLanguage, t } from "./i18n/index.js";

let serial = 0;

export class WorkCard extends HTMLElement {
  constructor() {
    super();
    this.uid = `w${++serial}`;
    this.work = null;
    this.ctx = null;
    this.built = false;
  }

  connectedCallback() {
    if (!this.built) this.build();
  }

  build() {
    this.built = true;
    const id = this.uid;
    const e = this.els = {};
    e.icon = h("span", { class: "chan-icon", attrs: { "aria-hidden": "true" } });
    e.chan = h("span", { class: "chan" });
    e.sender = h("span", { class: "sender" });
    e.heading = h("h3", { class: "work-title", id: `${id}-t` }, e.icon, " ", e.sender);
    e.subject = h("p", { class: "subject" });
    e.preview = h("p", { class: "preview" });
    e.countdown = h("span", { class: "countdown", attrs: { role: "timer", "aria-live": "off" } });
    e.timer = h("span", { class: "timer", attrs: { role: "timer", "aria-live": "off" } });
    e.queue = h("span", { class: "queue" });
    e.messages = h("span", { class: "messages" });
    const btn = (name, cls, hint) => {
      const b = h("button", { type: "button", class: `btn ${cls}`, dataset: { action: name } });
      if (hint) { b.dataset.hint = hint; b.title = hint; b.setAttribute("aria-keyshortcuts", hint); }
      return b;
    };
    e.accept = onActivate(btn("accept", "primary accept", "Alt+A"), () => this.emit({ action: "accept" }));
    e.decline = onActivate(btn("decline", "decline"), () => this.toggle("decline"));
    e.open = onActivate(btn("open", "open"), () => this.emit({ action: "open" }));
    e.closeBtn = onActivate(btn("close", "close-toggle"), () => this.toggle("close"));
    e.decline.setAttribute("aria-expanded", "false");
    e.decline.setAttribute("aria-controls", `${id}-d`);
    e.closeBtn.setAttribute("aria-expanded", "false");
    e.closeBtn.setAttribute("aria-controls", `${id}-c`);
    e.actions = h("div", { class: "actions", attrs: { role: "group", "aria-labelledby": `${id}-t` } },
      e.accept, e.decline, e.open, e.closeBtn);

    // Decline, with an optional reason.
    e.reason = h("input", { type: "text", id: `${id}-reason`, class: "decline-reason", maxLength: 200,
      autocomplete: "off" });
    e.reasonLabel = h("label", { attrs: { for: `${id}-reason` } });
    e.declineGo = h("button", { type: "submit", class: "btn danger decline-confirm" });
    e.declinePanel = h("form", { class: "panel decline-panel", id: `${id}-d`, hidden: true,
      on: { submit: (ev) => { ev.preventDefault(); this.submitDecline(); } } },
    e.reasonLabel, e.reason, h("div", { class: "row" }, e.declineGo));

    // Close, with a disposition and notes.
    e.disposition = h("select", { id: `${id}-disp`, class: "work-disposition" });
    e.dispLabel = h("label", { attrs: { for: `${id}-disp` } });
    e.notes = h("textarea", { id: `${id}-notes`, class: "work-notes", rows: 2, maxLength: 2000 });
    e.notesLabel = h("label", { attrs: { for: `${id}-notes` } });
    e.closeGo = h("button", { type: "submit", class: "btn primary close-confirm" });
    e.closePanel = h("form", { class: "panel close-panel", id: `${id}-c`, hidden: true,
      on: { submit: (ev) => { ev.preventDefault(); this.submitClose(); } } },
    e.dispLabel, e.disposition, e.notesLabel, e.notes, h("div", { class: "row" }, e.closeGo));

    fill(this,
      h("article", { class: "work-body", attrs: { "aria-labelledby": `${id}-t` } },
        h("div", { class: "work-meta" }, e.chan, e.queue, e.messages, e.countdown, e.timer),
        e.heading, e.subject, e.preview, e.actions, e.declinePanel, e.closePanel));
    this.translate();
  }

  translate() {
    const e = this.els;
    if (!e) return;
    setText(e.accept, t("work.accept"));
    setText(e.decline, t("work.decline"));
    setText(e.open, t("work.open"));
    setText(e.closeBtn, t("work.close"));
    setText(e.reasonLabel, t("work.decline_reason"));
    setText(e.declineGo, t("work.decline_confirm"));
    setText(e.dispLabel, t("wrapup.disposition"));
    setText(e.notesLabel, t("wrapup.notes"));
    setText(e.closeGo, t("work.close_confirm"));
    this._dispKey = null;
    if (this.work) this.update(this.work, this.ctx);
  }

  emit(detail) {
    this.dispatchEvent(new CustomEvent("work-action", { bubbles: true,
      detail: { interaction_id: this.work?.interaction_id, channel: this.work?.channel, ...detail } }));
  }

  toggle(which, open) {
    const e = this.els;
    const panel = which === "decline" ? e.declinePanel : e.closePanel;
    const button = which === "decline" ? e.decline : e.closeBtn;
    const show = open ?? panel.hidden;
    panel.hidden = !show;
    button.setAttribute("aria-expanded", String(show));
    if (show) (which === "decline" ? e.reason : e.disposition).focus();
  }

  submitDecline() {
    const reason = this.els.reason.value.trim();
    this.emit({ action: "decline", reason: reason || undefined });
  }

  submitClose() {
    const e = this.els;
    this.emit({ action: "close", disposition: e.disposition.value || undefined,
      notes: e.notes.value.trim() || undefined });
  }

  /** Show `work` (digital.js validWork); ctx = {store, online, now}. */
  update(work, ctx) {
    this.work = work;
    this.ctx = ctx;
    if (!this.built || !ctx) return;
    const { store, online } = ctx;
    const e = this.els;
    const offered = work.state === "offered";
    const channel = t(`channel.${work.channel}`);
    const sender = senderText(work) || t("work.unknown_sender");
    this.dataset.state = work.state;
    this.dataset.channel = work.channel;
    this.dataset.interactionId = work.interaction_id;
    setText(e.icon, channelIcon(work.channel));
    setText(e.chan, channel);
    setText(e.sender, sender);
    setText(e.subject, work.subject);
    e.subject.hidden = !work.subject;
    setText(e.preview, work.preview);
    e.preview.hidden = !work.preview;
    setText(e.queue, work.queue ? t("call.queue", { queue: work.queue }) : "");
    e.queue.hidden = !work.queue;
    setText(e.messages, work.messages > 1 ? t("work.messages", { n: work.messages }) : "");
    e.messages.hidden = !(work.messages > 1);
    this.setAttribute("aria-label", t(offered ? "work.offer_label" : "work.active_label", { channel, name: sender }));
    this.since = Date.parse(work.accepted_at ?? work.offered_at ?? work.created_at ?? "");
    this.tick(ctx.now ?? Date.now());

    const focused = this.contains(document.activeElement) ? document.activeElement : null;
    e.accept.hidden = !offered;
    e.decline.hidden = !offered;
    e.open.hidden = offered;
    e.closeBtn.hidden = offered;
    e.countdown.hidden = !offered || !work.offer_deadline;
    e.timer.hidden = offered;
    if (offered && !e.closePanel.hidden) this.toggle("close", false);
    if (!offered && !e.declinePanel.hidden) this.toggle("decline", false);
    if (focused && (focused.hidden || focused.closest("[hidden]"))) this.focusPrimary();

    const gate = (el, ok, why) => enable(el, online && ok, online ? why : t("why.offline"));
    gate(e.accept, true);
    gate(e.decline, true);
    gate(e.declineGo, true);
    gate(e.open, !!work.content_url, t("why.no_content_url"));
    gate(e.closeBtn, true);
    gate(e.closeGo, true);

    const disps = store.dispositions;
    const key = getLanguage() + JSON.stringify(disps.map((d) => d.code));
    if (this._dispKey !== key) {
      this._dispKey = key;
      const keep = e.disposition.value;
      fill(e.disposition, h("option", { value: "", text: t("work.no_disposition") }),
        ...disps.map((d) => h("option", { value: d.code, text: codeLabel(d, getLanguage()) })));
      if (keep && disps.some((d) => d.code === keep)) e.disposition.value = keep;
    }
  }

  tick(now) {
    const e = this.els;
    const w = this.work;
    if (!e || !w) return;
    if (w.state === "offered") {
      const left = secondsLeft(w.offer_deadline, now);
      setText(e.countdown, left === null ? "" : t("work.expires_in", { time: formatDuration(left) }));
      this.classList.toggle("urgent", left !== null && left <= 5);
    } else {
      setText(e.timer, Number.isNaN(this.since) ? "" : formatDuration((now - this.since) / 1000));
    }
  }

  focusPrimary(options = undefined) {
    const e = this.els;
    if (!e) return;
    const b = [e.accept, e.open, e.closeBtn].find((x) => !x.hidden);
    b?.focus(options);
  }
}

customElements.define("ctib-work", WorkCard);

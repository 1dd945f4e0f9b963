// <ctibridge-bar>: the agent bar. Signs in, keeps the WebSocket, shows state,
// calls, wrap-up and recent calls, and turns clicks, shortcuts and host-page
// commands into protocol commands (docs/protocol/agent-websocket.md).

import { Attention } from "./attention.js";
import { CallCard, otherParty, partyText } from "./call-card.js";
import { HubClient, HubError } from "./connection.js";
import { enable, fill, h, isEnabled, onActivate, setText } from "./dom.js";
import { createHost } from "./hosts/index.js";
import { loadParts, senderText } from "./digital.js";
import { codeLabel, dialable, formatDuration, formatTime } from "./format.js";
import { LANGUAGES, detectLanguage, getLanguage, has, setLanguage, t } from "./i18n/index.js";
import { chosen, recordTitle, validMatch } from "./screenpop.js";
import { BarStore } from "./store.js";
import { WorkCard } from "./work-card.js";

const SESSION_KEY = "ctibridge.session";
// The host message that carries the CRM's answer (the older "screenpop" only carries the call).
const HOST_POP = "ctibridge.screenpop";
// The host message asking it to open a conversation or an email (docs/embedding.md).
const HOST_OPEN = "ctibridge.open";
// What a host adapter may ask of the call (hosts/scv.js).
const HOST_OPS = new Set(["call.answer", "call.hangup", "call.hold", "call.retrieve", "call.dtmf",
  "call.blind_transfer"]);
// Errors that mean the offer or the interaction is gone: the card leaves the bar.
const WORK_GONE = new Set(["no-such-interaction", "offer-expired", "already-closed", "not-offered-to-you",
  "not-yours"]);
const NOTICE_MS = 6000;
const DRAFT_DELAY_MS = 600; // after the last keystroke, the wrap-up form goes to the hub
const POPPED_KEY = "ctibridge.popped"; // records already opened in the host, per tab: a reload does not pop again
// The bar is served at <hub>/agentbar/: the API is one level up.
const HUB_BASE = new URL("../", import.meta.url);
const RECENT_SHOWN = 8;
const DIRECTORY_PAGE = 200; // the hub's largest page
const KEYPAD = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

export class AgentBar extends HTMLElement {
  connectedCallback() {
    if (!this.started) this.start();
  }

  async start() {
    this.started = true;
    const hub = this.getAttribute("hub");
    const base = hub ? new URL(hub, location.href).href : HUB_BASE.href;
    this.store = new BarStore(base);
    this.client = new HubClient({ base, seq: () => this.store.seq });
    this.autoOpen = true; // the host may turn it off with hello {auto_open: false}
    this.attention = new Attention(window);
    // Our postMessage contract, or a CRM's own softphone SDK (?host=hubspot).
    this.embed = await createHost(window, (cmd) => this.hostCommand(cmd));
    this.config = { demo: false, demo_logins: [], embed_origins: [], default_language: "en" };
    this.cards = new Map();
    this.inflight = new Set();
    this.drafts = new Map();   // interaction_id -> {disposition, notes}
    this.view = "loading";
    this.session = null;
    this.connStatus = { status: "idle" };
    this.applyLanguage(detectLanguage({ languages: navigator.languages ?? [navigator.language] }), false);

    this.client.addEventListener("status", (e) => { this.connStatus = e.detail; this.renderStatus(); this.render(); });
    this.client.addEventListener("hello", (e) => this.store.applyHello(e.detail.frame));
    this.client.addEventListener("snapshot", (e) => {
      this.snapshotArrived(e.detail.frame);
      this.loadDirectory();
    });
    this.client.addEventListener("presence", (e) => this.store.applyPresence(e.detail.frame.agent));
    this.client.addEventListener("event", (e) => { this.store.applyEvent(e.detail.frame); this.monitorNotice(e.detail.frame); });
    this.client.addEventListener("server-error", (e) => this.showError(e.detail));
    this.client.addEventListener("auth-lost", (e) => this.authLost(e.detail));
    this.client.addEventListener("tokens", (e) => this.tokensRenewed(e.detail));
    this.store.addEventListener("change", (e) => this.onChange(e.detail));
    window.addEventListener("online", () => this.client.nudge());
    window.addEventListener("keydown", (e) => this.shortcut(e));
    this.addEventListener("bar-action", (e) => this.cardAction(e.detail));
    this.addEventListener("work-action", (e) => this.workAction(e.detail));
    this.ticker = setInterval(() => this.tick(), 1000);
    this.build();

    try {
      this.config = { ...this.config, ...(await this.client.publicConfig()) };
    } catch (err) {
      console.warn("ctibridge: public config unavailable", err);
      this.configError = err;
    }
    this.embed.setAllowedOrigins(this.config.embed_origins);
    let stored = null;
    try { stored = localStorage.getItem("ctibridge.lang"); } catch { /* private mode */ }
    if (!stored) {
      this.applyLanguage(detectLanguage({ stored: null, languages: navigator.languages ?? [navigator.language],
        fallback: this.config.default_language }), false);
      this.build();
    }

    const wanted = new URLSearchParams(location.search).get("user");
    const demo = this.demoLogin(wanted);
    const saved = loadSession();
    if (demo && (!saved || saved.username !== demo.username)) {
      await this.signIn(demo.username, demo.password, { demo: true });
    } else if (saved) {
      this.session = saved;
      this.client.token = saved.token;
      this.client.refreshToken = saved.refresh ?? null;
      this.showMain();
      this.client.start();
    } else {
      this.showLogin(this.configError ? this.errorText(this.configError) : "");
    }
  }

  demoLogin(username) {
    if (!username || !this.config.demo) return null;
    return (this.config.demo_logins ?? []).find((d) => d && d.username === username) ?? null;
  }

  // ------------------------------------------------------------ language

  applyLanguage(lang, remember = true) {
    setLanguage(lang, { remember });
    document.documentElement.lang = getLanguage();
  }

  switchLanguage(lang) {
    this.applyLanguage(lang, true);
    const focusLang = document.activeElement === this.langSel;
    this.build();
    this.render();
    if (focusLang) this.langSel.focus();
  }

  // ------------------------------------------------------------ skeleton

  build() {
    this.langSel = h("select", { class: "lang", attrs: { "aria-label": t("lang.label") },
      on: { change: () => this.switchLanguage(this.langSel.value) } },
    ...LANGUAGES.map((l) => h("option", { value: l, text: t(`lang.${l}`), selected: l === getLanguage() })));
    this.connEl = h("span", { class: "conn", attrs: { role: "status" } },
      h("span", { class: "dot", attrs: { "aria-hidden": "true" } }), h("span", { class: "conn-text" }));
    this.signOutBtn = onActivate(h("button", { type: "button", class: "btn ghost signout", text: t("signout") }),
      () => this.signOut());
    this.errorText_ = h("span", { class: "msg" });
    this.banner = h("div", { class: "banner error", hidden: true, attrs: { role: "alert" } },
      this.errorText_, h("button", { type: "button", class: "btn ghost close",
        attrs: { "aria-label": t("dismiss") }, text: "×", on: { click: () => this.hideError() } }));
    this.platformBanner = h("div", { class: "banner warn", hidden: true, attrs: { role: "status" } });
    this.content = h("main", { class: "content", id: "ctib-main" });
    this.politeEl = h("div", { class: "sr-only", attrs: { "aria-live": "polite" } });
    this.assertiveEl = h("div", { class: "sr-only", attrs: { "aria-live": "assertive" } });
    fill(this,
      h("header", { class: "topbar" },
        h("span", { class: "brand", text: "ctibridge" }), this.connEl,
        h("span", { class: "spacer" }), this.langSel, this.signOutBtn),
      this.banner, this.platformBanner, this.content, this.politeEl, this.assertiveEl);
    this.cards = new Map();
    this.wrapFor = null;
    this._recentKey = null;
    if (this.view === "login") this.buildLogin(this.loginMessage);
    else if (this.view === "main") this.buildMain();
    else fill(this.content, h("p", { class: "loading", text: t("loading") }));
    this.renderStatus();
  }

  // ------------------------------------------------------------ sign in

  showLogin(message = "") {
    this.view = "login";
    this.loginMessage = message;
    this.buildLogin(message);
    this.renderStatus();
  }

  buildLogin(message) {
    // No autofocus attribute: in a CRM's side panel it would scroll the host page to the bar.
    const user = h("input", { id: "ctib-user", name: "username", autocomplete: "username", required: true,
      attrs: { autocapitalize: "none", spellcheck: "false" } });
    const pass = h("input", { id: "ctib-pass", name: "password", type: "password",
      autocomplete: "current-password", required: true });
    const err = h("p", { class: "login-error", attrs: { role: "alert" }, text: message || "" });
    const submit = h("button", { type: "submit", class: "btn primary", text: t("login.submit") });
    const form = h("form", { class: "login", attrs: { "aria-labelledby": "ctib-login-h" },
      on: { submit: async (ev) => {
        ev.preventDefault();
        this.attention.askOnce();
        submit.disabled = true;
        await this.signIn(user.value.trim(), pass.value, { demo: false });
        submit.disabled = false;
      } } },
    h("h1", { id: "ctib-login-h", text: t("login.title") }),
    h("label", { attrs: { for: "ctib-user" }, text: t("login.username") }), user,
    h("label", { attrs: { for: "ctib-pass" }, text: t("login.password") }), pass,
    submit, err);
    const demos = (this.config.demo && Array.isArray(this.config.demo_logins)) ? this.config.demo_logins
      .filter((d) => d && typeof d.username === "string" && typeof d.password === "string") : [];
    const demo = demos.length ? h("section", { class: "demo", attrs: { "aria-labelledby": "ctib-demo-h" } },
      h("h2", { id: "ctib-demo-h", text: t("login.demo") }),
      h("div", { class: "row" }, ...demos.map((d) => h("button", {
        type: "button", class: "btn demo-login", dataset: { user: d.username },
        text: typeof d.display_name === "string" && d.display_name ? d.display_name : d.username,
        on: { click: () => { this.attention.askOnce(); this.signIn(d.username, d.password, { demo: true }); } },
      })))) : null;
    fill(this.content, form, demo);
    this.loginError = err;
    requestAnimationFrame(() => {
      if (this.view === "login" && !this.contains(document.activeElement)) user.focus({ preventScroll: true });
    });
  }

  async signIn(username, password, { demo }) {
    let data;
    try {
      data = await this.client.login(username, password);
    } catch (err) {
      const text = this.errorText(err);
      if (this.view !== "login") this.showLogin(text);
      else setText(this.loginError, text);
      return false;
    }
    const u = data.user ?? {};
    this.session = {
      token: data.token, username: u.username ?? username, display_name: u.display_name ?? username,
      demo, password: demo ? password : undefined,
      refresh: data.refresh_token,
      // Kept until the session ends; the short access token is renewed meanwhile.
      exp: Date.now() + (Number(data.refresh_expires_in) || Number(data.expires_in) || 3600) * 1000,
    };
    saveSession(this.session);
    this.store.reset();
    this.showMain();
    this.client.start();
    this.focusState();
    return true;
  }

  signOut() {
    this.client.logout(); // ends the session on the hub too
    this.client.stop();
    this.client.token = null;
    this.client.lastSeq = 0;
    this.store.reset();
    this.session = null;
    clearSession();
    this.attention.ringing([], "");
    this.showLogin("");
    this.content.querySelector("#ctib-user")?.focus({ preventScroll: true });
  }

  tokensRenewed({ token }) {
    // The hub renewed the short access token: keep it for a reload of the page.
    if (!this.session) return;
    this.session = { ...this.session, token };
    saveSession(this.session);
  }

  async authLost(detail) {
    const s = this.session;
    if (s?.demo && s.password) {
      // Demo accounts are public: sign in again without bothering the agent.
      if (await this.signIn(s.username, s.password, { demo: true })) return;
    }
    this.store.reset();
    this.session = null;
    clearSession();
    this.showLogin(this.errorText(detail));
  }

  // ------------------------------------------------------------ main view

  showMain() {
    this.view = "main";
    this.buildMain();
    this.render();
  }

  buildMain() {
    this.cards = new Map();
    this.workCards = new Map();
    this.wrapFor = null;
    this._recentKey = null;
    this.toasts = h("section", { class: "toasts", attrs: { "aria-label": t("toasts.label") } });
    // Digital work: offers beside the ringing calls, then what the agent carries.
    this.workToasts = h("section", { class: "toasts work-offers", hidden: true,
      attrs: { "aria-label": t("work.offers_label") } });
    this.workSec = h("section", { class: "work", hidden: true, attrs: { "aria-label": t("work.active_heading") } });
    this.noticeEl = h("div", { class: "banner notice work-notice", hidden: true, attrs: { role: "status" } });
    this.loadEl = h("p", { class: "load", hidden: true, attrs: { "aria-label": t("load.label") } });
    // Agent state.
    this.whoEl = h("div", { class: "who" });
    this.stateLabel = h("span", { class: "state-label" });
    this.stateTimer = h("span", { class: "timer", attrs: { role: "timer", "aria-live": "off" } });
    // The station (extension) the agent logs in at, remembered per browser; empty: the
    // hub takes it from the network's site or the agent's configuration (docs/deployments.md).
    let storedStation = "";
    try { storedStation = localStorage.getItem("ctibridge.station") ?? ""; } catch { /* private mode */ }
    this.stationInput = h("input", { id: "ctib-station", class: "station", type: "tel", name: "station",
      autocomplete: "off", placeholder: t("agent.station_hint"), attrs: { maxlength: "32" } });
    this.stationInput.value = storedStation;
    this.stationBox = h("span", { class: "station-box" },
      h("label", { attrs: { for: "ctib-station" }, text: t("agent.station") }), this.stationInput);
    this.platformEl = h("span", { class: "on-platform" });
    this.agentLoginBtn = this.button("btn primary agent-login", t("agent.login"), async () => {
      this.attention.askOnce();
      const station = this.stationInput.value.trim();
      try { localStorage.setItem("ctibridge.station", station); } catch { /* private mode */ }
      if (await this.run("agent.login", station ? { station } : {})) {
        this.focusState(() => this.store.agent?.state.status !== "logged_out");
      }
    });
    this.readyBtn = this.button("btn ready", t("agent.ready"), () => {
      this.attention.askOnce(); this.run("agent.ready");
    }, "Alt+R");
    this.reasonSel = h("select", { class: "reason", id: "ctib-reason" });
    this.notReadyBtn = this.button("btn not-ready", t("agent.not_ready"), () => {
      const reason = this.reasonSel.value;
      if (reason) this.run("agent.not_ready", { reason });
    });
    this.agentLogoutBtn = this.button("btn ghost agent-logout", t("agent.logout"), async () => {
      if (await this.run("agent.logout")) this.focusState(() => this.store.agent?.state.status === "logged_out");
    });
    this.stateEl = h("div", { class: "state" }, this.stateLabel, this.stateTimer);
    this.agentSec = h("section", { class: "agent", attrs: { "aria-labelledby": "ctib-agent-h" } },
      h("h2", { class: "sr-only", id: "ctib-agent-h", text: t("agent.heading") }),
      this.whoEl, this.platformEl, this.stateEl, this.loadEl,
      h("div", { class: "row state-actions" }, this.stationBox, this.agentLoginBtn, this.readyBtn,
        h("span", { class: "nr" },
          h("label", { class: "sr-only", attrs: { for: "ctib-reason" }, text: t("agent.reason") }),
          this.reasonSel, this.notReadyBtn),
        this.agentLogoutBtn));
    this.notAgent = h("p", { class: "notice", hidden: true, text: t("agent.not_an_agent") });
    this.callsSec = h("section", { class: "calls", attrs: { "aria-label": t("calls.label") } });
    this.wrapSec = h("section", { class: "wrapup", hidden: true, attrs: { "aria-labelledby": "ctib-wrap-h" } });
    // Dialler.
    this.dialInput = h("input", { id: "ctib-dial", type: "tel", name: "number", autocomplete: "off",
      placeholder: t("dial.placeholder"), attrs: { "aria-keyshortcuts": "Alt+D" } });
    this.dialBtn = h("button", { type: "submit", class: "btn primary dial" , text: t("dial.call") });
    this.dialPadBtn = h("button", { type: "button", class: "btn keypad-toggle", text: t("action.keypad"),
      attrs: { "aria-expanded": "false", "aria-controls": "ctib-dialpad" } });
    this.dialPad = h("div", { class: "panel keypad", id: "ctib-dialpad", hidden: true },
      h("div", { class: "keys", attrs: { role: "group", "aria-label": t("action.keypad") } },
        ...KEYPAD.map((k) => h("button", { type: "button", class: "key", text: k,
          attrs: { "aria-label": t("keypad.key", { key: k }) },
          on: { click: () => { this.dialInput.value += k; } } }))));
    this.dialPadBtn.addEventListener("click", () => {
      this.dialPad.hidden = !this.dialPad.hidden;
      this.dialPadBtn.setAttribute("aria-expanded", String(!this.dialPad.hidden));
    });
    this.dialForm = h("form", { class: "dialer", attrs: { "aria-labelledby": "ctib-dial-h" },
      on: { submit: (ev) => { ev.preventDefault(); this.dial(this.dialInput.value, this.dialBtn); } } },
    h("h2", { id: "ctib-dial-h", class: "sr-only", text: t("dial.heading") }),
    h("label", { attrs: { for: "ctib-dial" }, class: "sr-only", text: t("dial.label") }),
    h("div", { class: "row" }, this.dialInput, this.dialBtn, this.dialPadBtn), this.dialPad);
    // Recent calls.
    this.recentList = h("ul", { class: "recent-list" });
    this.recentEmpty = h("p", { class: "muted", text: t("recent.empty") });
    this.recentSec = h("section", { class: "recent", attrs: { "aria-labelledby": "ctib-recent-h" } },
      h("h2", { id: "ctib-recent-h", text: t("recent.heading") }), this.recentEmpty, this.recentList);
    // Help and demo links.
    const keys = [["Alt+A", "keys.answer"], ["Alt+A", "keys.accept"], ["Alt+H", "keys.hangup"], ["Alt+O", "keys.hold"],
      ["Alt+M", "keys.mute"], ["Alt+R", "keys.ready"], ["Alt+D", "keys.dial"]];
    const help = h("details", { class: "help" }, h("summary", { text: t("keys.heading") }),
      h("dl", {}, ...keys.flatMap(([k, label]) => [h("dt", {}, h("kbd", { text: k })), h("dd", { text: t(label) })])));
    const others = this.config.demo ? (this.config.demo_logins ?? [])
      .filter((d) => d && typeof d.username === "string" && d.username !== this.session?.username
        && (!Array.isArray(d.roles) || d.roles.includes("agent"))) : [];
    const demo = others.length ? h("p", { class: "demo-links muted" }, t("demo.others"), " ",
      ...others.flatMap((d, i) => [i ? " · " : "", h("a", { href: `?user=${encodeURIComponent(d.username)}`,
        target: "_blank", rel: "noopener", text: d.display_name || d.username })])) : null;
    // The agent's state and the calls first, whatever else waits: offers of digital
    // work never push a live call out of view (a narrow panel shows little).
    this.offersHead = h("h2", { class: "offers-head", id: "ctib-offers-h", hidden: true });
    fill(this.content, this.agentSec, this.notAgent, this.toasts, this.callsSec, this.wrapSec,
      this.noticeEl, this.offersHead, this.workToasts, this.workSec,
      this.dialForm, this.recentSec, help, demo);
  }

  /** Focus the state panel's first usable button (after sign-in, agent log in/out). */
  async focusState(pred = () => this.store.loaded) {
    await this.until(pred, 5000);
    this.render();
    if (this.contains(document.activeElement) && document.activeElement.offsetParent !== null) return;
    const b = [this.agentLoginBtn, this.readyBtn, this.notReadyBtn].find((x) => x && !x.hidden && isEnabled(x));
    b?.focus({ preventScroll: true });  // never scroll a host page to the bar
  }

  button(cls, text, fn, hint) {
    const b = h("button", { type: "button", class: cls, text });
    if (hint) { b.dataset.hint = hint; b.title = hint; b.setAttribute("aria-keyshortcuts", hint); }
    return onActivate(b, fn);
  }

  get online() {
    return this.connStatus.status === "online" && this.store.loaded;
  }

  // ------------------------------------------------------------ rendering

  onChange({ effects }) {
    for (const fx of effects) this.effect(fx);
    this.render();
    const offered = effects.filter((fx) => fx.kind === "offered");
    if (offered.length) {
      const card = this.cards.get(offered[offered.length - 1].call.call_id);
      requestAnimationFrame(() => card?.focusPrimary());
    } else {
      // A new offer takes the focus unless the agent is typing or working a call's card.
      const work = effects.filter((fx) => fx.kind === "work-offered" && !fx.snapshot);
      const busy = document.activeElement?.matches?.("input, textarea, select")
        || document.activeElement?.closest?.("ctib-call");
      if (work.length && !busy) {
        const card = this.workCards.get(work[work.length - 1].work.interaction_id);
        const keepCallsInView = this.store.liveCalls().length > 0;
        requestAnimationFrame(() => card?.focusPrimary({ preventScroll: keepCallsInView }));
      }
    }
  }

  effect(fx) {
    if (fx.kind === "offered") {
      const p = partyText(otherParty(fx.call, this.store));
      this.say(t(fx.call.consult_of ? "announce.consult" : "announce.offered", { name: p.title }), true);
      this.embed.post("call.offered", callData(fx.call));
      if (isCustomerCall(fx.call)) {
        // At once, with the number: a CRM that searches by itself need not wait for ours.
        this.embed.post("screenpop", callData(fx.call));
        this.autoPop(this.store.screenpops.get(fx.call.call_id));
      }
    } else if (fx.kind === "answered") {
      this.embed.post("call.answered", callData(fx.call));
    } else if (fx.kind === "ended") {
      this.say(t("announce.ended"));
      this.embed.post("call.ended", { call_id: fx.call_id, cause: fx.cause });
    } else if (fx.kind === "agent") {
      const s = fx.agent.state;
      this.embed.post("agent.state", { agent_id: fx.agent.agent_id, status: s.status,
        reason: s.reason ?? null, since: s.since ?? null });
    } else if (fx.kind === "work-offered") {
      this.say(t("announce.work_offered", { channel: t(`channel.${fx.work.channel}`),
        name: senderName(fx.work) }), true);
    } else if (fx.kind === "work-accepted") {
      requestAnimationFrame(() => this.workCards.get(fx.work.interaction_id)?.focusPrimary());
    } else if (fx.kind === "work-withdrawn") {
      this.notice(t(`work.withdrawn.${fx.reason}`, { channel: t(`channel.${fx.work.channel}`),
        name: senderName(fx.work) }));
    } else if (fx.kind === "work-updated" && fx.more) {
      this.say(t("announce.work_message", { channel: t(`channel.${fx.work.channel}`), name: senderName(fx.work) }));
    } else if (fx.kind === "work-closed") {
      this.say(t("announce.work_closed", { channel: t(`channel.${fx.work.channel}`), name: senderName(fx.work) }));
    } else if (fx.kind === "screenpop") {
      const call = this.store.calls.get(fx.pop.call_id);
      if (!fx.snapshot && call && isCustomerCall(call)) this.announcePop(fx.pop);
      this.autoPop(fx.pop);
    }
  }

  announcePop(pop) {
    const record = chosen(pop);
    if (record) this.say(t("announce.crm_one", { name: recordTitle(record) }));
    else if (pop.outcome === "several") this.say(t("crm.several", { n: pop.matches.length }));
    else if (pop.outcome === "none") this.say(t("announce.crm_none"));
    else if (pop.outcome === "unavailable") this.say(t("crm.unavailable"));
  }

  /**
   * Tell the host what the CRM found, if it wants it (hello auto_open), once per call and
   * answer: the record to open (one, or the one selected), the choice (several), or that
   * the CRM is unavailable. "none" waits for the agent's "Create contact".
   */
  autoPop(pop) {
    const call = pop && this.store.calls.get(pop.call_id);
    if (!call || !isCustomerCall(call) || !this.autoOpen || !this.embed.canPost()) return;
    const record = chosen(pop);
    if (record) {
      if (!popped(call.call_id, record.record_id)) this.postRecord(call, pop, record, "auto");
    } else if (pop.outcome !== "none" && !popped(call.call_id, pop.outcome)) {
      markPopped(call.call_id, pop.outcome);
      this.embed.post(HOST_POP, { ...callData(call), ...popData(pop), trigger: "auto" });
    }
  }

  postRecord(call, pop, record, trigger) {
    markPopped(call.call_id, record.record_id);
    return this.embed.post(HOST_POP, { ...callData(call), ...popData(pop, {
      outcome: "one", matches: [record], selected: record.record_id }), trigger });
  }

  /** The agent's moves on a card's screen-pop panel. */
  async crmAction(d, call) {
    const pop = this.store.screenpops.get(call.call_id);
    if (!pop) return;
    const id = call.call_id;
    if (d.action === "crm_refresh") {
      await this.run("crm.refresh", { call_id: id });
      return;
    }
    if (d.action === "crm_search") {
      if (pop.search_url) openTab(pop.search_url);
      return;
    }
    if (d.action === "crm_create") {
      if (this.embed.canPost()) {
        this.embed.post(HOST_POP, { ...callData(call), ...popData(pop, { outcome: "none", matches: [],
          selected: null }), trigger: "agent" });
      } else if (pop.create_url) openTab(pop.create_url);
      return;
    }
    const record = pop.matches.find((m) => m.record_id === d.record_id);
    if (!record) return;
    // crm.select first: the hub logs the call against the record the agent picked.
    if (d.action === "crm_select"
      && !(await this.run("crm.select", { call_id: id, record_id: record.record_id }))) return;
    if (this.embed.canPost()) this.postRecord(call, pop, record, "agent");
    else if (record.url) { markPopped(id, record.record_id); openTab(record.url); }
  }

  say(text, urgent = false) {
    const el = urgent ? this.assertiveEl : this.politeEl;
    if (!el) return;
    el.textContent = "";
    requestAnimationFrame(() => { el.textContent = text; });
  }

  render() {
    if (this.view !== "main") return;
    const store = this.store;
    const agent = store.agent;
    this.classList.toggle("offline", !this.online);
    this.notAgent.hidden = !(store.loaded && !agent);
    this.agentSec.hidden = !agent;
    this.dialForm.hidden = !agent;
    this.recentSec.hidden = !agent;
    this.renderAgent();
    this.renderCalls();
    this.renderWork();
    this.renderLoad();
    this.renderWrapUp();
    this.renderRecent();
    this.renderDial();
    this.renderPlatform();
    const ringing = store.ringing().map((c) => {
      const p = partyText(otherParty(c, store));
      return { call_id: c.call_id, title: t("notify.title"), body: p.name ? `${p.name} — ${p.number}` : p.title };
    });
    // Offers of digital work get the same attention as a ringing call when the tab is hidden.
    for (const w of agent ? store.workOffers() : []) {
      ringing.push({ call_id: w.interaction_id, title: t("notify.work_title", { channel: t(`channel.${w.channel}`) }),
        body: [senderName(w), w.subject].filter(Boolean).join(" — ") });
    }
    this.attention.ringing(ringing, t("notify.blink", { name: ringing[0]?.body ?? "" }));
    const status = agent ? this.agentStatusText(agent.state) : "";
    this.attention.setBaseTitle(status ? `${status} · ctibridge` : "ctibridge");
  }

  renderStatus() {
    if (!this.connEl) return;
    const { status, retryIn } = this.connStatus;
    const shown = this.view !== "main" ? "signed-out" : status;
    this.connEl.dataset.status = shown;
    let text;
    if (shown === "online") text = t("conn.online");
    else if (shown === "connecting") text = t("conn.connecting");
    else if (shown === "reconnecting") text = retryIn > 0 ? t("conn.retry", { s: Math.ceil(retryIn / 1000) }) : t("conn.reconnecting");
    else if (shown === "signed-out") text = t("conn.signed_out");
    else text = t("conn.offline");
    setText(this.connEl.querySelector(".conn-text"), text);
    this.signOutBtn.hidden = this.view !== "main";
  }

  agentStatusText(state) {
    const base = t(`state.agent.${state.status}`);
    if (state.status === "not_ready" && state.reason) {
      const r = this.store.reasonCodes.find((x) => x.code === state.reason);
      const text = r ? codeLabel(r, getLanguage()) : has(`reason.${state.reason}`) ? t(`reason.${state.reason}`) : state.reason;
      return `${base} — ${text}`;
    }
    return base;
  }

  renderAgent() {
    const agent = this.store.agent;
    if (!agent) return;
    const st = agent.state;
    setText(this.whoEl, agent.extension ? `${agent.name ?? agent.agent_id} · ${agent.extension}` : (agent.name ?? agent.agent_id));
    this.stateEl.dataset.status = st.status;
    setText(this.stateLabel, this.agentStatusText(st));
    const out = st.status === "logged_out";
    const online = this.online;
    this.agentLoginBtn.hidden = !out;
    this.stationBox.hidden = !out;
    const system = this.store.platforms[agent.platform]?.label || agent.platform;
    setText(this.platformEl, t("agent.on_platform", { platform: system }));
    this.platformEl.dataset.platform = agent.platform;
    this.readyBtn.hidden = out;
    this.notReadyBtn.parentElement.hidden = out;
    this.agentLogoutBtn.hidden = out;
    this.readyBtn.setAttribute("aria-pressed", String(st.status === "ready"));
    const why = online ? "" : t("why.offline");
    enable(this.agentLoginBtn, online, why);
    enable(this.readyBtn, online && st.status !== "ready" && st.status !== "busy",
      online ? (st.status === "busy" ? t("why.busy") : "") : why);
    enable(this.notReadyBtn, online, why);
    enable(this.agentLogoutBtn, online && st.status !== "busy", online ? t("why.busy") : why);
    const codes = this.store.reasonCodes;
    const key = getLanguage() + JSON.stringify(codes.map((c) => c.code));
    if (this._reasonKey !== key || this.reasonSel.options.length !== codes.length) {
      this._reasonKey = key;
      const keep = this.reasonSel.value;
      fill(this.reasonSel, ...codes.map((c) => h("option", { value: c.code, text: codeLabel(c, getLanguage()) })));
      if (keep && codes.some((c) => c.code === keep)) this.reasonSel.value = keep;
    }
    this.reasonSel.disabled = !online;
    this.tick();
  }

  renderCalls() {
    const store = this.store;
    const ctx = { store, online: this.online, now: this.now() };
    const ringing = [];
    const others = [];
    for (const call of store.liveCalls()) (store.myState(call) === "alerting" ? ringing : others).push(call);
    // Show a consultation right after the call it was made from.
    others.sort((a, b) => orderKey(a, store) .localeCompare(orderKey(b, store)));
    const seen = new Set();
    const place = (container, calls) => {
      calls.forEach((call, i) => {
        let card = this.cards.get(call.call_id);
        if (!card) {
          card = document.createElement("ctib-call");
          this.cards.set(call.call_id, card);
        }
        seen.add(call.call_id);
        card.classList.toggle("toast", container === this.toasts);
        if (container.children[i] !== card) {
          const hadFocus = card.contains(document.activeElement);
          container.insertBefore(card, container.children[i] ?? null);
          if (hadFocus) requestAnimationFrame(() => card.focusPrimary());
        }
        card.update(call, ctx);
      });
    };
    place(this.toasts, ringing);
    place(this.callsSec, others);
    for (const [id, card] of this.cards) {
      if (!seen.has(id)) {
        const hadFocus = card.contains(document.activeElement);
        card.remove();
        this.cards.delete(id);
        if (hadFocus) requestAnimationFrame(() => this.focusSomething());
      }
    }
    this.toasts.hidden = ringing.length === 0;
    this.callsSec.hidden = others.length === 0;
  }

  /** The focused call went away: focus the next thing the agent will want. */
  async focusSomething() {
    const card = this.callsSec.querySelector("ctib-call") ?? this.toasts.querySelector("ctib-call")
      ?? this.workSec?.querySelector("ctib-work") ?? this.workToasts?.querySelector("ctib-work");
    if (card) { card.focusPrimary(); return; }
    // The wrap-up form follows the end of an answered call within a moment.
    await this.until(() => this.store.pendingWrapUps().length > 0, 1500);
    if (this.contains(document.activeElement) && document.activeElement.offsetParent !== null) return;
    const sel = this.wrapSec.hidden ? null : this.wrapSec.querySelector("select");
    const ready = this.readyBtn && !this.readyBtn.hidden ? this.readyBtn : null;
    (sel ?? ready ?? this.dialInput)?.focus({ preventScroll: true });
  }

  /** Digital work: offers in their own toast section, accepted work as cards. */
  renderWork() {
    const store = this.store;
    const ctx = { store, online: this.online, now: this.now() };
    const seen = new Set();
    const place = (container, list) => {
      list.forEach((work, i) => {
        let card = this.workCards.get(work.interaction_id);
        if (!card) {
          card = document.createElement("ctib-work");
          this.workCards.set(work.interaction_id, card);
        }
        seen.add(work.interaction_id);
        card.classList.toggle("toast", container === this.workToasts);
        if (container.children[i] !== card) {
          const hadFocus = card.contains(document.activeElement);
          container.insertBefore(card, container.children[i] ?? null);
          if (hadFocus) requestAnimationFrame(() => card.focusPrimary());
        }
        card.update(work, ctx);
      });
    };
    const offers = store.agent ? store.workOffers() : [];
    const carried = store.agent ? store.workActive() : [];
    place(this.workToasts, offers);
    place(this.workSec, carried);
    for (const [id, card] of this.workCards) {
      if (!seen.has(id)) {
        const hadFocus = card.contains(document.activeElement);
        card.remove();
        this.workCards.delete(id);
        if (hadFocus) requestAnimationFrame(() => this.focusSomething());
      }
    }
    this.workToasts.hidden = offers.length === 0;
    this.workSec.hidden = carried.length === 0;
    this.compactOffers(offers.length);
  }

  /** More than two offers: one short row each, in a list of its own height that
   *  scrolls, with a heading that counts them (Tab and Alt+A still reach every one). */
  compactOffers(n) {
    const compact = n > 2;
    this.workToasts.classList.toggle("compact", compact);
    for (const card of this.workToasts.children) card.classList.toggle("compact", compact);
    this.offersHead.hidden = !compact;
    if (compact) setText(this.offersHead, t("offers.heading", { n }));
    if (compact) this.workToasts.setAttribute("aria-labelledby", "ctib-offers-h");
    else this.workToasts.removeAttribute("aria-labelledby");
  }

  /** "voice 1/1 · chat 2/3 · email 0/2"; a closed channel says why in its tooltip. */
  renderLoad() {
    const parts = loadParts(this.store.agent);
    this.loadEl.hidden = !parts || parts.length === 0;
    if (!parts) return;
    const key = getLanguage() + JSON.stringify(parts);
    if (key === this._loadKey) return;
    this._loadKey = key;
    fill(this.loadEl, ...parts.flatMap((p, i) => {
      const why = p.open === false ? this.whyClosed(p) : "";
      const el = h("span", { class: `load-part${p.open === false ? " closed" : ""}`,
        dataset: { channel: p.channel, open: String(p.open !== false) }, attrs: { title: why || null } },
      `${t(`channel.${p.channel}`)} ${p.load}${p.capacity === null ? "" : `/${p.capacity}`}`,
      why ? h("span", { class: "sr-only", text: ` (${why})` }) : null);
      return i ? [" · ", el] : [el];
    }));
  }

  /** Why a channel is closed, in words: "Blocked by your voice work", "At capacity (3/3)"… */
  whyClosed(p) {
    const why = p.why ?? "closed";
    let detail = p.detail ?? "";
    if (why === "blocked" && has(`channel.${detail}`)) detail = t(`channel.${detail}`);
    if (why === "not-ready" && detail) {
      const r = this.store.reasonCodes.find((x) => x.code === detail);
      detail = r ? codeLabel(r, getLanguage()) : has(`reason.${detail}`) ? t(`reason.${detail}`) : detail;
    }
    const k = `load.why.${why}`;
    return has(k) ? t(k, { detail }) : t("load.why.closed", { detail: why });
  }

  /** A short, polite notice at the top (a withdrawn offer), gone after a few seconds. */
  notice(text) {
    if (!this.noticeEl) return;
    setText(this.noticeEl, text);
    this.noticeEl.hidden = false;
    clearTimeout(this._noticeTimer);
    this._noticeTimer = setTimeout(() => { this.noticeEl.hidden = true; }, NOTICE_MS);
  }

  renderWrapUp() {
    const store = this.store;
    const pending = store.pendingWrapUps();
    const target = pending.find((i) => !i.disposition) ?? pending[0] ?? null;
    if (!target || !store.agent) {
      this.wrapSec.hidden = true;
      if (this.wrapFor) fill(this.wrapSec);
      this.wrapFor = null;
      return;
    }
    this.wrapSec.hidden = false;
    const key = `${target.interaction_id}|${target.disposition ?? ""}|${getLanguage()}|${store.dispositions.map((d) => d.code).join()}|${JSON.stringify(target.crm_record ?? null)}`;
    if (this.wrapFor !== key) {
      const hadFocus = this.wrapSec.contains(document.activeElement);
      this.wrapFor = key;
      this.buildWrapUp(target, pending.length);
      if (hadFocus) this.wrapSec.querySelector("select")?.focus();
    }
    const online = this.online;
    for (const b of this.wrapSec.querySelectorAll("button")) enable(b, online, online ? "" : t("why.offline"));
    this.renderPendingChange();
    this.tick();
  }

  /** A supervisor's state change waiting for the end of this wrap-up, said in words. */
  renderPendingChange() {
    const change = this.store.agent?.pending_change;
    if (!this.wrapPending) return;
    this.wrapPending.hidden = !change;
    if (change) {
      setText(this.wrapPending, t("wrapup.pending_change", {
        by: change.by, state: this.agentStatusText({ status: change.status, reason: change.reason }) }));
    }
  }

  /** A supervisor the agent hears (whisper, barge) or stops hearing, said and shown. */
  monitorNotice(frame) {
    if (frame?.name !== "call.monitored" || !frame.data || typeof frame.data !== "object") return;
    const by = typeof frame.data.by === "string" ? frame.data.by : t("monitor.someone");
    const key = { whisper: "monitor.whisper", barge: "monitor.barge" }[frame.data.mode] ?? "monitor.left";
    this.notice(t(key, { by }));
    this.say(t(key, { by }));
  }

  /** A snapshot (first one, or after a reconnect): a restarted hub is said in words. */
  snapshotArrived(frame) {
    this.store.applySnapshot(frame);
    const started = typeof frame.hub_started_at === "string" ? frame.hub_started_at : null;
    if (this.hubStartedAt && started && started !== this.hubStartedAt) this.notice(t("conn.hub_restarted"));
    this.hubStartedAt = started ?? this.hubStartedAt;
    this.sendDrafts();
  }

  /** Send the unsaved form to the hub a moment after typing stops: a reconnect, a reload or
   * a hub restart brings it back, and it is saved if the wrap-up ends before "Save". */
  keepDraft(id, draft) {
    draft.dirty = true;
    clearTimeout(this._draftTimer);
    this._draftTimer = setTimeout(() => this.sendDrafts(), DRAFT_DELAY_MS);
  }

  async sendDrafts() {
    if (!this.online) return; // sent when the link is back (snapshot)
    for (const [id, draft] of this.drafts) {
      if (!draft.dirty) continue;
      draft.dirty = false;
      try {
        await this.client.command("interaction.draft", stripUndefined({ interaction_id: id,
          disposition: draft.disposition || undefined, notes: draft.notes || undefined }));
      } catch (err) {
        if (err?.code !== "no-such-interaction") draft.dirty = true; // wrapped meanwhile: done
      }
    }
  }

  buildWrapUp(it, count) {
    const id = it.interaction_id;
    // What was typed before a reconnect or a hub restart comes back from the hub (it.draft).
    const kept = it.draft && typeof it.draft === "object" ? it.draft : {};
    const draft = this.drafts.get(id) ?? { disposition: it.disposition ?? kept.disposition ?? "",
      notes: it.notes ?? kept.notes ?? "" };
    this.drafts.set(id, draft);
    const p = partyText(it.customer);
    const sel = h("select", { id: "ctib-disposition", required: true,
      on: { change: () => { draft.disposition = sel.value; this.keepDraft(id, draft); } } },
    h("option", { value: "", text: t("wrapup.choose") }),
    ...this.store.dispositions.map((d) => h("option", { value: d.code, text: codeLabel(d, getLanguage()) })));
    sel.value = draft.disposition;
    const notes = h("textarea", { id: "ctib-notes", maxLength: 4000, rows: 3,
      on: { input: () => { draft.notes = notes.value; this.keepDraft(id, draft); } } });
    notes.value = draft.notes;
    const saveReady = h("button", { type: "submit", class: "btn primary save-ready", text: t("wrapup.save_ready") });
    const save = h("button", { type: "button", class: "btn save-only", text: t("wrapup.save") });
    this.wrapCountdown = h("span", { class: "timer countdown", attrs: { role: "timer", "aria-live": "off" } });
    const submit = async (ready) => {
      if (!sel.value) {
        this.showError({ code: "no-disposition" });
        sel.focus();
        return;
      }
      const ok = await this.run("interaction.wrap_up", { interaction_id: id, disposition: sel.value,
        notes: notes.value.trim() || undefined });
      if (!ok) return;
      this.drafts.delete(id);
      const left = this.store.pendingWrapUps().filter((i) => i.interaction_id !== id && !i.disposition);
      if (ready && !left.length) await this.run("agent.ready");
      else this.say(t("wrapup.saved"));
    };
    onActivate(save, () => submit(false));
    const form = h("form", { class: "wrap-form", on: { submit: (ev) => {
      ev.preventDefault();
      if (isEnabled(saveReady)) submit(true);
    } } },
    h("div", { class: "wrap-head" },
      h("h2", { id: "ctib-wrap-h", text: t("wrapup.heading") }), this.wrapCountdown),
    h("p", { class: "wrap-who" }, p.title, p.name && p.number ? h("span", { class: "muted", text: ` · ${p.number}` }) : null,
      count > 1 ? h("span", { class: "muted", text: ` (${t("wrapup.more", { n: count - 1 })})` }) : null),
    this.wrapRecord(it),
    it.disposition ? h("p", { class: "saved", text: t("wrapup.saved_as", {
      label: codeLabel(this.store.dispositions.find((d) => d.code === it.disposition) ?? { code: it.disposition }, getLanguage()),
    }) }) : null,
    this.wrapPending = h("p", { class: "pending-change", hidden: true, attrs: { role: "status" } }),
    h("label", { attrs: { for: "ctib-disposition" }, text: t("wrapup.disposition") }), sel,
    h("label", { attrs: { for: "ctib-notes" }, text: t("wrapup.notes") }), notes,
    h("div", { class: "row" }, saveReady, save));
    fill(this.wrapSec, form);
  }

  /** "Logged against: <record>" with Open, when the call has a CRM record. */
  wrapRecord(it) {
    const record = validMatch(it.crm_record, this.store.base);
    if (!record) return null;
    const open = h("button", { type: "button", class: "btn small ghost crm-open", text: t("crm.open"),
      attrs: { "aria-label": t("crm.open_who", { name: recordTitle(record) }) } });
    enable(open, !!record.url, t("why.no_url"));
    onActivate(open, () => {
      const summary = { call_id: it.call_id ?? null, direction: it.direction ?? null,
        number: it.customer?.number ?? null, name: it.customer?.name ?? null, queue: it.queue ?? null,
        attached: it.attached ?? {}, consult_of: null };
      if (this.embed.canPost()) {
        this.embed.post(HOST_POP, { ...summary, ...popData(null, { interaction_id: it.interaction_id,
          outcome: "one", matches: [record], selected: record.record_id }), trigger: "agent" });
      } else openTab(record.url);
    });
    return h("p", { class: "wrap-record" },
      h("span", { class: "muted", text: t("wrapup.record") + " " }),
      h("span", { class: "crm-name", text: recordTitle(record) }), " ", open);
  }

  renderRecent() {
    const store = this.store;
    const items = store.recent().slice(0, RECENT_SHOWN);
    const online = this.online;
    const canDial = store.can("call.dial");
    const key = getLanguage() + JSON.stringify(items.map((i) => [i.interaction_id, i.disposition, i.wrapped_at, i.ended_at,
      store.logWaiting.has(i.interaction_id)]));
    if (key !== this._recentKey) {
      this._recentKey = key;
      const lang = getLanguage();
      fill(this.recentList, ...items.map((it) => {
        const p = partyText(it.customer);
        const missed = !it.accepted_at;
        const disp = it.disposition ? store.dispositions.find((d) => d.code === it.disposition) : null;
        const back = h("button", { type: "button", class: "btn small callback", text: t("recent.call_back"),
          dataset: { number: it.customer?.number ?? "" },
          attrs: { "aria-label": t("recent.call_back_who", { name: p.title }) } });
        // Called back from the record the call was logged against: the new call is, too.
        const record = validMatch(it.crm_record, store.base);
        onActivate(back, () => this.dial(it.customer?.number ?? "", back, record?.record_id));
        const bits = [formatTime(it.created_at, lang),
          missed ? t("recent.missed") : formatDuration(it.talk_seconds ?? 0),
          disp ? codeLabel(disp, lang) : (it.disposition ?? "")].filter(Boolean);
        return h("li", { class: missed ? "missed" : "", dataset: { interaction: it.interaction_id } },
          h("span", { class: "dir", attrs: { "aria-hidden": "true" }, text: it.direction === "outbound" ? "↗" : "↘" }),
          h("span", { class: "who" }, h("span", { class: "name", text: p.title }),
            p.name && p.number ? h("span", { class: "number muted", text: p.number }) : null),
          h("span", { class: "meta muted", text: bits.join(" · ") }), back,
          this.logPick(store.logWaiting.get(it.interaction_id)));
      }));
    }
    this.recentEmpty.hidden = items.length > 0;
    for (const b of this.recentList.querySelectorAll("button.callback")) {
      const ok = online && canDial && !!b.dataset.number;
      enable(b, ok, !online ? t("why.offline") : !canDial ? t("why.capability") : t("why.no_number"));
    }
  }

  /** A finished call whose CRM log waits for the agent: the records it may go to. */
  logPick(waiting) {
    if (!waiting) return null;
    const err = h("span", { class: "pick-error", attrs: { role: "alert" } });
    const id = `ctib-pick-${waiting.interaction_id}`;
    return h("div", { class: "log-pick", attrs: { role: "group", "aria-labelledby": id } },
      h("span", { id, class: "pick-label", text: t("recent.pick") }),
      ...waiting.choices.map((c) => {
        const b = h("button", { type: "button", class: "btn small pick", dataset: { record: String(c.record_id) },
          text: [c.name || c.record_id, c.company].filter(Boolean).join(", ") });
        onActivate(b, async () => {
          b.disabled = true;
          try {
            await this.client._json(`api/calllog/${encodeURIComponent(waiting.interaction_id)}/pick`,
              { method: "POST", auth: true, body: { record_id: String(c.record_id) } });
          } catch (e) {
            setText(err, e?.message ?? String(e));
            b.disabled = false;
          }
        });
        return b;
      }), err);
  }

  renderDial() {
    const online = this.online;
    const can = this.store.can("call.dial");
    enable(this.dialBtn, online && can, !online ? t("why.offline") : t("why.capability"));
  }

  renderPlatform() {
    const agent = this.store.agent;
    const info = agent ? this.store.platforms[agent.platform] : null;
    const down = info && info.up === false;
    this.platformBanner.hidden = !down;
    if (down) setText(this.platformBanner, t("platform.down", { platform: agent.platform }));
  }

  now() {
    return Date.now() + (this.client?.skewMs ?? 0);
  }

  tick() {
    if (this.view !== "main" || !this.store.agent) return;
    const now = this.now();
    const st = this.store.agent.state;
    if (st.status === "wrap_up" && st.deadline) {
      const left = (Date.parse(st.deadline) - now) / 1000;
      setText(this.stateTimer, formatDuration(left));
      if (this.wrapCountdown) setText(this.wrapCountdown, t("wrapup.left", { time: formatDuration(left) }));
    } else {
      const since = Date.parse(st.since ?? "");
      setText(this.stateTimer, Number.isNaN(since) ? "" : formatDuration((now - since) / 1000));
      if (this.wrapCountdown) setText(this.wrapCountdown, "");
    }
    for (const card of this.cards.values()) card.tick(now);
    for (const card of this.workCards?.values() ?? []) card.tick(now);
  }

  // ------------------------------------------------------------ commands

  /** Run a command; errors are shown to the agent. Resolves with the result, or null. */
  async run(op, args = {}, { key } = {}) {
    const k = key ?? `${op}:${args.call_id ?? ""}`;
    if (this.inflight.has(k)) return null; // a double click: the first one is on its way
    this.inflight.add(k);
    try {
      return await this.client.command(op, stripUndefined(args));
    } catch (err) {
      if (err.code === "no-such-call" && args.call_id) this.store.dropCall(args.call_id);
      this.showError(err);
      return null;
    } finally {
      this.inflight.delete(k);
    }
  }

  /** Put the other calls I am talking on, on hold (before answering or retrieving one). */
  async holdOthers(callId) {
    for (const call of this.store.liveCalls()) {
      if (call.call_id !== callId && this.store.myState(call) === "connected"
          && this.store.can("call.hold", call.platform)) {
        if (!(await this.run("call.hold", { call_id: call.call_id }))) return false;
      }
    }
    return true;
  }

  async cardAction(d) {
    const store = this.store;
    const call = store.calls.get(d.call_id);
    if (d.action === "invalid") { this.showError({ code: d.code }); return; }
    if (d.action === "directory") { await this.loadPresence(); return; }
    if (!call) { this.showError({ code: "no-such-call" }); return; }
    if (d.action.startsWith("crm_")) { await this.crmAction(d, call); return; }
    const id = call.call_id;
    switch (d.action) {
      case "answer":
        if (await this.holdOthers(id)) await this.run("call.answer", { call_id: id });
        break;
      case "retrieve":
        if (await this.holdOthers(id)) await this.run("call.retrieve", { call_id: id });
        break;
      case "hangup":
      case "hold":
        await this.run(`call.${d.action}`, { call_id: id });
        break;
      case "mute":
      case "unmute":
        if (await this.run(`call.${d.action}`, { call_id: id })) store.setMuted(id, d.action === "mute");
        break;
      case "dtmf":
        if (/^[0-9*#A-D]$/.test(d.digits)) {
          await this.run("call.dtmf", { call_id: id, digits: d.digits }, { key: `dtmf:${id}:${Math.random()}` });
        }
        break;
      case "blind_transfer":
      case "consult":
        await this.run(`call.${d.action}`, { call_id: id, target: d.target });
        break;
      case "complete_transfer":
      case "conference":
        if (call.consult_of) {
          await this.run(`call.${d.action}`, { call_id: call.consult_of, consult_call_id: id });
        }
        break;
      case "cancel_consult":
        await this.cancelConsult(call);
        break;
      default:
        console.warn("ctibridge: unknown card action", d);
    }
  }

  /** The colleagues a call can go to, with their presence (asked when a transfer panel opens). */
  async loadPresence() {
    if (this.inflight.has("directory.get")) return;
    this.inflight.add("directory.get");
    try {
      // Colleagues signed in now (present), one page: a transfer list is read by a person.
      const result = await this.client.command("directory.get", { present: true, limit: 200 });
      this.store.setPresence((result?.entries ?? []).filter((d) => d?.agent_id !== this.store.agentId));
    } catch (err) {
      // A hub without directory.get: the sign-in snapshot's directory, logged-out left out.
      console.warn("ctibridge: directory.get failed; using the snapshot's directory", err);
      this.store.setPresence(this.store.directory.filter((d) => d.status && d.status !== "logged_out"));
    } finally {
      this.inflight.delete("directory.get");
    }
  }

  /** Back to the held caller: the platform ends the consultation and takes the call
   *  off hold in one step (call.cancel_consult); it never transfers. */
  async cancelConsult(consult) {
    if (!consult.consult_of) return;
    await this.run("call.cancel_consult", { call_id: consult.consult_of, consult_call_id: consult.call_id });
  }

  /** Wait for the store to satisfy `pred`, at most `ms`. */
  until(pred, ms) {
    if (pred()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok) => { clearTimeout(timer); this.store.removeEventListener("change", check); resolve(ok); };
      const check = () => { if (pred()) done(true); };
      const timer = setTimeout(() => done(false), ms);
      this.store.addEventListener("change", check);
    });
  }

  async dial(text, button, recordId = null) {
    const number = dialable(text);
    if (!number) {
      this.showError({ code: "bad-number" });
      this.dialInput?.focus();
      return null;
    }
    const result = await this.run("call.dial", { number,
      attached: recordId ? { crm_record_id: recordId } : undefined });
    if (result && button === this.dialBtn) this.dialInput.value = "";
    return result;
  }

  /** The agent's moves on a digital card. */
  async workAction(d) {
    const id = d.interaction_id;
    const work = this.store.work.get(id);
    if (!work) return;
    if (d.action === "open") {
      if (!work.content_url) return;
      if (this.embed.canPost()) {
        this.embed.post(HOST_OPEN, { url: work.content_url, interaction_id: id, channel: work.channel });
      } else openTab(work.content_url);
      return;
    }
    const op = { accept: "interaction.accept", decline: "interaction.decline", close: "interaction.close" }[d.action];
    if (!op) { console.warn("ctibridge: unknown work action", d); return; }
    const args = { interaction_id: id };
    if (d.action === "decline" && d.reason) args.reason = d.reason;
    if (d.action === "close") Object.assign(args, { disposition: d.disposition, notes: d.notes });
    const k = `${op}:${id}`;
    if (this.inflight.has(k)) return;
    this.inflight.add(k);
    try {
      await this.client.command(op, stripUndefined(args));
    } catch (err) {
      if (WORK_GONE.has(err.code)) this.store.dropWork(id, "gone");
      this.showError(has(`error.work.${err.code}`) ? { code: `work.${err.code}` } : err);
    } finally {
      this.inflight.delete(k);
    }
  }

  /**
   * The transfer directory, asked for after each snapshot: its first page, up to
   * DIRECTORY_PAGE agents (the hub no longer sends every agent to every bar).
   * Larger centers search it with directory.get {query}; presence changes come
   * with directory.watch (docs/protocol/agent-websocket.md, "Directory").
   */
  async loadDirectory() {
    try {
      const page = await this.client.command("directory.get", { limit: DIRECTORY_PAGE });
      this.store.setDirectory(page.entries);
    } catch (err) {
      console.warn("ctibridge: the directory could not be read", err);
    }
  }

  async hostCommand(cmd) {
    if (cmd.type === "hello") {
      if (typeof cmd.auto_open === "boolean") this.autoOpen = cmd.auto_open;
      return { version: this.config.version ?? null, signed_in: !!this.session,
        agent_id: this.store.agentId, status: this.store.agent?.state.status ?? null,
        auto_open: this.autoOpen };
    }
    if (!this.online) throw new HubError("not-connected", t("why.offline"));
    let op;
    let args = {};
    if (cmd.type === "op") {
      if (!HOST_OPS.has(cmd.op)) throw new HubError("bad-command", `not a host operation: ${cmd.op}`);
      // A host adapter driving a call (Salesforce Voice's acceptCall, hold…): never a
      // page's postMessage, whose commands validCommand limits to dial/set_state/hello.
      op = cmd.op;
      args = { ...cmd.args };
    } else if (cmd.type === "hangup_active") {
      // A host's own "end call" button (HubSpot's END_CALL).
      const active = this.store.activeCall();
      if (!active) return {};
      op = "call.hangup";
      args = { call_id: active.call_id };
    } else if (cmd.type === "dial") {
      op = "call.dial";
      // The record it was dialled from: the hub pops it and logs the call against it.
      args = { number: cmd.number, ...(cmd.record_id ? { attached: { crm_record_id: cmd.record_id } } : {}) };
    } else if (cmd.status === "ready") op = "agent.ready";
    else if (cmd.status === "logged_out") op = "agent.logout";
    else { op = "agent.not_ready"; args = { reason: cmd.reason }; }
    try {
      return await this.client.command(op, args);
    } catch (err) {
      this.showError(err);
      throw err;
    }
  }

  // ------------------------------------------------------------ keyboard

  shortcut(e) {
    if (!e.altKey || e.ctrlKey || e.metaKey || this.view !== "main") return;
    const letter = /^[a-z]$/i.test(e.key) ? e.key.toLowerCase()
      : (e.code?.startsWith("Key") ? e.code.slice(3).toLowerCase() : "");
    const store = this.store;
    const active = store.activeCall();
    const cardOf = (call) => call && this.cards.get(call.call_id);
    const press = (card, name) => {
      const b = card?.els?.[name];
      if (b && !b.hidden) { b.click(); return true; }
      return false;
    };
    let done = false;
    switch (letter) {
      case "a": {
        // The offer the focus is in, else the ringing call, else the first offer.
        const focusedWork = document.activeElement?.closest?.("ctib-work.toast");
        const firstWork = this.workToasts?.querySelector("ctib-work");
        done = press(focusedWork, "accept") || press(cardOf(store.ringing()[0]), "answer")
          || press(firstWork, "accept");
        break;
      }
      case "h": {
        const card = cardOf(active) ?? cardOf(store.heldCalls()[0]);
        done = press(card, "hangup") || press(card, "cancel");
        break;
      }
      case "o":
        done = active && store.myState(active) === "connected" ? press(cardOf(active), "hold")
          : press(cardOf(store.heldCalls()[0]), "retrieve");
        break;
      case "m": done = press(cardOf(active), "mute"); break;
      case "r": if (!this.readyBtn.hidden) { this.readyBtn.click(); done = true; } break;
      case "d": this.dialInput.focus(); done = true; break;
      default: return;
    }
    if (done) e.preventDefault();
  }

  // ------------------------------------------------------------ errors

  errorText(err) {
    const code = err?.code;
    if (code && has(`error.${code}`)) return t(`error.${code}`);
    if (err?.message) return err.message;
    return t("error.generic", { code: code ?? "?" });
  }

  showError(err) {
    if (!this.banner) return;
    setText(this.errorText_, this.errorText(err));
    this.banner.hidden = false;
    clearTimeout(this._errTimer);
    this._errTimer = setTimeout(() => this.hideError(), 10000);
  }

  hideError() {
    if (this.banner) this.banner.hidden = true;
  }
}

function orderKey(call, store) {
  const root = call.consult_of && store.calls.get(call.consult_of) ? store.calls.get(call.consult_of) : call;
  return `${root.created_at ?? ""}|${root.call_id}|${call.consult_of ? 1 : 0}`;
}

function senderName(work) {
  return senderText(work) || t("work.unknown_sender");
}

function isCustomerCall(call) {
  return call.direction !== "internal" && !call.consult_of;
}

/** A call as the host page sees it (docs/embedding.md, "call summary"). */
function callData(call) {
  return {
    call_id: call.call_id, direction: call.direction ?? null,
    number: call.customer?.number ?? null, name: call.customer?.name ?? null,
    queue: call.queue ?? null, attached: call.attached ?? {}, consult_of: call.consult_of ?? null,
  };
}

/** The screen-pop part of a host message: the hub's pop, with what to open now. */
function popData(pop, override) {
  return {
    interaction_id: pop?.interaction_id ?? null, outcome: pop?.outcome ?? null,
    matches: pop?.matches ?? [], selected: pop?.selected ?? null, create_url: pop?.create_url ?? null,
    lookup: pop?.lookup ?? null, error: pop?.error ?? null, party: pop?.party ?? null, ...override,
  };
}

function openTab(url) {
  // noopener: the CRM page gets no handle on the bar's window.
  return window.open(url, "_blank", "noopener");
}

function readPopped() {
  try {
    const v = JSON.parse(sessionStorage.getItem(POPPED_KEY) ?? "[]");
    return Array.isArray(v) ? v.filter((x) => typeof x === "string") : [];
  } catch { return []; }
}

function popped(callId, recordId) {
  return readPopped().includes(`${callId}|${recordId}`);
}

function markPopped(callId, recordId) {
  const key = `${callId}|${recordId}`;
  const list = readPopped().filter((x) => x !== key);
  list.push(key);
  try { sessionStorage.setItem(POPPED_KEY, JSON.stringify(list.slice(-50))); } catch { /* private mode */ }
}

function stripUndefined(o) {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

function loadSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? "null");
    if (s && typeof s.token === "string" && typeof s.exp === "number" && s.exp > Date.now()) return s;
  } catch { /* unreadable: sign in again */ }
  return null;
}

function saveSession(s) {
  try { sessionStorage.setItem(SESSION_KEY, JSON.stringify(s)); } catch { /* private mode */ }
}

function clearSession() {
  try { sessionStorage.removeItem(SESSION_KEY); } catch { /* private mode */ }
}

customElements.define("ctibridge-bar", AgentBar);
export { CallCard, WorkCard };

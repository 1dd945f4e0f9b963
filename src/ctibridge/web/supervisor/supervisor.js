// <ctibridge-supervisor>: the supervisor page. Signs in (supervisors and admins
// only), keeps the supervisors' WebSocket, shows queues, agents and live
// interactions in real time, and lets a supervisor set an agent not ready or
// log them out, with a reason (audited by the hub). See docs/supervisor.md.
//
// The agent bar's modules are reused as they are: the hub client, the DOM
// helpers (text only, never HTML), the formatters and the language choice.

import { HubClient } from "../agentbar/connection.js";
import { enable, fill, h, onActivate, setText } from "../agentbar/dom.js";
import { codeLabel, formatDuration, formatPhone, formatTime } from "../agentbar/format.js";
import { Board, loadParts } from "./board.js";
import { CallLogPanel } from "./calllog.js";
import { TALLY, queueLevels, tally, worst } from "./levels.js";
import { LANGUAGES, detectLanguage, getLanguage, has, setLanguage, t } from "./i18n/index.js";

const SESSION_KEY = "ctibridge.supervisor.session";
// The page is served at <hub>/supervisor/: the API is one level up.
const HUB_BASE = new URL("../", import.meta.url);
const SUPERVISOR_ROLES = ["supervisor", "admin"];
const AUDIT_SHOWN = 8;

export function isSupervisor(user) {
  return Array.isArray(user?.roles) && user.roles.some((r) => SUPERVISOR_ROLES.includes(r));
}

export class SupervisorPage extends HTMLElement {
  connectedCallback() {
    if (!this.started) this.start();
  }

  async start() {
    this.started = true;
    const hub = this.getAttribute("hub");
    const base = hub ? new URL(hub, location.href).href : HUB_BASE.href;
    this.board = new Board();
    this.client = new HubClient({ base, seq: () => this.board.seq });
    this.config = { demo: false, demo_logins: [], default_language: "en" };
    this.view = "loading";
    this.session = null;
    this.connStatus = { status: "idle" };
    this.audit = [];
    // A wall screen: big figures, no controls (docs/supervisor.md#wallboard).
    this.wallboard = isWallboard(location.search);
    this.classList.toggle("wallboard", this.wallboard);
    setLanguage(detectLanguage({ languages: navigator.languages ?? [navigator.language] }), { remember: false });
    document.documentElement.lang = getLanguage();

    this.client.addEventListener("status", (e) => { this.connStatus = e.detail; this.renderStatus(); });
    this.client.addEventListener("hello", (e) => this.onHello(e.detail.frame));
    this.client.addEventListener("snapshot", (e) => { this.board.applySnapshot(e.detail.frame); this.loadAudit(); this.calllog?.start(); });
    this.client.addEventListener("event", (e) => { this.board.applyEvent(e.detail.frame); this.calllog?.onEvent(e.detail.frame); });
    this.client.addEventListener("server-error", (e) => this.showError(e.detail));
    this.client.addEventListener("auth-lost", (e) => this.authLost(e.detail));
    this.client.addEventListener("tokens", (e) => this.tokensRenewed(e.detail));
    this.board.addEventListener("change", (e) => this.onChange(e.detail.effects));
    window.addEventListener("online", () => this.client.nudge());
    this.ticker = setInterval(() => this.tick(), 1000);
    this.build();

    try {
      this.config = { ...this.config, ...(await this.client.publicConfig()) };
    } catch (err) {
      this.configError = err;
    }
    let stored = null;
    try { stored = localStorage.getItem("ctibridge.lang"); } catch { /* private mode */ }
    if (!stored) {
      setLanguage(detectLanguage({ stored: null, languages: navigator.languages ?? [navigator.language],
        fallback: this.config.default_language }), { remember: false });
      document.documentElement.lang = getLanguage();
      this.build();
    }
    const wanted = new URLSearchParams(location.search).get("user");
    const demo = this.demoLogins().find((d) => d.username === wanted);
    const saved = loadSession();
    if (demo && (!saved || saved.username !== demo.username)) {
      await this.signIn(demo.username, demo.password, { demo: true });
    } else if (saved) {
      this.session = saved;
      this.client.token = saved.token;
      this.client.refreshToken = saved.refresh ?? null;
      this.showBoard();
    } else {
      this.showLogin(this.configError ? this.errorText(this.configError) : "");
    }
  }

  demoLogins() {
    if (!this.config.demo || !Array.isArray(this.config.demo_logins)) return [];
    return this.config.demo_logins.filter((d) => d && typeof d.username === "string"
      && typeof d.password === "string" && isSupervisor(d));
  }

  // ------------------------------------------------------------ skeleton

  switchLanguage(lang) {
    setLanguage(lang);
    document.documentElement.lang = getLanguage();
    this.build();
    this.langSel.focus();
  }

  build() {
    this.langSel = h("select", { class: "lang", attrs: { "aria-label": t("lang.label") },
      on: { change: () => this.switchLanguage(this.langSel.value) } },
    ...LANGUAGES.map((l) => h("option", { value: l, text: t(`lang.${l}`), selected: l === getLanguage() })));
    this.connEl = h("span", { class: "conn", attrs: { role: "status" } },
      h("span", { class: "dot", attrs: { "aria-hidden": "true" } }), h("span", { class: "conn-text" }));
    this.signOutBtn = h("button", { type: "button", class: "btn ghost signout", text: t("signout"),
      on: { click: () => this.signOut() } });
    this.errorMsg = h("span", { class: "msg" });
    this.banner = h("div", { class: "banner error", hidden: true, attrs: { role: "alert" } }, this.errorMsg,
      h("button", { type: "button", class: "btn ghost close", text: "×", attrs: { "aria-label": t("dismiss") },
        on: { click: () => { this.banner.hidden = true; } } }));
    this.content = h("main", { class: "content", id: "sup-main" });
    this.politeEl = h("div", { class: "sr-only", attrs: { "aria-live": "polite" } });
    this.dialog = h("dialog", { class: "confirm", attrs: { "aria-labelledby": "sup-dlg-h" } });
    fill(this,
      h("header", { class: "topbar" },
        h("h1", { class: "brand" }, "ctibridge ", h("span", { text: t(this.wallboard ? "wallboard.title" : "title") })), this.connEl,
        h("span", { class: "spacer" }), this.langSel, this.signOutBtn),
      this.banner, this.content, this.dialog, this.politeEl);
    document.title = `${t(this.wallboard ? "wallboard.title" : "title")} · ctibridge`;
    if (this.wallboard) this.langSel.hidden = true;
    if (this.view === "login") this.buildLogin(this.loginMessage);
    else if (this.view === "board") { this.buildBoard(); this.render(); }
    else if (this.view === "only") this.buildOnly();
    else fill(this.content, h("p", { class: "loading", text: t("loading") }));
    this.renderStatus();
  }

  renderStatus() {
    if (!this.connEl) return;
    const { status, retryIn } = this.connStatus;
    const shown = this.view !== "board" ? "signed-out" : status;
    this.connEl.dataset.status = shown;
    let text;
    if (shown === "online") text = t("conn.online");
    else if (shown === "connecting") text = t("conn.connecting");
    else if (shown === "reconnecting") text = retryIn > 0 ? t("conn.retry", { s: Math.ceil(retryIn / 1000) }) : t("conn.reconnecting");
    else if (shown === "signed-out") text = t("conn.signed_out");
    else text = t("conn.offline");
    setText(this.connEl.querySelector(".conn-text"), text);
    this.signOutBtn.hidden = this.view === "login" || this.view === "loading" || this.wallboard;
    this.classList.toggle("offline", this.view === "board" && status !== "online");
  }

  // ------------------------------------------------------------ sign in

  showLogin(message = "") {
    this.view = "login";
    this.loginMessage = message;
    this.buildLogin(message);
    this.renderStatus();
  }

  buildLogin(message) {
    const user = h("input", { id: "sup-user", name: "username", autocomplete: "username", required: true,
      attrs: { autocapitalize: "none", spellcheck: "false" } });
    const pass = h("input", { id: "sup-pass", name: "password", type: "password",
      autocomplete: "current-password", required: true });
    this.loginError = h("p", { class: "login-error", attrs: { role: "alert" }, text: message || "" });
    const submit = h("button", { type: "submit", class: "btn primary", text: t("login.submit") });
    const form = h("form", { class: "login", attrs: { "aria-labelledby": "sup-login-h" },
      on: { submit: async (ev) => {
        ev.preventDefault();
        submit.disabled = true;
        await this.signIn(user.value.trim(), pass.value, { demo: false });
        submit.disabled = false;
      } } },
    h("h2", { id: "sup-login-h", text: t("login.title") }),
    h("label", { attrs: { for: "sup-user" }, text: t("login.username") }), user,
    h("label", { attrs: { for: "sup-pass" }, text: t("login.password") }), pass,
    submit, this.loginError);
    const demos = this.demoLogins();
    const demo = demos.length ? h("section", { class: "demo", attrs: { "aria-labelledby": "sup-demo-h" } },
      h("h2", { id: "sup-demo-h", text: t("login.demo") }),
      h("div", { class: "row" }, ...demos.map((d) => h("button", {
        type: "button", class: "btn demo-login", dataset: { user: d.username },
        text: d.display_name || d.username,
        on: { click: () => this.signIn(d.username, d.password, { demo: true }) } })))) : null;
    fill(this.content, form, demo);
    requestAnimationFrame(() => { if (this.view === "login") user.focus(); });
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
      roles: Array.isArray(u.roles) ? u.roles : [], demo, password: demo ? password : undefined,
      refresh: data.refresh_token,
      // Kept until the session ends; the short access token is renewed meanwhile.
      exp: Date.now() + (Number(data.refresh_expires_in) || Number(data.expires_in) || 3600) * 1000,
    };
    saveSession(this.session);
    this.showBoard();
    return true;
  }

  showBoard() {
    this.board.reset();
    if (!isSupervisor(this.session)) {
      // Checked here for a clear message; the hub checks every command anyway.
      this.client.token = null;
      this.showOnly();
      return;
    }
    this.view = "board";
    this.buildBoard();
    this.render();
    this.renderStatus();
    this.client.start();
  }

  onHello(frame) {
    this.board.applyHello(frame);
    if (frame.user && !isSupervisor(frame.user)) {
      this.client.stop();
      this.session = { ...this.session, ...frame.user };
      this.showOnly();
    }
  }

  showOnly() {
    this.view = "only";
    this.buildOnly();
    this.renderStatus();
  }

  buildOnly() {
    const name = this.session?.display_name || this.session?.username || "";
    fill(this.content, h("section", { class: "only", attrs: { role: "alert", "aria-labelledby": "sup-only-h" } },
      h("h2", { id: "sup-only-h", text: t("only.title") }),
      h("p", { text: t("only.text", { name }) }),
      h("p", {}, h("a", { href: new URL("agentbar/", this.client.base).href, text: t("only.bar") }))));
  }

  signOut() {
    this.calllog?.stop();
    this.client.logout(); // ends the session on the hub too
    this.client.stop();
    this.client.token = null;
    this.client.lastSeq = 0;
    this.board.reset();
    this.session = null;
    clearSession();
    if (this.dialog.open) this.dialog.close();
    this.showLogin("");
  }

  tokensRenewed({ token }) {
    // The hub renewed the short access token: keep it for a reload of the page.
    if (!this.session) return;
    this.session = { ...this.session, token };
    saveSession(this.session);
  }

  async authLost(detail) {
    const s = this.session;
    if (s?.demo && s.password && await this.signIn(s.username, s.password, { demo: true })) return;
    this.session = null;
    clearSession();
    this.showLogin(this.errorText(detail));
  }

  // ------------------------------------------------------------ the board

  buildBoard() {
    if (this.wallboard) { this.buildWallboard(); return; }
    const table = (id, heads) => this.table(id, heads);
    this.queuesT = table("queues", QUEUE_HEADS);
    this.agentsT = table("agents", ["agents.agent", "agents.state", "agents.time", "agents.load",
      "agents.work", "agents.actions"]);
    this.liveT = table("live", ["live.channel", "live.customer", "live.queue", "live.agent", "live.state", "live.age"]);
    this.auditList = h("ul", { class: "audit-list" });
    this.auditEmpty = h("p", { class: "muted", text: t("audit.empty") });
    this.auditSec = h("section", { class: "panel audit", attrs: { "aria-labelledby": "sup-audit-h" } },
      h("h2", { id: "sup-audit-h", text: t("audit.heading") }), this.auditEmpty, this.auditList);
    this.calllog?.stop();
    this.calllog = new CallLogPanel(this.client, {
      isAdmin: () => (this.session?.roles ?? []).includes("admin"), onError: (err) => this.showError(err) });
    const wall = h("p", { class: "wall-link" }, h("a", { href: "?wallboard=1", text: t("wallboard.open") }));
    fill(this.content, this.calllog.section, wall, this.queuesT.section, this.agentsT.section, this.liveT.section,
      this.auditSec);
    if (this.client.token) this.calllog.start();
  }

  table(id, heads) {
    const body = h("tbody");
    const caption = h("caption", {}, h("h2", { id: `${id}-h`, text: t(`${id}.heading`) }), h("span", { class: "sub muted" }));
    const el = h("table", { class: `grid ${id}`, attrs: { "aria-labelledby": `${id}-h` } }, caption,
      h("thead", {}, h("tr", {}, ...heads.map((k) => h("th", { attrs: { scope: "col" }, text: t(k) })))), body);
    const empty = h("p", { class: "muted empty", text: t(`${id}.empty`) });
    return { section: h("section", { class: `panel ${id}` }, el, empty), body, empty, caption };
  }

  /** The wallboard: the agents' tally and the queues, large, nothing to click. */
  buildWallboard() {
    this.queuesT = this.table("queues", QUEUE_HEADS);
    this.tallyEl = h("dl", { class: "tally" });
    this.agentsT = this.liveT = this.auditList = null;
    this.calllog?.stop();
    this.calllog = null;
    fill(this.content, h("section", { class: "panel tally-panel", attrs: { "aria-labelledby": "sup-tally-h" } },
      h("h2", { id: "sup-tally-h", text: t("agents.heading") }), this.tallyEl), this.queuesT.section);
  }

  renderTally() {
    if (!this.tallyEl) return;
    const counts = tally(this.board.agentList());
    fill(this.tallyEl, ...TALLY.map((s) => h("div", { class: "tally-item", dataset: { status: s } },
      h("dt", { text: t(`state.agent.${s}`) }), h("dd", { class: "num", text: String(counts[s]) }))));
  }

  onChange(effects) {
    this.render();
    for (const fx of effects) {
      if (fx.kind === "agent") {
        this.say(t("announce.agent", { name: fx.agent.name ?? fx.agent.agent_id, state: this.stateText(fx.agent) }));
      } else if (fx.kind === "queue") {
        this.say(t("announce.queue", { queue: fx.queue.queue, n: fx.queue.waiting }));
      }
    }
  }

  render() {
    if (this.view !== "board") return;
    // Rows are rebuilt; keyboard focus goes back to the same control afterwards.
    const focused = document.activeElement?.closest?.("[data-key]")?.dataset.key;
    this.renderQueues();
    this.renderTally();
    if (this.agentsT) this.renderAgents();
    if (this.liveT) this.renderLive();
    this.renderAudit();
    if (focused) this.querySelector(`[data-key="${CSS.escape(focused)}"]`)?.focus();
    this.tick();
  }

  renderQueues() {
    const rows = this.board.queues;
    const win = rows[0]?.window_seconds;
    setText(this.queuesT.caption.querySelector(".sub"), win ? t("queues.window", { min: Math.round(win / 60) }) : "");
    const now = this.now();
    this.queueRows = new Map(rows.map((q) => [q.queue, q]));
    fill(this.queuesT.body, ...rows.map((q) => {
      const lv = queueLevels(q, now);
      return h("tr", { dataset: { queue: q.queue, level: worst(Object.values(lv)) ?? "" } },
        h("th", { attrs: { scope: "row" }, text: q.queue }),
        h("td", { text: (q.channels ?? []).map((c) => t(`channel.${c}`)).join(", ") }),
        leveled(h("td", { class: "num waiting", text: String(q.waiting ?? 0) }), lv.waiting),
        leveled(h("td", { class: "num longest" }, this.timer(q.oldest_since, "0:00")), lv.longest),
        leveled(h("td", { class: "num sl", text: typeof q.service_level === "number"
          ? t("queues.sl_value", { pct: formatPct(q.service_level), s: q.sl_seconds }) : t("queues.sl_none") }), lv.sl),
        h("td", { class: "num answered", text: String(q.answered ?? 0) }),
        h("td", { class: "num abandoned", text: String(q.abandoned ?? 0) }));
    }));
    this.queuesT.empty.hidden = rows.length > 0;
  }

  renderAgents() {
    const agents = this.board.agentList();
    fill(this.agentsT.body, ...agents.map((a) => {
      const st = a.state ?? {};
      const loggedOut = st.status === "logged_out";
      const notReady = this.actionButton("not_ready", a, loggedOut);
      const logout = this.actionButton("logout", a, loggedOut);
      return h("tr", { dataset: { agent: a.agent_id, status: st.status ?? "" } },
        h("th", { attrs: { scope: "row" } }, h("span", { class: "name", text: a.name ?? a.agent_id }),
          a.extension ? h("span", { class: "muted ext", text: ` ${a.extension}` }) : null),
        h("td", { class: "agent-state" }, h("span", { class: "badge", dataset: { status: st.status ?? "" }, text: this.stateText(a) })),
        h("td", { class: "num" }, this.timer(st.since, "")),
        h("td", { class: "load", text: this.loadText(a) }),
        h("td", { class: "work" }, this.workOf(a)),
        h("td", { class: "actions" }, notReady, logout));
    }));
    this.agentsT.empty.hidden = agents.length > 0;
  }

  actionButton(kind, agent, loggedOut) {
    const name = agent.name ?? agent.agent_id;
    const b = h("button", { type: "button", class: `btn small ${kind === "logout" ? "ghost" : ""} act-${kind}`,
      text: t(`action.${kind}`), dataset: { key: `${kind}:${agent.agent_id}` },
      attrs: { "aria-label": t(`action.${kind}_who`, { name }) } });
    enable(b, !loggedOut, t("action.why_logged_out"));
    return onActivate(b, () => this.openAction(kind, agent.agent_id, b));
  }

  workOf(agent) {
    const items = [];
    for (const c of this.board.callsOf(agent.agent_id)) {
      const mine = (c.connections ?? []).find((x) => x.agent_id === agent.agent_id);
      items.push(h("li", { dataset: { call: c.call_id } },
        h("span", { class: "chan", text: t("channel.voice") }), " ", customerText(c.customer),
        " · ", t(`state.call.${mine?.state ?? "connected"}`), " ", this.timer(mine?.since, "")));
    }
    for (const i of this.board.interactionsOf(agent.agent_id)) {
      items.push(h("li", { dataset: { interaction: i.interaction_id } },
        h("span", { class: "chan", text: t(`channel.${i.channel}`) }), " ", customerText(i.customer),
        i.attached?.subject ? ` — ${i.attached.subject}` : "", " ", this.timer(i.accepted_at ?? i.offered_at, "")));
    }
    return items.length ? h("ul", { class: "work-list" }, ...items) : null;
  }

  renderLive() {
    const rows = this.board.live();
    fill(this.liveT.body, ...rows.map((r) => h("tr", { dataset: { id: r.id, channel: r.channel } },
      h("td", { text: t(`channel.${r.channel}`) }),
      h("th", { attrs: { scope: "row" } }, customerText(r.customer), r.subject ? h("span", { class: "muted", text: ` — ${r.subject}` }) : null),
      h("td", { text: r.queue ?? "" }),
      h("td", { text: r.agents.map((id) => this.board.agentName(id)).join(", ") }),
      h("td", { class: "live-state", text: t(r.state.startsWith("call.") ? `state.${r.state}` : r.state) }),
      h("td", { class: "num" }, this.timer(r.since, "")))));
    this.liveT.empty.hidden = rows.length > 0;
  }

  timer(since, fallback) {
    if (!since) return h("span", { class: "timer", text: fallback });
    return h("span", { class: "timer", dataset: { since }, attrs: { role: "timer", "aria-live": "off" } });
  }

  now() {
    return Date.now() + (this.client?.skewMs ?? 0);
  }

  tick() {
    const now = this.now();
    for (const el of this.querySelectorAll(".timer[data-since]")) {
      const at = Date.parse(el.dataset.since);
      if (!Number.isNaN(at)) setText(el, formatDuration((now - at) / 1000));
    }
    // The longest wait grows between publications: its colour follows it.
    for (const tr of this.queuesT?.body.querySelectorAll("tr[data-queue]") ?? []) {
      const q = this.queueRows?.get(tr.dataset.queue);
      if (!q) continue;
      const lv = queueLevels(q, now);
      leveled(tr.querySelector("td.longest"), lv.longest);
      tr.dataset.level = worst(Object.values(lv)) ?? "";
    }
  }

  stateText(agent) {
    const st = agent?.state ?? {};
    const base = t(`state.agent.${st.status ?? "logged_out"}`);
    if (st.status === "not_ready" && st.reason) return `${base} — ${this.reasonText(st.reason)}`;
    return base;
  }

  reasonText(code) {
    const r = this.board.reasonCodes.find((x) => x.code === code);
    if (r) return codeLabel(r, getLanguage());
    return has(`reason.${code}`) ? t(`reason.${code}`) : code;
  }

  loadText(agent) {
    const parts = loadParts(agent);
    if (!parts) return "—";
    return parts.map((p) => `${t(`channel.${p.channel}`)} ${p.load}${p.capacity === null ? "" : `/${p.capacity}`}`).join(" · ");
  }

  // ------------------------------------------------------------ actions

  openAction(kind, agentId, opener) {
    const agent = this.board.agents.get(agentId);
    if (!agent) return;
    const name = agent.name ?? agentId;
    const reason = h("select", { id: "sup-reason", attrs: { "aria-required": "true" } },
      h("option", { value: "", text: t("action.choose") }),
      ...this.board.reasonCodes.map((r) => h("option", { value: r.code, text: codeLabel(r, getLanguage()) })));
    const err = h("p", { class: "dlg-error", attrs: { role: "alert" } });
    const confirm = h("button", { type: "submit", class: `btn ${kind === "logout" ? "danger" : "primary"}`,
      text: t(`action.confirm_${kind}`) });
    const cancel = h("button", { type: "button", class: "btn ghost", text: t("action.cancel"),
      on: { click: () => this.dialog.close() } });
    const form = h("form", { method: "dialog", noValidate: true, on: { submit: async (ev) => {
      ev.preventDefault();
      if (!reason.value) { setText(err, t("action.no_reason")); reason.focus(); return; }
      confirm.disabled = true;
      setText(err, "");
      try {
        const op = kind === "logout" ? "agent.logout" : "agent.not_ready";
        const result = await this.client.command(op, { agent_id: agentId, reason: reason.value });
        this.dialog.close();
        const label = this.reasonText(reason.value);
        this.say(result?.pending ? t("action.pending", { name }) : t(`action.done_${kind}`, { name, reason: label }));
        this.loadAudit();
      } catch (e) {
        setText(err, this.errorText(e));
        this.loadAudit();
      } finally {
        confirm.disabled = false;
      }
    } } },
    h("h2", { id: "sup-dlg-h", text: t(`action.${kind}_who`, { name }) }),
    h("label", { attrs: { for: "sup-reason" }, text: t("action.reason") }), reason,
    h("p", { class: "muted", text: t("action.recorded") }), err,
    h("div", { class: "row" }, confirm, cancel));
    fill(this.dialog, form);
    this.dialog.dataset.kind = kind;
    this.dialog.onclose = () => {
      const back = opener.isConnected ? opener : this.querySelector(`[data-key="${CSS.escape(opener.dataset.key)}"]`);
      back?.focus();
    };
    this.dialog.showModal();
    reason.focus();
  }

  async loadAudit() {
    if (this.view !== "board" || !this.client.token || this.wallboard) return;
    try {
      this.audit = await this.client._json(`api/audit?limit=${AUDIT_SHOWN}`, { auth: true }) ?? [];
    } catch (err) {
      console.warn("ctibridge: the audit log is unavailable", err);
      this.audit = [];
    }
    this.renderAudit();
  }

  renderAudit() {
    if (!this.auditList) return;
    const rows = Array.isArray(this.audit) ? this.audit : [];
    fill(this.auditList, ...rows.map((e) => h("li", { text: t("audit.line", {
      time: formatTime(e.at, getLanguage()), actor: e.actor, agent: this.board.agentName(e.agent_id),
      op: has(`audit.op.${e.op}`) ? t(`audit.op.${e.op}`) : e.op,
      reason: e.reason ? this.reasonText(e.reason) : "—",
      outcome: e.outcome === "ok" ? t("audit.ok") : this.errorText({ code: e.outcome, message: e.detail }) }) })));
    this.auditEmpty.hidden = rows.length > 0;
  }

  // ------------------------------------------------------------ messages

  say(text) {
    const el = this.politeEl;
    el.textContent = "";
    requestAnimationFrame(() => { el.textContent = text; });
  }

  errorText(err) {
    const code = err?.code;
    if (code && has(`error.${code}`)) return t(`error.${code}`);
    if (err?.message) return err.message;
    return t("error.generic", { code: code ?? "?" });
  }

  showError(err) {
    setText(this.errorMsg, this.errorText(err));
    this.banner.hidden = false;
  }
}

const QUEUE_HEADS = ["queues.queue", "queues.channels", "queues.waiting", "queues.longest",
  "queues.sl", "queues.answered", "queues.abandoned"];

/** `?wallboard`, `?wallboard=1` or `=true`: the wall screen (not `=0` or `=false`). */
export function isWallboard(search) {
  const v = new URLSearchParams(search).get("wallboard");
  return v !== null && !["0", "false", "no"].includes(v.toLowerCase());
}

/** Colour a figure's cell by its threshold level, in words too for those who cannot see it. */
function leveled(td, level) {
  if (!td) return td;
  if (level && level !== "ok") td.dataset.level = level; else delete td.dataset.level;
  td.querySelector(".level-text")?.remove();
  if (level && level !== "ok") td.append(h("span", { class: "level-text sr-only", text: ` (${t(`level.${level}`)})` }));
  return td;
}

function customerText(party) {
  const p = party ?? {};
  const number = p.number ? formatPhone(p.number) : "";
  if (p.name && number) return `${p.name} (${number})`;
  return p.name || number || t("live.unknown");
}

function formatPct(v) {
  return Number.isInteger(v) ? String(v) : v.toFixed(1).replace(/\.0$/, "");
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

customElements.define("ctibridge-supervisor", SupervisorPage);

// The call-log panel of the supervisor page: where every finished call's log to the
// CRM stands (sent, waiting, uncertain, failed, skipped), and the CRM refusing our
// credentials. Uncertain logs (sent, outcome unknown, the CRM cannot be checked) are
// listed so an admin confirms or re-sends them. See docs/call-logging.md.

import { fill, h, setText } from "../agentbar/dom.js";
import { formatTime } from "../agentbar/format.js";
import { getLanguage, t } from "./i18n/index.js";

const REFRESH_MS = 10000;
const STATUSES = ["pending", "waiting", "uncertain", "failed", "skipped", "delivered"];

export class CallLogPanel {
  constructor(client, { isAdmin = () => false, onError = () => {} } = {}) {
    this.client = client;
    this.isAdmin = isAdmin;
    this.onError = onError;
    this.data = null;
    this.off = false;
    this.alert = h("p", { class: "crm-refused", hidden: true, attrs: { role: "alert" } });
    this.counts = h("p", { class: "calllog-counts muted" });
    this.list = h("ul", { class: "calllog-list" });
    this.section = h("section", { class: "panel calllog", hidden: true, attrs: { "aria-labelledby": "sup-calllog-h" } },
      h("h2", { id: "sup-calllog-h", text: t("calllog.heading") }), this.alert, this.counts, this.list);
    this.timer = null;
  }

  start() {
    this.stop();
    this.load();
    this.timer = setInterval(() => this.load(), REFRESH_MS);
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  onEvent(frame) {
    if (typeof frame?.name === "string" && frame.name.startsWith("calllog.")) this.load();
  }

  async load() {
    if (this.off || !this.client.token) return;
    try {
      const [all, uncertain] = await Promise.all([
        this.client._json("api/calllog?limit=1", { auth: true }),
        this.client._json("api/calllog?status=uncertain&limit=20", { auth: true }),
      ]);
      this.data = { counts: all?.counts ?? {}, auth: all?.auth_refused ?? null, rows: uncertain?.rows ?? [] };
    } catch (err) {
      if (err?.code === "calllog-off") { this.off = true; this.section.hidden = true; return; }
      console.warn("ctibridge: the call log is unavailable", err);
      return;
    }
    this.render();
  }

  render() {
    const d = this.data;
    if (!d) return;
    this.section.hidden = false;
    this.alert.hidden = !d.auth;
    if (d.auth) {
      setText(this.alert, t("calllog.refused", { since: formatTime(d.auth.since, getLanguage()), reason: d.auth.reason }));
    }
    setText(this.counts, STATUSES.map((s) => t(`calllog.count.${s}`, { n: d.counts[s] ?? 0 })).join(" · "));
    const admin = this.isAdmin();
    fill(this.list, ...d.rows.map((r) => h("li", { class: "uncertain", dataset: { interaction: r.interaction_id } },
      h("span", { text: t("calllog.uncertain", { id: r.interaction_id, reason: r.last_error ?? "" }) }),
      admin ? h("button", { type: "button", class: "btn small confirm", text: t("calllog.confirm"),
        on: { click: () => this.act(r.interaction_id, "confirm") } }) : null,
      admin ? h("button", { type: "button", class: "btn small resend", text: t("calllog.resend"),
        on: { click: () => this.act(r.interaction_id, "resend") } }) : null)));
  }

  async act(interactionId, action) {
    try {
      await this.client._json(`api/calllog/${encodeURIComponent(interactionId)}/${action}`,
        { method: "POST", auth: true, body: {} });
    } catch (err) {
      this.onError(err);
    }
    await this.load();
  }
}

// Zendesk Support: the bar as a Zendesk app in the top bar (examples/zendesk/manifest.json
// points the top_bar location at …/agentbar/?host=zendesk; Zendesk adds origin and
// app_guid). It speaks the Zendesk Apps framework through the ZAF SDK
// (zendesk_app_framework_sdk from npm, bundled in ../vendor by tools/host-sdks):
//   bar → Zendesk: invoke('popover') (open the panel when a call rings),
//                  invoke('notify', text) (a notice), invoke('routeTo', 'user', id)
//                  (the screen pop: the caller's user profile).
// ZAF has no click-to-dial hook: agents dial from the bar (or with Talk Partner Edition's
// own links, not covered here). Calls are logged by the hub (preset:zendesk).
// Developer docs: developer.zendesk.com, "Apps framework" (ZAF Client API, top_bar location).

import { ZAFClient } from "../vendor/zendesk-app-framework-sdk.js";

export class ZendeskHost {
  constructor(win, onCommand, zaf = ZAFClient) {
    this.win = win;
    this.name = "zendesk";
    this.onCommand = onCommand;
    this.client = zaf.init() || null; // false without origin/app_guid: not inside Zendesk
    this.context = null;
    if (!this.client) console.warn("ctibridge: not inside Zendesk (no origin/app_guid in the URL)");
    this.client?.on("app.registered", (data) => { this.context = data?.context ?? {}; });
  }

  setAllowedOrigins() {}
  allowedOrigin() { return false; }
  canPost() { return this.client !== null; }
  close() {}

  invoke(...args) {
    this.client.invoke(...args).catch((err) => console.warn(`ctibridge: Zendesk refused ${args[0]}`, err?.message ?? err));
    return true;
  }

  post(type, data) {
    if (!this.client) return false;
    if (type === "call.offered" && data?.direction !== "outbound" && !data?.consult_of) {
      this.invoke("popover");
      return this.invoke("notify", `Incoming call: ${data.name || data.number || "unknown"}`, "notice");
    }
    if (type === "ctibridge.screenpop") {
      const match = (data?.matches ?? []).find((m) => m.record_id === data.selected)
        ?? (data?.outcome === "one" ? data.matches[0] : null);
      if (match && /^[0-9]{1,20}$/.test(match.record_id)) return this.invoke("routeTo", "user", match.record_id);
    }
    return false;
  }
}

// Salesforce Open CTI (Lightning Experience): the bar as the softphone of a call center.
// Salesforce frames the bar at the call center's CTI Adapter URL
// (…/agentbar/?host=opencti&sfdc=https://<org>.my.salesforce.com) and adds
// sfdcIframeOrigin and mode. The Open CTI library is served only by the org itself, so
// the bar loads it from there, as the Open CTI Developer Guide says
// (<org>/support/api/<version>/lightning/opencti_min.js); the hub's CSP lets it load only
// from server.script_origins.
//   Salesforce → bar: onClickToDial (a click on a phone field: number, recordId, objectType).
//   bar → Salesforce: enableClickToDial, notifyInitializationComplete, setSoftphonePanelHeight,
//                     setSoftphonePanelVisibility (a call rings), screenPop (the record the
//                     hub found), searchAndScreenPop (nobody found: the softphone layout's
//                     NoMatch rule decides).
// Calls are logged by the hub (the mapping's log, server side); saveLog is not used.
// Open CTI is in maintenance and retires on 2028-02-28 (docs/crm/salesforce.md).

import { validCommand } from "../embed.js";

const API_VERSION = "62.0";

function loadScript(doc, src) {
  return new Promise((resolve, reject) => {
    const s = doc.createElement("script");
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`cannot load ${src} (is it in server.script_origins?)`));
    doc.head.append(s);
  });
}

export class OpenCtiHost {
  constructor(win, onCommand) {
    this.win = win;
    this.name = "opencti";
    this.onCommand = onCommand;
    this.api = null;
    this.status = null;
    const params = new URLSearchParams(win.location.search);
    const origin = params.get("sfdc") ?? params.get("sfdcIframeOrigin");
    this.ready = this.init(origin, params.get("sfdc_api") ?? API_VERSION).catch((err) => {
      console.warn("ctibridge: Open CTI unavailable:", err?.message ?? err);
      return false;
    });
  }

  async init(origin, version) {
    if (!origin || !/^https?:\/\/[A-Za-z0-9.-]+(:[0-9]+)?$/.test(origin)) {
      throw new Error("no Salesforce domain: add &sfdc=https://<org>.my.salesforce.com to the CTI Adapter URL");
    }
    await loadScript(this.win.document, `${origin}/support/api/${version}/lightning/opencti_min.js`);
    const api = this.win.sforce?.opencti;
    if (!api) throw new Error("the Open CTI library did not define sforce.opencti");
    this.api = api;
    api.onClickToDial({ listener: (payload) => this.onDial(payload ?? {}) });
    api.enableClickToDial({ callback: (r) => this.check("enableClickToDial", r) });
    api.setSoftphonePanelHeight({ heightPX: 620, callback: (r) => this.check("setSoftphonePanelHeight", r) });
    api.notifyInitializationComplete();
    return true;
  }

  check(method, response) {
    if (response && response.success === false) {
      console.warn(`ctibridge: Salesforce refused ${method}`, response.errors);
    }
  }

  // The bar's embed interface (../embed.js).
  setAllowedOrigins() {}
  allowedOrigin() { return false; }
  canPost() { return this.api !== null; }
  close() {}

  async onDial(payload) {
    const cmd = validCommand({ target: "ctibridge", type: "dial", number: String(payload.number ?? ""),
      ...(typeof payload.recordId === "string" && payload.recordId ? { record_id: payload.recordId } : {}) });
    if (!cmd) return;
    try {
      await this.onCommand(cmd);
    } catch (err) {
      console.warn("ctibridge: click-to-dial failed", err?.message ?? err);
    }
  }

  post(type, data) {
    const api = this.api;
    if (!api) return false;
    if (type === "call.offered" && data?.direction !== "outbound" && !data?.consult_of) {
      api.setSoftphonePanelVisibility({ visible: true, callback: (r) => this.check("setSoftphonePanelVisibility", r) });
      return true;
    }
    if (type === "ctibridge.screenpop") return this.pop(data ?? {});
    return false;
  }

  /** Salesforce opens the record the hub found; with none, its own search and NoMatch rule. */
  pop(data) {
    const api = this.api;
    const match = (data.matches ?? []).find((m) => m.record_id === data.selected)
      ?? (data.outcome === "one" ? data.matches[0] : null);
    if (match && /^[A-Za-z0-9]{15,18}$/.test(match.record_id)) {
      api.screenPop({ type: api.SCREENPOP_TYPE.SOBJECT, params: { recordId: match.record_id },
        callback: (r) => this.check("screenPop", r) });
      return true;
    }
    if (data.outcome === "none" && data.number) {
      const callType = data.direction === "outbound" ? api.CALL_TYPE.OUTBOUND : api.CALL_TYPE.INBOUND;
      api.searchAndScreenPop({ searchParams: data.number, queryParams: "", callType, deferred: false,
        callback: (r) => this.check("searchAndScreenPop", r) });
      return true;
    }
    return false;
  }
}

// Dynamics 365 Channel Integration Framework: the bar as a channel provider's panel.
// Dynamics frames the bar at the provider's landing URL
// (…/agentbar/?host=cif&crm=https://<org>.crm4.dynamics.com). The CIF library is served
// only by the org (<org>/webresources/Widget/msdyn_ciLibrary.js, with data-crmurl and
// data-cifid="CIFMainLibrary" on its script tag, Microsoft Learn "Channel Integration
// Framework"); it signals readiness with the window event CIFInitDone, and the hub's CSP
// lets it load only from server.script_origins.
//   Dynamics → bar: the "onclicktoact" handler (a click on a phone field: its value, field
//                   name and table, no record id; the page's record comes from getEnvironment).
//   bar → Dynamics: setClickToAct(true), setMode(1) (docked); notifyEvent (an incoming call,
//                   CIF v2 only, with a notification template named in the URL: &template=…);
//                   searchAndOpenRecords (open the record the hub found); openForm (nobody found:
//                   a quick create form with the number).
// Calls are logged by the hub (preset:dynamics365, server side); createRecord is not used.

import { validCommand } from "../embed.js";

const LIBRARY = "/webresources/Widget/msdyn_ciLibrary.js";
const ENTITIES = new Set(["contact", "account", "lead"]);

function loadLibrary(win, crm) {
  return new Promise((resolve, reject) => {
    const doc = win.document;
    const timer = setTimeout(() => reject(new Error("CIF did not signal CIFInitDone in 20 s")), 20000);
    win.addEventListener("CIFInitDone", () => { clearTimeout(timer); resolve(); }, { once: true });
    const s = doc.createElement("script");
    s.src = `${crm}${LIBRARY}`;
    s.dataset.crmurl = crm;
    s.dataset.cifid = "CIFMainLibrary";
    s.onerror = () => { clearTimeout(timer); reject(new Error(`cannot load ${s.src} (is it in server.script_origins?)`)); };
    doc.head.append(s);
  });
}

export class CifHost {
  constructor(win, onCommand) {
    this.win = win;
    this.name = "cif";
    this.onCommand = onCommand;
    this.cif = null;
    const params = new URLSearchParams(win.location.search);
    this.template = params.get("template");
    this.ready = this.init(params.get("crm")).catch((err) => {
      console.warn("ctibridge: CIF unavailable:", err?.message ?? err);
      return false;
    });
  }

  async init(crm) {
    if (!crm || !/^https?:\/\/[A-Za-z0-9.-]+(:[0-9]+)?$/.test(crm)) {
      throw new Error("no Dynamics org: add &crm=https://<org>.crm.dynamics.com to the landing URL");
    }
    await loadLibrary(this.win, crm);
    const cif = this.win.Microsoft?.CIFramework;
    if (!cif) throw new Error("the CIF library did not define Microsoft.CIFramework");
    this.cif = cif;
    cif.addHandler("onclicktoact", (eventData) => this.onClickToAct(eventData));
    await cif.setClickToAct(true);
    await cif.setMode(1);
    return true;
  }

  // The bar's embed interface (../embed.js).
  setAllowedOrigins() {}
  allowedOrigin() { return false; }
  canPost() { return this.cif !== null; }
  close() {}

  async onClickToAct(eventData) {
    let data;
    try {
      data = JSON.parse(eventData);
    } catch {
      return Promise.reject(new Error("ctibridge: unreadable click-to-act data"));
    }
    if (data?.format !== "phone") return Promise.resolve();
    // CIF gives the field, not the record: the record is the page the agent is on.
    let recordId;
    try {
      const env = JSON.parse(await this.cif.getEnvironment());
      const id = typeof env.id === "string" ? env.id.replace(/[{}]/g, "") : null;
      if (env.pagetype === "entityrecord" && env.etn === data.entityLogicalName && id) recordId = id;
    } catch { /* no page context: dial without a record */ }
    const cmd = validCommand({ target: "ctibridge", type: "dial", number: String(data.value ?? ""),
      ...(recordId ? { record_id: recordId } : {}) });
    if (!cmd) return Promise.reject(new Error("ctibridge: this number cannot be dialled"));
    await this.onCommand(cmd);
    return undefined;
  }

  post(type, data) {
    const cif = this.cif;
    if (!cif) return false;
    if (type === "call.offered" && data?.direction !== "outbound" && !data?.consult_of
        && this.template && typeof cif.notifyEvent === "function") {
      cif.notifyEvent({ templateName: this.template, templateParameters: {
        number: data.number ?? "", name: data.name ?? "", queue: data.queue ?? "" },
      cancellationToken: data.call_id }).catch((err) => console.warn("ctibridge: notifyEvent", err));
      return true;
    }
    if (type === "ctibridge.screenpop") return this.pop(data ?? {});
    return false;
  }

  pop(data) {
    const cif = this.cif;
    const match = (data.matches ?? []).find((m) => m.record_id === data.selected)
      ?? (data.outcome === "one" ? data.matches[0] : null);
    const guid = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
    if (match && guid.test(match.record_id)) {
      const entity = ENTITIES.has(match.kind) ? match.kind : "contact";
      cif.searchAndOpenRecords(entity, `?$select=${entity}id&$filter=${entity}id eq ${match.record_id}`, false)
        .catch((err) => console.warn("ctibridge: searchAndOpenRecords", err));
      return true;
    }
    if (data.outcome === "none" && data.number) {
      cif.openForm(JSON.stringify({ entityName: "contact", useQuickCreateForm: true }),
        JSON.stringify({ telephone1: data.number }))
        .catch((err) => console.warn("ctibridge: openForm", err));
      return true;
    }
    return false;
  }
}

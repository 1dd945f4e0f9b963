// Which host the bar lives in: our own postMessage contract (any page, docs/embedding.md)
// or a CRM's own softphone contract, chosen by the URL the host loads the bar with
// (…/agentbar/?host=hubspot). Each adapter has the Embed interface: post(type, data),
// canPost(), setAllowedOrigins(list), close(), and turns the host's requests into the
// bar's commands (dial, set_state).

import { Embed } from "../embed.js";

export const HOSTS = ["hubspot", "opencti", "cif", "zendesk", "scv"];

// Salesforce posts SETUP_CONNECTOR once, when the frame has loaded, which can be before
// the connector's module has arrived: keep it from the first moment (this module runs
// before the page's load event) and hand it to scv-connector-base once it listens.
const early = [];
const keepSetup = (ev) => { if (ev.data?.type === "SETUP_CONNECTOR") early.push(ev); };
if (typeof window !== "undefined" && new URLSearchParams(window.location.search).get("host") === "scv") {
  window.addEventListener("message", keepSetup);
}

export async function createHost(win, onCommand) {
  const name = new URLSearchParams(win.location.search).get("host");
  if (name === "hubspot") {
    const { HubSpotHost } = await import("./hubspot.js");
    return new HubSpotHost(win, onCommand);
  }
  if (name === "opencti") {
    const { OpenCtiHost } = await import("./opencti.js");
    return new OpenCtiHost(win, onCommand);
  }
  if (name === "cif") {
    const { CifHost } = await import("./cif.js");
    return new CifHost(win, onCommand);
  }
  if (name === "zendesk") {
    const { ZendeskHost } = await import("./zendesk.js");
    return new ZendeskHost(win, onCommand);
  }
  if (name === "scv") {
    const { ScvHost } = await import("./scv.js");
    const host = new ScvHost(win, onCommand);
    win.removeEventListener("message", keepSetup);
    for (const ev of early.splice(0)) {
      win.dispatchEvent(new MessageEvent("message", { data: ev.data, origin: ev.origin, ports: [...ev.ports] }));
    }
    return host;
  }
  if (name && !HOSTS.includes(name)) console.warn("ctibridge: unknown host %s: using postMessage", name);
  return new Embed(win, onCommand);
}

// Which host the bar lives in: our own postMessage contract (any page, docs/embedding.md)
// or a CRM's own softphone contract, chosen by the URL the host loads the bar with
// (…/agentbar/?host=hubspot). Each adapter has the Embed interface: post(type, data),
// canPost(), setAllowedOrigins(list), close(), and turns the host's requests into the
// bar's commands (dial, set_state).

import { Embed } from "../embed.js";

export const HOSTS = ["hubspot", "opencti", "cif", "zendesk"];

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
  if (name && !HOSTS.includes(name)) console.warn("ctibridge: unknown host %s: using postMessage", name);
  return new Embed(win, onCommand);
}

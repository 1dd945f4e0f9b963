// The demo CRM as a "CRM host" of the agent bar (docs/embedding.md).
//
// The bar lives in the side <iframe>; reloading the page would reload it and drop
// the agent's connection for a moment. So, once loaded, the CRM never reloads:
// links and forms inside the CRM are fetched and only <main> is replaced (the
// server renders whole pages, so every URL also works when opened directly).
//
// From the bar: `ctibridge.screenpop` {outcome, matches:[{record_id,name,company,url}],
// create_url} opens the record (one), the create form (none) or offers the choice
// (several). To the bar: a click on a phone number sends {target:"ctibridge", type:"dial"}.

const ORIGIN = location.origin;
const BASE = document.body.dataset.base || "/democrm";
const MESSAGES = JSON.parse(document.getElementById("democrm-messages")?.textContent || "{}");
const frame = document.getElementById("ctibridge");
const main = document.getElementById("main");
const pop = document.getElementById("pop");
let dialIds = 0;
let loading = null;

const say = (key, values = {}) =>
  (MESSAGES[key] || key).replace(/\{(\w+)\}/g, (_, k) => String(values[k] ?? ""));

/** A URL of this CRM's pages (never the API, never another site), or null. */
function crmUrl(href) {
  if (typeof href !== "string" || !href) return null; // new URL(null) would be ".../null"
  let url;
  try { url = new URL(href, location.href); } catch { return null; }
  if (url.origin !== ORIGIN) return null;
  if (url.pathname !== BASE && !url.pathname.startsWith(BASE + "/")) return null;
  if (url.pathname.startsWith(BASE + "/api/") || url.pathname.startsWith(BASE + "/static/")) return null;
  return url;
}

function notice(text, kind = "info") {
  pop.hidden = false;
  pop.className = `pop ${kind}`;
  pop.replaceChildren(document.createTextNode(text));
}

function clearNotice() {
  pop.hidden = true;
  pop.replaceChildren();
}

/**
 * Replace <main> with the <main> of the page at `url` (GET, or a POSTed form).
 * `focus`: move the keyboard focus to the new <main> (the agent's own click or form);
 * a screen pop passes false, so that the bar keeps the focus on its Answer button.
 */
async function navigate(url, { method = "GET", body = null, push = true, focus = true } = {}) {
  const mine = {};
  loading = mine;
  let response;
  try {
    response = await fetch(url, { method, body, credentials: "same-origin",
      headers: { Accept: "text/html" } });
  } catch {
    location.assign(url); // the network failed: let the browser try and say why
    return;
  }
  const html = await response.text();
  if (loading !== mine) return; // a later click won
  const doc = new DOMParser().parseFromString(html, "text/html");
  const next = doc.getElementById("main");
  if (!next) { location.assign(response.url); return; }
  // Nodes from the server's autoescaped page; scripts parsed this way never run.
  const nodes = Array.from(next.childNodes); // a copy: adopting empties the live list
  main.replaceChildren(...nodes.map((n) => document.adoptNode(n)));
  document.title = doc.title;
  const final = response.url || String(url);
  if (push && final !== location.href) history.pushState({ crm: true }, "", final);
  else if (!push) history.replaceState({ crm: true }, "", final);
  if (focus) main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
  document.dispatchEvent(new CustomEvent("democrm:navigated", { detail: { url: final } }));
}

function dial(number, recordId) {
  if (!frame?.contentWindow) { notice(say("bar_missing"), "error"); return; }
  const id = `dial-${++dialIds}`;
  const command = { target: "ctibridge", type: "dial", number, id };
  // The record the number was clicked on: the hub pops it and logs the call against it.
  if (recordId) command.record_id = String(recordId);
  frame.contentWindow.postMessage(command, ORIGIN);
  notice(say("dialling", { number }));
}

function showChoice(data) {
  const list = document.createElement("ul");
  for (const m of Array.isArray(data.matches) ? data.matches : []) {
    const url = crmUrl(m?.url);
    if (!url) continue;
    const a = document.createElement("a");
    a.href = url.href;
    a.textContent = [m.name, m.company].filter((v) => typeof v === "string" && v).join(" · ")
      || String(m.record_id ?? url.pathname);
    const li = document.createElement("li");
    li.append(a);
    list.append(li);
  }
  const create = crmUrl(data.create_url);
  if (create) {
    const a = document.createElement("a");
    a.href = create.href;
    a.textContent = say("create_instead");
    const li = document.createElement("li");
    li.append(a);
    list.append(li);
  }
  pop.hidden = false;
  pop.className = "pop choice";
  const p = document.createElement("p");
  p.textContent = say("several");
  pop.replaceChildren(p, list);
}

/** The bar's `ctibridge.screenpop`: show the record, never take the keyboard focus. */
function screenpop(data) {
  if (!data || typeof data !== "object") return;
  const matches = Array.isArray(data.matches) ? data.matches : [];
  if (data.outcome === "one" && matches.length) {
    const url = crmUrl(matches[0]?.url);
    if (url) { clearNotice(); navigate(url, { focus: false }); }
  } else if (data.outcome === "none") {
    const url = crmUrl(data.create_url);
    if (url) { clearNotice(); navigate(url, { focus: false }); }
  } else if (data.outcome === "several") {
    showChoice(data);
  } else if (data.outcome === "unavailable") {
    notice(say("crm_unavailable") + (typeof data.error === "string" ? ` (${data.error})` : ""), "error");
  }
}

window.addEventListener("message", (ev) => {
  // Only the bar in our own frame, from the hub's origin (ours), is listened to.
  if (!frame || ev.source !== frame.contentWindow || ev.origin !== ORIGIN) return;
  const msg = ev.data;
  if (!msg || typeof msg !== "object" || msg.source !== "ctibridge") return;
  if (msg.type === "ctibridge.screenpop") {
    screenpop(msg.data);
  } else if (msg.type === "ctibridge.open") {
    // A conversation lives on its platform, not in this CRM: open it beside us.
    let url = null;
    try { url = new URL(String(msg.data?.url ?? "")); } catch { url = null; }
    if (url && (url.protocol === "https:" || url.protocol === "http:")) {
      window.open(url.href, "_blank", "noopener");
    } else console.warn("ctibridge.open without an http(s) url", msg.data);
  } else if (msg.type === "command.result" && msg.data?.command === "dial") {
    if (msg.data.ok) clearNotice();
    else notice(say("dial_failed", { message: msg.data.error?.message ?? "" }), "error");
  }
});

document.addEventListener("click", (ev) => {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const a = ev.target instanceof Element ? ev.target.closest("a[href]") : null;
  if (!a) return;
  if (a.classList.contains("dial")) {
    ev.preventDefault();
    dial(a.dataset.number || a.textContent.trim(), a.dataset.recordId);
    return;
  }
  if (a.hasAttribute("data-reload") || a.target || a.hasAttribute("download")) return;
  const url = crmUrl(a.href);
  if (!url) return;
  ev.preventDefault();
  if (pop.contains(a)) clearNotice();
  navigate(url);
});

document.addEventListener("submit", (ev) => {
  const form = ev.target;
  if (!(form instanceof HTMLFormElement)) return;
  const url = crmUrl(form.action);
  if (!url) return;
  ev.preventDefault();
  const data = new URLSearchParams(new FormData(form));
  if (form.method.toLowerCase() === "post") {
    navigate(url, { method: "POST", body: data });
  } else {
    url.search = data.toString();
    navigate(url);
  }
});

window.addEventListener("popstate", () => navigate(location.href, { push: false }));

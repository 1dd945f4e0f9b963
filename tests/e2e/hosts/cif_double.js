// A stand-in for Dynamics 365's msdyn_ciLibrary.js (Channel Integration Framework v2),
// for the bar's contract tests. Written from Microsoft Learn's CIF API reference:
// every method returns a Promise; results that carry data are JSON strings
// (getEnvironment, searchAndOpenRecords); the library announces itself with the
// window event CIFInitDone once loaded; the "onclicktoact" handler gets a JSON string
// {value, name, format, entityLogicalName} and nothing is delivered until
// setClickToAct(true). The real library talks to the Dynamics page framing the panel;
// this one reports every call to the framing page (window.parent) instead.
(() => {
  const me = document.querySelector('script[data-cifid="CIFMainLibrary"]');
  const parentOrigin = me?.dataset.crmurl;
  let clickToAct = false;
  const handlers = {};
  const page = { appid: "b6f2c1e4-0000-4000-8000-000000000001", pagetype: "dashboard" };

  const report = (method, args, ok, why) => window.parent.postMessage(
    { cif: method, args: JSON.parse(JSON.stringify(args)), ok, why: why ?? null }, parentOrigin);
  const call = (method, args, check, value) => {
    const why = check(...args);
    report(method, args, !why, why);
    return why ? Promise.reject(new Error(why)) : Promise.resolve(value?.(...args));
  };
  const json = (s) => { try { JSON.parse(s); return true; } catch { return false; } };
  const entity = (e) => typeof e === "string" && /^[a-z_]+$/.test(e);

  window.Microsoft = { CIFramework: {
    setClickToAct: (v) => call("setClickToAct", [v], (x) => (typeof x === "boolean" ? null : "value must be a boolean"),
      (x) => { clickToAct = x; }),
    setMode: (m) => call("setMode", [m], (x) => ([0, 1, 2, 3].includes(x) ? null : "mode must be 0, 1, 2 or 3")),
    addHandler: (name, fn) => call("addHandler", [name], (n) => (typeof n === "string" && typeof fn === "function"
      ? null : "addHandler(eventName, handlerFunction)"), (n) => { handlers[n] = fn; }),
    getEnvironment: () => call("getEnvironment", [], () => null, () => JSON.stringify(page)),
    searchAndOpenRecords: (e, query, searchOnly) => call("searchAndOpenRecords", [e, query, searchOnly],
      (a, q, s) => (entity(a) && typeof q === "string" && q.startsWith("?") && typeof s === "boolean" ? null
        : "searchAndOpenRecords(entityLogicalName, '?$…' OData query, searchOnly boolean)"), () => "{}"),
    openForm: (options, params) => call("openForm", [options, params],
      (o, p) => (json(o) && (p === undefined || json(p)) ? null : "entityFormOptions and parameters are JSON strings"),
      () => JSON.stringify({ savedEntityReference: [] })),
    notifyEvent: (input) => call("notifyEvent", [input], (i) => (i && typeof i.templateName === "string"
      && typeof i.templateParameters === "object" ? null : "notifyEvent({templateName, templateParameters})"),
      () => ({ actionName: "Accept" })),
  } };

  // The framing page (the test's Dynamics) navigates and clicks phone fields.
  window.addEventListener("message", (ev) => {
    if (ev.origin !== parentOrigin) return;
    if (ev.data?.cif === "navigate") Object.assign(page, ev.data.page);
    if (ev.data?.cif === "clicktoact") {
      const handler = handlers.onclicktoact;
      if (clickToAct && handler) {
        Promise.resolve(handler(JSON.stringify(ev.data.payload)))
          .then(() => report("clicktoactHandled", [ev.data.payload], true))
          .catch((err) => report("clicktoactHandled", [ev.data.payload], false, String(err)));
      } else report("clicktoactIgnored", [ev.data.payload], false, "click-to-act is off");
    }
  });
  setTimeout(() => window.dispatchEvent(new Event("CIFInitDone")), 0);
})();

// A stand-in for Salesforce's opencti_min.js (Lightning Experience), for the bar's
// contract tests. Written from the Open CTI Developer Guide ("Methods for Lightning
// Experience"): each method takes one object of named arguments; callbacks get
// {success, returnValue, errors} asynchronously; click-to-dial reaches the
// onClickToDial listener only after enableClickToDial; the softphone panel height must
// be between 240 and 700 px. Salesforce's real library talks to its own page, which
// frames the softphone: this one reports every call to the framing page
// (window.parent) so the test host can check what the softphone asked for.
(() => {
  const SCREENPOP_TYPE = { URL: "url", SOBJECT: "sobject", OBJECTHOME: "objecthome", LIST: "list",
    SEARCH: "search", NEW_RECORD_MODAL: "newrecord", FLOW: "flow" };
  const CALL_TYPE = { INBOUND: "inbound", OUTBOUND: "outbound", INTERNAL: "internal" };
  const parentOrigin = new URLSearchParams(location.search).get("sfdcIframeOrigin");
  let clickToDial = false;
  let listener = null;

  const report = (method, args, ok, why) => window.parent.postMessage(
    { opencti: method, args: JSON.parse(JSON.stringify(args ?? {})), ok, why }, parentOrigin);
  const answer = (cb, ok, value, why) => {
    if (typeof cb === "function") {
      setTimeout(() => cb(ok ? { success: true, returnValue: value ?? null, errors: null }
        : { success: false, returnValue: null, errors: [{ description: why }] }), 0);
    }
  };
  // Each method: the names it accepts, and what makes its arguments wrong.
  const method = (name, known, check, value) => (args = {}) => {
    const unknown = Object.keys(args).filter((k) => !known.includes(k));
    const why = unknown.length ? `unknown argument ${unknown[0]}` : check(args);
    report(name, args, !why, why || null);
    answer(args.callback, !why, why ? null : value?.(args), why);
  };
  const fn = (v) => v === undefined || typeof v === "function";

  window.sforce = { opencti: {
    SCREENPOP_TYPE, CALL_TYPE,
    notifyInitializationComplete: () => report("notifyInitializationComplete", {}, true, null),
    enableClickToDial: method("enableClickToDial", ["callback"], (a) => (fn(a.callback) ? null : "callback"),
      () => { clickToDial = true; return null; }),
    disableClickToDial: method("disableClickToDial", ["callback"], () => null, () => { clickToDial = false; }),
    onClickToDial: (args = {}) => {
      const ok = typeof args.listener === "function";
      report("onClickToDial", {}, ok, ok ? null : "listener must be a function");
      if (ok) listener = args.listener;
    },
    setSoftphonePanelHeight: method("setSoftphonePanelHeight", ["heightPX", "callback"],
      (a) => (Number.isInteger(a.heightPX) && a.heightPX >= 240 && a.heightPX <= 700 ? null
        : "heightPX must be an integer from 240 to 700")),
    setSoftphonePanelVisibility: method("setSoftphonePanelVisibility", ["visible", "callback"],
      (a) => (typeof a.visible === "boolean" ? null : "visible must be a boolean")),
    screenPop: method("screenPop", ["type", "params", "callback"], (a) => {
      if (!Object.values(SCREENPOP_TYPE).includes(a.type)) return "unknown type";
      if (a.type === "sobject" && !(typeof a.params?.recordId === "string" && /^[A-Za-z0-9]{15,18}$/.test(a.params.recordId))) {
        return "params.recordId must be a record id";
      }
      return null;
    }),
    searchAndScreenPop: method("searchAndScreenPop",
      ["searchParams", "queryParams", "defaultFieldValues", "callType", "deferred", "callback"],
      (a) => (typeof a.searchParams === "string" && Object.values(CALL_TYPE).includes(a.callType) ? null
        : "searchParams and callType are required"), () => ({})),
  } };

  // The framing page (the test's Salesforce) clicks a phone field.
  window.addEventListener("message", (ev) => {
    if (ev.origin !== parentOrigin || ev.data?.opencti !== "click") return;
    if (clickToDial && listener) listener(ev.data.payload);
    else report("clickIgnored", ev.data.payload, false, "click-to-dial is not enabled");
  });
})();

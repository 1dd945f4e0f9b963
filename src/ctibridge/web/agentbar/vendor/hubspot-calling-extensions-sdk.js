// @hubspot/calling-extensions-sdk@0.9.7 (MIT), bundled by tools/host-sdks: do not edit.

// node_modules/@hubspot/calling-extensions-sdk/dist/main.esm.js
var e = { d: (t2, s2) => {
  for (var E2 in s2) e.o(s2, E2) && !e.o(t2, E2) && Object.defineProperty(t2, E2, { enumerable: true, get: s2[E2] });
}, o: (e2, t2) => Object.prototype.hasOwnProperty.call(e2, t2), r: (e2) => {
  "undefined" != typeof Symbol && Symbol.toStringTag && Object.defineProperty(e2, Symbol.toStringTag, { value: "Module" }), Object.defineProperty(e2, "__esModule", { value: true });
} };
var t = {};
e.d(t, { YM: () => s, qO: () => u, Ay: () => H });
var s = {};
e.r(s), e.d(s, { COMPANY: () => O, CONTACT: () => G, VERSION: () => E, callEndStatus: () => M, callEndingStatus: () => c, callInProgressStatus: () => R, callRingingStatus: () => S, callStatus: () => h, callerIdTypes: () => U, debugMessageType: () => a, errorType: () => A, messageHandlerNames: () => o, messageType: () => i, thirdPartyToHostEvents: () => n });
var E = JSON.parse('{"rE":"0.9.7-beta.0"}').rE;
var a = { FROM_HUBSPOT: "From HubSpot", TO_HUBSPOT: "To HubSpot", GENERIC_MESSAGE: "Generic Message" };
var n = { CALL_ANSWERED: "CALL_ANSWERED", CALL_COMPLETED: "CALL_COMPLETED", CALL_DATA: "CALL_DATA", CALL_ENDED: "CALL_ENDED", CALL_TRANSFERRED: "CALL_TRANSFERRED", INCOMING_CALL: "INCOMING_CALL", INITIALIZED: "INITIALIZED", LOGGED_IN: "LOGGED_IN", LOGGED_OUT: "LOGGED_OUT", NAVIGATE_TO_RECORD: "NAVIGATE_TO_RECORD", OUTGOING_CALL_STARTED: "OUTGOING_CALL_STARTED", PUBLISH_TO_CHANNEL: "PUBLISH_TO_CHANNEL", RESIZE_WIDGET: "RESIZE_WIDGET", USER_AVAILABLE: "USER_AVAILABLE", USER_UNAVAILABLE: "USER_UNAVAILABLE", FINALIZE_ENGAGEMENT: "FINALIZE_ENGAGEMENT" };
var i = { ...n, CALLER_ID_MATCH_FAILED: "CALLER_ID_MATCH_FAILED", CALLER_ID_MATCH_SUCCEEDED: "CALLER_ID_MATCH_SUCCEEDED", CREATE_ENGAGEMENT_FAILED: "CREATE_ENGAGEMENT_FAILED", CREATE_ENGAGEMENT_SUCCEEDED: "CREATE_ENGAGEMENT_SUCCEEDED", DIAL_NUMBER: "DIAL_NUMBER", ENGAGEMENT_CREATED: "ENGAGEMENT_CREATED", INITIATE_CALL_ID_FAILED: "INITIATE_CALL_ID_FAILED", INITIATE_CALL_ID_SUCCEEDED: "INITIATE_CALL_ID_SUCCEEDED", NAVIGATE_TO_RECORD_FAILED: "NAVIGATE_TO_RECORD_FAILED", PUBLISH_TO_CHANNEL_FAILED: "PUBLISH_TO_CHANNEL_FAILED", PUBLISH_TO_CHANNEL_SUCCEEDED: "PUBLISH_TO_CHANNEL_SUCCEEDED", FINALIZE_ENGAGEMENT_FAILED: "FINALIZE_ENGAGEMENT_FAILED", FINALIZE_ENGAGEMENT_SUCCEEDED: "FINALIZE_ENGAGEMENT_SUCCEEDED", SET_WIDGET_URL_FAILED: "SET_WIDGET_URL_FAILED", UPDATE_ENGAGEMENT_FAILED: "UPDATE_ENGAGEMENT_FAILED", UPDATE_ENGAGEMENT_SUCCEEDED: "UPDATE_ENGAGEMENT_SUCCEEDED", VISIBILITY_CHANGED: "VISIBILITY_CHANGED", END_CALL: "END_CALL", ERROR: "ERROR", READY: "READY", SET_CALL_STATE: "SET_CALL_STATE", SET_WIDGET_URL: "SET_WIDGET_URL", SYNC_ACK_FAILED: "SYNC_ACK_FAILED", SYNC_ACK: "SYNC_ACK", SYNC: "SYNC", UNLOADING: "UNLOADING", FAILED: "FAILED" };
var o = { [i.CALLER_ID_MATCH_FAILED]: "onCallerIdMatchFailed", [i.CALLER_ID_MATCH_SUCCEEDED]: "onCallerIdMatchSucceeded", [i.CREATE_ENGAGEMENT_FAILED]: "onCreateEngagementFailed", [i.CREATE_ENGAGEMENT_SUCCEEDED]: "onCreateEngagementSucceeded", [i.DIAL_NUMBER]: "onDialNumber", [i.END_CALL]: "onEndCall", [i.ENGAGEMENT_CREATED]: "onEngagementCreated", [i.INITIATE_CALL_ID_FAILED]: "onInitiateCallIdFailed", [i.INITIATE_CALL_ID_SUCCEEDED]: "onInitiateCallIdSucceeded", [i.NAVIGATE_TO_RECORD_FAILED]: "onNavigateToRecordFailed", [i.PUBLISH_TO_CHANNEL_FAILED]: "onPublishToChannelFailed", [i.PUBLISH_TO_CHANNEL_SUCCEEDED]: "onPublishToChannelSucceeded", [i.FINALIZE_ENGAGEMENT_FAILED]: "onFinalizeEngagementFailed", [i.FINALIZE_ENGAGEMENT_SUCCEEDED]: "onFinalizeEngagementSucceeded", [i.READY]: "onReady", [i.SET_CALL_STATE]: "onSetCallState", [i.SET_WIDGET_URL_FAILED]: "onSetWidgetUrlFailed", [i.UPDATE_ENGAGEMENT_FAILED]: "onUpdateEngagementFailed", [i.UPDATE_ENGAGEMENT_SUCCEEDED]: "onUpdateEngagementSucceeded", [i.VISIBILITY_CHANGED]: "onVisibilityChanged", [i.FAILED]: "onFailed" };
var A = { UNKNOWN_MESSAGE_TYPE: "UNKNOWN_MESSAGE_TYPE" };
var _ = "CONNECTING";
var r = "CALLING_CRM_USER";
var N = "IN_PROGRESS";
var d = "CANCELED";
var I = "FAILED";
var L = "BUSY";
var l = "NO_ANSWER";
var T = "COMPLETED";
var C = "ENDING";
var D = "QUEUED";
var g = "RINGING";
var h = { INTERNAL_CONNECTING: _, INTERNAL_CALLING_CRM_USER: r, INTERNAL_IN_PROGRESS: N, INTERNAL_CANCELED: d, INTERNAL_FAILED: I, INTERNAL_BUSY: L, INTERNAL_NO_ANSWER: l, INTERNAL_COMPLETED: T, INTERNAL_ENDING: C, INTERNAL_QUEUED: D, INTERNAL_RINGING: g };
var S = { INTERNAL_QUEUED: D, INTERNAL_RINGING: g, INTERNAL_CONNECTING: _, INTERNAL_CALLING_CRM_USER: r };
var R = { INTERNAL_IN_PROGRESS: N };
var c = { INTERNAL_ENDING: C };
var M = { INTERNAL_COMPLETED: T, INTERNAL_FAILED: I, INTERNAL_CANCELED: d, INTERNAL_BUSY: L, INTERNAL_NO_ANSWER: l };
var G = "CONTACT";
var O = "COMPANY";
var U = { CONTACT: G, COMPANY: O };
var F = `[calling-extensions-sdk@${E}]`;
var m = class _m {
  constructor(e2) {
    this.firstSyncSent = 0, this.options = e2;
    const { iFrameOptions: t2, onMessageHandler: s2, debugMode: E2 } = e2;
    if (this.onMessageHandler = s2, !this.onMessageHandler) throw new Error("Invalid options: onMessageHandler is not defined");
    this.isIFrameHost = !!t2, this.debugMode = E2, this.callbacks = {}, this.instanceId = Date.now(), this.instanceRegexp = new RegExp(`^${this.instanceId}`), this.isReady = false, this.messageHandler = (e3) => this.onMessage(e3), window.addEventListener("message", this.messageHandler), this.iFrame = t2 ? _m.createIFrame(t2, (() => {
      this.firstSyncSent = Date.now(), this.isReady = false, this.sendSync();
    }), this.handleLoadError) : null, this.destinationWindow = t2 && this.iFrame ? this.iFrame.contentWindow : window.parent, this.destinationHost = _m.getDestinationHost(t2);
  }
  static createMessageId(e2) {
    return `${e2}_${Date.now()}`;
  }
  static getHostElement(e2) {
    const t2 = document.querySelector(e2);
    if (!t2) throw new Error(`hostElement not found. Selector - ${e2}`);
    return t2;
  }
  static extractHostFromUrl(e2) {
    const t2 = document.createElement("a");
    return t2.href = e2, `${t2.protocol}//${t2.host}`;
  }
  static getDestinationHost(e2) {
    const t2 = e2 ? e2.src : document.referrer;
    return _m.extractHostFromUrl(t2);
  }
  handleLoadError() {
    this.onMessageHandler({ type: i.SYNC_ACK_FAILED });
  }
  static createIFrame(e2, t2, s2) {
    const { src: E2, width: a2, height: n2, hostElementSelector: i2 } = e2;
    if (!(E2 && a2 && n2 && i2)) throw new Error("iFrameOptions is missing one of the required properties - {src, width, height, hostElementSelector}.");
    const o2 = document.createElement("iframe");
    o2.onload = t2, o2.onerror = s2, o2.src = E2, o2.width = a2, o2.height = n2, o2.allow = "microphone; autoplay", o2.id = "hubspot-calling-extension-iframe";
    const A2 = _m.getHostElement(i2);
    return A2.innerHTML = "", A2.appendChild(o2), A2.querySelector("iframe");
  }
  updateIFrameSize(e2) {
    const { width: t2, height: s2 } = e2;
    this.iFrame && (t2 && this.iFrame.setAttribute("width", _m.formatSize(t2)), s2 && this.iFrame.setAttribute("height", _m.formatSize(s2)));
  }
  static formatSize(e2) {
    return "number" == typeof e2 ? `${e2}px` : e2;
  }
  onReady(e2 = {}) {
    this.isReady = true, this.onMessageHandler({ type: i.READY, data: e2 });
  }
  remove() {
    window.removeEventListener("message", this.messageHandler), this.iFrame && this.options && this.options.iFrameOptions && (_m.getHostElement(this.options.iFrameOptions.hostElementSelector).innerHTML = "", this.isReady = false, this.iFrame = null, this.options = null);
  }
  sendMessage(e2, t2) {
    const { type: s2 } = e2;
    if (s2 !== i.SYNC && !this.isReady) return void console.warn(F, "iFrame not initialized to send a message within HubSpot", e2);
    let { messageId: E2 } = e2;
    E2 || (E2 = _m.createMessageId(this.instanceId), t2 && (this.callbacks[E2] = t2));
    const n2 = Object.assign({}, e2, { messageId: E2 });
    this.logDebugMessage(F, a.TO_HUBSPOT, s2, e2), this.destinationWindow && this.destinationWindow.postMessage(n2, this.destinationHost);
  }
  onMessage(e2) {
    const { data: t2, origin: s2 } = e2, { type: n2 } = e2.data;
    if (n2 === i.SYNC) {
      const { portalId: s3, userId: o3, ownerId: A2, engagementId: _2, iframeLocation: r2, usesCallingWindow: N2 } = e2.data;
      if (!this.isReady) {
        this.isReady = true;
        const d2 = Object.assign({}, e2.data, { type: i.SYNC_ACK, debugMode: this.debugMode, version: E, iFrameUrl: _m.extractHostFromUrl(window.location.href) }), { hostUrl: I2 } = e2.data;
        this.destinationHost = I2 || this.destinationHost, this.logDebugMessage(F, a.FROM_HUBSPOT, n2, t2), this.sendMessage(d2), this.onReady({ engagementId: _2, portalId: s3, userId: o3, ownerId: A2, iframeLocation: r2, usesCallingWindow: N2, hostUrl: I2 });
      }
      return;
    }
    if (this.destinationHost !== s2) return;
    const { messageId: o2 } = t2;
    if (o2 && n2) {
      if (this.logDebugMessage(F, a.FROM_HUBSPOT, n2, t2), n2 === i.SET_WIDGET_URL) {
        const { iFrameUrl: e3 } = t2;
        return this.destinationHost = e3 || this.destinationHost, void this.onReady({ iFrameUrl: e3 });
      }
      if (this.instanceRegexp.test(o2)) {
        const e3 = this.callbacks[o2];
        e3 && (e3(t2), delete this.callbacks[o2]);
      } else this.onMessageHandler(t2);
    }
  }
  sendSync() {
    Date.now() - this.firstSyncSent > 3e4 ? this.onMessageHandler({ type: i.SYNC_ACK_FAILED }) : (this.sendMessage({ type: i.SYNC, hostUrl: _m.extractHostFromUrl(window.location.href) }, ((e2) => {
      const { iFrameUrl: t2 } = e2;
      this.destinationHost = t2 || this.destinationHost, this.onReady(), this.debugMode = e2 && e2.debugMode;
    })), window.setTimeout((() => {
      this.iFrame && !this.isReady && this.sendSync();
    }), 100));
  }
  logDebugMessage(...e2) {
    this.debugMode ? console.log.call(null, e2) : console.debug.call(null, e2);
  }
};
var u = m;
var p = `[calling-extensions-sdk@${E}]`;
var H = class {
  constructor(e2) {
    if (!e2 || !e2.eventHandlers) throw new Error("Invalid options or missing eventHandlers.");
    this.options = e2, this.iFrameManager = new u({ iFrameOptions: e2.iFrameOptions, debugMode: e2.debugMode, onMessageHandler: (e3) => this.onMessageHandler(e3) });
  }
  initialized(e2) {
    this.sendMessage({ type: i.INITIALIZED, data: e2 });
  }
  userAvailable() {
    this.sendMessage({ type: i.USER_AVAILABLE });
  }
  userUnavailable() {
    this.sendMessage({ type: i.USER_UNAVAILABLE });
  }
  userLoggedIn() {
    this.sendMessage({ type: i.LOGGED_IN });
  }
  userLoggedOut() {
    this.sendMessage({ type: i.LOGGED_OUT });
  }
  incomingCall(e2) {
    this.sendMessage({ type: i.INCOMING_CALL, data: e2 });
  }
  outgoingCall(e2) {
    this.sendMessage({ type: i.OUTGOING_CALL_STARTED, data: e2 });
  }
  callAnswered(e2) {
    this.sendMessage({ type: i.CALL_ANSWERED, data: e2 });
  }
  callTransferred(e2) {
    this.sendMessage({ type: i.CALL_TRANSFERRED, data: e2 });
  }
  navigateToRecord(e2) {
    this.sendMessage({ type: i.NAVIGATE_TO_RECORD, data: e2 });
  }
  callData(e2) {
    this.sendMessage({ type: i.CALL_DATA, data: e2 });
  }
  callEnded(e2) {
    this.sendMessage({ type: i.CALL_ENDED, data: e2 });
  }
  callCompleted(e2) {
    this.sendMessage({ type: i.CALL_COMPLETED, data: e2 });
  }
  sendError(e2) {
    this.sendMessage({ type: i.ERROR, data: e2 });
  }
  resizeWidget(e2) {
    this.sendMessage({ type: i.RESIZE_WIDGET, data: e2 });
  }
  sendMessage(e2) {
    this.iFrameManager.sendMessage(e2);
  }
  logDebugMessage({ message: e2, type: t2 = a.GENERIC_MESSAGE }) {
    this.iFrameManager.logDebugMessage(p, t2, e2);
  }
  onMessageHandler(e2) {
    const { type: t2, data: s2 } = e2, { eventHandlers: E2 } = this.options;
    let a2;
    if (t2 in o) {
      const e3 = o[t2];
      e3 in E2 && (a2 = E2[e3]);
    } else this.sendMessage({ type: i.ERROR, data: { type: A.UNKNOWN_MESSAGE_TYPE, data: { originalMessage: e2 } } });
    if (String(t2).endsWith("_FAILED")) {
      const t3 = E2[i.FAILED];
      t3 && t3(s2, e2);
    }
    a2 = a2 || E2.defaultEventHandler, a2 ? a2(s2, e2) : console.error(`No event handler is available to handle message of type: ${t2}`);
  }
  publishToChannel(e2) {
    this.sendMessage({ type: i.PUBLISH_TO_CHANNEL, data: e2 });
  }
  finalizeEngagement(e2) {
    this.sendMessage({ type: i.FINALIZE_ENGAGEMENT, data: e2 });
  }
  setWidgetUrl(e2) {
    this.sendMessage({ type: i.SET_WIDGET_URL, data: e2 });
  }
};
var y = t.YM;
var b = t.qO;
var w = t.Ay;
export {
  w as CallingExtensions,
  y as Constants,
  b as IFrameManager
};

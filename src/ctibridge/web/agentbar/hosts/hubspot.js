// HubSpot's calling widget: the bar as a "calling app" inside HubSpot, speaking the
// Calling Extensions SDK (@hubspot/calling-extensions-sdk, bundled in ../vendor by
// tools/host-sdks). HubSpot loads the bar at the URL of the app's calling settings
// (…/agentbar/?host=hubspot) and talks to it through the SDK:
//   HubSpot → bar: onReady (portal, user), onDialNumber (click-to-call from a record),
//                  onEndCall, onVisibilityChanged, *_FAILED.
//   bar → HubSpot: initialized, userLoggedIn/Out, userAvailable/Unavailable,
//                  incomingCall/outgoingCall, callAnswered, callEnded, callCompleted,
//                  navigateToRecord (the screen pop).
// Engagements: the hub writes the call into HubSpot (preset:hubspot, from its outbox,
// exactly once), so the bar asks HubSpot not to create one (createEngagement: false):
// never two records for one call (docs/crm/hubspot.md).
// Developer docs: developers.hubspot.com, "Calling Extensions SDK" (events, payloads).

import { CallingExtensions } from "../vendor/hubspot-calling-extensions-sdk.js";
import { validCommand } from "../embed.js";

const CONTACT_TYPE = "0-1";

export class HubSpotHost {
  /**
   * @param {Window} win
   * @param {(cmd) => Promise<object>} onCommand  runs a bar command (dial, set_state)
   * @param {object} [sdk]  the SDK's CallingExtensions class (tests give their own)
   */
  constructor(win, onCommand, sdk = CallingExtensions) {
    this.win = win;
    this.name = "hubspot";
    this.onCommand = onCommand;
    this.ready = false;
    this.portalId = null;
    this.answered = new Set();
    this.announced = new Set();
    this.status = null;
    this.log = []; // what was sent to HubSpot, for the page's diagnostics
    this.ext = new sdk({
      debugMode: false,
      eventHandlers: {
        onReady: (data) => this.onReady(data ?? {}),
        onDialNumber: (data) => this.onDial(data ?? {}),
        onEndCall: () => this.onCommand({ type: "hangup_active" }).catch(() => {}),
        onVisibilityChanged: () => {},
        onCreateEngagementSucceeded: () => {},
        onCreateEngagementFailed: () => {},
        onNavigateToRecordFailed: (data) => console.warn("ctibridge: HubSpot could not open the record", data),
        onFailed: (data, event) => console.warn("ctibridge: HubSpot refused", event?.type, data),
        defaultEventHandler: () => {},
      },
    });
  }

  // The bar's embed interface (see ../embed.js): HubSpot is always "the host" here.
  setAllowedOrigins() {}
  allowedOrigin() { return false; }
  canPost() { return this.ready; }
  close() {}

  send(method, payload) {
    if (!this.ready) return false;
    this.log.push({ method, payload });
    this.ext[method](payload);
    return true;
  }

  onReady(data) {
    this.ready = true;
    this.portalId = Number.isInteger(data.portalId) ? data.portalId : null;
    // Nothing may be sent before onReady: now say who we are and whether the agent can take calls.
    this.send("initialized", { isLoggedIn: this.status !== null && this.status !== "logged_out",
      isAvailable: this.status === "ready", sizeInfo: { width: 380, height: 620 } });
  }

  async onDial(data) {
    const recordId = data.objectType === "CONTACT" && data.objectId != null ? String(data.objectId) : undefined;
    const cmd = validCommand({ target: "ctibridge", type: "dial", number: String(data.phoneNumber ?? ""),
      ...(recordId ? { record_id: recordId } : {}) });
    if (!cmd) {
      this.send("sendError", { message: "ctibridge: this number cannot be dialled" });
      return;
    }
    try {
      const result = await this.onCommand(cmd);
      if (result?.call_id) {
        this.announced.add(result.call_id);
        this.send("outgoingCall", { externalCallId: result.call_id, toNumber: cmd.number,
          callStartTime: Date.now(), createEngagement: false });
      }
    } catch (err) {
      this.send("sendError", { message: String(err?.message ?? err) });
    }
  }

  /** The bar's events, as embed.post(type, data) would send them to a postMessage host. */
  post(type, data) {
    if (type === "agent.state") return this.agentState(data?.status);
    if (type === "call.offered") {
      if (!data?.call_id || this.announced.has(data.call_id) || data.consult_of) return false;
      this.announced.add(data.call_id);
      if (data.direction === "outbound") {
        return this.send("outgoingCall", { externalCallId: data.call_id, toNumber: data.number ?? "",
          callStartTime: Date.now(), createEngagement: false });
      }
      return this.send("incomingCall", { externalCallId: data.call_id, fromNumber: data.number ?? "anonymous",
        toNumber: data.queue ?? "", callStartTime: Date.now(), createEngagement: false });
    }
    if (type === "call.answered") {
      if (!this.announced.has(data?.call_id)) return false;
      this.answered.add(data.call_id);
      return this.send("callAnswered", { externalCallId: data.call_id });
    }
    if (type === "call.ended") {
      if (!this.announced.has(data?.call_id)) return false;
      const id = data.call_id;
      const status = this.answered.has(id) ? "COMPLETED" : "MISSED";
      this.announced.delete(id);
      this.answered.delete(id);
      this.send("callEnded", { externalCallId: id, callEndStatus: status });
      // The hub logs the call; HubSpot only needs to know the widget is done with it.
      return this.send("callCompleted", { externalCallId: id, hideWidget: false });
    }
    if (type === "ctibridge.screenpop") return this.pop(data);
    return false;
  }

  agentState(status) {
    const before = this.status;
    this.status = status ?? null;
    if (before === this.status) return false;
    if (status === "logged_out") return this.send("userLoggedOut");
    if (before === null || before === "logged_out") this.send("userLoggedIn");
    return this.send(status === "ready" ? "userAvailable" : "userUnavailable");
  }

  /** The screen pop: HubSpot opens the contact (navigateToRecord), never a new tab. */
  pop(data) {
    const match = (data?.matches ?? []).find((m) => m.record_id === data.selected)
      ?? (data?.outcome === "one" ? data.matches[0] : null);
    if (!match || !/^[0-9]{1,18}$/.test(match.record_id) || this.portalId === null) return false;
    return this.send("navigateToRecord", { objectCoordinates: { portalId: this.portalId,
      objectId: Number(match.record_id), objectTypeId: CONTACT_TYPE } });
  }
}

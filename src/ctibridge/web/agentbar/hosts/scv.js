// Salesforce Voice with partner telephony: the bar as a Service Cloud Voice connector,
// built on Salesforce's own @salesforce/scv-connector-base (bundled in ../vendor by
// tools/host-sdks). Salesforce frames the bar at the contact center's connector URL
// (…/agentbar/?host=scv), sends SETUP_CONNECTOR with a MessagePort, and from then on
// calls the connector's methods (acceptCall, declineCall, endCall, hold, resume, dial,
// sendDigits, setAgentStatus, addParticipant…) and hears its events (CALL_STARTED,
// CALL_CONNECTED, HANGUP…) through scv-connector-base, which checks every payload
// against its own classes. The base library accepts SETUP_CONNECTOR only from
// Salesforce's domains (https, *.lightning.force.com, *.salesforce.com…).
// What the bar does is what the hub does: accepting a call answers it on the agent's
// phone, ending hangs up; the call is logged by the hub (preset:salesforce, server side).

import * as scv from "../vendor/salesforce-scv-connector-base.js";

const { Constants } = scv;

export class ScvHost {
  constructor(win, onCommand, lib = scv) {
    this.win = win;
    this.name = "scv";
    this.onCommand = onCommand;
    this.lib = lib;
    this.calls = new Map(); // call_id -> {number, direction, state}
    this.ready = false;
    this.status = null;
    lib.initializeConnector(this.connector());
  }

  setAllowedOrigins() {}
  allowedOrigin() { return false; }
  canPost() { return false; } // Salesforce pops from its own VoiceCall record
  close() {}

  op(op, args) {
    return this.onCommand({ type: "op", op, args });
  }

  phoneCall(id, { state, callType } = {}) {
    const c = this.calls.get(id) ?? {};
    const number = c.number || "anonymous";
    return new this.lib.PhoneCall({ callId: id, callType: callType ?? c.callType ?? Constants.CALL_TYPE.INBOUND,
      phoneNumber: number, contact: new this.lib.Contact({ phoneNumber: number }),
      state: state ?? c.state ?? Constants.CALL_STATE.RINGING,
      callAttributes: new this.lib.PhoneCallAttributes({ participantType: Constants.PARTICIPANT_TYPE.INITIAL_CALLER }),
      callInfo: new this.lib.CallInfo({ isOnHold: !!c.held }) });
  }

  /** The VendorConnector Salesforce drives (method names and results from scv-connector-base). */
  connector() {
    const L = this.lib;
    const self = this;
    const only = (id) => self.calls.has(id) ? id : [...self.calls.keys()][0];
    return {
      async init() { self.ready = true; return new L.InitResult({ showLogin: false }); },
      async getAgentConfig() { return new L.AgentConfigResult({}); },
      async getCapabilities() {
        return new L.CapabilitiesResult({ hasMute: false, hasRecord: false, hasMerge: false, hasSwap: false,
          hasBlindTransfer: true, debugEnabled: false });
      },
      async getActiveCalls() {
        return new L.ActiveCallsResult({ activeCalls: [...self.calls.keys()].map((id) => self.phoneCall(id)) });
      },
      async acceptCall(call) {
        const id = only(call?.callId);
        // scv-connector-base says CALL_CONNECTED itself once this returns.
        self.calls.get(id).accepted = true;
        await self.op("call.answer", { call_id: id });
        self.calls.get(id).state = Constants.CALL_STATE.CONNECTED;
        return new L.CallResult({ call: self.phoneCall(id) });
      },
      async declineCall(call) {
        const id = only(call?.callId);
        self.calls.get(id).ending = true;
        await self.op("call.hangup", { call_id: id });
        self.calls.delete(id);
        return new L.CallResult({ call: self.phoneCall(id, { state: Constants.CALL_STATE.ENDED }) });
      },
      async endCall(call) {
        const id = only(call?.callId);
        const ended = self.phoneCall(id, { state: Constants.CALL_STATE.ENDED });
        self.calls.get(id).ending = true; // the base library says HANGUP itself
        await self.op("call.hangup", { call_id: id });
        self.calls.delete(id);
        return new L.HangupResult({ calls: [ended] });
      },
      async hold(call) {
        const id = only(call?.callId);
        await self.op("call.hold", { call_id: id });
        self.calls.get(id).held = true;
        return new L.HoldToggleResult({ isThirdPartyOnHold: false, isCustomerOnHold: true,
          calls: { [id]: self.phoneCall(id) } });
      },
      async resume(call) {
        const id = only(call?.callId);
        await self.op("call.retrieve", { call_id: id });
        self.calls.get(id).held = false;
        return new L.HoldToggleResult({ isThirdPartyOnHold: false, isCustomerOnHold: false,
          calls: { [id]: self.phoneCall(id) } });
      },
      async mute() { throw new Error("mute is not supported by this phone"); },
      async unmute() { throw new Error("mute is not supported by this phone"); },
      async dial(contact) {
        const number = String(contact?.phoneNumber ?? "");
        const result = await self.onCommand({ type: "dial", number,
          ...(contact?.recordId ? { record_id: String(contact.recordId) } : {}) });
        const id = result.call_id;
        self.calls.set(id, { number, callType: Constants.CALL_TYPE.OUTBOUND, state: Constants.CALL_STATE.RINGING });
        return new L.CallResult({ call: self.phoneCall(id) });
      },
      async sendDigits(digits) {
        const id = only(undefined);
        if (id) await self.op("call.dtmf", { call_id: id, digits: String(digits) });
      },
      async getPhoneContacts() { return new L.PhoneContactsResult({ contacts: [] }); },
      async addParticipant(contact, call) {
        const id = only(call?.callId);
        await self.op("call.blind_transfer", { call_id: id, target: String(contact?.phoneNumber ?? "") });
        return new L.ParticipantResult({ initialCallHasEnded: true, callInfo: new L.CallInfo({ isOnHold: false }),
          phoneNumber: String(contact?.phoneNumber ?? ""), callId: id });
      },
      async setAgentStatus(agentStatus) {
        const status = agentStatus === Constants.AGENT_STATUS.ONLINE ? "ready"
          : agentStatus === Constants.AGENT_STATUS.OFFLINE ? "logged_out" : "not_ready";
        await self.onCommand({ type: "set_state", status, reason: status === "not_ready" ? "break" : null });
        return new L.GenericResult({ success: true });
      },
      async getAgentStatus() { return new L.AgentVendorStatusInfo({ statusType: self.status ?? "" }); },
      async logout() { await self.onCommand({ type: "set_state", status: "logged_out" }); return new L.LogoutResult({ success: true }); },
      async wrapUpCall() {},
      async handleMessage() {},
      async downloadLogs() {},
      async superviseCall() { throw new Error("not supported"); },
      async supervisorDisconnect() { return new L.SupervisorHangupResult({ calls: [] }); },
      async supervisorBargeIn() { throw new Error("not supported"); },
    };
  }

  /** The bar's events become Salesforce's telephony events. */
  post(type, data) {
    if (!this.ready) return false;
    const { EVENT_TYPE, CALL_STATE, CALL_TYPE } = Constants;
    if (type === "agent.state") {
      this.status = data?.status ?? null;
      return false;
    }
    if (type === "call.offered" && data?.call_id && !data.consult_of && data.direction !== "outbound") {
      this.calls.set(data.call_id, { number: data.number ?? "", callType: CALL_TYPE.INBOUND, state: CALL_STATE.RINGING });
      this.lib.publishEvent({ eventType: EVENT_TYPE.CALL_STARTED,
        payload: new this.lib.CallResult({ call: this.phoneCall(data.call_id) }) });
      return true;
    }
    if (type === "call.answered" && this.calls.has(data?.call_id)) {
      const c = this.calls.get(data.call_id);
      if (c.accepted) return false; // accepted in Salesforce: the base library says it
      c.state = CALL_STATE.CONNECTED;
      this.lib.publishEvent({ eventType: EVENT_TYPE.CALL_CONNECTED,
        payload: new this.lib.CallResult({ call: this.phoneCall(data.call_id) }) });
      return true;
    }
    if (type === "call.ended" && this.calls.has(data?.call_id)) {
      if (this.calls.get(data.call_id).ending) {
        this.calls.delete(data.call_id);
        return false;
      }
      const ended = this.phoneCall(data.call_id, { state: CALL_STATE.ENDED });
      this.calls.delete(data.call_id);
      this.lib.publishEvent({ eventType: EVENT_TYPE.HANGUP, payload: new this.lib.HangupResult({ calls: [ended] }) });
      return true;
    }
    return false;
  }
}

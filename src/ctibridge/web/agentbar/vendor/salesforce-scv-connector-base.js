// @salesforce/scv-connector-base@3.6.2 (BSD-3-Clause), bundled by tools/host-sdks: do not edit.

// node_modules/@salesforce/scv-connector-base/src/main/constants.js
var constants_default = {
  MESSAGE_TYPE: {
    // Framework Message Types
    SETUP_CONNECTOR: "SETUP_CONNECTOR",
    CONNECTOR_READY: "CONNECTOR_READY",
    // Telephony Message Types: sent from SFDC to Telephony Vendor
    LOG: "LOG",
    TELEPHONY_EVENT_DISPATCHED: "TELEPHONY_EVENT_DISPATCHED",
    ACCEPT_CALL: "ACCEPT_CALL",
    DECLINE_CALL: "DECLINE_CALL",
    END_CALL: "END_CALL",
    MUTE: "MUTE",
    UNMUTE: "UNMUTE",
    HOLD: "HOLD",
    RESUME: "RESUME",
    SET_AGENT_STATUS: "SET_AGENT_STATUS",
    GET_AGENT_STATUS: "GET_AGENT_STATUS",
    DIAL: "DIAL",
    SEND_DIGITS: "SEND_DIGITS",
    GET_PHONE_CONTACTS: "GET_PHONE_CONTACTS",
    SWAP_PARTICIPANTS: "SWAP_PARTICIPANTS",
    ADD_PARTICIPANT: "ADD_PARTICIPANT",
    CONFERENCE: "CONFERENCE",
    PAUSE_RECORDING: "PAUSE_RECORDING",
    RESUME_RECORDING: "RESUME_RECORDING",
    LOGOUT: "LOGOUT",
    MESSAGE: "MESSAGE",
    WRAP_UP_CALL: "WRAP_UP_CALL",
    AGENT_AVAILABLE: "AGENT_AVAILABLE",
    SET_AGENT_CONFIG: "SET_AGENT_CONFIG",
    GET_SIGNED_RECORDING_URL: "GET_SIGNED_RECORDING_URL",
    DOWNLOAD_VENDOR_LOGS: "DOWNLOAD_VENDOR_LOGS",
    SUPERVISE_CALL: "SUPERVISE_CALL",
    SUPERVISOR_BARGE_IN: "SUPERVISOR_BARGE_IN",
    SUPERVISOR_DISCONNECT: "SUPERVISOR_DISCONNECT"
  },
  EVENT_TYPE: {
    QUEUED_CALL_STARTED: "QUEUED_CALL_STARTED",
    CALL_STARTED: "CALL_STARTED",
    CALL_CONNECTED: "CALL_CONNECTED",
    CALL_FAILED: "CALL_FAILED",
    MUTE_TOGGLE: "MUTE_TOGGLE",
    HOLD_TOGGLE: "HOLD_TOGGLE",
    HANGUP: "HANGUP",
    ERROR: "ERROR",
    WARNING: "WARNING",
    INFO: "INFO",
    PHONE_CONTACTS: "PHONE_CONTACTS",
    PARTICIPANT_ADDED: "PARTICIPANT_ADDED",
    PARTICIPANT_CONNECTED: "PARTICIPANT_CONNECTED",
    PARTICIPANT_REMOVED: "PARTICIPANT_REMOVED",
    LOGIN_STARTED: "LOGIN_STARTED",
    LOGIN_RESULT: "LOGIN_RESULT",
    // info about timeout, error, success etc
    LOGOUT_RESULT: "LOGOUT_RESULT",
    RECORDING_TOGGLE: "RECORDING_TOGGLE",
    PARTICIPANTS_SWAPPED: "PARTICIPANTS_SWAPPED",
    PARTICIPANTS_CONFERENCED: "PARTICIPANTS_CONFERENCED",
    SHOW_LOGIN: "SHOW_LOGIN",
    SET_AGENT_STATUS_RESULT: "SET_AGENT_STATUS_RESULT",
    GET_AGENT_STATUS_RESULT: "GET_AGENT_STATUS_RESULT",
    WRAP_UP_ENDED: "WRAP_UP_ENDED",
    MESSAGE: "MESSAGE",
    AFTER_CALL_WORK_STARTED: "AFTER_CALL_WORK_STARTED",
    AGENT_CONFIG_UPDATED: "AGENT_CONFIG_UPDATED",
    AGENT_ERROR: "AGENT_ERROR",
    SOFTPHONE_ERROR: "SOFTPHONE_ERROR",
    SIGNED_RECORDING_URL: "SIGNED_RECORDING_URL",
    UPDATE_AUDIO_STATS: "UPDATE_AUDIO_STATS",
    UPDATE_AUDIO_STATS_COMPLETED: "UPDATE_AUDIO_STATS_COMPLETED",
    SUPERVISOR_BARGED_IN: "SUPERVISOR_BARGED_IN",
    SUPERVISOR_CALL_STARTED: "SUPERVISOR_CALL_STARTED",
    SUPERVISOR_CALL_CONNECTED: "SUPERVISOR_CALL_CONNECTED",
    SUPERVISOR_HANGUP: "SUPERVISOR_HANGUP",
    CALL_BARGED_IN: "CALL_BARGED_IN",
    SET_AGENT_STATUS: "SET_AGENT_STATUS",
    GET_AGENT_STATUS: "GET_AGENT_STATUS",
    STATE_CHANGE: "STATE_CHANGE"
  },
  INFO_TYPE: {
    CAN_NOT_ACCEPT_THE_CALL: "CAN_NOT_ACCEPT_THE_CALL"
  },
  ERROR_TYPE: {
    CUSTOM_ERROR: "CUSTOM_ERROR",
    GENERIC_ERROR: "GENERIC_ERROR",
    AGENT_ERROR: "AGENT_ERROR",
    MICROPHONE_NOT_SHARED: "MICROPHONE_NOT_SHARED",
    UNSUPPORTED_BROWSER: "UNSUPPORTED_BROWSER",
    AUTHENTICATION_ERROR: "AUTHENTICATION_ERROR",
    INVALID_AGENT_STATUS: "INVALID_AGENT_STATUS",
    CAN_NOT_SET_AGENT_STATUS: "CAN_NOT_SET_AGENT_STATUS",
    LOGIN_REQUIRED: "LOGIN_REQUIRED",
    CAN_NOT_DECLINE_THE_CALL: "CAN_NOT_DECLINE_THE_CALL",
    CAN_NOT_END_THE_CALL: "CAN_NOT_END_THE_CALL",
    CAN_NOT_HOLD_CALL: "CAN_NOT_HOLD_CALL",
    CAN_NOT_RESUME_CALL: "CAN_NOT_RESUME_CALL",
    CAN_NOT_MUTE_CALL: "CAN_NOT_MUTE_CALL",
    CAN_NOT_UNMUTE_CALL: "CAN_NOT_UNMUTE_CALL",
    CAN_NOT_TOGGLE_MUTE: "CAN_NOT_TOGGLE_MUTE",
    CAN_NOT_TOGGLE_HOLD: "CAN_NOT_TOGGLE_HOLD",
    CAN_NOT_TOGGLE_RECORD: "CAN_NOT_TOGGLE_RECORD",
    INVALID_PARTICIPANT: "INVALID_PARTICIPANT",
    CAN_NOT_LOG_IN: "CAN_NOT_LOG_IN",
    CAN_NOT_LOG_OUT: "CAN_NOT_LOG_OUT",
    INVALID_PARAMS: "INVALID_PARAMS",
    CAN_NOT_GET_PHONE_CONTACTS: "CAN_NOT_GET_PHONE_CONTACTS",
    CAN_NOT_SWAP_PARTICIPANTS: "CAN_NOT_SWAP_PARTICIPANTS",
    CAN_NOT_CONFERENCE: "CAN_NOT_CONFERENCE",
    INVALID_DESTINATION: "INVALID_DESTINATION",
    INVALID_PHONE_NUMBER: "INVALID_PHONE_NUMBER",
    CAN_NOT_HANGUP_PARTICIPANT: "CAN_NOT_HANGUP_PARTICIPANT",
    CAN_NOT_ADD_PARTICIPANT: "CAN_NOT_ADD_PARTICIPANT",
    CAN_NOT_CONNECT_PARTICIPANT: "CAN_NOT_CONNECT_PARTICIPANT",
    CAN_NOT_START_THE_CALL: "CAN_NOT_START_THE_CALL",
    CAN_NOT_PAUSE_RECORDING: "CAN_NOT_PAUSE_RECORDING",
    CAN_NOT_RESUME_RECORDING: "CAN_NOT_RESUME_RECORDING",
    CAN_NOT_SET_AGENT_CONFIG: "CAN_NOT_SET_AGENT_CONFIG",
    CAN_NOT_SET_CAPABILITIES: "CAN_NOT_SET_CAPABILITIES",
    CAN_NOT_UPDATE_PHONE_NUMBER: "CAN_NOT_UPDATE_PHONE_NUMBER",
    CAN_NOT_GET_SIGNED_RECORDING_URL: "CAN_NOT_GET_SIGNED_RECORDING_URL",
    CAN_NOT_SUPERVISE_CALL: "CAN_NOT_SUPERVISE_CALL",
    CAN_NOT_DISCONNECT_SUPERVISOR: "CAN_NOT_DISCONNECT_SUPERVISOR",
    CAN_NOT_BARGE_IN_SUPERVISOR: "CAN_NOT_BARGE_IN_SUPERVISOR",
    CAN_NOT_BARGE_IN_CALL: "CAN_NOT_BARGE_IN_CALL",
    CAN_NOT_GET_AGENT_STATUS: "CAN_NOT_GET_AGENT_STATUS",
    INVALID_STATE_CHANGE_RESULT: "INVALID_STATE_CHANGE_RESULT"
  },
  AGENT_STATUS: {
    ONLINE: "Online",
    OFFLINE: "Offline",
    ACW: "AfterCallWork",
    CALLBACK_MISSED_OR_REJECTED: "CallbackMissedOrRejected"
    // Used only for Amazon; workaround for https://github.com/amazon-connect/amazon-connect-streams/issues/344
  },
  PARTICIPANT_TYPE: {
    AGENT: "Agent",
    INITIAL_CALLER: "Initial_Caller",
    THIRD_PARTY: "Third_Party",
    SUPERVISOR: "Supervisor"
  },
  CALL_TYPE: {
    INBOUND: "Inbound",
    OUTBOUND: "Outbound",
    CALLBACK: "Callback",
    ADD_PARTICIPANT: "AddParticipant",
    TRANSFER: "Transfer",
    INTERNAL_CALL: "InternalCall"
  },
  DIALER_TYPE: {
    OUTBOUND_PREVIEW: "OutboundPreview",
    NONE: "None"
  },
  CONTACT_TYPE: {
    PHONEBOOK: "PhoneBook",
    QUEUE: "Queue",
    PHONENUMBER: "PhoneNumber",
    AGENT: "Agent",
    FLOW: "Flow"
  },
  AGENT_CONFIG_TYPE: {
    SHOW_AGENT_SETTINGS: "SHOW_AGENT_SETTINGS",
    PHONES: "PHONES",
    SELECTED_PHONE: "SELECTED_PHONE"
  },
  CAPABILITIES_TYPE: {
    MUTE: "MUTE",
    RECORD: "RECORD",
    MERGE: "MERGE",
    SWAP: "SWAP",
    SIGNED_RECORDING_URL: "SIGNED_RECORDING_URL",
    DEBUG_ENABLED: "DEBUG_ENABLED",
    CONTACT_SEARCH: "CONTACT_SEARCH",
    VENDOR_PROVIDED_AVAILABILITY: "VENDOR_PROVIDED_AVAILABILITY",
    VENDOR_PROVIDED_QUEUE_WAIT_TIME: "VENDOR_PROVIDED_QUEUE_WAIT_TIME",
    SUPERVISOR_LISTEN_IN: "SUPERVISOR_LISTEN_IN",
    SUPERVISOR_BARGE_IN: "SUPERVISOR_BARGE_IN",
    MOS: "MOS",
    BLIND_TRANSFER: "BLIND_TRANSFER",
    TRANSFER_TO_OMNI_FLOW: "TRANSFER_TO_OMNI_FLOW",
    PENDING_STATUS_CHANGE: "PENDING_STATUS_CHANGE",
    PHONEBOOK: "PHONEBOOK"
  },
  CALL_STATE: {
    RINGING: "ringing",
    CONNECTED: "connected",
    TRANSFERRING: "transferring",
    TRANSFERRED: "transferred",
    ENDED: "ended"
  },
  PHONE_TYPE: {
    DESK_PHONE: "DESK_PHONE",
    SOFT_PHONE: "SOFT_PHONE"
  },
  HANGUP_REASON: {
    PHONE_CALL_ERROR: "error",
    PHONE_CALL_ENDED: "ended"
  },
  AGENT_AVAILABILITY: {
    AVAILABLE: "AVAILABLE",
    BUSY: "BUSY",
    OFFLINE: "OFFLINE"
  },
  REMOVE_PARTICIPANT_VARIANT: {
    ALWAYS: "ALWAYS",
    NEVER: "NEVER",
    ALWAYS_EXCEPT_ON_HOLD: "ALWAYS_EXCEPT_ON_HOLD"
  },
  LOG_LEVEL: {
    ERROR: "ERROR",
    INFO: "INFO"
  },
  LOG_SOURCE: {
    SYSTEM: "SYSTEM",
    PARTNER: "PARTNER"
  },
  CONTACTS_FILTER_TYPES: {
    "AGENT": "AGENT",
    "QUEUE": "QUEUE",
    "CONTACT": "CONTACT",
    "DIRECTORY": "DIRECTORY",
    "FLOW": "FLOW",
    "AVAILABLE": "AVAILABLE"
  }
};
var CONNECTOR_CONFIG_EXPOSED_FIELDS = [
  "/internalNameLabel",
  "/reqGeneralInfo/reqAdapterUrl",
  "/reqGeneralInfo/reqVendorInfoApiName",
  "isACWAllowed",
  "isHVSEnabled",
  "orgDomainName",
  "phoneServiceChannelId",
  "telephonySettingsComponentFqn"
];
var CONNECTOR_CONFIG_EXPOSED_FIELDS_STARTSWITH = [
  "/reqHvcc"
];
var CONNECTOR_CONFIG_EXCEPTION_FIELDS = [
  "/reqHvcc/reqTelephonyIntegrationCertificate"
];

// node_modules/@salesforce/scv-connector-base/src/main/downloadData.js
function downloadData(data, fileName, fileType) {
  if (!document || !data) return;
  const dataStr = typeof data === "string" ? data : JSON.stringify(data);
  const file = new Blob([dataStr], { type: fileType });
  let a = document.createElement("a");
  const blobURL = URL.createObjectURL(file);
  a.download = fileName;
  a.href = blobURL;
  document.body.appendChild(a);
  a.click();
  document.body.removeChild(a);
  URL.revokeObjectURL(blobURL);
}

// node_modules/@salesforce/scv-connector-base/src/main/logger.js
var MAX_LOGS_SIZE = 15e6 / 2;
var _strify = (obj) => typeof obj === "string" ? obj : JSON.stringify(obj);
var LOGS_SIZE = 0;
var logs = [];
function _log(logLevel, logMessage, logSource) {
  if (!logMessage) {
    throw new Error("Log Message required");
  }
  logLevel = logLevel || constants_default.LOG_LEVEL.INFO;
  logSource = logSource || constants_default.LOG_SOURCE.PARTNER;
  const logStr = [(/* @__PURE__ */ new Date()).toISOString(), _strify(logLevel), _strify(logSource), `${_strify(logMessage)}
`].join("|");
  if (LOGS_SIZE + logStr.length >= MAX_LOGS_SIZE) {
    logs = [];
    LOGS_SIZE = 0;
  }
  LOGS_SIZE += logStr.length;
  logs.push(logStr);
}
function log(logMessage, logLevel, logSource) {
  _log(logLevel, logMessage, logSource);
}
function getLogs() {
  return JSON.parse(JSON.stringify(logs));
}
function downloadLogs() {
  downloadData(logs.join(""), `log-${(/* @__PURE__ */ new Date()).getTime()}.txt`, "text/plain");
}

// node_modules/@salesforce/scv-connector-base/src/main/types.js
var Constants = {
  EVENT_TYPE: {
    LOGIN_RESULT: constants_default.EVENT_TYPE.LOGIN_RESULT,
    LOGOUT_RESULT: constants_default.EVENT_TYPE.LOGOUT_RESULT,
    CALL_STARTED: constants_default.EVENT_TYPE.CALL_STARTED,
    QUEUED_CALL_STARTED: constants_default.EVENT_TYPE.QUEUED_CALL_STARTED,
    CALL_CONNECTED: constants_default.EVENT_TYPE.CALL_CONNECTED,
    HANGUP: constants_default.EVENT_TYPE.HANGUP,
    MUTE_TOGGLE: constants_default.EVENT_TYPE.MUTE_TOGGLE,
    HOLD_TOGGLE: constants_default.EVENT_TYPE.HOLD_TOGGLE,
    RECORDING_TOGGLE: constants_default.EVENT_TYPE.RECORDING_TOGGLE,
    PARTICIPANTS_SWAPPED: constants_default.EVENT_TYPE.PARTICIPANTS_SWAPPED,
    PARTICIPANTS_CONFERENCED: constants_default.EVENT_TYPE.PARTICIPANTS_CONFERENCED,
    PARTICIPANT_ADDED: constants_default.EVENT_TYPE.PARTICIPANT_ADDED,
    PARTICIPANT_CONNECTED: constants_default.EVENT_TYPE.PARTICIPANT_CONNECTED,
    PARTICIPANT_REMOVED: constants_default.EVENT_TYPE.PARTICIPANT_REMOVED,
    MESSAGE: constants_default.EVENT_TYPE.MESSAGE,
    AFTER_CALL_WORK_STARTED: constants_default.EVENT_TYPE.AFTER_CALL_WORK_STARTED,
    WRAP_UP_ENDED: constants_default.EVENT_TYPE.WRAP_UP_ENDED,
    AGENT_ERROR: constants_default.EVENT_TYPE.AGENT_ERROR,
    SOFTPHONE_ERROR: constants_default.EVENT_TYPE.SOFTPHONE_ERROR,
    UPDATE_AUDIO_STATS: constants_default.EVENT_TYPE.UPDATE_AUDIO_STATS,
    SUPERVISOR_BARGED_IN: constants_default.EVENT_TYPE.SUPERVISOR_BARGED_IN,
    SUPERVISOR_CALL_STARTED: constants_default.EVENT_TYPE.SUPERVISOR_CALL_STARTED,
    SUPERVISOR_CALL_CONNECTED: constants_default.EVENT_TYPE.SUPERVISOR_CALL_CONNECTED,
    SUPERVISOR_HANGUP: constants_default.EVENT_TYPE.SUPERVISOR_HANGUP,
    SET_AGENT_STATUS: constants_default.EVENT_TYPE.SET_AGENT_STATUS,
    GET_AGENT_STATUS: constants_default.EVENT_TYPE.GET_AGENT_STATUS,
    STATE_CHANGE: constants_default.EVENT_TYPE.STATE_CHANGE
  },
  /**
  * @enum {string}
  */
  ERROR_TYPE: {
    GENERIC_ERROR: constants_default.ERROR_TYPE.GENERIC_ERROR,
    INVALID_PARTICIPANT: constants_default.ERROR_TYPE.INVALID_PARTICIPANT,
    INVALID_DESTINATION: constants_default.ERROR_TYPE.INVALID_DESTINATION,
    INVALID_PARAMS: constants_default.ERROR_TYPE.INVALID_PARAMS,
    INVALID_AGENT_STATUS: constants_default.ERROR_TYPE.INVALID_AGENT_STATUS,
    CAN_NOT_UPDATE_PHONE_NUMBER: constants_default.ERROR_TYPE.CAN_NOT_UPDATE_PHONE_NUMBER
  },
  /**
  * @enum {string}
  */
  AGENT_STATUS: { ...constants_default.AGENT_STATUS },
  /**
  * @enum {string}
  */
  PARTICIPANT_TYPE: { ...constants_default.PARTICIPANT_TYPE },
  /**
  * @enum {string}
  */
  CALL_TYPE: { ...constants_default.CALL_TYPE },
  /**
  * @enum {string}
  */
  DIALER_TYPE: { ...constants_default.DIALER_TYPE },
  /**
  * @enum {string}
  */
  CONTACT_TYPE: { ...constants_default.CONTACT_TYPE },
  /**
  * @enum {string}
  */
  CALL_STATE: { ...constants_default.CALL_STATE },
  /**
  * @enum {string}
  */
  HANGUP_REASON: { ...constants_default.HANGUP_REASON },
  /**
  * @enum {string}
  */
  PHONE_TYPE: { ...constants_default.PHONE_TYPE },
  /**
   * @enum {String}
   */
  AGENT_AVAILABILITY: { ...constants_default.AGENT_AVAILABILITY },
  /**
   * @enum (String)
   */
  REMOVE_PARTICIPANT_VARIANT: { ...constants_default.REMOVE_PARTICIPANT_VARIANT },
  /**
   * @enum {String}
   */
  LOG_LEVEL: { ...constants_default.LOG_LEVEL },
  /**
   * @enum {String}
   */
  CONTACTS_FILTER_TYPES: { ...constants_default.CONTACTS_FILTER_TYPES }
};
var CustomError = class extends Error {
  /**
   * Create Phone
   * @param {object} param
   * @param {String} param.labelName
   * @param {String} param.namespace
   * @param {String} [param.message]
   */
  constructor({ labelName, namespace, message }) {
    super(message);
    Validator.validateString(labelName);
    Validator.validateString(namespace);
    if (message) {
      Validator.validateString(message);
    }
    this.labelName = labelName;
    this.namespace = namespace;
    this.message = message;
  }
};
var Phone = class {
  /**
   * Create Phone
   * @param {object} param
   * @param {PHONE_TYPE} param.type
   * @param {string} [param.number]
   */
  constructor({ type, number }) {
    Validator.validateEnum(type, Object.values(constants_default.PHONE_TYPE));
    if (number) {
      Validator.validateString(number);
    }
    this.type = type;
    this.number = number;
  }
};
var MuteToggleResult = class {
  /**
   * Create ActiveCallsResult
   * @param {object} param
   * @param {boolean} param.isMuted
   */
  constructor({ isMuted }) {
    this.isMuted = isMuted;
  }
};
var ActiveCallsResult = class {
  /**
   * Create ActiveCallsResult
   * @param {object} param
   * @param {PhoneCall[]} [param.activeCalls]
   */
  constructor({ activeCalls = [] }) {
    if (activeCalls.length > 0) {
      activeCalls.forEach((activeCall) => {
        Validator.validateClassObject(activeCall, PhoneCall);
      });
    }
    this.activeCalls = activeCalls;
  }
};
var CapabilitiesResult = class {
  /**
   * Create CapabilitiesResult
   * @param {object} param
   * @param {boolean} [param.hasMute]
   * @param {boolean} [param.hasRecord]
   * @param {boolean} [param.hasMerge]
   * @param {boolean} [param.hasSwap]
   * @param {boolean} [param.hasSignedRecordingUrl]
   * @param {boolean} [param.debugEnabled]
   * @param {boolean} [param.hasContactSearch] True if getPhoneContacts uses the 'contain' filter
   * @param {boolean} [param.hasAgentAvailability] True if getPhoneContacts also provides agent availability, false if Salesforce provides it.
   * @param {boolean} [param.hasQueueWaitTime] True if getPhoneContacts also provides estimated queue wait time, false if Salesforce provides it.
   * @param {boolean} [param.supportsMos] True if vendor support MOS
   * @param {boolean} [param.hasSupervisorListenIn] True if vendor supports supervisor listening  to a ongoing call
   * @param {boolean} [param.hasSupervisorBargeIn] True if vendor supports Supervisor  barging into a ongoing call
   * @param {boolean} [param.hasBlindTransfer] True if vendor supports blind transfers
   * @param {boolean} [param.hasBlindTransfer] True if vendor supports transfer to omni flows
   * @param {boolean} [param.hasPendingStatusChange] True if vendor supports Pending Status Change
   * @param {boolean} [param.hasPhoneBook] True if vendor supports the phoneBook UI
   */
  constructor({ hasMute = true, hasRecord = true, hasMerge = true, hasSwap = true, hasSignedRecordingUrl = false, debugEnabled = true, hasContactSearch = false, hasAgentAvailability = false, hasQueueWaitTime = false, supportsMos: supportsMos2 = false, hasSupervisorListenIn = false, hasSupervisorBargeIn = false, hasBlindTransfer = false, hasTransferToOmniFlow = false, hasPendingStatusChange = false, hasPhoneBook = false }) {
    Validator.validateBoolean(hasMute);
    Validator.validateBoolean(hasRecord);
    Validator.validateBoolean(hasMerge);
    Validator.validateBoolean(hasSwap);
    Validator.validateBoolean(hasSignedRecordingUrl);
    Validator.validateBoolean(debugEnabled);
    Validator.validateBoolean(hasContactSearch);
    Validator.validateBoolean(hasAgentAvailability);
    Validator.validateBoolean(hasQueueWaitTime);
    Validator.validateBoolean(supportsMos2);
    Validator.validateBoolean(hasSupervisorListenIn);
    Validator.validateBoolean(hasSupervisorBargeIn);
    Validator.validateBoolean(hasBlindTransfer);
    Validator.validateBoolean(hasTransferToOmniFlow);
    Validator.validateBoolean(hasPendingStatusChange);
    Validator.validateBoolean(hasPhoneBook);
    this.hasMute = hasMute;
    this.hasRecord = hasRecord;
    this.hasMerge = hasMerge;
    this.hasSwap = hasSwap;
    this.hasSignedRecordingUrl = hasSignedRecordingUrl;
    this.debugEnabled = debugEnabled;
    this.hasContactSearch = hasContactSearch;
    this.hasAgentAvailability = hasAgentAvailability;
    this.hasQueueWaitTime = hasQueueWaitTime;
    this.supportsMos = supportsMos2;
    this.hasSupervisorListenIn = hasSupervisorListenIn;
    this.hasSupervisorBargeIn = hasSupervisorBargeIn;
    this.hasBlindTransfer = hasBlindTransfer;
    this.hasTransferToOmniFlow = hasTransferToOmniFlow;
    this.hasPendingStatusChange = hasPendingStatusChange;
    this.hasPhoneBook = hasPhoneBook;
  }
};
var AgentConfigResult = class {
  /**
   * Create AgentConfigResult
   * @param {object} param
   * @param {Phone[]} [param.phones]
   * @param {Phone} [param.selectedPhone]
   */
  constructor({ phones = [constants_default.PHONE_TYPE.SOFT_PHONE], selectedPhone = new Phone({ type: constants_default.PHONE_TYPE.SOFT_PHONE }) }) {
    Validator.validateClassObject(phones, Array);
    Validator.validateClassObject(selectedPhone, Phone);
    this.phones = phones;
    this.selectedPhone = selectedPhone;
  }
};
var AgentConfig = class {
  /**
   * Create AgentConfig
   * @param {object} param
   * @param {Phone} [param.selectedPhone]
   */
  constructor({ selectedPhone }) {
    Validator.validateClassObject(selectedPhone, Phone);
    this.selectedPhone = selectedPhone;
  }
};
var RecordingToggleResult = class {
  /**
   * Create RecordingToggleResult
   * @param {object} param
   * @param {boolean} param.isRecordingPaused
   * @param {string} [param.contactId]
   * @param {string} [param.initialContactId]
   * @param {string} [param.instanceId]
   * @param {string} [param.region]
   */
  constructor({ isRecordingPaused, contactId = null, initialContactId = null, instanceId = null, region = null }) {
    this.isRecordingPaused = isRecordingPaused;
    this.contactId = contactId;
    this.initialContactId = initialContactId;
    this.instanceId = instanceId;
    this.region = region;
  }
};
var ParticipantResult = class {
  /**
   * Create ParticipantResult
   * @param {object} param
   * @param {boolean} param.initialCallHasEnded
   * @param {CallInfo} param.callInfo
   * @param {string} param.phoneNumber
   * @param {string} param.callId
   */
  constructor({ initialCallHasEnded, callInfo, phoneNumber, callId }) {
    Validator.validateClassObject(callInfo, CallInfo);
    this.initialCallHasEnded = initialCallHasEnded;
    this.callInfo = callInfo;
    this.phoneNumber = phoneNumber;
    this.callId = callId;
  }
};
var PhoneContactsResult = class {
  /**
   * Create PhoneContactsResult
   * @param {object} param
   * @param {Contact[]} [param.contacts]
   * @param {Array} [param.contactTypes]
   */
  constructor({ contacts = [], contactTypes = [] }) {
    if (contacts.length > 0) {
      contacts.forEach((contact) => {
        Validator.validateClassObject(contact, Contact);
      });
    }
    if (contactTypes.length > 0) {
      contactTypes.forEach((filterType) => {
        Validator.validateEnum(filterType, Object.values(constants_default.CONTACT_TYPE));
      });
    }
    this.contacts = contacts;
    this.contactTypes = contactTypes;
  }
};
var CallResult = class {
  /**
   * Create CallResult
   * @param {object} param
   * @param {PhoneCall} [param.call]
   */
  constructor({ call }) {
    if (call !== void 0) {
      Validator.validateClassObject(call, PhoneCall);
    }
    this.call = call;
  }
};
var HangupResult = class {
  /**
   * Create CallResult
   * @param {object} param
   * @param {PhoneCall[]|PhoneCall} param.calls - one or more calls (can be multiple calls in case of agent endcall/hangup)
   */
  constructor({ calls }) {
    if (calls instanceof Array) {
      calls.forEach((call) => Validator.validateClassObject(call, PhoneCall));
      this.calls = calls;
    } else {
      Validator.validateClassObject(calls, PhoneCall);
      this.calls = [calls];
    }
  }
};
var HoldToggleResult = class {
  /**
   * Create HoldToggleResult
   * @param {object} param
   * @param {boolean} param.isThirdPartyOnHold
   * @param {boolean} param.isCustomerOnHold
   * @param {PhoneCall[]} [param.calls]
   */
  constructor({ isThirdPartyOnHold, isCustomerOnHold, calls }) {
    if (calls) {
      Object.values(calls).forEach((call) => {
        Validator.validateClassObject(call, PhoneCall);
      });
      this.calls = calls;
    }
    this.isThirdPartyOnHold = isThirdPartyOnHold;
    this.isCustomerOnHold = isCustomerOnHold;
  }
};
var SignedRecordingUrlResult = class {
  /**
   * Create SignedRecordingUrlResult
   * @param {object} param
   * @param {boolean} param.success
   * @param {string} [param.url]
   * @param {number} [param.duration] in seconds
   * @param {string} [param.callId] Salesforce callId of the voice call
   */
  constructor({ success, url, duration, callId }) {
    if (success) {
      Validator.validateString(url);
      Validator.validateString(callId);
      if (duration) {
        Validator.validateNumber(duration);
      }
    }
    this.success = success;
    this.url = url;
    this.duration = duration;
    this.callId = callId;
  }
};
var InitResult = class {
  /**
   * Create InitResult
   * @param {object} param
   * @param {boolean} [param.showLogin]
   * @param {number} [param.loginFrameHeight]
   */
  constructor({ showLogin = false, loginFrameHeight = 350 }) {
    this.showLogin = showLogin;
    this.loginFrameHeight = loginFrameHeight;
  }
};
var GenericResult = class {
  /**
   * Create GenericResult
   * @param {object} param
   * @param {boolean} param.success
   */
  constructor({ success }) {
    this.success = success;
  }
};
var LogoutResult = class {
  /**
   * Create LogoutResult
   * @param {object} param
   * @param {boolean} param.success
   * @param {number} [param.loginFrameHeight]
   */
  constructor({ success, loginFrameHeight = 350 }) {
    this.success = success;
    this.loginFrameHeight = loginFrameHeight;
  }
};
var CallInfo = class {
  /**
   * Create CallInfo
   * @param {object} param
   * @param {boolean} param.isOnHold
   * @param {boolean} param.isRecordingPaused
   * @param {boolean} param.isMuted
   * @param {string} [param.initialCallId]
   * @param {Date} [param.callStateTimestamp]
   * @param {string} [param.queueName]
   * @param {string} [param.queueId]
   * @param {Date} [param.queueTimestamp]
   * @param {boolean} [param.isSoftphoneCall] - is it a softphone call 
   * @param {boolean} [param.acceptEnabled]
   * @param {boolean} [param.declineEnabled]
   * @param {boolean} [param.muteEnabled]
   * @param {boolean} [param.swapEnabled]
   * @param {boolean} [param.conferenceEnabled]
   * @param {boolean} [param.holdEnabled]
   * @param {boolean} [param.recordEnabled]
   * @param {boolean} [param.addCallerEnabled]
   * @param {boolean} [param.extensionEnabled]
   * @param {boolean} [param.isReplayable]
   * @param {boolean} [param.isBargeable]
   * @param {boolean} [param.isExternalTransfer]
   * @param {boolean} [param.showMuteButton]
   * @param {boolean} [param.showRecordButton]
   * @param {boolean} [param.showAddCallerButton]
   * @param {boolean} [param.showAddBlindTransferButton]
   * @param {boolean} [param.showMergeButton]
   * @param {boolean} [param.showSwapButton]
   * @param {("ALWAYS"|"NEVER"|"ALWAYS_EXCEPT_ON_HOLD")} [param.removeParticipantVariant] - The type of remove participant variant when in a transfer call.
   */
  constructor({
    callStateTimestamp = null,
    isOnHold,
    isMuted = false,
    isRecordingPaused = false,
    initialCallId,
    queueId = null,
    queueName = null,
    queueTimestamp = null,
    isSoftphoneCall = true,
    acceptEnabled = true,
    declineEnabled = true,
    muteEnabled = true,
    swapEnabled = true,
    conferenceEnabled = true,
    holdEnabled = true,
    recordEnabled = true,
    addCallerEnabled = true,
    extensionEnabled = true,
    isReplayable = true,
    isBargeable = false,
    isExternalTransfer,
    showMuteButton = true,
    showRecordButton = true,
    showAddCallerButton = true,
    showAddBlindTransferButton = true,
    showMergeButton = true,
    showSwapButton = true,
    removeParticipantVariant = Constants.REMOVE_PARTICIPANT_VARIANT.ALWAYS
  }) {
    if (callStateTimestamp) {
      Validator.validateDate(callStateTimestamp);
    }
    if (queueTimestamp) {
      Validator.validateDate(queueTimestamp);
    }
    if (queueId) {
      Validator.validateString(queueId);
    }
    if (queueName) {
      Validator.validateString(queueName);
    }
    Validator.validateBoolean(isRecordingPaused);
    Validator.validateBoolean(isMuted);
    Validator.validateBoolean(isSoftphoneCall);
    Validator.validateBoolean(acceptEnabled);
    Validator.validateBoolean(declineEnabled);
    Validator.validateBoolean(muteEnabled);
    Validator.validateBoolean(swapEnabled);
    Validator.validateBoolean(conferenceEnabled);
    Validator.validateBoolean(holdEnabled);
    Validator.validateBoolean(recordEnabled);
    Validator.validateBoolean(addCallerEnabled);
    Validator.validateBoolean(extensionEnabled);
    Validator.validateBoolean(isBargeable);
    Validator.validateBoolean(showMuteButton);
    Validator.validateBoolean(showRecordButton);
    Validator.validateBoolean(showAddCallerButton);
    Validator.validateBoolean(showAddBlindTransferButton);
    Validator.validateBoolean(showMergeButton);
    Validator.validateBoolean(showSwapButton);
    if (isExternalTransfer !== void 0) {
      Validator.validateBoolean(isExternalTransfer);
    }
    Validator.validateEnum(removeParticipantVariant, Object.values(constants_default.REMOVE_PARTICIPANT_VARIANT));
    this.callStateTimestamp = callStateTimestamp;
    this.isRecordingPaused = isRecordingPaused;
    this.isMuted = isMuted;
    this.isOnHold = isOnHold;
    this.initialCallId = initialCallId;
    this.queueName = queueName;
    this.queueId = queueId;
    this.queueTimestamp = queueTimestamp;
    this.isSoftphoneCall = isSoftphoneCall;
    this.acceptEnabled = acceptEnabled;
    this.declineEnabled = declineEnabled;
    this.muteEnabled = muteEnabled;
    this.swapEnabled = swapEnabled;
    this.conferenceEnabled = conferenceEnabled;
    this.holdEnabled = holdEnabled;
    this.recordEnabled = recordEnabled;
    this.addCallerEnabled = addCallerEnabled;
    this.extensionEnabled = extensionEnabled;
    this.isReplayable = isReplayable;
    this.isBargeable = isBargeable;
    this.isExternalTransfer = isExternalTransfer;
    this.removeParticipantVariant = removeParticipantVariant;
    this.showMuteButton = showMuteButton;
    this.showRecordButton = showRecordButton;
    this.showAddCallerButton = showAddCallerButton;
    this.showAddBlindTransferButton = showAddBlindTransferButton;
    this.showMergeButton = showMergeButton;
    this.showSwapButton = showSwapButton;
  }
};
var Contact = class {
  /**
   * Create a Contact.
   * @param {object} param
   * @param {string} [param.id] - The unique contactId
   * @param {("PhoneBook"|"Queue"|"PhoneNumber"|"Agent")} [param.type] - The type of the contact, one of the CONTACT_TYPE values
   * @param {string} [param.name] - The label for this contact to be displayed in the UI
   * @param {string} [param.phoneNumber] - The phone number associcated with this contact
   * @param {string} [param.prefix] - Any prefix to be dialed before dialing the number (i.e. +1)
   * @param {string} [param.extension] - Any extension to be dialed after dialing the number
   * @param {string} [param.endpointARN]
   * @param {string} [param.queue]
   * @param {string} [param.availability]
   * @param {string} [param.recordId] - Salesforce RecordId
   * @param {string} [param.description] - Contact Description
   * @param {string} [param.queueWaitTime] - Estimated Queue Wait Time 
   */
  constructor({ phoneNumber, id, type, name, prefix, extension, endpointARN, queue, availability, recordId, description, queueWaitTime }) {
    if (phoneNumber) {
      Validator.validateString(phoneNumber);
    }
    if (type) {
      Validator.validateEnum(type, Object.values(constants_default.CONTACT_TYPE));
    }
    if (id) {
      Validator.validateString(id);
    }
    if (name) {
      Validator.validateString(name);
    }
    if (prefix) {
      Validator.validateString(prefix);
    }
    if (extension) {
      Validator.validateString(extension);
    }
    if (availability) {
      Validator.validateEnum(availability, Object.values(constants_default.AGENT_AVAILABILITY));
    }
    if (recordId) {
      Validator.validateString(recordId);
    }
    if (description) {
      Validator.validateString(description);
    }
    if (queueWaitTime) {
      Validator.validateString(queueWaitTime);
    }
    this.phoneNumber = phoneNumber;
    this.id = id;
    this.type = type;
    this.name = name;
    this.prefix = prefix;
    this.extension = extension;
    this.endpointARN = endpointARN;
    this.queue = queue;
    if (constants_default.CONTACT_TYPE.AGENT === this.type) {
      this.availability = availability;
    } else {
      this.availability = null;
    }
    this.queueWaitTime = queueWaitTime;
    this.recordId = recordId;
    this.description = description;
  }
};
var PhoneCallAttributes = class {
  /**
   * Create PhoneCallAttributes.
   * @param {object} param
   * @param {string} [param.voiceCallId] - The voice call id
   * @param {PARTICIPANT_TYPE} [param.participantType] - The participant type of the call
   * @param {DIALER_TYPE} [param.dialerType] - The dialer type of the call
   * @param {string} [param.parentId] - The parent call id of the call
   * @param {boolean} [param.isOnHold]
   * @param {boolean} [param.hasSupervisorBargedIn]
   */
  constructor({ voiceCallId, participantType, dialerType = Constants.DIALER_TYPE.NONE, parentId, isOnHold, hasSupervisorBargedIn = false }) {
    if (voiceCallId) {
      Validator.validateString(voiceCallId);
    }
    if (participantType) {
      Validator.validateEnum(participantType, Object.values(constants_default.PARTICIPANT_TYPE));
    }
    if (parentId) {
      Validator.validateString(parentId);
    }
    if (isOnHold !== void 0) {
      Validator.validateBoolean(isOnHold);
    }
    Validator.validateBoolean(hasSupervisorBargedIn);
    Validator.validateEnum(dialerType, Object.values(constants_default.DIALER_TYPE));
    this.voiceCallId = voiceCallId;
    this.participantType = participantType;
    this.parentId = parentId;
    this.isOnHold = isOnHold;
    this.dialerType = dialerType;
    this.hasSupervisorBargedIn = hasSupervisorBargedIn;
  }
};
var PhoneCall = class {
  /**
   * Create a PhoneCall.
   * @param {object} param
   * @param {string} [param.callId] - The unique callId. This is a required parameter
   * @param {CALL_TYPE} [param.callType] - The type of the call, one of the CALL_TYPE values
   * @param {Contact} [param.contact] - The Call Target / Contact 
   * @param {string} [param.state] - The state of the call, i.e. ringing, connected, declined, failed 
   * @param {PhoneCallAttributes} [param.callAttributes] - Any additional call attributes
   * @param {string} [param.phoneNumber] - The phone number associated with this call (usually external number)
   * @param {CallInfo} [param.callInfo]
   * @param {string} [param.reason]
   * @param {boolean} [param.closeCallOnError]
   * @param {string} [param.agentStatus]
   */
  constructor({ callId, callType, contact, state, callAttributes, phoneNumber, callInfo, reason, closeCallOnError, agentStatus }) {
    if (callId) {
      Validator.validateString(callId);
      this.callId = callId;
    }
    if (callType) {
      Validator.validateEnum(callType, Object.values(constants_default.CALL_TYPE));
      this.callType = callType;
    }
    if (phoneNumber) {
      Validator.validateString(phoneNumber);
      this.phoneNumber = phoneNumber;
    }
    if (callInfo) {
      Validator.validateClassObject(callInfo, CallInfo);
      this.callInfo = callInfo;
    }
    if (contact) {
      Validator.validateClassObject(contact, Contact);
      this.contact = contact;
    }
    if (reason) {
      this.reason = reason;
    }
    if (closeCallOnError) {
      this.closeCallOnError = closeCallOnError;
    }
    if (agentStatus) {
      this.agentStatus = agentStatus;
    }
    this.state = state;
    this.callAttributes = callAttributes;
  }
};
var VendorConnector = class {
  /**
   * Initialize the connector
   * @param {object} connectorConfig
   * @returns {Promise<InitResult>} 
   * 
   */
  init(config) {
    throw new Error("Not implemented");
  }
  /**
   * Get the currently active calls
   * @returns {Promise<ActiveCallsResult>} 
   * 
   */
  getActiveCalls() {
    throw new Error("Not implemented");
  }
  /**
   * Accept call
   * @param {PhoneCall} call - The call to be accepted
   * @returns {Promise<CallResult>} 
   * 
   */
  acceptCall(call) {
    throw new Error("Not implemented");
  }
  /**
   * Decline call
   * @param {PhoneCall} call - The call to be declined
   * @returns {Promise<CallResult>} 
   * 
   */
  declineCall(call) {
    throw new Error("Not implemented");
  }
  /**
   * End call
   * @param {PhoneCall} call - The call to be ended
   * @param {AGENT_STATUS} agentStatus
   * @returns {Promise<HangupResult>} 
   * 
   */
  endCall(call, agentStatus) {
    throw new Error("Not implemented");
  }
  /**
   * Mute call
   * @returns {Promise<MuteToggleResult>} 
   * 
   */
  mute() {
    throw new Error("Not implemented");
  }
  /**
   * Unmute call
   * @returns {Promise<MuteToggleResult>} 
   * 
   */
  unmute() {
    throw new Error("Not implemented");
  }
  /**
   * Hold call
   * @param {PhoneCall} call - The call to be held
   * @returns {Promise<HoldToggleResult>} 
   * 
   */
  hold(call) {
    throw new Error("Not implemented");
  }
  /**
   * Resume call
   * @param {PhoneCall} call - The call to be resumed
   * @returns {Promise<HoldToggleResult>} 
   * 
   */
  resume(call) {
    throw new Error("Not implemented");
  }
  /**
   * Set agent status
   * @param {string} agentStatus
   * @param {StatusInfo} statusInfo
   * @param {Boolean} enqueueNextState - flag to determine if this status change request should be enqueued if neccessary
   * @returns {Promise<GenericResult>} 
   * 
   */
  setAgentStatus(agentStatus, statusInfo, enqueueNextState) {
    throw new Error("Not implemented");
  }
  /**
   * Get agent status
   * @returns {Promise<AgentStatusInfo>} 
   * 
   */
  getAgentStatus() {
    this.logMessageToVendor(constants_default.LOG_LEVEL.INFO, "getAgentStatus API is NOT Implemented");
  }
  /**
   * Dial out Number
   * @param {Contact} contact
   * @returns {Promise<CallResult>} 
   * 
   */
  dial(contact) {
    throw new Error("Not implemented");
  }
  /**
   * Send digits
   * @param {string} digits
   */
  sendDigits(digits) {
    throw new Error("Not implemented");
  }
  /**
   * Get phone contacts
   * @returns {Promise<PhoneContactsResult>} 
   */
  getPhoneContacts() {
    throw new Error("Not implemented");
  }
  /**
   * Swap calls
   * @param {PhoneCall} call1
   * @param {PhoneCall} call2
   * @returns {Promise<HoldToggleResult>} 
   */
  swap(call1, call2) {
    throw new Error("Not implemented");
  }
  /**
   * Conference calls
   * @param {PhoneCall[]} calls
   * @returns {Promise<HoldToggleResult>} 
   */
  conference(calls) {
    throw new Error("Not implemented");
  }
  /**
   * Add participant to call
   * @param {Contact} contact
   * @param {PhoneCall} call
   * @param {boolean} isBlindTransfer
   * @returns {Promise<ParticipantResult>} 
   */
  addParticipant(contact, call, isBlindTransfer) {
    throw new Error("Not implemented");
  }
  /**
   * Pause recording
   * @param {PhoneCall} call
   * @returns {Promise<RecordingToggleResult>} 
   */
  pauseRecording(call) {
    throw new Error("Not implemented");
  }
  /**
   * Resume recording
   * @param {PhoneCall} call
   * @returns {Promise<RecordingToggleResult>} 
   */
  resumeRecording(call) {
    throw new Error("Not implemented");
  }
  /**
   * Get agentConfig
   * @returns {Promise<AgentConfigResult>}
   */
  getAgentConfig() {
    throw new Error("Not implemented");
  }
  /**
   * Set Agent Config
   * @param {AgentConfig} config
   * @returns {Promise<GenericResult>}
   */
  setAgentConfig(config) {
    throw new Error("Not implemented");
  }
  /**
   * Get Capabilities
   * @returns {Promise<CapabilitiesResult>}
   */
  getCapabilities() {
    throw new Error("Not implemented");
  }
  /**
   * Logout from Omni
   * @returns {Promise<LogoutResult>} 
   */
  logout() {
    throw new Error("Not implemented");
  }
  /**
   * Handle message from LWC/Aura component
   * @param {object} message
   */
  handleMessage(message) {
    throw new Error("Not implemented");
  }
  /**
   * Wrap up call
   * @param {PhoneCall} call
   */
  wrapUpCall(call) {
    throw new Error("Not implemented");
  }
  /**
  * Get the signed recording url
  * @param {String} recordingUrl
  * @param {String} vendorCallKey
  * @param {String} callId
  * @returns {Promise<SignedRecordingUrlResult>} 
  */
  getSignedRecordingUrl(recordingUrl, vendorCallKey, callId) {
    throw new Error("Not implemented");
  }
  /**
   * Triggers a browser download for Vendor Logs
   * @param {String[]} logs Array of log messages.
   */
  downloadLogs(logs2) {
    downloadLogs();
  }
  /**
   * Sends the logs with a logLevel and payload to the vendor connector.
   * Does a no-op, if not implemented.
   * @param {String} logLevel Log Level (INFO, WARN, ERROR)
   * @param {String} message Message to be logged
   * @param {Object} payload An optional payload to be logged
   */
  logMessageToVendor(logLevel, message, payload) {
  }
  /**
   * Supervise a call
   * @param {SupervisedCallInfo} supervisedCallInfo CallInfo of the call to be supervised
   */
  superviseCall(supervisedCallInfo) {
    throw new Error("Not implemented");
  }
  /**
   * Supervisor disconnects from a call
   * @param {SupervisedCallInfo} supervisedCallInfo CallInfo of the supervised call to be disconnected
   */
  supervisorDisconnect(supervisedCallInfo) {
    throw new Error("Not implemented");
  }
  /**
   * Supervisor Barges into a ongoing call
   * @param {SupervisedCallInfo} supervisedCallInfo CallInfo of the supervised call which supervisor barges in
   */
  supervisorBargeIn(supervisedCallInfo) {
    throw new Error("Not implemented");
  }
};
var Validator = class {
  static validateString(value) {
    if (typeof value !== "string") {
      throw new Error(`Invalid argument. Expecting a string but got ${typeof value}`);
    }
    return this;
  }
  static validateNumber(value) {
    if (typeof value !== "number") {
      throw new Error(`Invalid argument. Expecting a number but got ${typeof value}`);
    }
    return this;
  }
  static validateBoolean(value) {
    if (typeof value !== "boolean") {
      throw new Error(`Invalid argument. Expecting a boolean but got ${typeof value}`);
    }
    return this;
  }
  static validateEnum(value, enumValues) {
    const regex = new RegExp(enumValues.join("|"), "i");
    if (!regex.test(value)) {
      throw new Error(`Invalid argument. Expecting a value from ${JSON.stringify(enumValues)} but got ${value}`);
    }
    return this;
  }
  static validateDate(value) {
    if (!(value instanceof Date)) {
      throw new Error(`Invalid argument. Expecting a Date object but got ${typeof value}`);
    }
    return this;
  }
  static validateClassObject(object, className) {
    if (!(object instanceof className)) {
      throw new Error(`Invalid className. Expecting object of class ${className} but got ${typeof object}`);
    }
    return this;
  }
};
var AgentStatusInfo = class {
  /**
   * Create a AgentStatusInfo.
   * @param {object} param
   * @param {string} [param.statusId] - The unique statusId (required)
   * @param {string} [param.statusApiName] - The status API name
   * @param {string} [param.statusName] - The label for this status to be displayed in the UI
   */
  constructor({ statusId, statusApiName, statusName }) {
    Validator.validateString(statusId);
    if (statusApiName) {
      Validator.validateString(statusApiName);
    }
    if (statusName) {
      Validator.validateString(statusName);
    }
    this.statusId = statusId;
    this.statusApiName = statusApiName;
    this.statusName = statusName;
  }
};
var AgentVendorStatusInfo = class {
  /**
   * Create a AgentVendorStatusInfo.
   * @param {object} param
   * @param {string} [param.statusId] - The unique statusId (e.g agentStateARN)
   * @param {string} [param.statusType] - The agent's current availability state type
   * @param {string} [param.statusName] - The name of the agent's current availability state
   */
  constructor({ statusId, statusType, statusName }) {
    if (statusId) {
      Validator.validateString(statusId);
    }
    if (statusType) {
      Validator.validateString(statusType);
    }
    if (statusName) {
      Validator.validateString(statusName);
    }
    this.statusId = statusId;
    this.statusType = statusType;
    this.statusName = statusName;
  }
};
var StateChangeResult = class {
  /**
   * Create a StateChangeResult.
   * @param {object} param
   * @param {AgentVendorStatusInfo} [param.newVendorStateInfo] - newStateName (e.g 'Available') (required), newStateType (e.g 'routable')
   * @param {AgentVendorStatusInfo} [param.oldVendorStateInfo] - oldStateName (e.g 'offline'), oldStateType (e.g 'Offline')
   */
  constructor({ newVendorStateInfo, oldVendorStateInfo }) {
    Validator.validateClassObject(newVendorStateInfo, AgentVendorStatusInfo);
    Validator.validateString(newVendorStateInfo.statusName);
    if (oldVendorStateInfo) {
      Validator.validateClassObject(oldVendorStateInfo, AgentVendorStatusInfo);
    }
    this.newVendorStateInfo = newVendorStateInfo;
    this.oldVendorStateInfo = oldVendorStateInfo;
  }
};
var SupervisedCallInfo = class {
  /**
   * Create a AgentStatusInfo.
   * @param {object} param
   * @param {string} [param.callId] - The unique supervised vendor call ID (required)
   * @param {string} [param.voiceCallId] - The supervised salesforce voice call ID
   * @param {string} [param.callType] - The type of the call, one of the CALL_TYPE values
   * @param {string} [param.from] - From phone number (for Inbound calls)
   * @param {string} [param.to] - To phone number (for Outbound calls)
   * @param {string} [param.supervisorName] - The supervisor name (shown to the supervised agent on barge in)
   * @param {boolean} [param.isBargedIn] - True if the Supervisor has barged in, False if the supervisor is listening in.
   */
  constructor({ callId, voiceCallId, callType, from, to, supervisorName, isBargedIn }) {
    Validator.validateString(callId);
    this.callId = callId;
    this.voiceCallId = voiceCallId;
    this.callType = callType;
    this.from = from;
    this.to = to;
    this.supervisorName = supervisorName;
    this.isBargedIn = isBargedIn;
  }
};
var AudioStats = class {
  /**
   * Create a AudioStats
   * @param {object} param
   * @param {string} [param.callId] - The unique callId.
   * @param {AudioStatsElement[]} param.stats - array of AudioStatsElement
   * @param {boolean} [param.isAudioStatsCompleted] - True if the audio stats is completed, will calculate MOS and update VoiceCall record
   */
  constructor({ callId, stats, isAudioStatsCompleted }) {
    if (callId) {
      Validator.validateString(callId);
      this.callId = callId;
    }
    if (stats) {
      Validator.validateClassObject(stats, Array);
      stats.forEach((audioStatsElement) => Validator.validateClassObject(audioStatsElement, AudioStatsElement));
      this.stats = stats;
    }
    if (isAudioStatsCompleted) {
      Validator.validateBoolean(isAudioStatsCompleted);
      this.isAudioStatsCompleted = isAudioStatsCompleted;
    }
  }
};
var AudioStatsElement = class {
  /**
   * Create a AudioStatsElement
   * @param {object} param
   * @param {StatsInfo} [param.inputChannelStats] - the inputChannel stream stats
   * @param {StatsInfo} [param.outputChannelStats] - the ouputChannel stream stats
   */
  constructor({ inputChannelStats, outputChannelStats }) {
    if (inputChannelStats) {
      Validator.validateClassObject(inputChannelStats, StatsInfo);
    }
    if (outputChannelStats) {
      Validator.validateClassObject(outputChannelStats, StatsInfo);
    }
    this.inputChannelStats = inputChannelStats;
    this.outputChannelStats = outputChannelStats;
  }
};
var StatsInfo = class {
  /**
   * Create a StatsInfo
   * @param {object} param
   * @param {number} [param.packetsCount] - the packets count
   * @param {number} [param.packetsLost] - packets lost count
   * @param {number} [param.jitterBufferMillis] - jitter buffer in milliseconds
   * @param {number} [param.roundTripTimeMillis] - round trip time in milliseconds
   */
  constructor({ packetsCount, packetsLost, jitterBufferMillis, roundTripTimeMillis }) {
    packetsCount = packetsCount == null || packetsCount < 0 ? 0 : packetsCount;
    packetsLost = packetsLost == null || packetsLost < 0 ? 0 : packetsLost;
    jitterBufferMillis = jitterBufferMillis == null || jitterBufferMillis < 0 ? 0 : jitterBufferMillis;
    roundTripTimeMillis = roundTripTimeMillis == null || roundTripTimeMillis < 0 ? 0 : roundTripTimeMillis;
    this.statsCount = 0;
    this.packetsCount = packetsCount;
    this.packetsLost = packetsLost;
    this.jitterBufferMillis = jitterBufferMillis;
    this.roundTripTimeMillis = roundTripTimeMillis;
  }
};
var SuperviseCallResult = class {
  /**
   * Create a SuperviseCallResult
   * @param {object} param
   * @param {PhoneCall} param.call
   */
  constructor({ call }) {
    Validator.validateClassObject(call, PhoneCall);
    this.call = call;
  }
};
var SupervisorHangupResult = class extends HangupResult {
  /**
  * Create SupervisorHangupResult
  * @param {object} param
  * @param {PhoneCall[]|PhoneCall} param.calls - one or more calls when supervisor hangsup
  */
  constructor({ calls }) {
    super({ calls });
  }
};

// node_modules/@salesforce/scv-connector-base/src/main/mosUtil.js
var audioStatus;
var supportsMos = false;
function getAvgStats(streamType) {
  const stats = audioStatus[streamType];
  return {
    packetsCount: stats.packetsCount / stats.statsCount,
    packetsLost: stats.packetsLost / stats.statsCount,
    jitterBufferMillis: stats.jitterBufferMillis / stats.statsCount,
    roundTripTimeMillis: stats.roundTripTimeMillis / stats.statsCount
  };
}
function getMOSByStream(streamType) {
  const avgStats = getAvgStats(streamType);
  const effectiveLatency = avgStats.roundTripTimeMillis + avgStats.jitterBufferMillis * 2 + 10;
  let R = 0;
  if (effectiveLatency < 160) {
    R = 93.2 - effectiveLatency / 40;
  } else {
    R = 93.2 - (effectiveLatency - 120) / 10;
  }
  R -= avgStats.packetsLost / avgStats.packetsCount * 2.5;
  return 1 + 0.035 * R + 7e-6 * R * (R - 60) * (100 - R);
}
function enableMos() {
  supportsMos = true;
}
function getMOS() {
  if (!supportsMos || !audioStatus) {
    return void 0;
  }
  const inputChannelMOS = getMOSByStream("inputChannelStats");
  const ouputChannelMOS = getMOSByStream("outputChannelStats");
  audioStatus = null;
  if (isNaN(ouputChannelMOS) && isNaN(inputChannelMOS)) {
    return 0;
  } else if (isNaN(ouputChannelMOS)) {
    return inputChannelMOS;
  } else if (isNaN(inputChannelMOS)) {
    return ouputChannelMOS;
  } else {
    return Math.min(inputChannelMOS, ouputChannelMOS);
  }
}
function initAudioStats() {
  audioStatus = new AudioStatsElement({
    inputChannelStats: new StatsInfo({ packetsCount: 0, packetsLost: 0, jitterBufferMillis: 0, roundTripTimeMillis: 0 }),
    outputChannelStats: new StatsInfo({ packetsCount: 0, packetsLost: 0, jitterBufferMillis: 0, roundTripTimeMillis: 0 })
  });
}
function updateAudioStats(statsArray) {
  if (audioStatus) {
    statsArray.forEach((stats) => {
      if (stats.inputChannelStats) {
        audioStatus.inputChannelStats.statsCount++;
        audioStatus.inputChannelStats.packetsCount += stats.inputChannelStats.packetsCount | 0;
        audioStatus.inputChannelStats.packetsLost += stats.inputChannelStats.packetsLost | 0;
        audioStatus.inputChannelStats.jitterBufferMillis += stats.inputChannelStats.jitterBufferMillis | 0;
        audioStatus.inputChannelStats.roundTripTimeMillis += stats.inputChannelStats.roundTripTimeMillis | 0;
      }
      if (stats.outputChannelStats) {
        audioStatus.outputChannelStats.statsCount++;
        audioStatus.outputChannelStats.packetsCount += stats.outputChannelStats.packetsCount | 0;
        audioStatus.outputChannelStats.packetsLost += stats.outputChannelStats.packetsLost | 0;
        audioStatus.outputChannelStats.jitterBufferMillis += stats.outputChannelStats.jitterBufferMillis | 0;
        audioStatus.outputChannelStats.roundTripTimeMillis += stats.outputChannelStats.roundTripTimeMillis | 0;
      }
    });
  }
}

// node_modules/@salesforce/scv-connector-base/src/main/baseConnector.js
var channelPort;
var vendorConnector;
var agentAvailable;
var isSupervisorConnected;
function getErrorType(e) {
  return e && e.type ? e.type : e;
}
function sanitizePayload(payload) {
  if (payload) {
    if (typeof payload === "function") {
      return;
    } else if (typeof payload === "object") {
      const isArray = Array.isArray(payload);
      const sanitizedPayload = isArray ? [] : {};
      if (isArray) {
        payload.forEach((element) => {
          sanitizedPayload.push(sanitizePayload(element));
        });
      } else {
        for (const property in payload) {
          if (property !== "phoneNumber" && property !== "number" && property !== "name" && property !== "callAttributes") {
            sanitizedPayload[property] = sanitizePayload(payload[property]);
          }
        }
      }
      return sanitizedPayload;
    }
  }
  return payload;
}
function getErrorMessage(e) {
  return e && e.message ? e.message : e;
}
function dispatchEventLog(eventType, payload, isError) {
  const sanitizedPayload = sanitizePayload(payload);
  const logLevel = isError ? constants_default.LOG_LEVEL.ERROR : constants_default.LOG_LEVEL.INFO;
  log({ eventType, payload }, logLevel, constants_default.LOG_SOURCE.SYSTEM);
  channelPort.postMessage({
    type: constants_default.MESSAGE_TYPE.LOG,
    payload: { eventType, payload: sanitizedPayload, isError }
  });
}
function dispatchEvent(eventType, payload, registerLog = true) {
  channelPort.postMessage({
    type: constants_default.MESSAGE_TYPE.TELEPHONY_EVENT_DISPATCHED,
    payload: { telephonyEventType: eventType, telephonyEventPayload: payload }
  });
  if (registerLog) {
    dispatchEventLog(eventType, payload, false);
  }
}
function dispatchError(errorType, error, eventType) {
  console.error(`SCV dispatched error ${errorType} for eventType ${eventType}`, error);
  dispatchEvent(constants_default.EVENT_TYPE.ERROR, { message: constants_default.ERROR_TYPE[errorType] }, false);
  dispatchEventLog(eventType, { errorType, error }, true);
}
function dispatchCustomError(error, eventType) {
  const payload = {
    customError: {
      labelName: error.labelName,
      namespace: error.namespace,
      message: error.message
    }
  };
  console.error(`SCV dispatched custom error for eventType ${eventType}`, payload);
  dispatchEvent(constants_default.EVENT_TYPE.ERROR, payload, false);
  dispatchEventLog(eventType, { errorType: constants_default.ERROR_TYPE.CUSTOM_ERROR, error }, true);
}
function dispatchInfo(eventType, payload) {
  console.info(`SCV info message dispatched for eventType ${eventType} with payload ${JSON.stringify(payload)}`);
  dispatchEvent(constants_default.EVENT_TYPE.INFO, { message: constants_default.INFO_TYPE[eventType] }, false);
  dispatchEventLog(eventType, payload, false);
}
async function setConnectorReady() {
  try {
    const agentConfigResult = await vendorConnector.getAgentConfig();
    const capabilitiesResult = await vendorConnector.getCapabilities();
    Validator.validateClassObject(agentConfigResult, AgentConfigResult);
    Validator.validateClassObject(capabilitiesResult, CapabilitiesResult);
    if (capabilitiesResult.supportsMos) {
      enableMos();
    }
    const activeCallsResult = await vendorConnector.getActiveCalls();
    Validator.validateClassObject(activeCallsResult, ActiveCallsResult);
    const activeCalls = activeCallsResult.activeCalls;
    const type = constants_default.MESSAGE_TYPE.CONNECTOR_READY;
    const payload = {
      agentConfig: {
        [constants_default.AGENT_CONFIG_TYPE.PHONES]: agentConfigResult.phones,
        [constants_default.AGENT_CONFIG_TYPE.SELECTED_PHONE]: agentConfigResult.selectedPhone
      },
      capabilities: {
        [constants_default.CAPABILITIES_TYPE.MUTE]: capabilitiesResult.hasMute,
        [constants_default.CAPABILITIES_TYPE.RECORD]: capabilitiesResult.hasRecord,
        [constants_default.CAPABILITIES_TYPE.MERGE]: capabilitiesResult.hasMerge,
        [constants_default.CAPABILITIES_TYPE.SWAP]: capabilitiesResult.hasSwap,
        [constants_default.CAPABILITIES_TYPE.SIGNED_RECORDING_URL]: capabilitiesResult.hasSignedRecordingUrl,
        [constants_default.CAPABILITIES_TYPE.DEBUG_ENABLED]: capabilitiesResult.debugEnabled,
        [constants_default.CAPABILITIES_TYPE.CONTACT_SEARCH]: capabilitiesResult.hasContactSearch,
        [constants_default.CAPABILITIES_TYPE.VENDOR_PROVIDED_AVAILABILITY]: capabilitiesResult.hasAgentAvailability,
        [constants_default.CAPABILITIES_TYPE.VENDOR_PROVIDED_QUEUE_WAIT_TIME]: capabilitiesResult.hasQueueWaitTime,
        [constants_default.CAPABILITIES_TYPE.SUPERVISOR_LISTEN_IN]: capabilitiesResult.hasSupervisorListenIn,
        [constants_default.CAPABILITIES_TYPE.SUPERVISOR_BARGE_IN]: capabilitiesResult.hasSupervisorBargeIn,
        [constants_default.CAPABILITIES_TYPE.MOS]: capabilitiesResult.supportsMos,
        [constants_default.CAPABILITIES_TYPE.BLIND_TRANSFER]: capabilitiesResult.hasBlindTransfer,
        [constants_default.CAPABILITIES_TYPE.TRANSFER_TO_OMNI_FLOW]: capabilitiesResult.hasTransferToOmniFlow,
        [constants_default.CAPABILITIES_TYPE.PENDING_STATUS_CHANGE]: capabilitiesResult.hasPendingStatusChange,
        [constants_default.CAPABILITIES_TYPE.PHONEBOOK]: capabilitiesResult.hasPhoneBook
      },
      callInProgress: activeCalls.length > 0 ? activeCalls[0] : null
    };
    channelPort.postMessage({
      type,
      payload
    });
    dispatchEventLog(type, payload, false);
  } catch (e) {
    channelPort.postMessage({
      type: constants_default.MESSAGE_TYPE.CONNECTOR_READY,
      payload: {}
    });
    dispatchEventLog(constants_default.MESSAGE_TYPE.CONNECTOR_READY, {}, false);
  }
}
async function channelMessageHandler(message) {
  const eventType = message.data.type;
  if (eventType !== constants_default.MESSAGE_TYPE.LOG) {
    dispatchEventLog(eventType, message.data, false);
  }
  switch (eventType) {
    case constants_default.MESSAGE_TYPE.ACCEPT_CALL:
      try {
        if (message.data.call && message.data.call.callType && message.data.call.callType.toLowerCase() === constants_default.CALL_TYPE.OUTBOUND.toLowerCase()) {
          return;
        }
        initAudioStats();
        if (isSupervisorConnected) {
          const hangupPayload = await vendorConnector.supervisorDisconnect();
          Validator.validateClassObject(hangupPayload, SupervisorHangupResult);
          isSupervisorConnected = false;
          dispatchEvent(constants_default.EVENT_TYPE.SUPERVISOR_HANGUP, hangupPayload.calls);
        }
        let payload = await vendorConnector.acceptCall(message.data.call);
        Validator.validateClassObject(payload, CallResult);
        const { call } = payload;
        dispatchEvent(call.callType.toLowerCase() === constants_default.CALL_TYPE.CALLBACK.toLowerCase() ? constants_default.EVENT_TYPE.CALL_STARTED : constants_default.EVENT_TYPE.CALL_CONNECTED, call);
      } catch (e) {
        isSupervisorConnected = false;
        if (e instanceof CustomError) {
          dispatchCustomError(e, constants_default.MESSAGE_TYPE.ACCEPT_CALL);
        } else {
          dispatchInfo(constants_default.INFO_TYPE.CAN_NOT_ACCEPT_THE_CALL, { messagetype: constants_default.MESSAGE_TYPE.ACCEPT_CALL, additionalInfo: e });
        }
      }
      break;
    case constants_default.MESSAGE_TYPE.DECLINE_CALL:
      try {
        const payload = await vendorConnector.declineCall(message.data.call);
        Validator.validateClassObject(payload, CallResult);
        const { call } = payload;
        dispatchEvent(constants_default.EVENT_TYPE.HANGUP, call);
      } catch (e) {
        if (e instanceof CustomError) {
          dispatchCustomError(e, constants_default.MESSAGE_TYPE.DECLINE_CALL);
        } else {
          dispatchError(constants_default.ERROR_TYPE.CAN_NOT_DECLINE_THE_CALL, e, constants_default.MESSAGE_TYPE.DECLINE_CALL);
        }
      }
      break;
    case constants_default.MESSAGE_TYPE.END_CALL:
      try {
        const payload = await vendorConnector.endCall(message.data.call, message.data.agentStatus);
        Validator.validateClassObject(payload, HangupResult);
        const activeCallsResult = await vendorConnector.getActiveCalls();
        Validator.validateClassObject(activeCallsResult, ActiveCallsResult);
        const activeCalls = activeCallsResult.activeCalls;
        const { calls } = payload;
        if (activeCalls.length === 0) {
          dispatchEvent(constants_default.EVENT_TYPE.HANGUP, calls);
        } else {
          dispatchEvent(constants_default.EVENT_TYPE.PARTICIPANT_REMOVED, calls.length > 0 && calls[0]);
        }
      } catch (e) {
        if (e instanceof CustomError) {
          dispatchCustomError(e, constants_default.MESSAGE_TYPE.END_CALL);
        } else {
          dispatchError(constants_default.ERROR_TYPE.CAN_NOT_END_THE_CALL, e, constants_default.MESSAGE_TYPE.END_CALL);
        }
      }
      break;
    case constants_default.MESSAGE_TYPE.MUTE:
      try {
        const payload = await vendorConnector.mute();
        publishEvent({ eventType: constants_default.EVENT_TYPE.MUTE_TOGGLE, payload });
      } catch (e) {
        if (e instanceof CustomError) {
          dispatchCustomError(e, constants_default.MESSAGE_TYPE.MUTE);
        } else {
          dispatchError(constants_default.ERROR_TYPE.CAN_NOT_MUTE_CALL, e, constants_default.MESSAGE_TYPE.MUTE);
        }
      }
      break;
    case constants_default.MESSAGE_TYPE.UNMUTE:
      try {
        const payload = await vendorConnector.unmute();
        publishEvent({ eventType: constants_default.EVENT_TYPE.MUTE_TOGGLE, payload });
      } catch (e) {
        if (e instanceof CustomError) {
          dispatchCustomError(e, constants_default.MESSAGE_TYPE.UNMUTE);
        } else {
          dispatchError(constants_default.ERROR_TYPE.CAN_NOT_UNMUTE_CALL, e, constants_default.MESSAGE_TYPE.UNMUTE);
        }
      }
      break;
    case constants_default.MESSAGE_TYPE.HOLD:
      try {
        const payload = await vendorConnector.hold(message.data.call);
        publishEvent({ eventType: constants_default.EVENT_TYPE.HOLD_TOGGLE, payload });
      } catch (e) {
        if (e instanceof CustomError) {
          dispatchCustomError(e, constants_default.MESSAGE_TYPE.HOLD);
        } else {
          switch (getErrorType(e)) {
            case constants_default.ERROR_TYPE.INVALID_PARTICIPANT:
              dispatchError(constants_default.ERROR_TYPE.INVALID_PARTICIPANT, getErrorMessage(e), constants_default.MESSAGE_TYPE.HOLD);
              break;
            default:
              dispatchError(constants_default.ERROR_TYPE.CAN_NOT_HOLD_CALL, getErrorMessage(e), constants_default.MESSAGE_TYPE.HOLD);
              break;
          }
        }
      }
      break;
    case constants_default.MESSAGE_TYPE.RESUME:
      try {
        const payload = await vendorConnector.resume(message.data.call);
        publishEvent({ eventType: constants_default.EVENT_TYPE.HOLD_TOGGLE, payload });
      } catch (e) {
        if (e instanceof CustomError) {
          dispatchCustomError(e, constants_default.MESSAGE_TYPE.RESUME);
        } else {
          switch (getErrorType(e)) {
            case constants_default.ERROR_TYPE.INVALID_PARTICIPANT:
              dispatchError(constants_default.ERROR_TYPE.INVALID_PARTICIPANT, getErrorMessage(e), constants_default.MESSAGE_TYPE.RESUME);
              break;
            default:
              dispatchError(constants_default.ERROR_TYPE.CAN_NOT_RESUME_CALL, getErrorMessage(e), constants_default.MESSAGE_TYPE.RESUME);
              break;
          }
        }
      }
      break;
    case constants_default.MESSAGE_TYPE.SET_AGENT_STATUS:
      try {
        const statusInfo = message.data.statusInfo || {};
        const enqueueNextState = message.data.enqueueNextState || false;
        const payload = await vendorConnector.setAgentStatus(message.data.agentStatus, statusInfo, enqueueNextState);
        Validator.validateClassObject(payload, GenericResult);
        const { success } = payload;
        dispatchEvent(constants_default.EVENT_TYPE.SET_AGENT_STATUS_RESULT, { success });
      } catch (e) {
        if (e instanceof CustomError) {
          dispatchCustomError(e, constants_default.MESSAGE_TYPE.SET_AGENT_STATUS);
        } else {
          if (message.data.statusInfo) {
            dispatchEvent(constants_default.EVENT_TYPE.SET_AGENT_STATUS_RESULT, { success: false });
          }
          switch (getErrorType(e)) {
            case constants_default.ERROR_TYPE.INVALID_AGENT_STATUS:
              dispatchError(constants_default.ERROR_TYPE.INVALID_AGENT_STATUS, getErrorMessage(e), constants_default.MESSAGE_TYPE.SET_AGENT_STATUS);
              break;
            default:
              dispatchError(constants_default.ERROR_TYPE.CAN_NOT_SET_AGENT_STATUS, getErrorMessage(e), constants_default.MESSAGE_TYPE.SET_AGENT_STATUS);
              break;
          }
        }
      }
      break;
    case constants_default.MESSAGE_TYPE.GET_AGENT_STATUS:
      try {
        const payload = await vendorConnector.getAgentStatus();
        Validator.validateClassObject(payload, AgentVendorStatusInfo);
        dispatchEvent(constants_default.EVENT_TYPE.GET_AGENT_STATUS_RESULT, payload);
      } catch (e) {
        if (e instanceof CustomError) {
          dispatchCustomError(e, constants_default.MESSAGE_TYPE.GET_AGENT_STATUS);
        } else {
          dispatchError(constants_default.ERROR_TYPE.CAN_NOT_GET_AGENT_STATUS, getErrorMessage(e), constants_default.MESSAGE_TYPE.GET_AGENT_STATUS);
        }
      }
      break;
    case constants_default.MESSAGE_TYPE.DIAL:
      try {
        const payload = await vendorConnector.dial(new Contact(message.data.contact));
        Validator.validateClassObject(payload, CallResult);
        const { call } = payload;
        dispatchEvent(constants_default.EVENT_TYPE.CALL_STARTED, call);
      } catch (e) {
        dispatchEvent(constants_default.EVENT_TYPE.CALL_FAILED);
        if (e instanceof CustomError) {
          dispatchCustomError(e, constants_default.MESSAGE_TYPE.DIAL);
        } else {
          switch (getErrorType(e)) {
            case constants_default.ERROR_TYPE.INVALID_DESTINATION:
              dispatchError(constants_default.ERROR_TYPE.INVALID_DESTINATION, getErrorMessage(e), constants_default.MESSAGE_TYPE.DIAL);
              break;
            case constants_default.ERROR_TYPE.GENERIC_ERROR:
              dispatchError(constants_default.ERROR_TYPE.GENERIC_ERROR, getErrorMessage(e), constants_default.MESSAGE_TYPE.DIAL);
              break;
            default:
              dispatchError(constants_default.ERROR_TYPE.CAN_NOT_START_THE_CALL, getErrorMessage(e), constants_default.MESSAGE_TYPE.DIAL);
              break;
          }
        }
      }
      break;
    case constants_default.MESSAGE_TYPE.SEND_DIGITS:
      try {
        await vendorConnector.sendDigits(message.data.digits);
      } catch (e) {
        dispatchEventLog(constants_default.MESSAGE_TYPE.SEND_DIGITS, message.data.digits, true);
      }
      break;
    case constants_default.MESSAGE_TYPE.GET_PHONE_CONTACTS:
      try {
        const payload = await vendorConnector.getPhoneContacts(message.data.filter);
        Validator.validateClassObject(payload, PhoneContactsResult);
        const contacts = payload.contacts.map((contact) => {
          return {
            id: contact.id,
            type: contact.type,
            name: contact.name,
            phoneNumber: contact.phoneNumber,
            prefix: contact.prefix,
            extension: contact.extension,
            endpointARN: contact.endpointARN,
            queue: contact.queue,
            availability: contact.availability,
            queueWaitTime: contact.queueWaitTime,
            recordId: contact.recordId,
            description: contact.description
          };
        });
        dispatchEvent(constants_default.EVENT_TYPE.PHONE_CONTACTS, {
          contacts,
          contactTypes: payload.contactTypes
        });
      } catch (e) {
        if (e instanceof CustomError) {
          dispatchCustomError(e, constants_default.MESSAGE_TYPE.GET_PHONE_CONTACTS);
        } else {
          dispatchError(constants_default.ERROR_TYPE.CAN_NOT_GET_PHONE_CONTACTS, e, constants_default.MESSAGE_TYPE.GET_PHONE_CONTACTS);
        }
      }
      break;
    case constants_default.MESSAGE_TYPE.SWAP_PARTICIPANTS:
      try {
        const payload = await vendorConnector.swap(message.data.callToHold, message.data.callToResume);
        publishEvent({ eventType: constants_default.EVENT_TYPE.PARTICIPANTS_SWAPPED, payload });
      } catch (e) {
        if (e instanceof CustomError) {
          dispatchCustomError(e, constants_default.MESSAGE_TYPE.SWAP_PARTICIPANTS);
        } else {
          dispatchError(constants_default.ERROR_TYPE.CAN_NOT_SWAP_PARTICIPANTS, e, constants_default.MESSAGE_TYPE.SWAP_PARTICIPANTS);
        }
      }
      break;
    case constants_default.MESSAGE_TYPE.CONFERENCE:
      try {
        const payload = await vendorConnector.conference(message.data.calls);
        publishEvent({ eventType: constants_default.EVENT_TYPE.PARTICIPANTS_CONFERENCED, payload });
      } catch (e) {
        if (e instanceof CustomError) {
          dispatchCustomError(e, constants_default.MESSAGE_TYPE.CONFERENCE);
        } else {
          dispatchError(constants_default.ERROR_TYPE.CAN_NOT_CONFERENCE, e, constants_default.MESSAGE_TYPE.CONFERENCE);
        }
      }
      break;
    case constants_default.MESSAGE_TYPE.ADD_PARTICIPANT:
      try {
        const payload = await vendorConnector.addParticipant(new Contact(message.data.contact), message.data.call, message.data.isBlindTransfer);
        publishEvent({ eventType: constants_default.EVENT_TYPE.PARTICIPANT_ADDED, payload });
        if (message.data.isBlindTransfer) {
          dispatchEvent(constants_default.EVENT_TYPE.HANGUP, message.data.call);
        }
      } catch (e) {
        dispatchEvent(constants_default.EVENT_TYPE.PARTICIPANT_REMOVED, {
          reason: constants_default.EVENT_TYPE.ERROR.toLowerCase()
        });
        if (e instanceof CustomError) {
          dispatchCustomError(e, constants_default.MESSAGE_TYPE.ADD_PARTICIPANT);
        } else {
          switch (getErrorType(e)) {
            case constants_default.ERROR_TYPE.INVALID_DESTINATION:
              dispatchError(constants_default.ERROR_TYPE.INVALID_DESTINATION, getErrorMessage(e), constants_default.MESSAGE_TYPE.ADD_PARTICIPANT);
              break;
            default:
              dispatchError(constants_default.ERROR_TYPE.CAN_NOT_ADD_PARTICIPANT, getErrorMessage(e), constants_default.MESSAGE_TYPE.ADD_PARTICIPANT);
              break;
          }
        }
      }
      break;
    case constants_default.MESSAGE_TYPE.PAUSE_RECORDING:
      try {
        const payload = await vendorConnector.pauseRecording(message.data.call);
        publishEvent({ eventType: constants_default.EVENT_TYPE.RECORDING_TOGGLE, payload });
      } catch (e) {
        if (e instanceof CustomError) {
          dispatchCustomError(e, constants_default.MESSAGE_TYPE.PAUSE_RECORDING);
        } else {
          dispatchError(constants_default.ERROR_TYPE.CAN_NOT_PAUSE_RECORDING, e, constants_default.MESSAGE_TYPE.PAUSE_RECORDING);
        }
      }
      break;
    case constants_default.MESSAGE_TYPE.RESUME_RECORDING:
      try {
        const payload = await vendorConnector.resumeRecording(message.data.call);
        publishEvent({ eventType: constants_default.EVENT_TYPE.RECORDING_TOGGLE, payload });
      } catch (e) {
        if (e instanceof CustomError) {
          dispatchCustomError(e, constants_default.MESSAGE_TYPE.RESUME_RECORDING);
        } else {
          dispatchError(constants_default.ERROR_TYPE.CAN_NOT_RESUME_RECORDING, e, constants_default.MESSAGE_TYPE.RESUME_RECORDING);
        }
      }
      break;
    case constants_default.MESSAGE_TYPE.LOGOUT:
      try {
        const payload = await vendorConnector.logout();
        Validator.validateClassObject(payload, LogoutResult);
        const { success, loginFrameHeight } = payload;
        dispatchEvent(constants_default.EVENT_TYPE.LOGOUT_RESULT, { success, loginFrameHeight });
      } catch (e) {
        if (e instanceof CustomError) {
          dispatchCustomError(e, constants_default.MESSAGE_TYPE.LOGOUT);
        } else {
          dispatchError(constants_default.ERROR_TYPE.CAN_NOT_LOG_OUT, e, constants_default.MESSAGE_TYPE.LOGOUT);
        }
      }
      break;
    case constants_default.MESSAGE_TYPE.MESSAGE:
      vendorConnector.handleMessage(message.data.message);
      break;
    case constants_default.MESSAGE_TYPE.WRAP_UP_CALL:
      vendorConnector.wrapUpCall(message.data.call);
      break;
    case constants_default.MESSAGE_TYPE.AGENT_AVAILABLE:
      {
        agentAvailable = message.data.isAvailable;
        if (agentAvailable) {
          const activeCallsResult = await vendorConnector.getActiveCalls();
          Validator.validateClassObject(activeCallsResult, ActiveCallsResult);
          const activeCalls = activeCallsResult.activeCalls;
          for (const callId in activeCalls) {
            const call = activeCalls[callId];
            const shouldReplay = call.callInfo ? call.callInfo.isReplayable : true;
            const isSupervisorCall = call.callAttributes && call.callAttributes.participantType === constants_default.PARTICIPANT_TYPE.SUPERVISOR;
            const hasSupervisorBargedIn = isSupervisorCall && call.callAttributes && call.callAttributes.hasSupervisorBargedIn;
            if (shouldReplay) {
              call.isReplayedCall = true;
              switch (call.state) {
                case constants_default.CALL_STATE.CONNECTED:
                  if (isSupervisorCall) {
                    isSupervisorConnected = true;
                    dispatchEvent(constants_default.EVENT_TYPE.SUPERVISOR_CALL_CONNECTED, call);
                    if (hasSupervisorBargedIn) {
                      dispatchEvent(constants_default.EVENT_TYPE.SUPERVISOR_BARGED_IN, call);
                    }
                    break;
                  }
                  dispatchEvent(constants_default.EVENT_TYPE.CALL_CONNECTED, call);
                  break;
                case constants_default.CALL_STATE.RINGING:
                  if (isSupervisorCall) {
                    isSupervisorConnected = true;
                    dispatchEvent(constants_default.EVENT_TYPE.SUPERVISOR_CALL_STARTED, call);
                    break;
                  }
                  dispatchEvent(constants_default.EVENT_TYPE.CALL_STARTED, call);
                  break;
                case constants_default.CALL_STATE.TRANSFERRING:
                  dispatchEvent(constants_default.EVENT_TYPE.PARTICIPANT_ADDED, {
                    phoneNumber: call.contact.phoneNumber,
                    callInfo: call.callInfo,
                    initialCallHasEnded: call.callAttributes.initialCallHasEnded,
                    callId: call.callId
                  });
                  break;
                case constants_default.CALL_STATE.TRANSFERRED:
                  dispatchEvent(constants_default.EVENT_TYPE.PARTICIPANT_CONNECTED, {
                    phoneNumber: call.contact.phoneNumber,
                    callInfo: call.callInfo,
                    initialCallHasEnded: call.callAttributes.initialCallHasEnded,
                    callId: call.callId
                  });
                  break;
                default:
                  break;
              }
            }
          }
        }
      }
      break;
    case constants_default.MESSAGE_TYPE.SET_AGENT_CONFIG:
      try {
        const result = await vendorConnector.setAgentConfig(message.data.config);
        Validator.validateClassObject(result, GenericResult);
        dispatchEvent(constants_default.EVENT_TYPE.AGENT_CONFIG_UPDATED, result);
      } catch (e) {
        if (e instanceof CustomError) {
          dispatchCustomError(e, constants_default.MESSAGE_TYPE.SET_AGENT_CONFIG);
        } else {
          dispatchError(getErrorType(e) === constants_default.ERROR_TYPE.CAN_NOT_UPDATE_PHONE_NUMBER ? constants_default.ERROR_TYPE.CAN_NOT_UPDATE_PHONE_NUMBER : constants_default.ERROR_TYPE.CAN_NOT_SET_AGENT_CONFIG, getErrorMessage(e), constants_default.MESSAGE_TYPE.SET_AGENT_CONFIG);
        }
      }
      break;
    case constants_default.MESSAGE_TYPE.GET_SIGNED_RECORDING_URL:
      try {
        const { recordingUrl, vendorCallKey, callId } = message.data;
        const result = await vendorConnector.getSignedRecordingUrl(recordingUrl, vendorCallKey, callId);
        Validator.validateClassObject(result, SignedRecordingUrlResult);
        dispatchEvent(constants_default.EVENT_TYPE.SIGNED_RECORDING_URL, result);
      } catch (e) {
        const signedRecordingUrlResult = new SignedRecordingUrlResult({
          success: false
        });
        dispatchEvent(constants_default.EVENT_TYPE.SIGNED_RECORDING_URL, signedRecordingUrlResult, false);
        dispatchEventLog(constants_default.MESSAGE_TYPE.GET_SIGNED_RECORDING_URL, signedRecordingUrlResult, true);
      }
      break;
    case constants_default.MESSAGE_TYPE.DOWNLOAD_VENDOR_LOGS:
      vendorConnector.downloadLogs(getLogs());
      break;
    case constants_default.MESSAGE_TYPE.LOG:
      {
        const { logLevel, logMessage, payload } = message.data;
        vendorConnector.logMessageToVendor(logLevel, logMessage, payload);
      }
      break;
    case constants_default.MESSAGE_TYPE.SUPERVISE_CALL:
      try {
        isSupervisorConnected = true;
        const result = await vendorConnector.superviseCall(message.data.call);
        Validator.validateClassObject(result, SuperviseCallResult);
        const agentConfigResult = await vendorConnector.getAgentConfig();
        if (agentConfigResult.selectedPhone.type === constants_default.PHONE_TYPE.SOFT_PHONE) {
          dispatchEvent(constants_default.EVENT_TYPE.SUPERVISOR_CALL_CONNECTED, result.call);
        } else {
          dispatchEvent(constants_default.EVENT_TYPE.SUPERVISOR_CALL_STARTED, result.call);
        }
      } catch (e) {
        isSupervisorConnected = false;
        if (e instanceof CustomError) {
          dispatchCustomError(e, constants_default.MESSAGE_TYPE.SUPERVISE_CALL);
        } else {
          dispatchError(constants_default.ERROR_TYPE.CAN_NOT_SUPERVISE_CALL, e, constants_default.MESSAGE_TYPE.SUPERVISE_CALL);
        }
      }
      break;
    case constants_default.MESSAGE_TYPE.SUPERVISOR_DISCONNECT:
      try {
        const result = await vendorConnector.supervisorDisconnect(message.data.call);
        Validator.validateClassObject(result, SupervisorHangupResult);
        isSupervisorConnected = false;
        dispatchEvent(constants_default.EVENT_TYPE.SUPERVISOR_HANGUP, result.calls);
      } catch (e) {
        if (e instanceof CustomError) {
          dispatchCustomError(e, constants_default.MESSAGE_TYPE.SUPERVISOR_DISCONNECT);
        } else {
          dispatchError(constants_default.ERROR_TYPE.CAN_NOT_DISCONNECT_SUPERVISOR, e, constants_default.MESSAGE_TYPE.SUPERVISOR_DISCONNECT);
        }
      }
      break;
    case constants_default.MESSAGE_TYPE.SUPERVISOR_BARGE_IN:
      try {
        const result = await vendorConnector.supervisorBargeIn(message.data.call);
        Validator.validateClassObject(result, SuperviseCallResult);
        dispatchEvent(constants_default.EVENT_TYPE.SUPERVISOR_BARGED_IN, result.call);
      } catch (e) {
        if (e instanceof CustomError) {
          dispatchCustomError(e, constants_default.MESSAGE_TYPE.SUPERVISOR_BARGE_IN);
        } else {
          dispatchError(constants_default.ERROR_TYPE.CAN_NOT_BARGE_IN_SUPERVISOR, e, constants_default.MESSAGE_TYPE.SUPERVISOR_BARGE_IN);
        }
      }
      break;
    default:
      break;
  }
}
async function windowMessageHandler(message) {
  switch (message.data.type) {
    case constants_default.MESSAGE_TYPE.SETUP_CONNECTOR:
      {
        const sfDomain = /^https:\/\/[\w-.]+(lightning\.[\w]+\.soma\.force\.com|\.lightning\.force\.com|\.lightning\.pc-rnd\.force\.com|\.stm\.force\.com|\.vf\.force\.com|\.salesforce\.com|\.my\.salesforce-sites\.com|\.lightning\.localhost\.[\w]+\.force.com)$/;
        const originUrl = new URL(message.origin);
        const url = originUrl.protocol + "//" + originUrl.hostname;
        if (sfDomain.test(url)) {
          channelPort = message.ports[0];
          channelPort.onmessage = channelMessageHandler;
          dispatchEventLog(constants_default.MESSAGE_TYPE.SETUP_CONNECTOR, exposedConnectorConfig(message.data.connectorConfig), false);
          try {
            const payload = await vendorConnector.init(message.data.connectorConfig);
            Validator.validateClassObject(payload, InitResult);
            if (payload.showLogin) {
              dispatchEvent(constants_default.EVENT_TYPE.SHOW_LOGIN, {
                loginFrameHeight: payload.loginFrameHeight
              });
            } else {
              setConnectorReady();
            }
          } catch (e) {
            if (e instanceof CustomError) {
              dispatchCustomError(e, constants_default.MESSAGE_TYPE.SETUP_CONNECTOR);
            } else {
              switch (getErrorType(e)) {
                case constants_default.ERROR_TYPE.INVALID_PARAMS:
                  dispatchError(constants_default.ERROR_TYPE.INVALID_PARAMS, getErrorMessage(e), constants_default.MESSAGE_TYPE.SETUP_CONNECTOR);
                  break;
                default:
                  dispatchError(constants_default.ERROR_TYPE.CAN_NOT_LOG_IN, getErrorMessage(e), constants_default.MESSAGE_TYPE.SETUP_CONNECTOR);
                  break;
              }
            }
          }
        }
        window.removeEventListener("message", windowMessageHandler);
      }
      break;
    default:
      break;
  }
}
function exposedConnectorConfig(payload) {
  payload = payload || {};
  let obj = {};
  CONNECTOR_CONFIG_EXPOSED_FIELDS.forEach((prop) => {
    if (payload.hasOwnProperty(prop)) {
      obj[prop] = payload[prop];
    }
  });
  CONNECTOR_CONFIG_EXPOSED_FIELDS_STARTSWITH.forEach((prop) => {
    Object.keys(payload).forEach((key) => {
      if (key.startsWith(prop) && !CONNECTOR_CONFIG_EXCEPTION_FIELDS.includes(key)) {
        obj[key] = payload[key];
      }
    });
  });
  return obj;
}
function validatePayload(payload, payloadType, errorType, eventType) {
  try {
    Validator.validateClassObject(payload, payloadType);
    return true;
  } catch (e) {
    if (errorType) {
      dispatchError(errorType, e, eventType);
    }
    return false;
  }
}
function initializeConnector(connector) {
  vendorConnector = connector;
  window.addEventListener("message", windowMessageHandler);
}
function publishLog({ eventType, payload, isError }) {
  dispatchEventLog(eventType, payload, isError);
}
function publishError({ eventType, error }) {
  if (error instanceof CustomError) {
    dispatchCustomError(error, eventType);
    return;
  }
  switch (eventType) {
    case constants_default.EVENT_TYPE.LOGIN_RESULT:
      dispatchError(constants_default.ERROR_TYPE.CAN_NOT_LOG_IN, error, constants_default.EVENT_TYPE.LOGIN_RESULT);
      break;
    case constants_default.EVENT_TYPE.LOGOUT_RESULT:
      dispatchError(constants_default.ERROR_TYPE.CAN_NOT_LOG_OUT, error, constants_default.EVENT_TYPE.LOGOUT_RESULT);
      break;
    case constants_default.EVENT_TYPE.CALL_STARTED:
      dispatchError(constants_default.ERROR_TYPE.CAN_NOT_START_THE_CALL, error, constants_default.EVENT_TYPE.CALL_STARTED);
      break;
    case constants_default.EVENT_TYPE.QUEUED_CALL_STARTED:
      dispatchError(constants_default.ERROR_TYPE.CAN_NOT_START_THE_CALL, error, constants_default.EVENT_TYPE.QUEUED_CALL_STARTED);
      break;
    case constants_default.EVENT_TYPE.CALL_CONNECTED:
      dispatchError(constants_default.ERROR_TYPE.CAN_NOT_START_THE_CALL, error, constants_default.EVENT_TYPE.CALL_CONNECTED);
      break;
    case constants_default.EVENT_TYPE.HANGUP:
      dispatchError(constants_default.ERROR_TYPE.CAN_NOT_END_THE_CALL, error, constants_default.EVENT_TYPE.HANGUP);
      break;
    case constants_default.EVENT_TYPE.PARTICIPANT_ADDED:
      dispatchError(getErrorType(error) === constants_default.ERROR_TYPE.INVALID_PARTICIPANT ? constants_default.ERROR_TYPE.INVALID_PARTICIPANT : constants_default.ERROR_TYPE.CAN_NOT_ADD_PARTICIPANT, error, constants_default.EVENT_TYPE.PARTICIPANT_ADDED);
      break;
    case constants_default.EVENT_TYPE.PARTICIPANT_CONNECTED:
      dispatchError(constants_default.ERROR_TYPE.CAN_NOT_CONNECT_PARTICIPANT, error, constants_default.EVENT_TYPE.PARTICIPANT_CONNECTED);
      break;
    case constants_default.EVENT_TYPE.PARTICIPANT_REMOVED:
      dispatchError(constants_default.ERROR_TYPE.CAN_NOT_HANGUP_PARTICIPANT, error, constants_default.EVENT_TYPE.PARTICIPANT_REMOVED);
      break;
    case constants_default.EVENT_TYPE.MUTE_TOGGLE:
      dispatchError(constants_default.ERROR_TYPE.CAN_NOT_TOGGLE_MUTE, error, constants_default.EVENT_TYPE.MUTE_TOGGLE);
      break;
    case constants_default.EVENT_TYPE.HOLD_TOGGLE:
      dispatchError(getErrorType(error) === constants_default.ERROR_TYPE.INVALID_PARTICIPANT ? constants_default.ERROR_TYPE.INVALID_PARTICIPANT : constants_default.ERROR_TYPE.CAN_NOT_TOGGLE_HOLD, error, constants_default.EVENT_TYPE.HOLD_TOGGLE);
      break;
    case constants_default.EVENT_TYPE.RECORDING_TOGGLE:
      dispatchError(constants_default.ERROR_TYPE.CAN_NOT_TOGGLE_RECORD, error, constants_default.EVENT_TYPE.RECORDING_TOGGLE);
      break;
    case constants_default.EVENT_TYPE.PARTICIPANTS_SWAPPED:
      dispatchError(constants_default.ERROR_TYPE.CAN_NOT_SWAP_PARTICIPANTS, error, constants_default.EVENT_TYPE.PARTICIPANTS_SWAPPED);
      break;
    case constants_default.EVENT_TYPE.PARTICIPANTS_CONFERENCED:
      dispatchError(constants_default.ERROR_TYPE.CAN_NOT_CONFERENCE, error, constants_default.EVENT_TYPE.PARTICIPANTS_CONFERENCED);
      break;
    case constants_default.EVENT_TYPE.AGENT_ERROR:
      dispatchError(constants_default.ERROR_TYPE.AGENT_ERROR, error, constants_default.EVENT_TYPE.AGENT_ERROR);
      break;
    case constants_default.EVENT_TYPE.SOFTPHONE_ERROR:
      switch (getErrorType(error)) {
        case constants_default.ERROR_TYPE.UNSUPPORTED_BROWSER:
          dispatchError(constants_default.ERROR_TYPE.UNSUPPORTED_BROWSER, error, constants_default.EVENT_TYPE.SOFTPHONE_ERROR);
          break;
        case constants_default.ERROR_TYPE.MICROPHONE_NOT_SHARED:
          dispatchError(constants_default.ERROR_TYPE.MICROPHONE_NOT_SHARED, error, constants_default.EVENT_TYPE.SOFTPHONE_ERROR);
          break;
        default:
          dispatchError(constants_default.ERROR_TYPE.GENERIC_ERROR, error, constants_default.EVENT_TYPE.SOFTPHONE_ERROR);
      }
      break;
    default:
      console.error("Unhandled error scenario with arguments ", arguments);
  }
}
async function publishEvent({ eventType, payload, registerLog = true }) {
  switch (eventType) {
    case constants_default.EVENT_TYPE.LOGIN_RESULT: {
      if (validatePayload(payload, GenericResult, constants_default.ERROR_TYPE.CAN_NOT_LOG_IN, constants_default.EVENT_TYPE.LOGIN_RESULT)) {
        dispatchEvent(constants_default.EVENT_TYPE.LOGIN_RESULT, payload, registerLog);
        if (payload.success) {
          setConnectorReady();
        }
      }
      break;
    }
    case constants_default.EVENT_TYPE.LOGOUT_RESULT:
      if (validatePayload(payload, LogoutResult, constants_default.ERROR_TYPE.CAN_NOT_LOG_OUT, constants_default.EVENT_TYPE.LOGOUT_RESULT)) {
        dispatchEvent(constants_default.EVENT_TYPE.LOGOUT_RESULT, {
          success: payload.success,
          loginFrameHeight: payload.loginFrameHeight
        }, registerLog);
      }
      break;
    case constants_default.EVENT_TYPE.CALL_STARTED:
      if (validatePayload(payload, CallResult, constants_default.ERROR_TYPE.CAN_NOT_START_THE_CALL, constants_default.EVENT_TYPE.CALL_STARTED)) {
        dispatchEvent(constants_default.EVENT_TYPE.CALL_STARTED, payload.call, registerLog);
      }
      break;
    case constants_default.EVENT_TYPE.QUEUED_CALL_STARTED:
      if (validatePayload(payload, CallResult, constants_default.ERROR_TYPE.CAN_NOT_START_THE_CALL, constants_default.EVENT_TYPE.QUEUED_CALL_STARTED)) {
        dispatchEvent(constants_default.EVENT_TYPE.QUEUED_CALL_STARTED, payload.call, registerLog);
      }
      break;
    case constants_default.EVENT_TYPE.CALL_CONNECTED:
      if (validatePayload(payload, CallResult, constants_default.ERROR_TYPE.CAN_NOT_START_THE_CALL, constants_default.EVENT_TYPE.CALL_CONNECTED)) {
        initAudioStats();
        if (isSupervisorConnected) {
          const hangupPayload = await vendorConnector.supervisorDisconnect();
          Validator.validateClassObject(hangupPayload, SupervisorHangupResult);
          isSupervisorConnected = false;
          dispatchEvent(constants_default.EVENT_TYPE.SUPERVISOR_HANGUP, hangupPayload, registerLog);
          dispatchEvent(constants_default.EVENT_TYPE.CALL_CONNECTED, payload.call, registerLog);
          break;
        }
        dispatchEvent(constants_default.EVENT_TYPE.CALL_CONNECTED, payload.call, registerLog);
      }
      break;
    case constants_default.EVENT_TYPE.HANGUP: {
      if (validatePayload(payload, HangupResult, constants_default.ERROR_TYPE.CAN_NOT_END_THE_CALL, constants_default.EVENT_TYPE.HANGUP)) {
        dispatchEvent(constants_default.EVENT_TYPE.HANGUP, payload.calls, registerLog);
      }
      break;
    }
    case constants_default.EVENT_TYPE.PARTICIPANT_ADDED: {
      if (validatePayload(payload, ParticipantResult, constants_default.ERROR_TYPE.CAN_NOT_ADD_PARTICIPANT, constants_default.EVENT_TYPE.PARTICIPANT_ADDED)) {
        const { initialCallHasEnded, callInfo, phoneNumber, callId } = payload;
        dispatchEvent(constants_default.EVENT_TYPE.PARTICIPANT_ADDED, {
          initialCallHasEnded,
          callInfo,
          phoneNumber,
          callId
        }, registerLog);
      }
      break;
    }
    case constants_default.EVENT_TYPE.PARTICIPANT_CONNECTED: {
      if (validatePayload(payload, ParticipantResult, constants_default.ERROR_TYPE.CAN_NOT_CONNECT_PARTICIPANT, constants_default.EVENT_TYPE.PARTICIPANT_CONNECTED)) {
        const { initialCallHasEnded, callInfo, phoneNumber, callId } = payload;
        dispatchEvent(constants_default.EVENT_TYPE.PARTICIPANT_CONNECTED, {
          initialCallHasEnded,
          callInfo,
          phoneNumber,
          callId
        }, registerLog);
      }
      break;
    }
    case constants_default.EVENT_TYPE.PARTICIPANT_REMOVED: {
      if (validatePayload(payload, CallResult, constants_default.ERROR_TYPE.CAN_NOT_HANGUP_PARTICIPANT, constants_default.EVENT_TYPE.PARTICIPANT_REMOVED)) {
        const { call } = payload;
        const activeCallsResult = await vendorConnector.getActiveCalls();
        if (validatePayload(activeCallsResult, ActiveCallsResult)) {
          const activeCalls = activeCallsResult.activeCalls;
          if (activeCalls.length === 0) {
            dispatchEvent(constants_default.EVENT_TYPE.HANGUP, call, registerLog);
          } else if (call && call.callAttributes && call.callAttributes.participantType === constants_default.PARTICIPANT_TYPE.INITIAL_CALLER) {
            const transferCall = Object.values(activeCalls).filter((obj) => obj["callType"] === constants_default.CALL_TYPE.ADD_PARTICIPANT).pop();
            const event = transferCall.state === constants_default.CALL_STATE.TRANSFERRING ? constants_default.EVENT_TYPE.PARTICIPANT_ADDED : constants_default.EVENT_TYPE.PARTICIPANT_CONNECTED;
            dispatchEvent(event, {
              initialCallHasEnded: true
            });
          } else {
            dispatchEvent(constants_default.EVENT_TYPE.PARTICIPANT_REMOVED, {
              reason: call ? call.reason : null
            }, registerLog);
          }
        }
      }
      break;
    }
    case constants_default.EVENT_TYPE.MESSAGE:
      dispatchEvent(constants_default.EVENT_TYPE.MESSAGE, payload, registerLog);
      break;
    // TODO: Add validations for the ACW & Wrap up ended
    case constants_default.EVENT_TYPE.AFTER_CALL_WORK_STARTED:
      dispatchEvent(constants_default.EVENT_TYPE.AFTER_CALL_WORK_STARTED, payload, registerLog);
      break;
    case constants_default.EVENT_TYPE.WRAP_UP_ENDED:
      dispatchEvent(constants_default.EVENT_TYPE.WRAP_UP_ENDED, payload, registerLog);
      break;
    /* This is only added to aid in connector development */
    case constants_default.EVENT_TYPE.REMOTE_CONTROLLER:
      channelMessageHandler(payload);
      break;
    case constants_default.EVENT_TYPE.MUTE_TOGGLE:
      if (validatePayload(payload, MuteToggleResult, constants_default.ERROR_TYPE.CAN_NOT_TOGGLE_MUTE, constants_default.EVENT_TYPE.MUTE_TOGGLE)) {
        dispatchEvent(constants_default.EVENT_TYPE.MUTE_TOGGLE, payload, registerLog);
      }
      break;
    case constants_default.EVENT_TYPE.HOLD_TOGGLE: {
      const { isThirdPartyOnHold, isCustomerOnHold, calls } = payload;
      if (validatePayload(payload, HoldToggleResult, constants_default.ERROR_TYPE.CAN_NOT_TOGGLE_HOLD, constants_default.EVENT_TYPE.HOLD_TOGGLE)) {
        dispatchEvent(constants_default.EVENT_TYPE.HOLD_TOGGLE, {
          isThirdPartyOnHold,
          isCustomerOnHold,
          calls
        }, registerLog);
      }
      break;
    }
    case constants_default.EVENT_TYPE.RECORDING_TOGGLE: {
      const {
        isRecordingPaused,
        contactId,
        initialContactId,
        instanceId,
        region
      } = payload;
      if (validatePayload(payload, RecordingToggleResult, constants_default.ERROR_TYPE.CAN_NOT_TOGGLE_RECORD, constants_default.EVENT_TYPE.RECORDING_TOGGLE)) {
        dispatchEvent(constants_default.EVENT_TYPE.RECORDING_TOGGLE, {
          isRecordingPaused,
          contactId,
          initialContactId,
          instanceId,
          region
        }, registerLog);
      }
      break;
    }
    case constants_default.EVENT_TYPE.PARTICIPANTS_SWAPPED:
      {
        if (validatePayload(payload, HoldToggleResult, constants_default.ERROR_TYPE.CAN_NOT_SWAP_PARTICIPANTS, constants_default.EVENT_TYPE.PARTICIPANTS_SWAPPED)) {
          const { isThirdPartyOnHold, isCustomerOnHold, calls } = payload;
          dispatchEvent(constants_default.EVENT_TYPE.HOLD_TOGGLE, {
            isThirdPartyOnHold,
            isCustomerOnHold,
            calls
          }, registerLog);
        }
      }
      break;
    case constants_default.EVENT_TYPE.PARTICIPANTS_CONFERENCED: {
      if (validatePayload(payload, HoldToggleResult, constants_default.ERROR_TYPE.CAN_NOT_CONFERENCE, constants_default.EVENT_TYPE.PARTICIPANTS_CONFERENCED)) {
        const { isThirdPartyOnHold, isCustomerOnHold } = payload;
        dispatchEvent(constants_default.EVENT_TYPE.HOLD_TOGGLE, {
          isThirdPartyOnHold,
          isCustomerOnHold
        }, registerLog);
      }
      break;
    }
    case constants_default.EVENT_TYPE.UPDATE_AUDIO_STATS: {
      if (validatePayload(payload, AudioStats)) {
        if (payload.stats) {
          updateAudioStats(payload.stats);
        }
        if (payload.isAudioStatsCompleted && payload.callId) {
          const callId = payload.callId;
          const mos = getMOS();
          dispatchEvent(constants_default.EVENT_TYPE.UPDATE_AUDIO_STATS_COMPLETED, { callId, mos }, registerLog);
        }
      }
      break;
    }
    case constants_default.EVENT_TYPE.SUPERVISOR_BARGED_IN: {
      if (validatePayload(payload, SuperviseCallResult, constants_default.ERROR_TYPE.CAN_NOT_BARGE_IN_SUPERVISOR, constants_default.EVENT_TYPE.SUPERVISOR_BARGED_IN)) {
        dispatchEvent(constants_default.EVENT_TYPE.SUPERVISOR_BARGED_IN, payload.call, registerLog);
      }
      break;
    }
    case constants_default.EVENT_TYPE.CALL_BARGED_IN: {
      if (validatePayload(payload, SupervisedCallInfo, constants_default.ERROR_TYPE.GENERIC_ERROR, constants_default.EVENT_TYPE.CALL_BARGED_IN)) {
        dispatchEvent(constants_default.EVENT_TYPE.CALL_BARGED_IN, payload, registerLog);
      }
      break;
    }
    case constants_default.EVENT_TYPE.SUPERVISOR_CALL_STARTED: {
      if (validatePayload(payload, SuperviseCallResult, constants_default.ERROR_TYPE.CAN_NOT_SUPERVISE_CALL, constants_default.EVENT_TYPE.SUPERVISOR_CALL_STARTED)) {
        isSupervisorConnected = true;
        dispatchEvent(constants_default.EVENT_TYPE.SUPERVISOR_CALL_STARTED, payload.call, registerLog);
      }
      break;
    }
    case constants_default.EVENT_TYPE.SUPERVISOR_CALL_CONNECTED: {
      if (validatePayload(payload, SuperviseCallResult, constants_default.ERROR_TYPE.CAN_NOT_SUPERVISE_CALL, constants_default.EVENT_TYPE.SUPERVISOR_CALL_CONNECTED)) {
        isSupervisorConnected = true;
        dispatchEvent(constants_default.EVENT_TYPE.SUPERVISOR_CALL_CONNECTED, payload.call, registerLog);
      }
      break;
    }
    case constants_default.EVENT_TYPE.SUPERVISOR_HANGUP: {
      if (validatePayload(payload, SupervisorHangupResult, constants_default.ERROR_TYPE.CAN_NOT_DISCONNECT_SUPERVISOR, constants_default.EVENT_TYPE.SUPERVISOR_HANGUP)) {
        isSupervisorConnected = false;
        dispatchEvent(constants_default.EVENT_TYPE.SUPERVISOR_HANGUP, payload.calls, registerLog);
      }
      break;
    }
    case constants_default.EVENT_TYPE.SET_AGENT_STATUS: {
      if (validatePayload(payload, AgentStatusInfo, constants_default.ERROR_TYPE.CAN_NOT_SET_AGENT_STATUS, constants_default.EVENT_TYPE.SET_AGENT_STATUS)) {
        const statusId = payload.statusId;
        dispatchEvent(constants_default.EVENT_TYPE.SET_AGENT_STATUS, { statusId }, registerLog);
      }
      break;
    }
    /**
     * NOTE: SALESFORCE INTERNAL USE ONLY
     */
    case constants_default.EVENT_TYPE.GET_AGENT_STATUS: {
      if (validatePayload(payload, AgentVendorStatusInfo, constants_default.ERROR_TYPE.CAN_NOT_GET_AGENT_STATUS, constants_default.EVENT_TYPE.GET_AGENT_STATUS)) {
        dispatchEvent(constants_default.EVENT_TYPE.GET_AGENT_STATUS, payload);
      }
      break;
    }
    /**
     * NOTE: SALESFORCE INTERNAL USE ONLY
     */
    case constants_default.EVENT_TYPE.STATE_CHANGE: {
      if (validatePayload(payload, StateChangeResult, constants_default.ERROR_TYPE.INVALID_STATE_CHANGE_RESULT, constants_default.EVENT_TYPE.STATE_CHANGE)) {
        dispatchEvent(constants_default.EVENT_TYPE.STATE_CHANGE, payload);
      }
      break;
    }
  }
}
export {
  ActiveCallsResult,
  AgentConfig,
  AgentConfigResult,
  AgentStatusInfo,
  AgentVendorStatusInfo,
  AudioStats,
  AudioStatsElement,
  CallInfo,
  CallResult,
  CapabilitiesResult,
  Constants,
  Contact,
  CustomError,
  GenericResult,
  HangupResult,
  HoldToggleResult,
  InitResult,
  LogoutResult,
  MuteToggleResult,
  ParticipantResult,
  Phone,
  PhoneCall,
  PhoneCallAttributes,
  PhoneContactsResult,
  RecordingToggleResult,
  SignedRecordingUrlResult,
  StateChangeResult,
  StatsInfo,
  SuperviseCallResult,
  SupervisedCallInfo,
  SupervisorHangupResult,
  VendorConnector,
  initializeConnector,
  log,
  publishError,
  publishEvent,
  publishLog
};

"""CSTA messages the BER tests encode, as ctibridge's neutral model holds them.

Identifiers follow what the Alcatel documentation says an OmniPCX uses: directory
numbers for devices not on a call, binary dynamic identifiers (4 bytes) inside
connection identifiers, 2-byte call identifiers (OmniPCX Office technical
documentation, "Device identifier").
"""

from ctibridge.telephony.csta.message import (
    ConnectionId,
    ConnectionListItem,
    CstaError,
    CstaMessage,
    Device,
    DeviceStatus,
    Kind,
)

CALL = "0x0012"
CONSULT = "0x0013"
AGENT = "1001"
AGENT_DYN = "0x01020304"  # the agent's dynamic identifier on a call
OTHER = "1002"
CUSTOMER = "0612345678"

EXAMPLES: dict[str, CstaMessage] = {
    "associate-request": CstaMessage(Kind.INVOKE, "Associate", args={
        "applicationContext": "1.3.12.0.285.200",
        "cSTAVersion": ("versionThree", "versionFive")}),
    "associate-accept": CstaMessage(Kind.RESULT, "Associate", args={
        "applicationContext": "1.3.12.0.285.200", "cSTAVersion": ("versionFive",)}),
    "associate-refuse": CstaMessage(Kind.ERROR, "Associate", args={
        "applicationContext": "1.3.12.0.285.200", "cSTAVersion": ("versionFive",)},
        error=CstaError("association", "rejected-permanent:acse-service-user:2")),
    "release-request": CstaMessage(Kind.INVOKE, "Release"),
    "release-response": CstaMessage(Kind.RESULT, "Release"),
    "system-status": CstaMessage(Kind.INVOKE, "SystemStatus", invoke_id=300,
                                 args={"systemStatus": "normal"}),
    "system-status-ack": CstaMessage(Kind.RESULT, "SystemStatus", invoke_id=300),
    "monitor-start": CstaMessage(Kind.INVOKE, "MonitorStart", invoke_id=1,
                                 args={"monitorObject": Device.of(AGENT),
                                       "monitorType": "device"}),
    "monitor-start-ack": CstaMessage(Kind.RESULT, "MonitorStart", invoke_id=1,
                                     cross_ref="0x00000001",
                                     args={"monitorCrossRefID": "0x00000001"}),
    "monitor-stop": CstaMessage(Kind.INVOKE, "MonitorStop", invoke_id=2,
                                args={"monitorCrossRefID": "0x00000001"}),
    "make-call": CstaMessage(Kind.INVOKE, "MakeCall", invoke_id=3, args={
        "callingDevice": Device.of(AGENT), "calledDirectoryNumber": Device.of(CUSTOMER),
        "correlatorData": "crm-42"}),
    "make-call-ack": CstaMessage(Kind.RESULT, "MakeCall", invoke_id=3, args={
        "callingDevice": ConnectionId(CALL, AGENT_DYN)}),
    "hold-ack-with-private-data": CstaMessage(Kind.RESULT, "HoldCall", invoke_id=6,
                                              private={"privateData/0": "0x0a0b0c"}),
    "answer-call": CstaMessage(Kind.INVOKE, "AnswerCall", invoke_id=4, args={
        "callToBeAnswered": ConnectionId(CALL, AGENT_DYN)}),
    "clear-connection": CstaMessage(Kind.INVOKE, "ClearConnection", invoke_id=5, args={
        "connectionToBeCleared": ConnectionId(CALL, AGENT_DYN)}),
    "hold-call": CstaMessage(Kind.INVOKE, "HoldCall", invoke_id=6, args={
        "callToBeHeld": ConnectionId(CALL, AGENT_DYN)}),
    "retrieve-call": CstaMessage(Kind.INVOKE, "RetrieveCall", invoke_id=7, args={
        "callToBeRetrieved": ConnectionId(CALL, AGENT_DYN)}),
    "consultation-call": CstaMessage(Kind.INVOKE, "ConsultationCall", invoke_id=8, args={
        "existingCall": ConnectionId(CALL, AGENT_DYN), "consultedDevice": Device.of(OTHER)}),
    "consultation-call-ack": CstaMessage(Kind.RESULT, "ConsultationCall", invoke_id=8, args={
        "initiatedCall": ConnectionId(CONSULT, AGENT_DYN)}),
    "transfer-call": CstaMessage(Kind.INVOKE, "TransferCall", invoke_id=9, args={
        "heldCall": ConnectionId(CALL, AGENT_DYN), "activeCall": ConnectionId(CONSULT, AGENT_DYN)}),
    "conference-call": CstaMessage(Kind.INVOKE, "ConferenceCall", invoke_id=10, args={
        "heldCall": ConnectionId(CALL, AGENT_DYN), "activeCall": ConnectionId(CONSULT, AGENT_DYN)}),
    "single-step-transfer": CstaMessage(Kind.INVOKE, "SingleStepTransferCall", invoke_id=11,
                                        args={"activeCall": ConnectionId(CALL, AGENT_DYN),
                                              "transferredTo": Device.of(OTHER)}),
    "generate-digits": CstaMessage(Kind.INVOKE, "GenerateDigits", invoke_id=12, args={
        "connectionToSendDigits": ConnectionId(CALL, AGENT_DYN), "charactersToSend": "12#"}),
    "set-agent-state": CstaMessage(Kind.INVOKE, "SetAgentState", invoke_id=13, args={
        "device": Device.of(AGENT), "requestedAgentState": "notReady", "agentID": "A1001"}),
    "get-agent-state-ack": CstaMessage(Kind.RESULT, "GetAgentState", invoke_id=14, args={
        "agentStateList": {"agentStateEntry": (
            {"agentID": "A1001", "loggedOnState": "true",
             "agentInfo": {"agentInfoItem": ({"agentState": "agentReady"},)}},)}}),
    "snapshot-device-ack": CstaMessage(Kind.RESULT, "SnapshotDevice", invoke_id=15, args={
        "crossRefIDorSnapshotData": {"snapshotData": {"snapshotDeviceResponseInfo": (
            {"connectionIdentifier": ConnectionId(CALL, AGENT_DYN),
             "localCallState": {"compoundCallState": {
                 "localConnectionState": ("connected", "hold")}}},)}}}),
    "snapshot-call-ack": CstaMessage(Kind.RESULT, "SnapshotCall", invoke_id=16, args={
        "crossRefIDorSnapshotData": {"snapshotData": {"snapshotCallResponseInfo": (
            {"deviceOnCall": Device.of(AGENT), "callIdentifier": ConnectionId(CALL, AGENT_DYN),
             "localConnectionState": "connected"},)}}}),
    "error-invalid-calling-device": CstaMessage(  # ECMA-323's name; ASN.1 says ...DeviceID
        Kind.ERROR, "", invoke_id=3, error=CstaError("operation", "invalidCallingDevice")),
    "error-invalid-device": CstaMessage(Kind.ERROR, "", invoke_id=3,
                                        error=CstaError("operation", "invalidDeviceID")),
    "error-state": CstaMessage(Kind.ERROR, "", invoke_id=4,
                               error=CstaError("stateIncompatibility", "invalidConnectionState")),
    "error-unspecified": CstaMessage(Kind.ERROR, "", invoke_id=5,
                                     error=CstaError("unspecified", "")),
    "service-initiated": CstaMessage(Kind.EVENT, "ServiceInitiatedEvent", invoke_id=100,
                                     cross_ref="0x00000001", args={
        "initiatedConnection": ConnectionId(CALL, AGENT_DYN),
        "initiatingDevice": Device.of(AGENT), "localConnectionInfo": "initiated",
        "cause": "makeCall"}),
    "originated": CstaMessage(Kind.EVENT, "OriginatedEvent", invoke_id=101,
                              cross_ref="0x00000001", args={
        "originatedConnection": ConnectionId(CALL, AGENT_DYN),
        "callingDevice": Device.of(AGENT), "calledDevice": Device.of(CUSTOMER),
        "localConnectionInfo": "connected", "cause": "makeCall"}),
    "delivered": CstaMessage(Kind.EVENT, "DeliveredEvent", invoke_id=102,
                             cross_ref="0x00000001", args={
        "connection": ConnectionId(CALL, AGENT_DYN), "alertingDevice": Device.of(AGENT),
        "callingDevice": Device.of(CUSTOMER), "calledDevice": Device.of(AGENT),
        "lastRedirectionDevice": Device(None, DeviceStatus.NOT_REQUIRED),
        "localConnectionInfo": "alerting", "cause": "newCall", "userData": "case=42"}),
    "established": CstaMessage(Kind.EVENT, "EstablishedEvent", invoke_id=103,
                               cross_ref="0x00000001", args={
        "establishedConnection": ConnectionId(CALL, AGENT_DYN),
        "answeringDevice": Device.of(AGENT), "callingDevice": Device(None, DeviceStatus.RESTRICTED),
        "calledDevice": Device.of(AGENT),
        "lastRedirectionDevice": Device(None, DeviceStatus.NOT_KNOWN),
        "localConnectionInfo": "connected", "cause": "newCall"}),
    "held": CstaMessage(Kind.EVENT, "HeldEvent", invoke_id=104, cross_ref="0x00000001", args={
        "heldConnection": ConnectionId(CALL, AGENT_DYN), "holdingDevice": Device.of(AGENT),
        "localConnectionInfo": "hold", "cause": "newCall"}),
    "retrieved": CstaMessage(Kind.EVENT, "RetrievedEvent", invoke_id=105,
                             cross_ref="0x00000001", args={
        "retrievedConnection": ConnectionId(CALL, AGENT_DYN),
        "retrievingDevice": Device.of(AGENT), "cause": "newCall"}),
    "diverted": CstaMessage(Kind.EVENT, "DivertedEvent", invoke_id=106,
                            cross_ref="0x00000001", args={
        "connection": ConnectionId(CALL, AGENT_DYN), "divertingDevice": Device.of(AGENT),
        "newDestination": Device.of(OTHER), "lastRedirectionDevice": Device.of(AGENT),
        "cause": "redirected"}),
    "queued": CstaMessage(Kind.EVENT, "QueuedEvent", invoke_id=107, cross_ref="0x00000002",
                          args={
        "queuedConnection": ConnectionId(CALL, "0x0a0b0c0d"), "queue": Device.of("3000"),
        "callingDevice": Device.of(CUSTOMER), "calledDevice": Device.of("3000"),
        "lastRedirectionDevice": Device(None, DeviceStatus.NOT_REQUIRED),
        "numberQueued": "1", "cause": "enteringDistribution"}),
    "transferred": CstaMessage(Kind.EVENT, "TransferredEvent", invoke_id=108,
                               cross_ref="0x00000001", args={
        "primaryOldCall": ConnectionId(CALL, AGENT_DYN),
        "secondaryOldCall": ConnectionId(CONSULT, AGENT_DYN),
        "transferringDevice": Device.of(AGENT), "transferredToDevice": Device.of(OTHER),
        "transferredConnections": (
            ConnectionListItem(new_connection=ConnectionId("0x0014", "0x05060708"),
                               old_connection=ConnectionId(CONSULT, "0x05060708"),
                               endpoint=Device.of(OTHER)),
            ConnectionListItem(new_connection=ConnectionId("0x0014", "0x0a0b0c0d"),
                               old_connection=ConnectionId(CALL, "0x0a0b0c0d"),
                               endpoint=Device.of(CUSTOMER))),
        "cause": "transfer"}),
    "conferenced": CstaMessage(Kind.EVENT, "ConferencedEvent", invoke_id=109,
                               cross_ref="0x00000001", args={
        "primaryOldCall": ConnectionId(CALL, AGENT_DYN),
        "secondaryOldCall": ConnectionId(CONSULT, AGENT_DYN),
        "conferencingDevice": Device.of(AGENT), "addedParty": Device.of(OTHER),
        "conferenceConnections": (
            ConnectionListItem(new_connection=ConnectionId(CALL, "0x05060708"),
                               endpoint=Device.of(OTHER)),),
        "cause": "conference"}),
    "connection-cleared": CstaMessage(Kind.EVENT, "ConnectionClearedEvent", invoke_id=110,
                                      cross_ref="0x00000001", args={
        "droppedConnection": ConnectionId(CALL, AGENT_DYN), "releasingDevice": Device.of(AGENT),
        "localConnectionInfo": "null", "cause": "normalClearing"}),
    "call-cleared": CstaMessage(Kind.EVENT, "CallClearedEvent", invoke_id=117,
                                cross_ref="0x00000001", args={
        "clearedCall": ConnectionId(CALL, None), "cause": "normalClearing"}),
    "failed": CstaMessage(Kind.EVENT, "FailedEvent", invoke_id=111, cross_ref="0x00000001",
                          args={
        "failedConnection": ConnectionId(CALL, AGENT_DYN), "failingDevice": Device.of(CUSTOMER),
        "callingDevice": Device.of(AGENT), "calledDevice": Device.of(CUSTOMER),
        "lastRedirectionDevice": Device(None, DeviceStatus.NOT_KNOWN), "cause": "busy"}),
    "agent-logged-on": CstaMessage(Kind.EVENT, "AgentLoggedOnEvent", invoke_id=112,
                                   cross_ref="0x00000001", args={
        "agentDevice": Device.of(AGENT), "agentID": "A1001", "acdGroup": Device.of("3000")}),
    "agent-logged-off": CstaMessage(Kind.EVENT, "AgentLoggedOffEvent", invoke_id=113,
                                    cross_ref="0x00000001", args={
        "agentDevice": Device.of(AGENT), "agentID": "A1001"}),
    "agent-ready": CstaMessage(Kind.EVENT, "AgentReadyEvent", invoke_id=114,
                               cross_ref="0x00000001", args={"agentDevice": Device.of(AGENT)}),
    "agent-not-ready": CstaMessage(Kind.EVENT, "AgentNotReadyEvent", invoke_id=115,
                                   cross_ref="0x00000001", args={
        "agentDevice": Device.of(AGENT), "cause": "forcedPause"}),
    "agent-wac": CstaMessage(Kind.EVENT, "AgentWorkingAfterCallEvent", invoke_id=116,
                             cross_ref="0x00000001", args={
        "agentDevice": Device.of(AGENT), "pendingAgentState": "ready"}),
}

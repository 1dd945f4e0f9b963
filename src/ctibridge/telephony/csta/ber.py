"""ECMA-285 BER codec: CSTA Phase III over ROSE (X.880), with ACSE (X.227) association.

The ASN.1 lives in ``asn1/`` (restated from the ECMA-285 modules, see each file's
header); :mod:`asn1tools` compiles it and does every byte of BER. This module only
maps the decoded ASN.1 values to and from the neutral :class:`CstaMessage`:

* ROSE ``invoke`` with opcode 21 (``cSTAEventReport``) is an event; other invokes
  are service requests (``SystemStatus`` comes from the switch); ``returnResult``
  is a positive acknowledgement named after its opcode; ``returnError`` carries a
  ``UniversalFailure`` (ECMA-285 module 120); ``reject`` is a protocol error.
* ACSE APDUs become session messages: ``Associate`` (AARQ invoke / AARE result or
  error), ``Release`` (RLRQ / RLRE) and ``Abort`` (ABRT, an event).

Values are converted by walking the compiled ASN.1 type, not by field name, so a
``callingDevice`` that is a ``DeviceID`` in MakeCall and a ``CallingDeviceID`` in
DeliveredEvent both become a :class:`Device`. Octet strings that are not printable
(an OmniPCX call identifier is two binary bytes, a dynamic device identifier four)
read as ``0x`` + hex and are written back to the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import asn1tools
from asn1tools.codecs import ber as _ber

from .message import (
    ConnectionId,
    ConnectionListItem,
    CstaDecodeError,
    CstaEncodeError,
    CstaError,
    CstaMessage,
    Device,
    DeviceStatus,
    Kind,
    Value,
)

_ASN1_DIR = Path(__file__).with_name("asn1")
_SPEC = asn1tools.compile_files(
    [str(_ASN1_DIR / n) for n in ("rose.asn", "acse.asn", "csta3.asn")], "ber")

# The CSTA Phase III application context (ECMA-285: { iso(1) identified-organization(3)
# icd-ecma(12) standard(0) csta3(285) application-context-information(200) }).
CSTA3_CONTEXT = "1.3.12.0.285.200"
# The abstract syntax the ACSE user information is written in (same module).
CSTA3_USER_INFO = "1.3.12.0.285.200"
# ECMA-285 CSTAVersion bits we offer: versionFive = ECMA-285 2nd edition.
OFFERED_VERSIONS = ("versionThree", "versionFive")
_VERSION_BITS = ("versionOne", "versionTwo", "versionThree", "versionFour", "versionFive",
                 "versionSix", "versionSeven", "versionEight", "versionNine", "versionTen",
                 "versionEleven", "versionTwelve", "versionThirteen", "versionFourteen",
                 "versionFifteen", "versionSixteen", "versionSeventeen", "versionEighteen",
                 "versionNineteen")

EVENT_REPORT = 21  # cSTAEventReport
UNIVERSAL_FAILURE = 1  # universalFailure ERROR CODE local:1


@dataclass(frozen=True, slots=True)
class Operation:
    name: str  # ECMA-269 service name, as in CstaMessage.name
    code: int  # ECMA-285 OPERATION CODE local:n
    argument: str  # ASN.1 type of the argument
    result: str  # ASN.1 type of the result


OPERATIONS: tuple[Operation, ...] = (
    Operation("AnswerCall", 2, "AnswerCallArgument", "NoDataResult"),
    Operation("ClearConnection", 5, "ClearConnectionArgument", "NoDataResult"),
    Operation("ConferenceCall", 6, "ConferenceCallArgument", "ConferenceCallResult"),
    Operation("ConsultationCall", 7, "ConsultationCallArgument", "ConsultationCallResult"),
    Operation("HoldCall", 9, "HoldCallArgument", "NoDataResult"),
    Operation("MakeCall", 10, "MakeCallArgument", "MakeCallResult"),
    Operation("RetrieveCall", 14, "RetrieveCallArgument", "NoDataResult"),
    Operation("TransferCall", 16, "TransferCallArgument", "TransferCallResult"),
    Operation("SingleStepTransferCall", 50, "SingleStepTransArgument", "SingleStepTransResult"),
    Operation("MonitorStart", 71, "MonitorStartArgument", "MonitorStartResult"),
    Operation("MonitorStop", 73, "MonitorStopArgument", "NoDataResult"),
    Operation("SnapshotDevice", 74, "SnapshotDeviceArgument", "SnapshotDeviceResult"),
    Operation("SnapshotCall", 75, "SnapshotCallArgument", "SnapshotCallResult"),
    Operation("SystemStatus", 211, "SystemStatusArg", "NoDataResult"),
    Operation("GenerateDigits", 232, "GenerateDigitsArgument", "NoDataResult"),
    Operation("GetAgentState", 304, "GetAgentStateArgument", "GetAgentStateResult"),
    Operation("SetAgentState", 312, "SetAgentStateArgument", "SetAgentStateResult"),
)
_OP_BY_NAME = {o.name: o for o in OPERATIONS}
_OP_BY_CODE = {o.code: o for o in OPERATIONS}

# Event name (ECMA-269) -> (EventSpecificInfo branch, event branch, ASN.1 type).
EVENTS: dict[str, tuple[str, str, str]] = {
    "CallClearedEvent": ("callControlEvents", "callCleared", "CallClearedEvent"),
    "ConferencedEvent": ("callControlEvents", "conferenced", "ConferencedEvent"),
    "ConnectionClearedEvent": ("callControlEvents", "connectionCleared",
                               "ConnectionClearedEvent"),
    "DeliveredEvent": ("callControlEvents", "delivered", "DeliveredEvent"),
    "DivertedEvent": ("callControlEvents", "diverted", "DivertedEvent"),
    "EstablishedEvent": ("callControlEvents", "established", "EstablishedEvent"),
    "FailedEvent": ("callControlEvents", "failed", "FailedEvent"),
    "HeldEvent": ("callControlEvents", "held", "HeldEvent"),
    "OriginatedEvent": ("callControlEvents", "originated", "OriginatedEvent"),
    "QueuedEvent": ("callControlEvents", "queued", "QueuedEvent"),
    "RetrievedEvent": ("callControlEvents", "retrieved", "RetrievedEvent"),
    "ServiceInitiatedEvent": ("callControlEvents", "serviceInitiated",
                              "ServiceInitiatedEvent"),
    "TransferredEvent": ("callControlEvents", "transferred", "TransferredEvent"),
    "DigitsGeneratedEvent": ("callAssociatedEvents", "digitsGeneratedEvent",
                             "DigitsGeneratedEvent"),
    "AgentBusyEvent": ("logicalDeviceFeatureEvents", "agentBusy", "AgentBusyEvent"),
    "AgentLoggedOnEvent": ("logicalDeviceFeatureEvents", "agentLoggedOn",
                           "AgentLoggedOnEvent"),
    "AgentLoggedOffEvent": ("logicalDeviceFeatureEvents", "agentLoggedOff",
                            "AgentLoggedOffEvent"),
    "AgentNotReadyEvent": ("logicalDeviceFeatureEvents", "agentNotReady",
                           "AgentNotReadyEvent"),
    "AgentReadyEvent": ("logicalDeviceFeatureEvents", "agentReady", "AgentReadyEvent"),
    "AgentWorkingAfterCallEvent": ("logicalDeviceFeatureEvents", "agentWorkingAfterCall",
                                   "AgentWorkingAfterCallEvent"),
}
_EVENT_BY_BRANCH = {(c, b): name for name, (c, b, _t) in EVENTS.items()}

# ASN.1 component name -> CstaMessage args key where ECMA-323 (XML) names it otherwise,
# so both codecs hand the connector the same keys.
_ALIASES: dict[tuple[str, Kind], dict[str, str]] = {
    ("MonitorStart", Kind.RESULT): {"crossRefIdentifier": "monitorCrossRefID"},
    ("MonitorStop", Kind.INVOKE): {"crossRefIdentifier": "monitorCrossRefID"},
}

# ECMA-285 names a SEQUENCE OF by its element type; ECMA-323 wraps each item in an
# element. The neutral model follows ECMA-323 (as the XML codec does): the list is
# {item element: (items…)}.
_ITEM_ELEMENT = {
    "SnapshotDeviceResponseInfo": "snapshotDeviceResponseInfo",
    "SnapshotCallResponseInfo": "snapshotCallResponseInfo",
    "LocalConnectionState": "localConnectionState",
    "AgentStateEntry": "agentStateEntry",
    "AgentInfo": "agentInfoItem",
}
# Components ECMA-323 spells otherwise than ECMA-285.
_COMPONENT_XML = {"loggedOn": "loggedOnState"}
_COMPONENT_ASN1 = {v: k for k, v in _COMPONENT_XML.items()}
# Error values ECMA-323 spells otherwise than ECMA-285 (ECMA-323 name -> ASN.1 name).
_ERROR_ASN1 = {
    "invalidCallingDevice": "invalidCallingDeviceID",
    "invalidCalledDevice": "invalidCalledDeviceID",
    "privilegeViolationOnSpecifiedDevice": "privilegeViolationSpecifiedDevice",
    "privilegeViolationOnCalledDevice": "privilegeViolationCalledDevice",
    "privilegeViolationOnCallingDevice": "privilegeViolationCallingDevice",
}
_ERROR_XML = {v: k for k, v in _ERROR_ASN1.items()}

# ACSE result values (X.227 Associate-result).
_ASSOCIATE_RESULTS = ("accepted", "rejected-permanent", "rejected-transient")


class BerCodec:
    """:class:`~ctibridge.telephony.csta.message.Codec` for ECMA-285 BER (ROSE + ACSE).

    ACSE APDUs carry no invoke id. So that a link can wait for the AARE or RLRE like
    for any answer, the codec gives an ACSE answer the invoke id of the ACSE request
    it last encoded (one association request at a time, as ACSE allows). Use one
    codec per link.
    """

    name = "ber"

    def __init__(self) -> None:
        self._acse_invoke: int | None = None

    # ------------------------------------------------------------------ decode

    def decode(self, payload: bytes) -> CstaMessage:
        if not payload:
            raise CstaDecodeError("empty BER payload", payload)
        try:
            if payload[0] in (0x60, 0x61, 0x62, 0x63, 0x64):  # [APPLICATION 0..4]: ACSE
                msg = _decode_acse(_SPEC.decode("ACSE-apdu", payload))
                if msg.kind in (Kind.RESULT, Kind.ERROR) and self._acse_invoke is not None:
                    msg = replace(msg, invoke_id=self._acse_invoke)
                    self._acse_invoke = None
                return msg
            return _decode_rose(_SPEC.decode("ROS", payload))
        except CstaDecodeError as exc:
            raise CstaDecodeError(str(exc), payload) from None
        except Exception as exc:  # asn1tools raises several error types; all mean "bad input"
            raise CstaDecodeError(
                f"not an ECMA-285 BER message ({type(exc).__name__}: {exc})"[:300], payload
            ) from None

    # ------------------------------------------------------------------ encode

    def encode(self, msg: CstaMessage) -> bytes:
        try:
            if msg.name in ("Associate", "Release", "Abort"):
                payload: bytes = _SPEC.encode("ACSE-apdu", _encode_acse(msg))
                if msg.kind is Kind.INVOKE:
                    self._acse_invoke = msg.invoke_id
                return payload
            return _SPEC.encode("ROS", _encode_rose(msg))
        except CstaEncodeError:
            raise
        except Exception as exc:
            raise CstaEncodeError(f"cannot encode {msg.kind} {msg.name!r} in BER: {exc}") from exc


# ====================================================================== ROSE


def _invoke_id(v: Any) -> int | None:
    kind, value = v
    return int(value) if kind == "present" else None


def _opcode(v: Any) -> int:
    kind, value = v
    if kind != "local":
        raise CstaDecodeError(f"global operation code {value} is not a CSTA operation")
    return int(value)


def _decode_rose(pdu: Any) -> CstaMessage:
    kind, body = pdu
    invoke_id = _invoke_id(body["invokeId"])
    if kind == "invoke":
        code = _opcode(body["opcode"])
        arg = body.get("argument")
        if code == EVENT_REPORT:
            if arg is None:
                raise CstaDecodeError("event report without argument")
            report = _SPEC.decode("CSTAEventReportArgument", arg)
            category, (branch, event) = report["eventSpecificInfo"]
            name = _EVENT_BY_BRANCH.get((category, branch))
            if name is None:
                raise CstaDecodeError(f"unsupported event {category}/{branch}")
            args, private = _read_args(EVENTS[name][2], event, {})
            return CstaMessage(Kind.EVENT, name, invoke_id=invoke_id,
                               cross_ref=_octets_text(report["crossRefIdentifier"]),
                               args=args, private=private)
        op = _op_for(code)
        if arg is None:
            raise CstaDecodeError(f"{op.name} invoke without argument")
        args, private = _read_args(op.argument, _SPEC.decode(op.argument, arg),
                                   _ALIASES.get((op.name, Kind.INVOKE), {}))
        return CstaMessage(Kind.INVOKE, op.name, invoke_id=invoke_id, args=args,
                           private=private)
    if kind == "returnResult":
        result = body.get("result")
        if result is None:  # X.880: no result value (the operation returns nothing)
            return CstaMessage(Kind.RESULT, "", invoke_id=invoke_id)
        op = _op_for(_opcode(result["opcode"]))
        aliases = _ALIASES.get((op.name, Kind.RESULT), {})
        args, private = _read_args(op.result, _SPEC.decode(op.result, result["result"]),
                                   aliases)
        cross_ref = args.get("monitorCrossRefID")
        return CstaMessage(Kind.RESULT, op.name, invoke_id=invoke_id, args=args,
                           private=private,
                           cross_ref=cross_ref if isinstance(cross_ref, str) else None)
    if kind == "returnError":
        errcode = _opcode(body["errcode"])
        param = body.get("parameter")
        if errcode != UNIVERSAL_FAILURE or param is None:
            error = CstaError("unspecified", f"errorCode{errcode}")
        else:
            category, value = _SPEC.decode("UniversalFailure", param)
            text = "" if value is None else str(value)
            error = CstaError(category, _ERROR_XML.get(text, text))
        return CstaMessage(Kind.ERROR, "", invoke_id=invoke_id, error=error)
    if kind == "reject":
        problem, value = body["problem"]
        return CstaMessage(Kind.ERROR, "", invoke_id=invoke_id,
                           error=CstaError("reject", f"{problem}:{value}"))
    raise CstaDecodeError(f"unknown ROSE PDU {kind}")  # pragma: no cover - CHOICE is closed


def _op_for(code: int) -> Operation:
    op = _OP_BY_CODE.get(code)
    if op is None:
        raise CstaDecodeError(f"unsupported CSTA operation code {code}")
    return op


def _encode_rose(msg: CstaMessage) -> tuple[str, dict[str, Any]]:
    invoke_id = ("present", msg.invoke_id) if msg.invoke_id is not None else ("absent", None)
    if msg.kind is Kind.EVENT:
        if msg.name not in EVENTS:
            raise CstaEncodeError(f"no BER encoding for event {msg.name!r}")
        category, branch, type_name = EVENTS[msg.name]
        event = _write_args(type_name, msg, {})
        report = {"crossRefIdentifier": _text_octets(msg.cross_ref or ""),
                  "eventSpecificInfo": (category, (branch, event))}
        return ("invoke", {"invokeId": invoke_id, "opcode": ("local", EVENT_REPORT),
                           "argument": _SPEC.encode("CSTAEventReportArgument", report)})
    if msg.kind is Kind.ERROR:
        error = msg.error or CstaError("unspecified", "")
        if error.category == "reject":
            problem, _, value = error.value.partition(":")
            return ("reject", {"invokeId": invoke_id, "problem": (problem, int(value or 0))})
        failure = (error.category, None if error.category == "unspecified"
                   else _ERROR_ASN1.get(error.value, error.value))
        return ("returnError", {"invokeId": invoke_id, "errcode": ("local", UNIVERSAL_FAILURE),
                                "parameter": _SPEC.encode("UniversalFailure", failure)})
    op = _OP_BY_NAME.get(msg.name)
    if op is None:
        raise CstaEncodeError(f"no BER encoding for service {msg.name!r}")
    if msg.kind is Kind.INVOKE:
        arg = _write_args(op.argument, msg, _ALIASES.get((op.name, Kind.INVOKE), {}))
        return ("invoke", {"invokeId": invoke_id, "opcode": ("local", op.code),
                           "argument": _SPEC.encode(op.argument, arg)})
    res = _write_args(op.result, msg, _ALIASES.get((op.name, Kind.RESULT), {}))
    return ("returnResult", {"invokeId": invoke_id,
                             "result": {"opcode": ("local", op.code),
                                        "result": _SPEC.encode(op.result, res)}})


# ====================================================================== ACSE


def _decode_acse(apdu: Any) -> CstaMessage:
    kind, body = apdu
    if kind == "aarq":
        versions = _user_versions(body)
        return CstaMessage(Kind.INVOKE, "Associate", args={
            "applicationContext": body["application-context-name"],
            "cSTAVersion": tuple(versions)})
    if kind == "aare":
        result = int(body["result"])
        source, diagnostic = body["result-source-diagnostic"]
        args: dict[str, Value] = {
            "applicationContext": body["application-context-name"],
            "cSTAVersion": tuple(_user_versions(body))}
        if result == 0:
            return CstaMessage(Kind.RESULT, "Associate", args=args)
        why = _ASSOCIATE_RESULTS[result] if 0 <= result < len(_ASSOCIATE_RESULTS) else str(result)
        return CstaMessage(Kind.ERROR, "Associate", args=args,
                           error=CstaError("association", f"{why}:{source}:{diagnostic}"))
    if kind == "rlrq":
        return CstaMessage(Kind.INVOKE, "Release")
    if kind == "rlre":
        return CstaMessage(Kind.RESULT, "Release")
    return CstaMessage(Kind.EVENT, "Abort", args={"abortSource": str(body["abort-source"])})


def _user_versions(body: Mapping[str, Any]) -> list[str]:
    for external in body.get("user-information") or ():
        encoding, value = external["encoding"]
        if encoding != "single-ASN1-type":
            continue
        info = _SPEC.decode("ACSEUserInformationForCSTA", value)
        if info[0] == "newDefinition":
            return _bits(info[1]["cSTAVersion"], _VERSION_BITS)
    return []


def _encode_acse(msg: CstaMessage) -> tuple[str, dict[str, Any]]:
    if msg.name == "Release":
        return ("rlrq" if msg.kind is Kind.INVOKE else "rlre", {"reason": 0})
    if msg.name == "Abort":
        return ("abrt", {"abort-source": int(msg.text("abortSource") or 0)})
    versions = [str(v) for v in msg.items("cSTAVersion")] or list(OFFERED_VERSIONS)
    info = _SPEC.encode("ACSEUserInformationForCSTA", (
        "newDefinition", {"cSTAVersion": _bits_value(versions, _VERSION_BITS)}))
    user = [{"direct-reference": CSTA3_USER_INFO, "encoding": ("single-ASN1-type", info)}]
    context = msg.text("applicationContext") or CSTA3_CONTEXT
    if msg.kind is Kind.INVOKE:
        return ("aarq", {"protocol-version": (b"\x80", 1),
                         "application-context-name": context, "user-information": user})
    result, source, diagnostic = 0, "acse-service-user", 0
    if msg.kind is Kind.ERROR and msg.error is not None:
        why, _, rest = msg.error.value.partition(":")
        source, _, diag = rest.partition(":")
        result = _ASSOCIATE_RESULTS.index(why) if why in _ASSOCIATE_RESULTS else 1
        source = source or "acse-service-user"
        diagnostic = int(diag or 1)
    return ("aare", {"protocol-version": (b"\x80", 1), "application-context-name": context,
                     "result": result, "result-source-diagnostic": (source, diagnostic),
                     "user-information": user})


def _bits(value: tuple[bytes, int], names: tuple[str, ...]) -> list[str]:
    data, length = value
    out = []
    for i in range(min(length, len(data) * 8)):
        if data[i // 8] & (0x80 >> (i % 8)):
            out.append(names[i] if i < len(names) else f"bit{i}")
    return out


def _bits_value(chosen: list[str], names: tuple[str, ...]) -> tuple[bytes, int]:
    idx = []
    for name in chosen:
        if name not in names:
            raise CstaEncodeError(f"unknown bit {name!r}")
        idx.append(names.index(name))
    length = max(idx) + 1 if idx else 0
    data = bytearray((length + 7) // 8)
    for i in idx:
        data[i // 8] |= 0x80 >> (i % 8)
    return bytes(data), length


# ====================================================================== values

# Octet strings: printable ASCII reads as text; anything else (or text that would be
# mistaken for hex) as "0x" + hex, which encodes back to the very same bytes.


def _octets_text(b: bytes) -> str:
    if b and all(0x20 <= c < 0x7F for c in b) and not b.startswith(b"0x"):
        return b.decode("ascii")
    return "0x" + b.hex()


def _text_octets(s: str) -> bytes:
    if s.startswith("0x"):
        try:
            return bytes.fromhex(s[2:])
        except ValueError:
            pass
    try:
        return s.encode("ascii")
    except UnicodeEncodeError:
        raise CstaEncodeError(f"{s!r} is not ASCII") from None


def _unwrap(t: Any) -> Any:
    while isinstance(t, _ber.ExplicitTag):
        t = t.inner
    return t


def _members(t: Any) -> list[Any]:
    if isinstance(t, _ber.Choice):
        return list(t.members)
    members = list(t.root_members)
    for addition in t.additions or ():
        members.extend(addition if isinstance(addition, list) else [addition])
    return members


def _names(t: Any) -> set[str]:
    return {m.name for m in _members(t)} if isinstance(t, _ber.Choice | _ber.Sequence) else set()


_KINDS: dict[int, str] = {}  # compiled types live as long as the module: cache by id


def _kind(t: Any) -> str:
    """Which neutral shape an ASN.1 type maps to."""
    kind = _KINDS.get(id(t))
    if kind is None:
        kind = _KINDS[id(t)] = _shape(t)
    return kind


def _shape(t: Any) -> str:
    if isinstance(t, _ber.Choice):
        names = _names(t)
        if names == {"callID", "deviceID", "both"}:
            return "connection"
        if "notKnown" in names and ({"deviceIdentifier", "numberdialed"} & names):
            return "extdevice"
        if names == {"deviceObject", "callObject"}:
            return "cstaobject"
        return "choice"
    if isinstance(t, _ber.Sequence):
        ms = _members(t)
        if ms and ms[0].name == "deviceIdentifier" and "dialingNumber" in _names(_unwrap(ms[0])):
            return "device"
        return "sequence"
    if isinstance(t, _ber.SequenceOf):
        el = _unwrap(t.element_type)
        first = _members(el)[0].name if isinstance(el, _ber.Sequence) and _members(el) else ""
        if first == "newConnection":
            return "connectionlist"
        return "list"
    return "leaf"


def _read_args(type_name: str, value: Any, aliases: Mapping[str, str]
               ) -> tuple[dict[str, Value], dict[str, str]]:
    if not isinstance(value, Mapping):  # NoDataResult: CHOICE { extensions, noData }
        branch, inner = value
        return {}, _private(inner) if branch == "extensions" else {}
    members = {m.name: m for m in _members(_unwrap(_SPEC.types[type_name].type))}
    args: dict[str, Value] = {}
    private: dict[str, str] = {}
    for key, v in value.items():
        if key == "extensions":
            private = _private(v)
        else:
            args[aliases.get(key, key)] = _to_neutral(members[key], v)
    return args, private


def _private(extensions: Mapping[str, Any]) -> dict[str, str]:
    """CSTACommonArguments' private data, kept as opaque strings (read by the dialect)."""
    out: dict[str, str] = {}
    for i, (branch, data) in enumerate(extensions.get("privateData") or ()):
        if branch == "string":
            out[f"privateData/{i}"] = _octets_text(data)
    return out


def _device_text(v: Mapping[str, Any]) -> str:
    branch, ident = v["deviceIdentifier"]
    if isinstance(ident, tuple):  # explicitPublic / explicitPrivate: (type of number, digits)
        ident = ident[1]
    if isinstance(ident, bytes):  # other (OtherPlan)
        return _octets_text(ident)
    return str(ident)


def _connection(v: Any) -> ConnectionId:
    branch, inner = v
    call: bytes | None = None
    device: Any = None
    if branch == "callID":
        call = inner
    elif branch == "deviceID":
        device = inner
    else:
        call, device = inner.get("callID"), inner.get("deviceID")
    dev_text = None
    if device is not None:
        kind, d = device
        dev_text = _octets_text(d) if kind == "dynamicID" else _device_text(d)
        if kind == "dynamicID" and not dev_text.startswith("0x"):
            dev_text = "0x" + d.hex()  # dynamic ids are always binary, whatever the bytes
    return ConnectionId(None if call is None else _octets_text(call), dev_text)


def _ext_device(v: Any) -> Device:
    branch, inner = v
    if branch in ("deviceIdentifier", "numberdialed", "deviceID", "deviceObject"):
        return Device.of(_device_text(inner))
    try:
        return Device(None, DeviceStatus(branch))
    except ValueError:
        return Device(None, DeviceStatus.NOT_KNOWN)


def _to_neutral(t: Any, v: Any) -> Value:
    t = _unwrap(t)
    kind = _kind(t)
    if kind == "connection":
        return _connection(v)
    if kind == "device":
        return Device.of(_device_text(v))
    if kind == "extdevice":
        return _ext_device(v)
    if kind == "cstaobject":
        branch, inner = v
        return _connection(inner) if branch == "callObject" else Device.of(_device_text(inner))
    if kind == "connectionlist":
        items = []
        for entry in v:
            endpoint = entry.get("endpoint")
            items.append(ConnectionListItem(
                new_connection=_connection(entry["newConnection"])
                if "newConnection" in entry else None,
                old_connection=_connection(entry["oldConnection"])
                if "oldConnection" in entry else None,
                endpoint=_ext_device(endpoint) if endpoint is not None else None))
        return tuple(items)
    if kind == "choice":
        branch, inner = v
        return {branch: _to_neutral(t.name_to_member[branch], inner)}
    if kind == "sequence":
        ms = {m.name: m for m in _members(t)}
        return {_COMPONENT_XML.get(k, k): _to_neutral(ms[k], x)
                for k, x in v.items() if k != "extensions"}
    if kind == "list":
        values = tuple(_to_neutral(t.element_type, x) for x in v)
        wrapper = _ITEM_ELEMENT.get(t.element_type.type_name)
        return {wrapper: values} if wrapper else values
    if isinstance(t, _ber.Boolean):
        return "true" if v else "false"
    if isinstance(t, _ber.Integer):
        return str(v)
    if isinstance(t, _ber.Null):
        return ""
    if isinstance(t, _ber.OctetString):
        return _octets_text(v)
    if isinstance(t, _ber.BitString):
        data, length = v
        return "".join("1" if data[i // 8] & (0x80 >> (i % 8)) else "0"
                       for i in range(min(length, len(data) * 8)))
    if isinstance(t, _ber.Any):
        return "0x" + bytes(v).hex()
    return str(v)  # enumerations, strings, OIDs


# ---------------------------------------------------------------------- encode values


def _write_args(type_name: str, msg: CstaMessage, aliases: Mapping[str, str]) -> Any:
    t = _unwrap(_SPEC.types[type_name].type)
    if isinstance(t, _ber.Choice):  # NoDataResult
        return ("extensions", _extensions(msg.private)) if msg.private else ("noData", None)
    members = {m.name: m for m in _members(t)}
    back = {v: k for k, v in aliases.items()}
    out: dict[str, Any] = {}
    for key, v in msg.args.items():
        name = back.get(key, key)
        member = members.get(name)
        if member is None:
            raise CstaEncodeError(f"{type_name} has no component {key!r}")
        out[name] = _from_neutral(member, v, f"{type_name}.{name}")
    if msg.private and "extensions" in members:
        out["extensions"] = _extensions(msg.private)
    if "crossRefIdentifier" in members and "crossRefIdentifier" not in out and msg.cross_ref:
        out["crossRefIdentifier"] = _text_octets(msg.cross_ref)
    return _fill_mandatory(t, out)


def _fill_mandatory(t: Any, out: dict[str, Any]) -> dict[str, Any]:
    """ECMA-285 makes some device components mandatory that ECMA-323 lets a switch
    leave out (lastRedirectionDevice…): an absent one is sent as notKnown, which is
    what ECMA-269 says a switch reports for a device it cannot name."""
    for m in _members(t):
        if m.name in out or m.optional or m.has_default():
            continue
        if _kind(_unwrap(m)) == "extdevice":
            out[m.name] = ("notKnown", None)
    return out


def _extensions(private: Mapping[str, str]) -> dict[str, Any]:
    return {"privateData": [("string", _text_octets(v)) for _k, v in sorted(private.items())]}


def _device_value(d: Device | str, where: str) -> dict[str, Any]:
    ident = d.id if isinstance(d, Device) else d
    if not ident:
        raise CstaEncodeError(f"{where}: a DeviceID needs an identifier")
    return {"deviceIdentifier": ("dialingNumber", ident)}


def _connection_value(c: Any, where: str) -> tuple[str, Any]:
    if not isinstance(c, ConnectionId):
        raise CstaEncodeError(f"{where}: expected a connection, got {type(c).__name__}")
    device: tuple[str, Any] | None = None
    if c.device_id is not None:
        raw = c.device_id
        if raw.startswith("0x"):
            device = ("dynamicID", _text_octets(raw))
        else:
            device = ("staticID", _device_value(raw, where))
    if c.call_id is not None and device is not None:
        return ("both", {"callID": _text_octets(c.call_id), "deviceID": device})
    if c.call_id is not None:
        return ("callID", _text_octets(c.call_id))
    if device is not None:
        return ("deviceID", device)
    raise CstaEncodeError(f"{where}: a connection needs a call or a device")


def _ext_device_value(t: Any, d: Any, where: str) -> tuple[str, Any]:
    if isinstance(d, str):
        d = Device.of(d)
    if not isinstance(d, Device):
        raise CstaEncodeError(f"{where}: expected a device, got {type(d).__name__}")
    names = _names(t)
    if d.id is not None:
        branch = next(n for n in ("deviceIdentifier", "numberdialed", "deviceID") if n in names)
        return (branch, _device_value(d, where))
    status = str(d.status)
    return (status if status in names else "notKnown", None)


def _from_neutral(t: Any, v: Any, where: str) -> Any:
    t = _unwrap(t)
    kind = _kind(t)
    if kind == "connection":
        return _connection_value(v, where)
    if kind == "device":
        if not isinstance(v, Device | str):
            raise CstaEncodeError(f"{where}: expected a device, got {type(v).__name__}")
        return _device_value(v, where)
    if kind == "extdevice":
        return _ext_device_value(t, v, where)
    if kind == "cstaobject":
        if isinstance(v, ConnectionId):
            return ("callObject", _connection_value(v, where))
        return ("deviceObject", _device_value(v, where))
    if kind == "connectionlist":
        out = []
        for item in v:
            if not isinstance(item, ConnectionListItem):
                raise CstaEncodeError(f"{where}: expected connection list items")
            entry: dict[str, Any] = {}
            if item.new_connection is not None:
                entry["newConnection"] = _connection_value(item.new_connection, where)
            if item.old_connection is not None:
                entry["oldConnection"] = _connection_value(item.old_connection, where)
            if item.endpoint is not None:
                endpoint_t = _unwrap(next(m for m in _members(_unwrap(t.element_type))
                                          if m.name == "endpoint"))
                entry["endpoint"] = _ext_device_value(endpoint_t, item.endpoint, where)
            out.append(entry)
        return out
    if kind == "choice":
        if not isinstance(v, Mapping) or len(v) != 1:
            raise CstaEncodeError(f"{where}: expected one CHOICE branch")
        ((branch, inner),) = v.items()
        member = t.name_to_member.get(branch)
        if member is None:
            raise CstaEncodeError(f"{where}: no branch {branch!r}")
        return (branch, _from_neutral(member, inner, f"{where}.{branch}"))
    if kind == "sequence":
        if not isinstance(v, Mapping):
            raise CstaEncodeError(f"{where}: expected a structure")
        ms = {m.name: m for m in _members(t)}
        v = {_COMPONENT_ASN1.get(k, k): x for k, x in v.items()}
        unknown = set(v) - set(ms)
        if unknown:
            raise CstaEncodeError(f"{where}: no component {sorted(unknown)[0]!r}")
        return _fill_mandatory(t, {k: _from_neutral(ms[k], x, f"{where}.{k}")
                                   for k, x in v.items()})
    if kind == "list":
        wrapper = _ITEM_ELEMENT.get(t.element_type.type_name)
        if wrapper and v == "":  # ECMA-323's empty element: no items
            return []
        if wrapper and isinstance(v, Mapping):
            v = v.get(wrapper, ())
        items = v if isinstance(v, tuple | list) else (v,)
        return [_from_neutral(t.element_type, x, where) for x in items]
    if isinstance(t, _ber.OctetString):
        if isinstance(v, Mapping) and isinstance(v.get("string"), str):
            v = v["string"]  # ECMA-323 writes octet strings as <string>…</string>
        if not isinstance(v, str):
            raise CstaEncodeError(f"{where}: expected text, got {type(v).__name__}")
        return _text_octets(v)
    if not isinstance(v, str):
        raise CstaEncodeError(f"{where}: expected text, got {type(v).__name__}")
    if isinstance(t, _ber.Boolean):
        return v == "true"
    if isinstance(t, _ber.Integer):
        try:
            return int(v)
        except ValueError:
            raise CstaEncodeError(f"{where}: {v!r} is not an integer") from None
    if isinstance(t, _ber.Null):
        return None
    if isinstance(t, _ber.BitString):
        bits = [i for i, c in enumerate(v) if c == "1"]
        data = bytearray((len(v) + 7) // 8)
        for i in bits:
            data[i // 8] |= 0x80 >> (i % 8)
        return (bytes(data), len(v))
    if isinstance(t, _ber.Enumerated) and v not in t.data_to_value:
        raise CstaEncodeError(f"{where}: {v!r} is not a value of this enumeration")
    return v

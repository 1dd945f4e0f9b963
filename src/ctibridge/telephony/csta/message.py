"""The neutral CSTA message every codec produces and consumes.

One model for both encodings of ECMA-269: ECMA-323 (XML) and ECMA-285 (ASN.1
BER). Codecs translate bytes to and from :class:`CstaMessage`; the connector
and the test peer never see XML elements or BER tags.

Names follow ECMA-269 / ECMA-323 exactly (they are the same in both encodings):

* ``name`` is the service or event name: ``"MakeCall"``, ``"DeliveredEvent"``,
  ``"SystemStatus"``, ``"StartApplicationSession"`` (ECMA-354, used by DMCC and
  OpenScape). A result carries the *service* name (``kind=result``,
  ``name="MakeCall"``; XML spells it ``MakeCallResponse``). An error carries the
  service name when the codec can tell (ROSE returnError does not, then ``""``).
  ECMA-323's own misspelling ``TransferedEvent`` is normalized to
  ``TransferredEvent``.
* ``args`` keys are the ECMA-323 element names (``callingDevice``,
  ``establishedConnection``, ``primaryOldCall``, ``cause``…), which are also the
  ASN.1 component names of ECMA-285.

Values are typed so both codecs agree on them (see :data:`DEVICE_FIELDS`,
:data:`CONNECTION_FIELDS`, :data:`CONNECTION_LIST_FIELDS`): a device is a
:class:`Device`, a connection is a :class:`ConnectionId` (CSTA names a
connection by callID + deviceID), a connection list is a tuple of
:class:`ConnectionListItem`; every other leaf is a ``str`` (enumerations as the
ECMA-323 enumeration string: ``"newCall"``, ``"connected"``, ``"true"``), and
nested structures are ``Mapping[str, Value]`` or ``tuple[Value, ...]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, TypeAlias, runtime_checkable


class Kind(StrEnum):
    INVOKE = "invoke"  # a service request (either direction: SystemStatus comes from the switch)
    RESULT = "result"  # positive acknowledgement
    ERROR = "error"  # negative acknowledgement (CSTAErrorCode / ROSE returnError)
    EVENT = "event"  # an event report on a monitor (CSTAEventReport in BER)


class DeviceStatus(StrEnum):
    """Why a device field carries no identifier (ECMA-269 ExtendedDeviceID)."""

    KNOWN = "known"
    NOT_KNOWN = "notKnown"
    RESTRICTED = "restricted"
    NOT_REQUIRED = "notRequired"
    NOT_SPECIFIED = "notSpecified"


@dataclass(frozen=True, slots=True)
class Device:
    """A device as the switch names it (the dialect's own form, unparsed).

    ``id`` is the ``deviceIdentifier`` (ECMA-323 ``<deviceIdentifier>`` or a
    bare DeviceID); ``None`` when ``status`` says it is not known/restricted.
    """

    id: str | None
    status: DeviceStatus = DeviceStatus.KNOWN

    @classmethod
    def of(cls, device_id: str) -> Device:
        return cls(device_id, DeviceStatus.KNOWN)


@dataclass(frozen=True, slots=True)
class ConnectionId:
    """A CSTA connection: one device's participation in one call (ECMA-269 call model)."""

    call_id: str | None
    device_id: str | None


@dataclass(frozen=True, slots=True)
class ConnectionListItem:
    """One element of ``connectionList``, ``transferredConnections``, ``conferenceConnections``."""

    new_connection: ConnectionId | None = None
    old_connection: ConnectionId | None = None
    endpoint: Device | None = None


Value: TypeAlias = (
    "str | Device | ConnectionId | ConnectionListItem | tuple[Value, ...] | Mapping[str, Value]"
)

# Argument names whose value is always a Device (ECMA-323 element names).
DEVICE_FIELDS: frozenset[str] = frozenset({
    "callingDevice", "calledDirectoryNumber", "calledDevice", "alertingDevice",
    "answeringDevice", "holdingDevice", "retrievingDevice", "releasingDevice",
    "transferringDevice", "transferredToDevice", "conferencingDevice", "addedParty",
    "divertingDevice", "newDestination", "lastRedirectionDevice", "originatingDevice",
    "networkCallingDevice", "networkCalledDevice", "associatedCallingDevice",
    "associatedCalledDevice", "queue", "failingDevice", "initiatingDevice",
    "consultedDevice", "deviceToBeDiverted", "agentDevice", "deviceToMonitor",
    "monitorObject", "snapshotObject", "device", "deviceID", "deviceToSnapshot",
    "establishedConnectionDevice", "clearingDevice", "subjectDevice", "redirectionDevice",
    "deviceOnCall", "heldDevice", "activeDevice", "transferredTo",
})

# Argument names whose value is always a ConnectionId.
CONNECTION_FIELDS: frozenset[str] = frozenset({
    "callToBeAnswered", "callToBeCleared", "connectionToBeCleared", "callToBeHeld",
    "callToBeRetrieved", "callToDiverted", "callToBeDiverted", "existingCall",
    "heldCall", "activeCall", "callToTransfer", "callToBeTransferred",
    "connection", "establishedConnection", "droppedConnection", "queuedConnection",
    "failedConnection", "originatedConnection", "initiatedConnection",
    "connectionToBeDiverted", "primaryOldCall", "secondaryOldCall", "newCall",
    "callingDeviceConnection", "callToBeSnapshot", "snapshotCall", "initiatedCall",
    "callingConnection", "heldConnection", "retrievedConnection", "divertedConnection",
    "clearedConnection", "callLinkageData", "callCharacteristicsConnection",
    "newConnection", "oldConnection", "consultedCall", "callBeingGenerated",
    "connectionToReceiveDigits", "connectionIdentifier", "callIdentifier",
    "connectionToSendDigits", "transferredCall", "conferenceCall", "clearedCall",
})

# Argument names whose value is a tuple of ConnectionListItem.
CONNECTION_LIST_FIELDS: frozenset[str] = frozenset({
    "transferredConnections", "conferenceConnections", "connectionList",
})


@dataclass(frozen=True, slots=True)
class CstaError:
    """A negative acknowledgement's reason (ECMA-269 "Error values").

    ``category`` is the CHOICE branch (``operation``, ``security``,
    ``stateIncompatibility``, ``systemResourceAvailability``,
    ``subscribedResourceAvailability``, ``performanceManagement``,
    ``privateData``, ``unspecified``); ``value`` the enumeration string
    (``invalidDeviceID``, ``invalidCallID``, ``invalidConnectionID``, ``generic``…).
    """

    category: str
    value: str


@dataclass(frozen=True, slots=True)
class CstaMessage:
    kind: Kind
    name: str
    invoke_id: int | None = None
    # monitorCrossRefID of an event (in BER: CSTAEventReportArgument.crossRefIdentifier).
    cross_ref: str | None = None
    args: Mapping[str, Value] = field(default_factory=dict)
    # Vendor private data (ECMA-323 <extensions><privateData>…, BER CSTAPrivateData),
    # flattened to "element/child" -> text; read only by the vendor's dialect module.
    private: Mapping[str, str] = field(default_factory=dict)
    error: CstaError | None = None  # set iff kind is ERROR

    # Typed readers: a wrong-typed or absent field reads as None, never raises.
    def device(self, key: str) -> Device | None:
        v = self.args.get(key)
        return v if isinstance(v, Device) else None

    def device_id(self, key: str) -> str | None:
        d = self.device(key)
        return d.id if d is not None else None

    def connection(self, key: str) -> ConnectionId | None:
        v = self.args.get(key)
        return v if isinstance(v, ConnectionId) else None

    def connections(self, key: str) -> tuple[ConnectionListItem, ...]:
        v = self.args.get(key)
        if isinstance(v, tuple):
            return tuple(i for i in v if isinstance(i, ConnectionListItem))
        return ()

    def text(self, key: str) -> str | None:
        v = self.args.get(key)
        return v if isinstance(v, str) else None

    def mapping(self, key: str) -> Mapping[str, Value]:
        v = self.args.get(key)
        return v if isinstance(v, Mapping) else {}

    def items(self, key: str) -> tuple[Value, ...]:
        v = self.args.get(key)
        if isinstance(v, tuple):
            return v
        return (v,) if v is not None else ()


class CstaDecodeError(ValueError):
    """The bytes are not a CSTA message this codec understands.

    Raised by :meth:`Codec.decode` and :meth:`Framing.feed` for every malformed
    input (and only this: no other exception may escape a decoder). The
    message names what was wrong; ``payload`` keeps the offending bytes so
    nothing is lost (the connector logs them and carries on).
    """

    def __init__(self, message: str, payload: bytes = b"") -> None:
        super().__init__(message)
        self.payload = payload


class CstaEncodeError(ValueError):
    """The message cannot be expressed in this encoding (unknown service, bad value)."""


@runtime_checkable
class Codec(Protocol):
    """One CSTA encoding (ECMA-323 XML, ECMA-285 BER)."""

    name: str  # "xml" / "ber"

    def encode(self, msg: CstaMessage) -> bytes:
        """The payload (without framing). XML carries no invoke id; BER puts it in ROSE."""
        ...

    def decode(self, payload: bytes) -> CstaMessage:
        """Parse one payload; raises :class:`CstaDecodeError` only."""
        ...


@dataclass(frozen=True, slots=True)
class Frame:
    """One payload cut out of the byte stream, with the header's invoke id if it has one."""

    payload: bytes
    invoke_id: int | None = None


@runtime_checkable
class Framing(Protocol):
    """How payloads are delimited on TCP (DMCC 8-byte header, OpenScape 4+4, OXE length).

    Stateful per connection: create one per socket.
    """

    name: str

    def feed(self, data: bytes) -> list[Frame]:
        """Bytes as read from the socket -> complete frames; keeps the rest buffered.

        Raises :class:`CstaDecodeError` when the header is impossible (the
        stream cannot be resynchronized; the caller drops the link).
        """
        ...

    def frame(self, payload: bytes, invoke_id: int | None = None) -> bytes:
        """Bytes to write for one payload."""
        ...

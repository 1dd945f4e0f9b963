"""What differs between CSTA switches, behind one interface; one module per vendor.

A :class:`Dialect` says how to reach the switch (codec, framing, session
set-up, keep-alive), how its device ids look (an agent's extension <-> the
switch's device id), how agent states are asked and reported (private data
differs per vendor) and what it can do (capabilities).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from ...model.agent import AgentStatus
from ..base import ALL_CAPABILITIES, Capability
from .link import CstaLink
from .message import Codec, CstaMessage, Framing, Kind, Value

# ECMA-269 AgentState values (GetAgentState) and agent events.
AGENT_STATE_STATUS: dict[str, AgentStatus] = {
    "agentNull": AgentStatus.LOGGED_OUT,
    "agentNotReady": AgentStatus.NOT_READY,
    "agentReady": AgentStatus.READY,
    "agentBusy": AgentStatus.BUSY,
    "agentWorkingAfterCall": AgentStatus.WRAP_UP,
}
AGENT_EVENT_STATUS: dict[str, AgentStatus] = {
    "AgentLoggedOnEvent": AgentStatus.NOT_READY,
    "AgentLoggedOffEvent": AgentStatus.LOGGED_OUT,
    "AgentReadyEvent": AgentStatus.READY,
    "AgentNotReadyEvent": AgentStatus.NOT_READY,
    "AgentWorkingAfterCallEvent": AgentStatus.WRAP_UP,
    "AgentBusyEvent": AgentStatus.BUSY,
}
STATUS_REQUEST: dict[AgentStatus, str] = {
    AgentStatus.LOGGED_OUT: "loggedOff",
    AgentStatus.READY: "ready",
    AgentStatus.NOT_READY: "notReady",
    AgentStatus.WRAP_UP: "workingAfterCall",
    AgentStatus.BUSY: "notReady",  # a switch has no settable "busy": the call makes it so
}
# Everything but ctibridge routing and mute (CSTA has no mute of a connection in the
# services we use; ECMA-269 "SetMicrophoneMute" is a physical-device feature few expose).
CSTA_CAPABILITIES = ALL_CAPABILITIES - {Capability.ROUTE, Capability.MUTE}


def first(value: Value | None) -> Value | None:
    """A repeated element decodes as a tuple, a single one as itself: take the first."""
    if isinstance(value, tuple):
        return value[0] if value else None
    return value


def as_list(value: Value | None) -> tuple[Value, ...]:
    if value is None or value == "":
        return ()
    return value if isinstance(value, tuple) else (value,)


def private_text(msg: CstaMessage, name: str) -> str | None:
    """A vendor's private element by local name, wherever its private data put it
    (``…/name`` or ``…/name/deviceIdentifier``); then the arguments' top level."""
    for key, text in msg.private.items():
        parts = key.split("/")
        if parts[-1] == name or (len(parts) > 1 and parts[-2] == name
                                 and parts[-1] == "deviceIdentifier"):
            return text or None
    v = msg.args.get(name)
    if isinstance(v, str):
        return v or None
    return msg.device_id(name)


def dig(value: Value | None, *path: str) -> Value | None:
    for key in path:
        value = first(value)
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


class Dialect(ABC):
    name = "csta"
    capabilities: frozenset[Capability] = CSTA_CAPABILITIES
    keepalive_interval = 30.0

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.options = options

    # transport ----------------------------------------------------------
    @abstractmethod
    def codec(self) -> Codec:
        """The encoding this vendor's link speaks (ECMA-323 XML or ECMA-285 BER)."""

    @abstractmethod
    def framing(self) -> Framing:
        """How messages are cut on this vendor's TCP link."""

    async def open(self, link: CstaLink) -> None:
        """Session set-up after TCP connect (nothing by default)."""
        return None

    async def keepalive(self, link: CstaLink) -> None:
        """One heartbeat: ECMA-269 SystemStatus (the switch answers or the link is dead)."""
        await link.request(CstaMessage(kind=Kind.INVOKE, name="SystemStatus",
                                       args={"systemStatus": "normal"}))

    async def close(self, link: CstaLink) -> None:
        """Polite goodbye before the socket closes (nothing by default)."""
        return None

    # device ids ---------------------------------------------------------
    async def device_id(self, link: CstaLink, extension: str) -> str:
        """The switch's device id for an agent's extension."""
        return extension

    def extension(self, device_id: str | None) -> str | None:
        """An extension or a number from a device id in an event."""
        return device_id

    async def dial_id(self, link: CstaLink, number: str) -> str:
        """What MakeCall's calledDirectoryNumber carries for a number typed by an agent."""
        return number

    # agent states -------------------------------------------------------
    def set_agent_state_args(self, device_id: str, status: AgentStatus, reason: str | None,
                             agent_id: str | None) -> dict[str, Value]:
        args: dict[str, Value] = {}
        from .message import Device

        args["device"] = Device.of(device_id)
        args["requestedAgentState"] = STATUS_REQUEST[status]
        if agent_id:
            args["agentID"] = agent_id
        return args

    def reason_private(self, status: AgentStatus, reason: str | None) -> dict[str, str]:
        """Private data carrying a not-ready reason with SetAgentState (none by default)."""
        return {}

    def agent_status(self, result: CstaMessage) -> tuple[AgentStatus, str | None]:
        """GetAgentState's answer -> our status (ECMA-323 agentStateList)."""
        entry = dig(result.args.get("agentStateList"), "agentStateEntry")
        if dig(entry, "loggedOnState") == "false":
            return AgentStatus.LOGGED_OUT, None
        state = dig(entry, "agentInfo", "agentInfoItem", "agentState")
        if state is None:
            state = dig(result.args.get("agentStateList"), "agentState") \
                or result.text("agentState")
        return AGENT_STATE_STATUS.get(str(state), AgentStatus.NOT_READY), None

    def agent_event(self, msg: CstaMessage) -> tuple[AgentStatus, str | None] | None:
        status = AGENT_EVENT_STATUS.get(msg.name)
        if status is None:
            return None
        return status, msg.text("agentStateReason") or msg.text("reason")

    # attached data --------------------------------------------------------
    def attached(self, msg: CstaMessage) -> dict[str, str]:
        """User data carried with a call (UUI, correlator data), as strings."""
        out: dict[str, str] = {}
        corr = dig(msg.args.get("correlatorData"), "string")
        if isinstance(corr, str) and corr:
            out["correlator"] = re.sub(r"\s+", "", corr)
        return out

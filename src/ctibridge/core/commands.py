"""Commands from agents, supervisors and integrations: one entry point for WS and REST.

Each op checks, in order: the arguments, who may do it, that the agent's state
allows it, that the platform can do it; only then does it call the connector,
with a deadline. An error leaves every state as it was.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

from .. import securitylog
from ..model.agent import Agent, AgentStatus, transition
from ..model.call import Call, ConnectionState
from ..model.errors import (
    BadRequest,
    CapabilityMissing,
    CtiError,
    Forbidden,
    IllegalTransition,
    NotFound,
    PlatformError,
)
from ..model.party import Direction, Party
from ..telephony.base import (
    MONITOR_MODES,
    OP_CAPABILITY,
    Capability,
    SupervisableConnector,
    TelephonyConnector,
    require,
)
from .hub import WRAPPED_HERE, Hub
from .permissions import Principal, acting_agent, check_call, check_op
from .presence import PlatformDirective

COMMAND_TIMEOUT = 10.0
_DIGITS = re.compile(r"^[0-9*#A-D]{1,32}$")
_NUMBER = re.compile(r"^\+?[0-9A-Za-z*#().\s-]{1,40}$")
# Line breaks and other control characters have no place in an id, a code or a
# value handed to a platform (an AMI header ends at CR/LF) or a CRM.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ATTACHED_KEY = re.compile(r"^[A-Za-z0-9_]{1,64}$")
MAX_ATTACHED = 32
MAX_ATTACHED_VALUE = 1000

Handler = Callable[["Commands", Principal, dict[str, Any]], Awaitable[dict[str, Any]]]

OPS: dict[str, Handler] = {}


def op(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        OPS[name] = fn
        return fn

    return register


def _str(args: dict[str, Any], key: str, *, required: bool = True, limit: int = 200) -> str | None:
    value = args.get(key)
    if value is None:
        if required:
            raise BadRequest(f"the field {key!r} is required", code="bad-message", field=key)
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise BadRequest(
            f"the field {key!r} must be a non-empty string of at most {limit} characters",
            code="bad-message", field=key,
        )
    if _CONTROL.search(value):
        raise BadRequest(f"the field {key!r} must not hold line breaks or other control "
                         "characters", code="bad-message", field=key)
    return value.strip()


def _attached(args: dict[str, Any]) -> dict[str, str]:
    """Data a command attaches to a call: it travels to the platform and the CRM."""
    attached = args.get("attached") or {}
    if not isinstance(attached, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in attached.items()):
        raise BadRequest("attached must map strings to strings", code="bad-message")
    if len(attached) > MAX_ATTACHED:
        raise BadRequest(f"attached may hold at most {MAX_ATTACHED} entries",
                         code="bad-message", field="attached")
    for k, v in attached.items():
        if not _ATTACHED_KEY.match(k):
            raise BadRequest(f"attached key {k[:64]!r} must be 1 to 64 letters, digits or _",
                             code="bad-message", field="attached")
        if len(v) > MAX_ATTACHED_VALUE or _CONTROL.search(v):
            raise BadRequest(f"attached value {k!r} must be at most {MAX_ATTACHED_VALUE} "
                             "characters without line breaks or control characters",
                             code="bad-message", field="attached")
    return attached


# Called after every command, done (error None) or refused: the supervision audit.
AuditHook = Callable[[Principal, str, dict[str, Any], CtiError | None], Awaitable[None]]


class Commands:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.audit: AuditHook | None = None

    @staticmethod
    def ops() -> list[str]:
        return sorted(OPS)

    async def execute(self, principal: Principal, name: str,
                      args: dict[str, Any]) -> dict[str, Any]:
        handler = OPS.get(name)
        if handler is None:
            raise BadRequest(
                f"unknown op {name!r}; known ops: {', '.join(sorted(OPS))}", code="unknown-op"
            )
        wrapped: set[str] = set()
        token = WRAPPED_HERE.set(wrapped)
        try:
            check_op(principal, name, args.get("agent_id"))
            result = await handler(self, principal, args)
        except CtiError as exc:
            if isinstance(exc, Forbidden):
                securitylog.warning("command.forbidden", user=principal.username, op=name,
                                    agent_id=str(args.get("agent_id"))[:64]
                                    if args.get("agent_id") is not None else None,
                                    code=exc.code)
                exc.security_logged = True  # type: ignore[attr-defined]
            if self.audit is not None:
                await self.audit(principal, name, args, exc)
            raise
        finally:
            WRAPPED_HERE.reset(token)
        if self.audit is not None:
            await self.audit(principal, name, args, None)
        if wrapped:
            # A wrap-up this command ended is durable before the agent hears "ok". Only
            # this command's: waiting for other agents' (queued all the time in a busy
            # center) made every command wait for the database (a login burst timed out).
            await self.hub.persist_wraps()
        return result

    def capabilities(self, agent: Agent, platform: str | None = None) -> dict[str, bool]:
        """What the agent's phone on ``platform`` (default: their primary one) can do."""
        conn = self.hub.connectors.get(platform or agent.platform)
        caps = conn.capabilities if conn else frozenset()
        out = {name: True for name in OPS}
        for name, cap in OP_CAPABILITY.items():
            out[name] = cap in caps
        return out

    def capabilities_by_platform(self, agent: Agent) -> dict[str, dict[str, bool]]:
        """The same for every telephony platform the agent has a phone on: a call's
        buttons follow the platform the call is on."""
        return {p: self.capabilities(agent, p) for p in (agent.platform, *agent.devices,
                                                         *self.hub.connectors)
                if p in self.hub.connectors}

    # ----------------------------------------------------------- helpers

    def _agent(self, principal: Principal, args: dict[str, Any]) -> Agent:
        agent_id = _str(args, "agent_id", required=False, limit=64)
        return self.hub.require_agent(acting_agent(principal, agent_id))

    def _my_call(self, principal: Principal, args: dict[str, Any], key: str = "call_id"
                 ) -> tuple[Agent, Call, TelephonyConnector, str]:
        agent = self._agent(principal, args)
        call_id = _str(args, key, limit=64)
        assert call_id is not None
        call = self.hub.calls.require(call_id)
        check_call(principal, call, agent.agent_id)
        platform, ref = self.hub.calls.ref_of(call.call_id)
        return agent, call, self.hub.connectors[platform], ref

    def _connector(self, agent: Agent, op_name: str, platform: str | None = None
                   ) -> TelephonyConnector:
        platform = platform or agent.platform
        conn = self.hub.connector_for(agent, platform)
        cap = OP_CAPABILITY.get(op_name)
        if cap is not None:
            require(conn, cap)
        info = self.hub.platforms.get(platform)
        if info is not None and not info.up and self.hub.started:
            raise PlatformError(
                f"the telephony platform {platform!r} is not connected: {info.detail}",
                code="platform-down",
            )
        return conn

    def _call_connector(self, agent: Agent, call: Call, op_name: str
                        ) -> tuple[TelephonyConnector, str, str]:
        """The connector of the platform the call lives on, the agent's device there, and
        that platform's name (an agent may be on several platforms)."""
        platform, _ = self.hub.calls.ref_of(call.call_id)
        conn = self._connector(agent, op_name, platform)
        device = agent.device_on(platform)
        assert device is not None  # connector_for checked it
        return conn, device, platform

    async def _platform(self, coro: Awaitable[Any], what: str) -> Any:
        try:
            return await asyncio.wait_for(coro, COMMAND_TIMEOUT)
        except TimeoutError:
            raise PlatformError(
                f"the platform did not answer {what} within {COMMAND_TIMEOUT:.0f} s",
                code="platform-timeout",
            ) from None
        except CtiError:
            raise
        except Exception as exc:  # a connector bug must still come back as an error frame
            raise PlatformError(f"{what} failed: {exc}", code="platform-error") from exc

    def _target(self, agent: Agent, args: dict[str, Any], platform: str) -> str:
        target = _str(args, "target", limit=40)
        assert target is not None
        other = self.hub.agents.get(target)
        if other is not None:
            device = other.device_on(platform)
            if device is None:
                raise BadRequest(
                    f"agent {target} is not on platform {platform}, where this call is "
                    f"(they are on {', '.join(sorted(other.devices))})",
                    code="bad-target",
                )
            return device
        if not _NUMBER.match(target):
            raise BadRequest(f"{target!r} is neither an agent nor a phone number",
                             code="bad-target")
        return target

    # ---------------------------------------------------------- agent ops

    async def _state_change(self, principal: Principal, args: dict[str, Any],
                            status: AgentStatus, reason: str | None) -> dict[str, Any]:
        agent = self._agent(principal, args)
        hub = self.hub
        by_other = principal.agent_id != agent.agent_id
        if agent.state.status == AgentStatus.BUSY and status in (
                AgentStatus.READY, AgentStatus.NOT_READY):
            # On a call: takes effect when the call ends.
            agent.after_call = transition(agent.state, status, hub.clock.now(), reason=reason)
            agent.after_call_by = principal.username if by_other else None
            hub.tell_platform(agent)
            hub.publish_agent(agent)
            return {"agent": agent.to_dict(), "pending": True}
        if agent.state.status == AgentStatus.WRAP_UP:
            if by_other and any(it.disposition is None
                                for it in hub.interactions.awaiting_wrap_up(agent.agent_id)):
                # Someone else's change never cuts short a wrap-up whose outcome is not
                # saved yet (the form would be lost): it takes effect when it ends.
                agent.after_call = transition(agent.state, status, hub.clock.now(),
                                              reason=reason)
                agent.after_call_by = principal.username
                hub.publish_agent(agent)
                return {"agent": agent.to_dict(), "pending": True}
            if not by_other and status == AgentStatus.READY and agent.after_call_by \
                    and agent.after_call is not None:
                # "Save and go ready" ends the wrap-up where the supervisor asked.
                status, reason = agent.after_call.status, agent.after_call.reason
        cur = agent.state
        if cur.status == status and cur.reason == (
                reason if status == AgentStatus.NOT_READY else None):
            return {"agent": agent.to_dict()}  # already there: nothing to do
        # Check first: an illegal move must not reach the platform.
        transition(agent.state, status, hub.clock.now(), reason=reason)
        conn = self._connector(agent, "agent.state")
        if Capability.AGENT_STATE in conn.capabilities:
            # Recorded first, so the platform's echo is known as ours when it comes.
            hub.presence_sync.plan(agent.agent_id,
                                   [PlatformDirective(agent.platform, status, reason)])
            try:
                await self._platform(conn.set_agent_state(agent.extension, status, reason),
                                     f"setting {agent.agent_id} {status}")
            except CtiError:
                hub.presence_sync.forget(agent.agent_id, agent.platform)
                raise
        hub.set_state(agent, status, reason=reason)
        hub.tell_platform(agent)  # the agent's other platforms, if any
        return {"agent": agent.to_dict()}

    def _reason(self, args: dict[str, Any]) -> str:
        reason = _str(args, "reason", limit=40)
        assert reason is not None
        if self.hub.settings.reason_label(reason) is None:
            known = ", ".join(r.code for r in self.hub.settings.reason_codes)
            raise BadRequest(f"unknown reason code {reason!r}; configured: {known}",
                             code="unknown-reason")
        return reason

    @op("agent.login")
    async def _login(self, p: Principal, args: dict[str, Any]) -> dict[str, Any]:
        agent = self._agent(p, args)
        reason = "login"
        if args.get("reason") is not None:
            reason = self._reason(args)
        station = _str(args, "station", limit=32, required=False)
        if agent.state.status != AgentStatus.LOGGED_OUT:
            if station and station != agent.extension:
                raise IllegalTransition(
                    f"you are logged in at station {agent.extension}; log out first to "
                    f"change station", code="station-change-needs-logout")
            return {"agent": agent.to_dict()}  # already in: idempotent
        if station or self.hub.stations.configured:
            if agent.calls:
                raise IllegalTransition("hang up your calls before changing station",
                                        code="agent-busy")
            # A supervisor logging an agent in does not move them to the supervisor's site.
            address = p.client_ip if p.agent_id == agent.agent_id else None
            place = self.hub.stations.resolve(agent, station, address)
            if (place.platform, place.device) != (agent.platform, agent.extension):
                undo = self.hub.place_agent(agent, place.platform, place.device)
                try:
                    return await self._state_change(p, args, AgentStatus.NOT_READY, reason)
                except CtiError:
                    undo()  # the station's system refused the log-in: back where they were
                    raise
        return await self._state_change(p, args, AgentStatus.NOT_READY, reason)

    @op("agent.logout")
    async def _logout(self, p: Principal, args: dict[str, Any]) -> dict[str, Any]:
        agent = self._agent(p, args)
        if agent.state.status == AgentStatus.LOGGED_OUT:
            return {"agent": agent.to_dict()}
        omni = self.hub.omnichannel
        active = [i for i in omni.digital_of(agent.agent_id) if i.state == "active"] \
            if omni is not None else []
        if active:
            # Like a call: a conversation in progress must be closed (or closed by a
            # supervisor) first, or the customer would be left with nobody.
            raise IllegalTransition(
                f"close your {len(active)} conversation(s) in progress before logging out",
                code="agent-busy", interactions=[i.interaction_id for i in active])
        return await self._state_change(p, args, AgentStatus.LOGGED_OUT, None)

    @op("agent.ready")
    async def _ready(self, p: Principal, args: dict[str, Any]) -> dict[str, Any]:
        return await self._state_change(p, args, AgentStatus.READY, None)

    @op("agent.not_ready")
    async def _not_ready(self, p: Principal, args: dict[str, Any]) -> dict[str, Any]:
        return await self._state_change(p, args, AgentStatus.NOT_READY, self._reason(args))

    @op("interaction.wrap_up")
    async def _wrap_up(self, p: Principal, args: dict[str, Any]) -> dict[str, Any]:
        agent = self._agent(p, args)
        iid = _str(args, "interaction_id", limit=64)
        assert iid is not None
        it = self.hub.interactions.get(iid)
        if it is None or it.agent_id != agent.agent_id:
            raise NotFound(f"interaction {iid} is not one of {agent.agent_id}'s",
                           code="no-such-interaction")
        disposition = _str(args, "disposition", limit=40)
        codes = [d.code for d in self.hub.settings.dispositions]
        if disposition not in codes:
            raise BadRequest(f"unknown disposition {disposition!r}; configured: "
                             f"{', '.join(codes)}", code="unknown-disposition")
        notes = args.get("notes")
        if notes is not None and (not isinstance(notes, str) or len(notes) > 4000):
            raise BadRequest("notes must be text of at most 4000 characters", code="bad-message")
        it.disposition = disposition
        it.notes = notes or None
        it.draft = None  # saved: nothing left unsaved
        self.hub.persist_interaction(it)
        self.hub.publish_interaction(it)
        return {"interaction": it.to_dict()}

    @op("interaction.draft")
    async def _draft(self, p: Principal, args: dict[str, Any]) -> dict[str, Any]:
        """Keep what the agent typed in the wrap-up form, unsaved (see Interaction.draft)."""
        agent = self._agent(p, args)
        iid = _str(args, "interaction_id", limit=64)
        assert iid is not None
        it = self.hub.interactions.get(iid)
        if it is None or it.agent_id != agent.agent_id or it.wrapped_at is not None:
            raise NotFound(f"interaction {iid} is not one of {agent.agent_id}'s awaiting "
                           "wrap-up", code="no-such-interaction")
        disposition = args.get("disposition") or ""
        codes = [d.code for d in self.hub.settings.dispositions]
        if disposition and disposition not in codes:
            raise BadRequest(f"unknown disposition {str(disposition)[:40]!r}; configured: "
                             f"{', '.join(codes)}", code="unknown-disposition")
        notes = args.get("notes") or ""
        if not isinstance(notes, str) or len(notes) > 4000:
            raise BadRequest("notes must be text of at most 4000 characters", code="bad-message")
        it.draft = {"disposition": disposition, "notes": notes} \
            if disposition or notes.strip() else None
        self.hub.persist_interaction(it)
        await self.hub.persist_soon()  # on disk before the ack when the store answers
        return {"interaction_id": iid, "draft": it.draft}

    # ------------------------------------------------------- digital work ops

    def _omni(self) -> Any:
        if self.hub.omnichannel is None:
            raise BadRequest("digital work is not running on this hub", code="digital-off")
        return self.hub.omnichannel

    def _work_args(self, p: Principal, args: dict[str, Any]) -> tuple[Agent, str]:
        iid = _str(args, "interaction_id", limit=64)
        assert iid is not None
        return self._agent(p, args), iid

    @op("interaction.accept")
    async def _accept_work(self, p: Principal, args: dict[str, Any]) -> dict[str, Any]:
        agent, iid = self._work_args(p, args)
        it = await self._omni().accept(agent, iid)
        return {"interaction": it.to_dict()}

    @op("interaction.decline")
    async def _decline_work(self, p: Principal, args: dict[str, Any]) -> dict[str, Any]:
        agent, iid = self._work_args(p, args)
        reason = _str(args, "reason", required=False, limit=200)
        it = await self._omni().decline(agent, iid, reason)
        return {"interaction": it.to_dict()}

    @op("interaction.close")
    async def _close_work(self, p: Principal, args: dict[str, Any]) -> dict[str, Any]:
        omni = self._omni()
        iid = _str(args, "interaction_id", limit=64)
        assert iid is not None
        if p.is_supervisor and args.get("agent_id") is None:
            # A supervisor may close anyone's: act as the agent who holds it.
            holder = omni.require(iid).agent_id
            if holder is not None:
                args = {**args, "agent_id": holder}
        agent = self._agent(p, args)
        disposition = _str(args, "disposition", required=False, limit=40)
        codes = [d.code for d in self.hub.settings.dispositions]
        if disposition is not None and disposition not in codes:
            raise BadRequest(f"unknown disposition {disposition!r}; configured: "
                             f"{', '.join(codes)}", code="unknown-disposition")
        notes = args.get("notes")
        if notes is not None and (not isinstance(notes, str) or len(notes) > 4000):
            raise BadRequest("notes must be text of at most 4000 characters", code="bad-message")
        it = await omni.close(agent, iid, disposition, notes or None)
        return {"interaction": it.to_dict()}

    # ----------------------------------------------------------- call ops

    @op("call.dial")
    async def _dial(self, p: Principal, args: dict[str, Any]) -> dict[str, Any]:
        number = _str(args, "number", limit=40)
        assert number is not None
        if not _NUMBER.match(number):
            raise BadRequest(f"{number!r} is not a phone number", code="bad-number")
        agent = self._agent(p, args)
        if agent.state.status == AgentStatus.LOGGED_OUT:
            raise BadRequest(f"{agent.agent_id} must log in before dialling",
                             code="agent-not-logged-in")
        attached = _attached(args)
        pops = self.hub.screenpops
        record_id = _str(args, "record_id", required=False)
        if record_id is not None:  # dialled from a CRM record: pops it, logged against it
            attached = {**attached, "crm_record_id": record_id}
        # An agent with a phone on several platforms may say which one dials.
        platform = _str(args, "platform", required=False, limit=64) or agent.platform
        if pops is not None and self.hub.agent_at(platform, number) is None:
            number = pops.normalize(number)  # the CRM mapping's region, E.164
        conn = self._connector(agent, "call.dial", platform)
        device = agent.device_on(platform)
        assert device is not None  # connector_for checked it
        ref = await self._platform(conn.make_call(device, number, attached=attached),
                                   f"dialling {number}")
        internal = self.hub.agent_at(platform, number) is not None
        call, _ = self.hub.calls.open(
            platform, ref, at=self.hub.clock.now(), customer=Party(number=number),
            direction=Direction.INTERNAL if internal else Direction.OUTBOUND, attached=attached)
        return {"call_id": call.call_id}

    async def _simple(self, p: Principal, args: dict[str, Any], op_name: str,
                      action: Callable[[TelephonyConnector, str, str], Awaitable[Any]],
                      what: str) -> dict[str, Any]:
        agent, call, _, ref = self._my_call(p, args)
        conn, device, _ = self._call_connector(agent, call, op_name)
        await self._platform(action(conn, ref, device), f"{what} {call.call_id}")
        return {"call_id": call.call_id}

    @op("call.answer")
    async def _answer(self, p: Principal, args: dict[str, Any]) -> dict[str, Any]:
        return await self._simple(p, args, "call.answer", lambda c, r, d: c.answer(r, d),
                                  "answering")

    @op("call.hangup")
    async def _hangup(self, p: Principal, args: dict[str, Any]) -> dict[str, Any]:
        return await self._simple(p, args, "call.hangup", lambda c, r, d: c.hangup(r, d),
                                  "hanging up")

    @op("call.hold")
    async def _hold(self, p: Principal, args: dict[str, Any]) -> dict[str, Any]:
        return await self._simple(p, args, "call.hold", lambda c, r, d: c.hold(r, d), "holding")

    @op("call.retrieve")
    async def _retrieve(self, p: Principal, args: dict[str, Any]) -> dict[str, Any]:
        return await self._simple(p, args, "call.retrieve", lambda c, r, d: c.retrieve(r, d),
                                  "retrieving")

    @op("call.mute")
    async def _mute(self, p: Principal, args: dict[str, Any]) -> dict[str, Any]:
        return await self._simple(p, args, "call.mute", lambda c, r, d: c.mute(r, d, True),
                                  "muting")

    @op("call.unmute")
    async def _unmute(self, p: Principal, args: dict[str, Any]) -> dict[str, Any]:
        return await self._simple(p, args, "call.unmute", lambda c, r, d: c.mute(r, d, False),
                                  "unmuting")

    @op("call.dtmf")
    async def _dtmf(self, p: Principal, args: dict[str, Any]) -> dict[str, Any]:
        digits = _str(args, "digits", limit=32)
        assert digits is not None
        if not _DIGITS.match(digits):
            raise BadRequest(f"{digits!r} are not DTMF digits (0-9 * # A-D)", code="bad-digits")
        return await self._simple(p, args, "call.dtmf",
                                  lambda c, r, d: c.dtmf(r, d, digits), "sending DTMF on")

    @op("call.blind_transfer")
    async def _blind(self, p: Principal, args: dict[str, Any]) -> dict[str, Any]:
        agent, call, _, ref = self._my_call(p, args)
        conn, device, platform = self._call_connector(agent, call, "call.blind_transfer")
        target = self._target(agent, args, platform)
        await self._platform(conn.blind_transfer(ref, device, target),
                             f"transferring {call.call_id}")
        return {"call_id": call.call_id}

    @op("call.consult")
    async def _consult(self, p: Principal, args: dict[str, Any]) -> dict[str, Any]:
        agent, call, _, ref = self._my_call(p, args)
        conn, device, platform = self._call_connector(agent, call, "call.consult")
        target = self._target(agent, args, platform)
        consult_ref = await self._platform(conn.consult(ref, device, target),
                                           f"consulting {target}")
        internal = self.hub.agent_at(platform, target) is not None
        consult, _ = self.hub.calls.open(
            platform, consult_ref, at=self.hub.clock.now(), customer=Party(number=target),
            direction=Direction.INTERNAL if internal else Direction.OUTBOUND,
            consult_of=call.call_id)
        return {"call_id": consult.call_id}

    def _consult_pair(self, p: Principal, args: dict[str, Any]
                      ) -> tuple[Agent, Call, str, str]:
        agent, call, _, ref = self._my_call(p, args)
        _, consult, _, consult_ref = self._my_call(p, args, "consult_call_id")
        if consult.consult_of not in (None, call.call_id) or consult is call:
            raise BadRequest(f"call {consult.call_id} is not a consultation of {call.call_id}",
                             code="bad-message")
        return agent, call, ref, consult_ref

    @op("call.complete_transfer")
    async def _complete(self, p: Principal, args: dict[str, Any]) -> dict[str, Any]:
        agent, call, ref, consult_ref = self._consult_pair(p, args)
        conn, device, _ = self._call_connector(agent, call, "call.complete_transfer")
        await self._platform(conn.complete_transfer(ref, consult_ref, device),
                             f"completing the transfer of {call.call_id}")
        return {"call_id": call.call_id}

    @op("call.cancel_consult")
    async def _cancel_consult(self, p: Principal, args: dict[str, Any]) -> dict[str, Any]:
        agent, call, ref, consult_ref = self._consult_pair(p, args)
        conn, device, _ = self._call_connector(agent, call, "call.cancel_consult")
        await self._platform(conn.cancel_consult(ref, consult_ref, device),
                             f"going back to the caller of {call.call_id}")
        return {"call_id": call.call_id}

    @op("call.conference")
    async def _conference(self, p: Principal, args: dict[str, Any]) -> dict[str, Any]:
        agent, call, ref, consult_ref = self._consult_pair(p, args)
        conn, device, _ = self._call_connector(agent, call, "call.conference")
        await self._platform(conn.conference(ref, consult_ref, device),
                             f"conferencing {call.call_id}")
        return {"call_id": call.call_id}

    # ------------------------------------------------------ supervision ops

    def _monitored(self, p: Principal, args: dict[str, Any]
                   ) -> tuple[Call, Agent, str, str, SupervisableConnector, str]:
        """The call, the agent on it, its platform and ref, the connector and the
        supervisor's own phone on that platform."""
        call_id = _str(args, "call_id", limit=64)
        assert call_id is not None
        call = self.hub.calls.require(call_id)
        platform, ref = self.hub.calls.ref_of(call.call_id)
        agent_id = _str(args, "agent_id", required=False, limit=64)
        talking = [c.agent_id for c in call.live_connections() if c.agent_id and c.state in (
            ConnectionState.CONNECTED, ConnectionState.HELD)]
        if agent_id is None:
            if not talking:
                raise BadRequest(f"no agent is talking on call {call_id}", code="not-on-call")
            agent_id = talking[0]
        elif agent_id not in talking:
            raise BadRequest(f"agent {agent_id} is not talking on call {call_id}",
                             code="not-on-call", call_id=call_id)
        agent = self.hub.require_agent(agent_id)
        conn = self._connector(agent, "call.monitor", platform)
        device = self.hub.settings.supervisor_devices.get(p.username, {}).get(platform)
        if device is None:
            raise BadRequest(f"user {p.username} has no phone on {platform!r} to listen from "
                             "(supervisor_devices in the configuration)",
                             code="no-supervisor-device", platform=platform)
        if not isinstance(conn, SupervisableConnector):
            raise CapabilityMissing(f"the platform {platform!r} cannot listen to calls",
                                    capability=Capability.LISTEN.value, platform=platform)
        return call, agent, platform, ref, conn, device

    @op("call.monitor")
    async def _monitor(self, p: Principal, args: dict[str, Any]) -> dict[str, Any]:
        """A supervisor listens to, whispers to or barges into an agent's call."""
        mode = _str(args, "mode", limit=16)
        if mode not in MONITOR_MODES:
            raise BadRequest(f"mode must be one of {', '.join(MONITOR_MODES)}, not {mode!r}",
                             code="bad-mode")
        call, agent, platform, ref, conn, device = self._monitored(p, args)
        require(conn, MONITOR_MODES[mode])
        self.hub.monitor_by[(platform, device)] = p.username
        await self._platform(conn.monitor(ref, agent.device_on(platform) or agent.extension,
                                          device, mode), f"{mode} on {call.call_id}")
        securitylog.event("supervisor.monitor", actor=p.username, agent_id=agent.agent_id,
                          call_id=call.call_id, mode=mode, platform=platform, device=device)
        return {"call_id": call.call_id, "agent_id": agent.agent_id, "mode": mode,
                "device": device}

    @op("call.monitor_stop")
    async def _monitor_stop(self, p: Principal, args: dict[str, Any]) -> dict[str, Any]:
        call_id = _str(args, "call_id", limit=64)
        assert call_id is not None
        call = self.hub.calls.require(call_id)
        platform, ref = self.hub.calls.ref_of(call.call_id)
        device = self.hub.settings.supervisor_devices.get(p.username, {}).get(platform)
        if device is None or device not in call.monitors:
            raise NotFound(f"user {p.username} is not on call {call_id}", code="not-monitoring")
        await self._platform(self.hub.connectors[platform].hangup(ref, device),
                             f"leaving {call.call_id}")
        securitylog.event("supervisor.monitor_stop", actor=p.username, call_id=call.call_id,
                          platform=platform, device=device)
        return {"call_id": call.call_id}

    def supervision_capabilities(self, p: Principal) -> dict[str, dict[str, Any]]:
        """Per platform: the monitoring modes it can do and the supervisor's phone there
        (the supervisor page shows a control only where both exist)."""
        mine = self.hub.settings.supervisor_devices.get(p.username, {})
        return {name: {"modes": [m for m, cap in MONITOR_MODES.items()
                                 if cap in conn.capabilities],
                       "device": mine.get(name)}
                for name, conn in self.hub.connectors.items()}

    # ------------------------------------------------------------ CRM ops

    def _pops(self) -> Any:
        if self.hub.screenpops is None:
            raise BadRequest("no CRM is configured (crm section)", code="crm-off")
        return self.hub.screenpops

    @op("crm.select")
    async def _crm_select(self, p: Principal, args: dict[str, Any]) -> dict[str, Any]:
        agent = self._agent(p, args)
        call_id = _str(args, "call_id", limit=64)
        record_id = _str(args, "record_id")
        assert call_id is not None and record_id is not None
        return {"screenpop": await self._pops().select(call_id, agent.agent_id, record_id)}

    @op("crm.refresh")
    async def _crm_refresh(self, p: Principal, args: dict[str, Any]) -> dict[str, Any]:
        agent = self._agent(p, args)
        call_id = _str(args, "call_id", limit=64)
        assert call_id is not None
        return {"screenpop": await self._pops().refresh(call_id, agent.agent_id)}

"""Screen pop: who is calling, looked up in the CRM, shown to the agent.

One lookup per call, started as early as possible (while the call waits in
queue when ``crm.prefetch`` is on) and cached for the call's life, so the
agent offered the call, the agent it is transferred to and a conference
member all get the same answer at once. The hub never awaits the CRM: the
lookup runs in a task, and the pop is published when it is done, or, past
``pop_timeout_seconds``, as "unavailable" first and for real when (if) the
answer comes.

The record that pops (one match, or the agent's choice among several) is put
on the agent's interaction as ``crm_record``: the call log is written
against it. A caller the platform gave no name gets the CRM's.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog

from ..config import CrmSettings
from ..crm.base import CrmConnector, LookupContext, LookupResult, Match
from ..model.call import Call
from ..model.errors import BadRequest, NotFound
from ..model.party import Party
from ..redact import text as redact_text

if TYPE_CHECKING:
    from .hub import Hub

log = structlog.get_logger("ctibridge.screenpop")

# The CRM gets this long, at most, for one lookup; the pop says "unavailable" earlier.
LOOKUP_LIMIT_SECONDS = 30.0
# Calls remembered at most (the oldest are forgotten first): bounded memory even
# if a platform never tells us that some call ended.
MAX_CALLS = 5000


@dataclass
class _CallPops:
    call_id: str
    task: asyncio.Task[LookupResult] | None = None
    selected: Match | None = None  # the agent's choice (or the one match)
    extra: list[Match] = field(default_factory=list)  # records created during the call
    pops: dict[str, dict[str, Any]] = field(default_factory=dict)  # agent → last pop sent
    waiters: set[asyncio.Task[None]] = field(default_factory=set)
    displayed: set[tuple[str, str]] = field(default_factory=set)  # (agent, record) shown


class ScreenPops:
    def __init__(self, hub: Hub, crm: CrmConnector, settings: CrmSettings,
                 metrics: Any | None = None) -> None:
        self.hub = hub
        self.crm = crm
        self.settings = settings
        self.metrics = metrics
        self._calls: OrderedDict[str, _CallPops] = OrderedDict()
        # Agents' CRM user ids (screen_pop.display), read once: a pop must not scan the team.
        self._crm_users = {a.id: a.crm_user_id for a in hub.settings.agents if a.crm_user_id}
        # The last lookup's outcome, for /readyz: when, whether the CRM answered, why not.
        self.last_lookup: dict[str, Any] | None = None

    # ------------------------------------------------------------ hub hooks

    def prefetch(self, call: Call) -> None:
        """The call is queued: start looking the caller up now."""
        if self.settings.prefetch:
            self._lookup(self._entry(call))

    def pop(self, call: Call, agent_id: str, *, again: bool = True) -> None:
        """Send ``agent_id`` the pop for ``call``: now if known, else when known."""
        entry = self._entry(call)
        if not again and agent_id in entry.pops:
            return
        task = self._lookup(entry)
        if task.done():
            self._publish(entry, agent_id, task.result())
            return
        # Reserve the agent's place so the snapshot knows a pop is coming.
        entry.pops.setdefault(agent_id, {})
        waiter = asyncio.create_task(self._pop_when_done(entry, agent_id, task),
                                     name=f"screenpop-{call.call_id}-{agent_id}")
        entry.waiters.add(waiter)
        waiter.add_done_callback(entry.waiters.discard)

    def forget_if_done(self, call_id: str | None) -> None:
        """Drop a call's pops once it has ended and every agent on it wrapped up."""
        if call_id is None:
            return
        entry = self._calls.get(call_id)
        if entry is None:
            return
        call = self.hub.calls.get(call_id)
        if call is not None and not call.ended:
            return
        if any(self.hub.interactions.find(call_id, a) is not None for a in entry.pops):
            return
        self._drop(call_id)

    # ------------------------------------------------------------ views

    def pops_for(self, agent_id: str) -> list[dict[str, Any]]:
        """The agent's current pops (for the WebSocket snapshot), oldest first."""
        out = []
        for entry in self._calls.values():
            data = entry.pops.get(agent_id)
            if data and self.hub.interactions.find(entry.call_id, agent_id) is not None:
                out.append(data)
        return out

    def pop_of(self, call_id: str, agent_id: str) -> dict[str, Any] | None:
        entry = self._calls.get(call_id)
        return entry.pops.get(agent_id) if entry else None

    # ------------------------------------------------------------ agent ops

    async def select(self, call_id: str, agent_id: str, record_id: str) -> dict[str, Any]:
        """The agent picks the record to log against (one of the matches, or one
        they have just created, which the CRM must confirm)."""
        entry = self._require(call_id, agent_id)
        result = await self._result(entry)
        match = next((m for m in (*result.matches, *entry.extra) if m.record_id == record_id),
                     None)
        if match is None:
            match = await self._confirm(entry, record_id)
            entry.extra.append(match)
        entry.selected = match
        self._apply(entry, match)
        for agent in list(entry.pops):
            self._publish(entry, agent, result)
        return entry.pops[agent_id]

    async def refresh(self, call_id: str, agent_id: str) -> dict[str, Any]:
        """Ask the CRM again (the agent created the contact meanwhile)."""
        entry = self._require(call_id, agent_id)
        if entry.task is not None and not entry.task.done():
            entry.task.cancel()
        entry.task = None
        entry.selected = None
        result = await self._result(entry)
        for agent in list(entry.pops):
            self._publish(entry, agent, result)
        return entry.pops[agent_id]

    def normalize(self, number: str) -> str:
        """A number as the CRM's mapping normalizes it (its default region)."""
        normalize = getattr(self.crm, "normalize", None)
        if normalize is None:
            return number
        try:
            return str(normalize(number))
        except Exception as exc:
            raise BadRequest(f"{number!r} is not a phone number the CRM mapping can read "
                             f"({exc})", code="bad-number") from None

    async def stop(self) -> None:
        for call_id in list(self._calls):
            self._drop(call_id)

    # ------------------------------------------------------------ internals

    def _entry(self, call: Call) -> _CallPops:
        entry = self._calls.get(call.call_id)
        if entry is None:
            entry = self._calls[call.call_id] = _CallPops(call.call_id)
            while len(self._calls) > MAX_CALLS:
                self._drop(next(iter(self._calls)))
        return entry

    def _require(self, call_id: str, agent_id: str) -> _CallPops:
        entry = self._calls.get(call_id)
        if entry is None or agent_id not in entry.pops:
            raise NotFound(f"{agent_id} has no screen pop for call {call_id}",
                           code="no-such-pop", call_id=call_id)
        return entry

    def _drop(self, call_id: str) -> None:
        entry = self._calls.pop(call_id, None)
        if entry is None:
            return
        for t in [*entry.waiters, *([entry.task] if entry.task else [])]:
            t.cancel()

    def _context(self, call: Call | None, agent_id: str | None = None) -> LookupContext:
        if call is None:
            return LookupContext(agent_id=agent_id)
        return LookupContext(attached=dict(call.attached), direction=str(call.direction),
                             queue=call.queue, agent_id=agent_id)

    def _lookup(self, entry: _CallPops) -> asyncio.Task[LookupResult]:
        task = entry.task
        # An "unavailable" answer is not kept: the next pop asks again.
        if task is not None and not (task.done() and not task.cancelled()
                                     and task.result().unavailable):
            return task
        call = self.hub.calls.get(entry.call_id)
        party = call.customer if call else Party()
        task = asyncio.create_task(self._ask(party, self._context(call)),
                                   name=f"crm-lookup-{entry.call_id}")
        entry.task = task
        return task

    async def _ask(self, party: Party, context: LookupContext) -> LookupResult:
        try:
            result = await asyncio.wait_for(self.crm.lookup(party, context),
                                            LOOKUP_LIMIT_SECONDS)
        except TimeoutError:
            error = f"the CRM lookup did not answer within {LOOKUP_LIMIT_SECONDS:g} s"
        except Exception as exc:  # the contract says lookup never raises; be safe anyway
            error = f"the CRM lookup failed: {exc}"
        else:
            self._note(not result.unavailable, result.error)
            return result
        log.error("screenpop.lookup_failed", number=party.number, error=error)
        self._note(False, error)
        return LookupResult(unavailable=True, error=error)

    def _note(self, ok: bool, error: str | None) -> None:
        self.last_lookup = {"at": self.hub.clock.now().isoformat(), "ok": ok,
                            "error": None if ok else error}

    async def _result(self, entry: _CallPops) -> LookupResult:
        return await asyncio.shield(self._lookup(entry))

    async def _pop_when_done(self, entry: _CallPops, agent_id: str,
                             task: asyncio.Task[LookupResult]) -> None:
        timeout = self.settings.pop_timeout_seconds
        timer = asyncio.create_task(self.hub.clock.sleep(timeout))
        try:
            await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
        if not task.done():
            self._publish(entry, agent_id, LookupResult(
                unavailable=True, error=f"the CRM did not answer within {timeout:g} s"))
        try:
            result = await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.cancelled():  # a refresh replaced the lookup and publishes its own
                return
            raise
        if entry.task is task:
            self._publish(entry, agent_id, result)

    async def _confirm(self, entry: _CallPops, record_id: str) -> Match:
        call = self.hub.calls.get(entry.call_id)
        base = self._context(call)
        context = LookupContext(attached={**base.attached, "crm_record_id": record_id},
                                direction=base.direction, queue=base.queue)
        party = call.customer if call else Party()
        result = await self._ask(party, context)
        if result.unavailable:
            raise BadRequest(f"the CRM could not confirm record {record_id}: {result.error}",
                             code="crm-unavailable")
        found = next((m for m in result.matches if m.record_id == record_id), None)
        if found is None:
            raise BadRequest(f"record {record_id!r} is not one of the matches of call "
                             f"{entry.call_id} and the CRM does not know it",
                             code="no-such-record")
        return found

    def _chosen(self, entry: _CallPops, result: LookupResult) -> Match | None:
        if entry.selected is not None:
            return entry.selected
        if not result.unavailable and len(result.matches) == 1:
            return result.matches[0]
        return None

    def _apply(self, entry: _CallPops, match: Match) -> None:
        """Log against ``match``; name the caller after it if the platform did not."""
        hub = self.hub
        call = hub.calls.get(entry.call_id)
        if call is not None and not call.customer.name and match.name:
            call.customer = Party(number=call.customer.number, name=match.name)
        record = match.to_dict()
        if not record.get("url"):
            record["url"] = self.crm.record_url(match)
        for agent_id in entry.pops:
            it = hub.interactions.find(entry.call_id, agent_id)
            if it is None:
                continue
            changed = it.crm_record != record
            if not it.customer.name and match.name:
                it.customer = Party(number=it.customer.number, name=match.name)
                changed = True
            if changed:
                it.crm_record = record
                hub.persist_interaction(it)
                hub.publish_interaction(it)

    def _publish(self, entry: _CallPops, agent_id: str, result: LookupResult) -> None:
        call = self.hub.calls.get(entry.call_id)
        chosen = self._chosen(entry, result)
        entry.pops.setdefault(agent_id, {})
        if chosen is not None:
            self._apply(entry, chosen)
        matches = [*result.matches, *(m for m in entry.extra if m not in result.matches)]
        party = call.customer if call else Party()
        create_url = result.create_url
        if result.outcome == "none" and create_url is None:
            create_url = self.crm.create_url(party, self._context(call, agent_id))
        it = self.hub.interactions.find(entry.call_id, agent_id)
        outcome = result.outcome if not entry.extra else (
            "one" if len(matches) == 1 else "several")
        data = {
            "call_id": entry.call_id,
            "interaction_id": it.interaction_id if it else None,
            "outcome": outcome,
            "matches": [self._with_url(m) for m in matches],
            "selected": chosen.record_id if chosen else None,
            "create_url": create_url,
            # The mapping's on_none/on_several: search — the CRM's own search page.
            "search_url": result.search_url,
            "lookup": result.lookup,
            # Agents see what failed, never the CRM's credentials (any connector's errors).
            "error": redact_text(result.error) if result.error else None,
            "party": party.to_dict(),
        }
        entry.pops[agent_id] = data
        if chosen is not None:
            self._display(entry, agent_id, chosen, party, call)
        if self.metrics is not None:
            self.metrics.screenpops.labels(outcome).inc()
        if result.unavailable:
            log.warning("screenpop.unavailable", call=entry.call_id, agent=agent_id,
                        error=result.error)
        self.hub.publish("screenpop", data, {agent_id})

    def _display(self, entry: _CallPops, agent_id: str, record: Match, party: Party,
                 call: Call | None) -> None:
        """The CRM shows the record on the agent's own screen (mapping screen_pop.display),
        once per call, agent and record."""
        display = getattr(self.crm, "display", None)
        user = self._crm_users.get(agent_id)
        key = (agent_id, record.record_id)
        if display is None or user is None or key in entry.displayed:
            return
        entry.displayed.add(key)
        self.hub.spawn(display(record, party, self._context(call, agent_id),
                               {"id": agent_id, "crm_user_id": user}),
                       name=f"screenpop-display-{entry.call_id}-{agent_id}")

    def _with_url(self, m: Match) -> dict[str, Any]:
        d = m.to_dict()
        if not d.get("url"):
            d["url"] = self.crm.record_url(m)
        return d

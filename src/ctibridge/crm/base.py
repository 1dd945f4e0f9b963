"""What the hub asks of a CRM, whatever the CRM is.

A CRM connector answers three questions: who is this party (``lookup``),
where is their record (``record_url`` / ``create_url``), and write this
interaction into their history (``log_interaction``). The mapping-file engine
implements it for any HTTP or SQL CRM; a third party may ship another one
under the ``ctibridge.crm`` entry-point group.

Contract for implementers:
- ``lookup`` never raises for a CRM fault (HTTP 500, timeout, HTML login
  page, JSON of the wrong shape): it returns ``LookupResult(unavailable=True,
  error=...)`` naming the lookup and the status, so the call is still offered.
- ``log_interaction`` raises ``CrmError`` on any failure (the outbox retries),
  with ``maybe_sent`` when the write may have been carried out. A connector that
  has no ``log_guarantee`` attribute must be idempotent on ``idempotency_key``.
  Optional, as the mapping engine has them: ``log_guarantee`` (``idempotent``,
  ``checkable`` or ``none``), ``find_logged`` (the check step) and ``plan_log``
  (the record to log against, fallbacks included).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ..model.errors import CtiError
from ..model.interaction import Interaction
from ..model.party import Party


class CrmError(CtiError):
    """The CRM failed or refused; ``retryable`` says whether trying again may help."""

    code = "crm-error"
    status = 502

    def __init__(self, message: str, *, code: str | None = None, retryable: bool = True,
                 maybe_sent: bool = False, **details: Any) -> None:
        super().__init__(message, code=code, **details)
        self.retryable = retryable
        # The write may have been carried out (it left; no answer said how it went).
        self.maybe_sent = maybe_sent

    @property
    def crm_status(self) -> int | None:
        """The CRM's HTTP status, when it answered one."""
        value = self.details.get("status") if isinstance(self.details, dict) else None
        return value if isinstance(value, int) else None


@dataclass(frozen=True, slots=True)
class Match:
    """One CRM record that matches a party."""

    record_id: str
    name: str | None = None
    company: str | None = None
    url: str | None = None  # the page to open for this record
    kind: str = "contact"  # contact, account, lead, ticket... as the mapping names it
    fields: dict[str, Any] = field(default_factory=dict)  # extra extracted fields

    def to_dict(self) -> dict[str, Any]:
        return {"record_id": self.record_id, "name": self.name, "company": self.company,
                "url": self.url, "kind": self.kind, "fields": dict(self.fields)}


@dataclass(frozen=True, slots=True)
class LookupContext:
    """What we know about the interaction when we look its party up."""

    attached: dict[str, str] = field(default_factory=dict)  # IVR data, subject...
    direction: str = "inbound"
    channel: str = "voice"
    queue: str | None = None
    agent_id: str | None = None


@dataclass(frozen=True, slots=True)
class LookupResult:
    matches: tuple[Match, ...] = ()
    lookup: str | None = None  # name of the lookup that produced the matches
    create_url: str | None = None  # where to create a record when there is none
    search_url: str | None = None  # the CRM's search page (several or no matches, if mapped)
    unavailable: bool = False  # the CRM could not be asked (down, slow, broken)
    error: str | None = None  # why, in a sentence naming the lookup and status
    status: int | None = None  # the CRM's HTTP status when it refused (403...)
    elapsed_ms: float = 0.0  # time spent in the CRM

    @property
    def outcome(self) -> str:
        if self.unavailable:
            return "unavailable"
        return {0: "none", 1: "one"}.get(len(self.matches), "several")

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "matches": [m.to_dict() for m in self.matches],
                "lookup": self.lookup, "create_url": self.create_url,
                "search_url": self.search_url, "error": self.error}


@dataclass(frozen=True, slots=True)
class LogReceipt:
    """What the CRM said when an interaction was logged."""

    activity_id: str | None = None
    created: bool = True  # False when the CRM already had it (idempotent replay)


@dataclass(frozen=True, slots=True)
class LogTarget:
    """What ``plan_log`` decided for an interaction about to be logged."""

    record: Match | None = None  # log against this (None: without a record)
    step: int = 0  # the log.fallback step that decided (where a later attempt resumes)
    chosen: bool = False  # a fallback chose the record: keep it for later attempts
    created: bool = False  # log.create made the record: keep it before writing
    wait_minutes: float | None = None  # wait this long for the agent to pick among choices
    choices: tuple[Match, ...] = ()
    skip: str | None = None  # not logged, for this reason
    reason: str | None = None  # why a fallback was needed


@runtime_checkable
class CrmConnector(Protocol):
    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def lookup(self, party: Party, context: LookupContext) -> LookupResult: ...

    def record_url(self, match: Match) -> str | None: ...

    def create_url(self, party: Party, context: LookupContext) -> str | None: ...

    async def log_interaction(
        self, interaction: Interaction, idempotency_key: str, *, record: Match | None = None
    ) -> LogReceipt: ...

    async def health(self) -> dict[str, Any]: ...

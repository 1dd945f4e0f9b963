"""The mapping-file CRM connector: lookups, screen pop and call log, driven by YAML.

``load_mapping(path, variables)`` reads and checks the file and returns a
``MappingConnector`` (the ``CrmConnector`` the hub uses). Lookups run in the
file's order; the first that finds records wins; a phone lookup tries the
number in each configured format until one matches. A CRM fault never raises
out of ``lookup``: the result says the CRM is unavailable and why, naming the
lookup, so the call is still offered. ``log_interaction`` raises ``CrmError``
(retryable or not) so the hub's outbox can try again.
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jmespath
import structlog
from jinja2 import TemplateError

from ...model.interaction import Interaction
from ...model.party import Party
from ...redact import MASK, is_secret_name
from ...store.db import mask_url
from .. import callerdata
from ..base import CrmError, LogReceipt, LogTarget, LookupContext, LookupResult, Match
from . import phones
from .auth import build_auth
from .http import Fault, HttpClient, masked, shown
from .loader import read_mapping
from .schema import Lookup, LookupStep, MappingFile, RecordSpec
from .sql import SqlClient
from .templates import Templates

log = structlog.get_logger("ctibridge.crm")


@functools.lru_cache(maxsize=512)
def _jp(expression: str) -> Any:
    return jmespath.compile(expression)


@dataclass(frozen=True, slots=True)
class PreparedLog:
    """The log write, rendered and ready to send (``mapping test`` prints it)."""

    request: httpx.Request | None = None
    sql: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None  # why nothing will be written
    record: Match | None = None

    def describe(self, secrets: frozenset[str] = frozenset()) -> str:
        """The write, secrets masked (``masked``)."""
        if self.skipped:
            return f"(nothing logged: {self.skipped})"
        if self.request is not None:
            r = self.request
            line, _, body = masked(r, secrets).partition("\n")
            head = [line]
            head += [f"{k}: {MASK if is_secret_name(k) else v}" for k, v in r.headers.items()
                     if k.lower() not in ("authorization", "content-length", "host",
                                          "accept-encoding", "connection", "user-agent")]
            return "\n".join(head) + ("\n\n" + body if body else "")
        return f"{self.sql}\nparams: {self.params!r}"


class MappingConnector:
    """A ``CrmConnector`` for any HTTP or SQL CRM described by a mapping file."""

    def __init__(self, mapping: MappingFile, *, variables: Mapping[str, str] | None = None,
                 environ: Mapping[str, str] | None = None, name: str | None = None,
                 source: str | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 agent_names: Mapping[str, str] | None = None,
                 outcomes: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self.mapping = mapping
        # The hub's agents' names and outcome labels, for what a log writes (not ids/codes).
        self._agent_names = dict(agent_names or {})
        self._outcomes = {k: dict(v) for k, v in (outcomes or {}).items()}
        self.name = name or mapping.name
        self.source = source
        self.templates = Templates(mapping.phone.default_region)
        self._static: dict[str, Any] = {
            "vars": dict(variables or {}),
            "env": dict(os.environ if environ is None else environ),
            "tables": mapping.tables,
        }
        self._sleep = sleep
        self._clock = clock
        self._http: HttpClient | None = None
        self._sql: SqlClient | None = None
        self._lookups = 0
        self._faults = 0
        self._last_error: str | None = None

    @classmethod
    def from_file(cls, path: Path | str, variables: Mapping[str, str] | None = None, *,
                  environ: Mapping[str, str] | None = None, name: str | None = None,
                  **options: Any) -> MappingConnector:
        """Read and check the file; ``options`` go to the constructor (sleep, clock)."""
        mapping = read_mapping(path, variables, environ)
        return cls(mapping, variables=variables, environ=environ, name=name, source=str(path),
                   **options)

    # -- lifecycle ----------------------------------------------------------------------

    @property
    def kind(self) -> str:
        return "http" if self.mapping.connection.base_url is not None else "sql"

    @property
    def target(self) -> str:
        """Where the CRM is, safe to show (no password)."""
        c = self.mapping.connection
        url = self.templates.render(c.base_url or c.database_url or "", self._static)
        return mask_url(url)

    @property
    def can_log(self) -> bool:
        return self.mapping.log is not None

    async def start(self) -> None:
        if self._http is not None or self._sql is not None:
            return
        c = self.mapping.connection
        if c.base_url is not None:
            self._http = HttpClient(
                self.templates.render(c.base_url, self._static),
                headers={k: self.templates.render(v, self._static) for k, v in c.headers.items()},
                timeout=c.timeout_seconds, verify=c.verify_tls,
                auth=build_auth(self.mapping.auth, self.templates, self._static, self._clock))
            self._http.secrets = frozenset(self._secrets())
        else:
            assert c.database_url is not None
            self._sql = SqlClient(self.templates.render(c.database_url, self._static),
                                  timeout=c.timeout_seconds)

    def _secrets(self) -> list[str]:
        """The auth's rendered secrets and secret-looking headers: a trace masks them."""
        a = self.mapping.auth
        fields = [getattr(a, n, None) for n in ("password", "token", "value",
                                                "client_secret", "refresh_token")]
        fields += [v for k, v in self.mapping.connection.headers.items() if is_secret_name(k)]
        out = []
        for f in fields:
            if isinstance(f, str):
                try:
                    value = self.templates.render(f, self._static)
                except TemplateError:
                    continue
                out.append(value)
                out += [w for w in value.split() if len(w) >= 12]  # "Token abc…": abc…
        return out

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.stop()
            self._http = None
        if self._sql is not None:
            await self._sql.stop()
            self._sql = None

    async def health(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "target": self.target,
                "ok": self._last_error is None, "lookups": self._lookups,
                "faults": self._faults, "last_error": self._last_error}

    # -- numbers and URLs ---------------------------------------------------------------

    def normalize(self, number: str) -> str:
        """E.164 with the mapping's default region, or ``number`` unchanged if unparseable."""
        return phones.to_e164(number, self.mapping.phone.default_region)

    def pop_context(self, party: Party, context: LookupContext) -> dict[str, Any]:
        # What the caller or the platform says is cleaned before any template reads it.
        number = callerdata.number(party.number)
        return {
            **self._static,
            "party": {"number": number, "name": callerdata.name(party.name),
                      "e164": self.normalize(number) if number else ""},
            "attached": callerdata.attached(dict(context.attached)),
            "context": {"direction": context.direction, "channel": context.channel,
                        "queue": context.queue, "agent_id": context.agent_id},
        }

    def create_url(self, party: Party, context: LookupContext) -> str | None:
        return self._render_url("create_url", self.mapping.screen_pop.create_url,
                                self.pop_context(party, context))

    def search_url(self, party: Party, context: LookupContext) -> str | None:
        return self._render_url("search_url", self.mapping.screen_pop.search_url,
                                self.pop_context(party, context))

    async def display(self, match: Match, party: Party, context: LookupContext,
                      agent: dict[str, Any]) -> bool:
        """Ask the CRM to show ``match`` to the agent (screen_pop.display); False if the
        mapping has none. A refusal is logged, never raised: the bar's pop stands."""
        spec = self.mapping.screen_pop.display
        if spec is None:
            return False
        await self.start()
        record = {**match.fields, "id": match.record_id, "name": match.name,
                  "company": match.company, "kind": match.kind}
        ctx = {**self.pop_context(party, context), "record": record, "agent": agent}
        if self._http is None:  # an SQL CRM: nothing to call
            return False
        try:
            await self._http.send(self._build(spec, ctx), want_json=False)
        except (Fault, TemplateError) as exc:
            log.warning("crm.display_failed", crm=self.name, agent=agent.get("id"),
                        error=getattr(exc, "reason", None) or str(exc))
            return False
        return True

    def record_url(self, match: Match) -> str | None:
        if match.url:
            return match.url
        record = {**match.fields, "id": match.record_id, "name": match.name,
                  "company": match.company}
        return self._render_url("record_url", self.mapping.screen_pop.record_url,
                                {**self._static, "party": {}, "attached": {}, "context": {},
                                 "record": record})

    def _render_url(self, what: str, template: str | None, ctx: dict[str, Any]) -> str | None:
        if template is None:
            return None
        try:
            return self.templates.render(template, ctx).strip() or None
        except TemplateError as exc:
            log.warning("crm.template_failed", crm=self.name, field=f"screen_pop.{what}",
                        error=str(exc))
            return None

    # -- lookups ------------------------------------------------------------------------

    async def lookup(self, party: Party, context: LookupContext, *,
                     trace: list[str] | None = None) -> LookupResult:
        """Who is this party? Never raises for a CRM fault (see the module's doc)."""
        await self.start()
        self._lookups += 1
        started = time.perf_counter()
        ctx = self.pop_context(party, context)
        pop = self.mapping.screen_pop
        found: list[Match] = []
        winner: str | None = None
        for lk in self.mapping.lookups:
            if lk.phone and not ctx["party"]["number"]:
                _note(trace, f"{lk.name}: skipped (no number)")
                continue
            if lk.when and not self.templates.when(lk.when, ctx):
                _note(trace, f"{lk.name}: skipped (when: {lk.when} is false)")
                continue
            try:
                found = await self._run_lookup(lk, ctx, trace)
            except Fault as fault:
                error = f"lookup {lk.name!r}: {fault.reason}"
                self._faults += 1
                self._last_error = error
                log.warning("crm.lookup_failed", crm=self.name, lookup=lk.name,
                            status=fault.status, error=error)
                _note(trace, f"{lk.name}: FAILED: {fault.reason}")
                return LookupResult(lookup=lk.name, unavailable=True, error=error,
                                    status=fault.status, elapsed_ms=_ms_since(started))
            if found:
                winner = lk.name
                break
        self._last_error = None
        matches = _unique(found)[: pop.max_matches]
        elapsed = _ms_since(started)
        if len(matches) > 1:
            if pop.on_several == "first":
                matches = matches[:1]
            elif pop.on_several == "search":
                return LookupResult(matches=tuple(matches), lookup=winner,
                                    search_url=self.search_url(party, context),
                                    elapsed_ms=elapsed)
        if not matches:
            return LookupResult(
                lookup=None, elapsed_ms=elapsed,
                create_url=self.create_url(party, context) if pop.on_none == "create" else None,
                search_url=self.search_url(party, context) if pop.on_none == "search" else None)
        return LookupResult(matches=tuple(matches), lookup=winner, elapsed_ms=elapsed)

    async def _run_lookup(self, lk: Lookup, ctx: dict[str, Any],
                          trace: list[str] | None) -> list[Match]:
        spec = lk.record or self.mapping.record
        assert spec is not None  # cross_check guarantees it
        # The whole lookup, its then steps included, within one timeout_seconds.
        deadline = asyncio.get_running_loop().time() + self.mapping.connection.timeout_seconds
        if not lk.phone:
            records = await self._fetch_with_retries(lk, lk.name, ctx, trace)
            _note(trace, f"{lk.name}: {len(records)} record(s)")
            records = await self._chain(lk, ctx, records, deadline, trace)
            return [self._match(lk, spec, r, ctx) for r in records]
        number = ctx["party"]["number"]
        formats = lk.formats or self.mapping.phone.formats
        tries = phones.variants(number, formats, self.mapping.phone.default_region,
                                self.mapping.phone.last_digits)
        for v in tries:
            found_ctx = {**ctx, "number": v.number, "format": v.format}
            records = await self._fetch_with_retries(lk, lk.name, found_ctx, trace)
            _note(trace, f"{lk.name}: {v.number!r} ({v.format}): {len(records)} record(s)")
            if records:
                records = await self._chain(lk, found_ctx, records, deadline, trace)
                return [self._match(lk, spec, r, ctx) for r in records]
        return []

    async def _chain(self, lk: Lookup, ctx: dict[str, Any], records: list[Any],
                     deadline: float, trace: list[str] | None) -> list[Any]:
        """Run the lookup's then steps: each once per record (up to its max_records),
        all of a step's requests at once, within what is left of the lookup's time.

        A record whose step fails or runs out of time stays as the step before found it
        (a pop without its details beats no pop); a record the step says is gone
        (empty_statuses, or no result) is dropped.
        """
        for j, step in enumerate(lk.then):
            name = f"{lk.name}.then[{j}]"
            head, rest = records[: step.max_records], records[step.max_records:]
            if rest:
                _note(trace, f"{name}: {len(rest)} record(s) past max_records "
                             f"({step.max_records}) kept as found")
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                _note(trace, f"{name}: skipped, no time left of "
                             f"{self.mapping.connection.timeout_seconds:g} s")
                log.warning("crm.lookup_step_skipped", crm=self.name, lookup=name,
                            reason="timeout budget spent")
                break
            outcomes = await asyncio.gather(*(self._step(step, name, ctx, r, left, trace)
                                              for r in head))
            records = [r for found in outcomes for r in found] + rest
        return records

    async def _step(self, step: LookupStep, name: str, ctx: dict[str, Any], record: Any,
                    left: float, trace: list[str] | None) -> list[Any]:
        try:
            async with asyncio.timeout(left):
                found = await self._fetch_with_retries(step, name, {**ctx, "record": record},
                                                       trace)
        except (Fault, TimeoutError) as exc:
            reason = exc.reason if isinstance(exc, Fault) else "no time left of the lookup's "\
                f"{self.mapping.connection.timeout_seconds:g} s"
            log.warning("crm.lookup_step_failed", crm=self.name, lookup=name, error=reason)
            _note(trace, f"{name}: FAILED, record kept as found: {reason}")
            return [record]
        _note(trace, f"{name}: {len(found)} record(s)")
        if not step.merge or not isinstance(record, dict):
            return found
        return [{**record, **r} for r in found]

    async def _fetch_with_retries(self, source: Lookup | LookupStep, name: str,
                                  ctx: dict[str, Any], trace: list[str] | None) -> list[Any]:
        c = self.mapping.connection
        for attempt in range(c.retries + 1):
            try:
                return await self._fetch(source, ctx, trace)
            except Fault as fault:
                if not fault.transient or attempt == c.retries:
                    raise
                log.info("crm.lookup_retry", crm=self.name, lookup=name, error=fault.reason)
                await self._sleep(c.retry_backoff_seconds * (attempt + 1))
        raise AssertionError("unreachable")

    async def _fetch(self, source: Lookup | LookupStep, ctx: dict[str, Any],
                     trace: list[str] | None = None) -> list[Any]:
        try:
            if source.request is not None:
                assert self._http is not None
                request = self._build(source.request, ctx)
                answer = await self._http.send(request,
                                               empty_statuses=frozenset(source.empty_statuses),
                                               trace=trace)
                if answer.empty:
                    return []
                data, origin = answer.data, shown(request)
            else:
                assert self._sql is not None and source.sql is not None
                params = self.templates.value(source.params, ctx)
                data = await self._sql.query(source.sql, params, trace=trace)
                origin = "the SQL query"
        except TemplateError as exc:
            raise Fault(f"template error: {exc}", retryable=False) from None
        return _records(source.results, data, origin)

    def _build(self, spec: Any, ctx: dict[str, Any]) -> httpx.Request:
        assert self._http is not None
        v = self.templates.value
        return self._http.build(
            spec.method, self.templates.render_path(spec.path, ctx).strip(),
            query=_jsonable(v(spec.query, ctx)),
            headers={k: str(x) for k, x in v(spec.headers, ctx).items()},
            json_body=_jsonable(v(spec.json_body, ctx)),
            form={k: str(x) for k, x in v(spec.form, ctx).items()} if spec.form else None)

    def _match(self, lk: Lookup, spec: RecordSpec, record: Any,
               ctx: dict[str, Any]) -> Match:
        rid = _jp(spec.id).search(record)
        if rid is None or isinstance(rid, dict | list) or rid == "":
            raise Fault(f"a record has no usable id at {spec.id!r} (got {_short(rid)}); "
                        "the answer is not shaped as the mapping expects", retryable=False)

        def text(expr: str | None) -> str | None:
            if expr is None:
                return None
            value = _jp(expr).search(record)
            return None if value is None or value == "" else str(value)

        url = text(spec.url)
        if url is None and self.mapping.screen_pop.record_url is not None:
            url = self._render_url("record_url", self.mapping.screen_pop.record_url,
                                   {**ctx, "record": record})
        fields = {k: _jp(e).search(record) for k, e in spec.fields.items()}
        return Match(record_id=str(rid), name=text(spec.name), company=text(spec.company),
                     url=url, kind=spec.kind, fields=fields)

    # -- call log -----------------------------------------------------------------------

    @property
    def log_guarantee(self) -> str:
        """What makes a repeated log harmless: ``idempotent`` (the CRM honours the key),
        ``checkable`` (log.find_existing says whether it is there), or ``none``."""
        spec = self.mapping.log
        if spec is None or spec.idempotent or spec.conflict_is_success or spec.replay_statuses \
                or spec.exists_statuses:
            return "idempotent"
        return "checkable" if spec.find_existing is not None else "none"

    async def prepare_log(self, interaction: Interaction, idempotency_key: str, *,
                          record: Match | None = None, resolved: bool = False) -> PreparedLog:
        """The write that would log ``interaction`` (finding the record again if needed,
        unless ``resolved``: ``plan_log`` already said which record, or none)."""
        await self.start()
        spec = self.mapping.log
        if spec is None:
            return PreparedLog(skipped="the mapping has no log section")
        if record is None and not resolved:
            target = await self.plan_log(interaction, idempotency_key, record=None,
                                         create=False)
            if target.skip or target.wait_minutes:
                return PreparedLog(skipped=target.skip or target.reason or "waiting")
            record = target.record
        ctx = self._log_context(interaction, idempotency_key, record)
        try:
            if spec.request is not None:
                return PreparedLog(request=self._build(spec.request, ctx), record=record)
            return PreparedLog(sql=spec.sql, params=self.templates.value(spec.params, ctx),
                               record=record)
        except TemplateError as exc:
            raise CrmError(f"CRM {self.name!r}: the log template failed for interaction "
                           f"{interaction.interaction_id}: {exc}", code="crm-log-template",
                           retryable=False) from None
        except Fault as fault:  # the rendered request would leave base_url
            raise CrmError(f"CRM {self.name!r}: the log request for interaction "
                           f"{interaction.interaction_id} was not sent: {fault.reason}",
                           code="crm-log-refused", retryable=False) from None

    async def log_interaction(self, interaction: Interaction, idempotency_key: str, *,
                              record: Match | None = None, resolved: bool = False
                              ) -> LogReceipt:
        prepared = await self.prepare_log(interaction, idempotency_key, record=record,
                                          resolved=resolved)
        return await self.send_log(prepared, interaction)

    @property
    def secrets(self) -> frozenset[str]:
        """What a trace or a printed request masks (set once started)."""
        return self._http.secrets if self._http is not None else frozenset()

    async def send_log(self, prepared: PreparedLog, interaction: Interaction, *,
                       trace: list[str] | None = None) -> LogReceipt:
        spec = self.mapping.log
        if prepared.skipped or spec is None:
            return LogReceipt(activity_id=None, created=False)
        try:
            if prepared.request is not None:
                assert self._http is not None
                try:
                    answer = await self._http.send(prepared.request, want_json=False,
                                                   trace=trace)
                except Fault as fault:
                    if (fault.status == 409 and spec.conflict_is_success) or (
                            fault.status is not None and fault.status in spec.exists_statuses):
                        return LogReceipt(activity_id=None, created=False)
                    raise
                activity = (_jp(spec.activity_id).search(answer.data)
                            if spec.activity_id and answer.data is not None else None)
                return LogReceipt(activity_id=None if activity is None else str(activity),
                                  created=answer.status not in spec.replay_statuses)
            assert self._sql is not None and prepared.sql is not None
            count, returned = await self._sql.execute(prepared.sql, prepared.params,
                                                      trace=trace)
            return LogReceipt(activity_id=None if returned is None else str(returned),
                              created=count > 0)
        except Fault as fault:
            raise self._log_error("did not log", interaction, fault) from None

    def _log_error(self, what: str, interaction: Interaction, fault: Fault) -> CrmError:
        """A CrmError keeping the CRM's reason and status; 401/403 are worth retrying
        (a revoked token gets fixed), and say so with their own code."""
        auth = fault.status in (401, 403)
        message = f"CRM {self.name!r} {what} interaction {interaction.interaction_id}: " \
                  f"{fault.reason}"
        log.warning("crm.log_failed", crm=self.name, status=fault.status,
                    retryable=fault.retryable or auth, maybe_sent=fault.maybe_sent,
                    error=message)
        return CrmError(message, code="crm-auth-refused" if auth else "crm-log-failed",
                        retryable=fault.retryable or auth, maybe_sent=fault.maybe_sent,
                        status=fault.status)

    async def find_logged(self, interaction: Interaction, idempotency_key: str, *,
                          record: Match | None = None,
                          trace: list[str] | None = None) -> LogReceipt | None:
        """The check step (log.find_existing): the log already in the CRM, or None."""
        await self.start()
        spec = self.mapping.log
        f = spec.find_existing if spec is not None else None
        if f is None:
            raise CrmError(f"CRM {self.name!r}: the mapping has no log.find_existing",
                           code="crm-no-check", retryable=False)
        ctx = self._log_context(interaction, idempotency_key, record)
        try:
            if f.request is not None:
                assert self._http is not None
                request = self._build(f.request, ctx)
                answer = await self._http.send(request, empty_statuses=frozenset(
                    f.empty_statuses), trace=trace)
                found = [] if answer.empty else _records(f.results, answer.data,
                                                         shown(request))
            else:
                assert self._sql is not None and f.sql is not None
                rows = await self._sql.query(f.sql, self.templates.value(f.params, ctx),
                                             trace=trace)
                found = _records(f.results, rows, "the SQL query")
        except TemplateError as exc:
            raise CrmError(f"CRM {self.name!r}: the log.find_existing template failed: {exc}",
                           code="crm-log-template", retryable=False) from None
        except Fault as fault:
            # Asking is a read: its own failure never makes the log doubtful twice over.
            error = self._log_error("could not check for", interaction, fault)
            error.maybe_sent = False
            raise error from None
        if not found:
            return None
        activity = _jp(f.id).search(found[0]) if f.id else None
        return LogReceipt(activity_id=None if activity is None else str(activity),
                          created=False)

    async def plan_log(self, interaction: Interaction, idempotency_key: str, *,
                       record: Match | None, step: int = 0, create: bool = True) -> LogTarget:
        """Which record to log against: ``record`` if known, else the lookups again
        (``when_no_record: lookup``), else ``log.fallback`` from ``step`` on."""
        await self.start()
        spec = self.mapping.log
        if spec is None:
            return LogTarget(skip="the mapping has no log section")
        if record is not None:
            return LogTarget(record=record, step=step)
        if spec.when_no_record == "skip":
            return LogTarget(skip="no record is known and log.when_no_record is skip")
        number = interaction.customer.number or ""
        matches: tuple[Match, ...] = ()
        looked = False
        if spec.when_no_record == "lookup" and number:
            matches = await self._matches_again(interaction)
            looked = True
            if len(matches) == 1:
                return LogTarget(record=matches[0], step=step)
        case = "several" if len(matches) > 1 else "none"
        why = (f"{len(matches)} records match {number} and none was chosen"
               if case == "several" else
               f"no record matches {number or 'the caller (no number)'}")
        for i, fb in enumerate(spec.fallback):
            if i < step or fb.when not in (case, "any"):
                continue
            action = fb.action()
            if action == "lookup":
                found = await self._named_lookup(interaction, str(fb.lookup))
                if len(found) == 1:
                    return LogTarget(record=found[0], step=i, chosen=True, reason=why)
            elif action == "record" and fb.record is not None:
                ctx = self._log_context(interaction, idempotency_key, None)
                try:
                    rid = self.templates.render(fb.record.id, ctx).strip()
                except TemplateError as exc:
                    raise CrmError(f"CRM {self.name!r}: log.fallback[{i}].record.id: {exc}",
                                   code="crm-log-template", retryable=False) from None
                if rid:
                    return LogTarget(record=Match(record_id=rid, name=fb.record.name,
                                                  kind=fb.record.kind),
                                     step=i, chosen=True, reason=why)
            elif action == "create" and create:
                if not looked and number:  # an earlier attempt may have created it
                    again = await self._matches_again(interaction)
                    if len(again) == 1:
                        return LogTarget(record=again[0], step=i, chosen=True, reason=why)
                made = await self._create_record(interaction, idempotency_key)
                return LogTarget(record=made, step=i, created=True, reason=why)
            elif action == "wait_for_agent" and case == "several" and fb.wait_for_agent:
                return LogTarget(wait_minutes=fb.wait_for_agent, choices=matches, step=i,
                                 reason=f"{why}: waiting for the agent to pick one")
            elif action == "skip":
                return LogTarget(skip=f"{fb.skip} ({why})", step=i)
        return LogTarget(record=None, step=len(spec.fallback), reason=why)

    async def _matches_again(self, interaction: Interaction) -> tuple[Match, ...]:
        result = await self.lookup(interaction.customer, _context_of(interaction))
        if result.unavailable:
            auth = result.status in (401, 403)
            raise CrmError(f"CRM {self.name!r}: cannot find the record to log interaction "
                           f"{interaction.interaction_id} against: {result.error}",
                           code="crm-auth-refused" if auth else "crm-log-failed",
                           retryable=True, status=result.status)
        return result.matches

    async def _named_lookup(self, interaction: Interaction, name: str) -> list[Match]:
        lk = next(x for x in self.mapping.lookups if x.name == name)  # checked at load
        ctx = self.pop_context(interaction.customer, _context_of(interaction))
        if lk.phone and not interaction.customer.number:
            return []
        try:
            return _unique(await self._run_lookup(lk, ctx, None))
        except Fault as fault:
            raise CrmError(f"CRM {self.name!r}: log.fallback lookup {name!r} for interaction "
                           f"{interaction.interaction_id}: {fault.reason}",
                           code="crm-log-failed", retryable=fault.retryable,
                           status=fault.status) from None

    async def _create_record(self, interaction: Interaction, key: str) -> Match:
        spec = self.mapping.log
        assert spec is not None and spec.create is not None  # checked at load
        cr = spec.create
        ctx = self._log_context(interaction, key, None)
        try:
            if cr.request is not None:
                assert self._http is not None
                request = self._build(cr.request, ctx)
                answer = await self._http.send(request)
                records = _records(cr.results, answer.data, shown(request))
                if not records:
                    raise Fault(f"the answer from {shown(request)} holds no created record "
                                f"at {cr.results!r}", retryable=False)
                ctx_record = {**ctx, "record": records[0]}
                return self._match_with(cr.record, records[0], ctx_record)
            assert self._sql is not None and cr.sql is not None
            _, returned = await self._sql.execute(cr.sql, self.templates.value(cr.params, ctx))
            if returned is None:
                raise Fault("the log.create query returned no id (add RETURNING id)",
                            retryable=False)
            return Match(record_id=str(returned), kind=cr.record.kind)
        except TemplateError as exc:
            raise CrmError(f"CRM {self.name!r}: the log.create template failed: {exc}",
                           code="crm-log-template", retryable=False) from None
        except Fault as fault:
            raise self._log_error("could not create the record for", interaction,
                                  fault) from None

    def _match_with(self, spec: RecordSpec, record: Any, ctx: dict[str, Any]) -> Match:
        rid = _jp(spec.id).search(record)
        if rid is None or isinstance(rid, dict | list) or rid == "":
            raise Fault(f"the created record has no usable id at {spec.id!r} (got "
                        f"{_short(rid)})", retryable=False)

        def text(expr: str | None) -> str | None:
            value = _jp(expr).search(record) if expr else None
            return None if value is None or value == "" else str(value)

        return Match(record_id=str(rid), name=text(spec.name), company=text(spec.company),
                     url=text(spec.url), kind=spec.kind,
                     fields={k: _jp(e).search(record) for k, e in spec.fields.items()})

    def _log_context(self, interaction: Interaction, key: str,
                     record: Match | None) -> dict[str, Any]:
        data = interaction.to_dict()
        data["duration_seconds"] = interaction.talk_seconds or 0
        data["started_at"] = (data["accepted_at"] or data["offered_at"] or data["created_at"])
        data["number"] = callerdata.number(interaction.customer.number)
        data["customer"] = {**data["customer"], "number": data["number"] or None,
                            "name": callerdata.name(interaction.customer.name)}
        data["attached"] = callerdata.attached(dict(interaction.attached))
        agent = interaction.agent_id
        data["agent_name"] = self._agent_names.get(agent, agent) if agent else None
        code = interaction.disposition
        data["disposition_label"] = ({"en": code, "fr": code, **self._outcomes.get(code, {})}
                                     if code else None)
        rec = None
        if record is not None:
            rec = {**record.fields, "id": record.record_id, "name": record.name,
                   "company": record.company, "url": record.url, "kind": record.kind,
                   "fields": dict(record.fields)}
        context = LookupContext(attached=dict(interaction.attached),
                                direction=str(interaction.direction),
                                channel=str(interaction.channel), queue=interaction.queue,
                                agent_id=interaction.agent_id)
        ctx = self.pop_context(interaction.customer, context)
        return {**self._static, "party": ctx["party"], "attached": ctx["attached"],
                "interaction": data, "record": rec, "idempotency_key": key}


def _context_of(interaction: Interaction) -> LookupContext:
    return LookupContext(attached=dict(interaction.attached),
                         direction=str(interaction.direction),
                         channel=str(interaction.channel), queue=interaction.queue,
                         agent_id=interaction.agent_id)


def load_mapping(path: Path | str, variables: Mapping[str, str] | None = None, *,
                 environ: Mapping[str, str] | None = None, name: str | None = None,
                 **options: Any) -> MappingConnector:
    """Read and check the mapping file at ``path``; MappingFileError lists every fault."""
    return MappingConnector.from_file(path, variables, environ=environ, name=name, **options)


# -- helpers ------------------------------------------------------------------------------

def _records(results: str, data: Any, origin: str) -> list[Any]:
    found = _jp(results).search(data)
    if found is None:
        if data is None or data == [] or results == "@":
            return []
        raise Fault(f"the answer from {origin} has nothing at {results!r} (got "
                    f"{_short(data)}); it is not shaped as the mapping expects",
                    retryable=False)
    if isinstance(found, dict):
        return [found]
    if isinstance(found, list) and all(isinstance(r, dict) for r in found):
        return found
    raise Fault(f"the answer from {origin} at {results!r} is {_short(found)}, expected a "
                "list of records or one record", retryable=False)


def _jsonable(value: Any) -> Any:
    """Typed values (``| as_datetime``) in an HTTP request: a datetime as ISO 8601 UTC."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {k: _jsonable(x) for k, x in value.items()}
    if isinstance(value, list):
        return [_jsonable(x) for x in value]
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _unique(matches: list[Match]) -> list[Match]:
    seen: set[tuple[str, str]] = set()
    out = []
    for m in matches:
        if (m.kind, m.record_id) not in seen:
            seen.add((m.kind, m.record_id))
            out.append(m)
    return out


def _note(trace: list[str] | None, line: str) -> None:
    if trace is not None:
        trace.append(line)


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)

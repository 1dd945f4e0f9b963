"""A test CRM that behaves like real ones: a Django REST Framework API on a real port.

Written from DRF's documentation (api-guide/authentication, exceptions, pagination,
filtering) and from what issue 11's CRM did, not from what ctibridge expects:

- **Token auth, 403 on a bad token.** ``Authorization: Token <key>``. The CRM lists
  ``SessionAuthentication`` first, so DRF answers a missing or bad token with
  **403** and ``{"detail": "..."}``, not 401 (DRF: "the first authentication
  class set on the view is used when determining the type of response").
- **Two-step contact lookup.** ``GET /api/contacts/?phone=`` returns ids and
  names only (a ``PageNumberPagination`` page: count, next, previous, results);
  the company needs ``GET /api/contacts/<id>/``. 404 is ``{"detail": "Not found."}``.
- **Leads and accounts**, searchable the same way; ``POST /api/leads/`` creates one.
- **Interactions (the call log)** at ``POST /api/interactions/``: a serializer that
  silently drops any field it does not know (``external_id``, an
  ``Idempotency-Key`` header: nothing is de-duplicated), and requires exactly one
  linked record (contact, lead or account). Validation errors go through the CRM's
  own exception handler: ``{"error": true, "errors": {"contact": ["..."]}}``.
- ``GET /api/interactions/?search=`` is DRF's ``SearchFilter`` (icontains over
  subject and description): a caller can look for a key it wrote into the text.

Controls for tests: ``latency`` (every answer), ``slow_logs`` (an interaction is
created, then the answer waits), ``log_fault`` (``"500"`` before anything is
created, ``"reset"``: created, then the connection is cut mid-answer),
``tokens`` (revoke one for a 403 period), ``down()``/``up()`` (the port closed,
then open again on the same port). ``interactions_of(key)`` counts the records a
call made, whatever the hub believes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ..harness import free_port
from .vendors.serving import CutAnswer, Served

MAPPING = Path(__file__).with_name("realcrm.yaml")
TOKEN = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"  # DRF tokens are 40 hex digits
PAGE_SIZE = 25
DIRECTIONS = ("inbound", "outbound")
LINKS = ("contact", "lead", "account")


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def detail(message: str, status: int) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status)


def invalid(errors: dict[str, list[str]]) -> JSONResponse:
    """A ValidationError through the CRM's custom exception handler."""
    return JSONResponse({"error": True, "errors": errors}, status_code=400)


@dataclass
class RealCrm:
    __test__ = False

    contacts: dict[int, dict[str, Any]] = field(default_factory=dict)
    leads: dict[int, dict[str, Any]] = field(default_factory=dict)
    accounts: dict[int, dict[str, Any]] = field(default_factory=dict)
    interactions: dict[int, dict[str, Any]] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=lambda: {TOKEN})
    latency: float = 0.0  # seconds before any answer (a CRM's own answer time)
    slow_logs: float = 0.0  # seconds between creating an interaction and answering
    log_fault: str | None = None  # "500" (nothing created), "reset" (created, answer cut)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path)
    timings: list[tuple[str, str, float]] = field(default_factory=list)  # + answer ms
    log_posts: int = 0  # POST /api/interactions/ received, valid or not
    in_flight: int = 0  # interaction POSTs created but not yet answered
    answer_ms: list[float] = field(default_factory=list)  # interaction POST handling time
    created_at: dict[int, float] = field(default_factory=dict)  # interaction id → loop time
    url: str = ""
    port: int = 0
    _ids: int = 100
    _served: Served | None = None

    # -- data ------------------------------------------------------------------------

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def add_contact(self, first: str, last: str, phone: str, company: str | None = None
                    ) -> int:
        account = None
        if company is not None:
            account = next((a["id"] for a in self.accounts.values() if a["name"] == company),
                           None) or self.add_account(company)
        cid = self._next_id()
        self.contacts[cid] = {"id": cid, "first_name": first, "last_name": last,
                              "phone": phone, "account": account}
        return cid

    def add_lead(self, name: str, phone: str, company: str = "") -> int:
        lid = self._next_id()
        self.leads[lid] = {"id": lid, "name": name, "phone": phone, "company": company,
                           "status": "new", "created_at": _now()}
        return lid

    def add_account(self, name: str, phone: str = "") -> int:
        aid = self._next_id()
        self.accounts[aid] = {"id": aid, "name": name, "phone": phone}
        return aid

    def interactions_of(self, key: str) -> list[dict[str, Any]]:
        """The interactions a call made: those whose text carries ``key``."""
        return [i for i in self.interactions.values()
                if key in (i["subject"] or "") or key in (i["description"] or "")]

    # -- HTTP --------------------------------------------------------------------------

    def _authenticated(self, request: Request) -> JSONResponse | None:
        header = request.headers.get("authorization", "")
        if not header:
            return detail("Authentication credentials were not provided.", 403)
        parts = header.split()
        if not parts or parts[0].lower() != "token":
            return detail("Authentication credentials were not provided.", 403)
        if len(parts) != 2:
            return detail("Invalid token header. No credentials provided.", 403)
        if parts[1] not in self.tokens:
            return detail("Invalid token.", 403)
        return None

    def _page(self, request: Request, items: list[dict[str, Any]]) -> JSONResponse:
        try:
            page = int(request.query_params.get("page", "1"))
        except ValueError:
            page = 0
        pages = max(1, -(-len(items) // PAGE_SIZE))
        if not 1 <= page <= pages:
            return detail("Invalid page.", 404)
        base = str(request.url.remove_query_params("page"))
        sep = "&" if "?" in base else "?"
        return JSONResponse({
            "count": len(items),
            "next": f"{base}{sep}page={page + 1}" if page < pages else None,
            "previous": (f"{base}{sep}page={page - 1}" if page > 2 else
                         (base if page == 2 else None)),
            "results": items[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]})

    def _contact_summary(self, c: dict[str, Any]) -> dict[str, Any]:
        return {"id": c["id"], "name": f"{c['first_name']} {c['last_name']}"}

    def _contact_detail(self, c: dict[str, Any]) -> dict[str, Any]:
        account = self.accounts.get(c["account"]) if c["account"] else None
        return {**self._contact_summary(c), "first_name": c["first_name"],
                "last_name": c["last_name"], "phone": c["phone"],
                "account": ({"id": account["id"], "name": account["name"]}
                            if account else None)}

    async def contacts_list(self, request: Request) -> Response:
        phone = request.query_params.get("phone")
        found = [self._contact_summary(c) for c in self.contacts.values()
                 if phone is None or c["phone"] == phone]
        return self._page(request, found)

    async def contact_detail(self, request: Request) -> Response:
        c = self.contacts.get(_pk(request))
        return JSONResponse(self._contact_detail(c)) if c else detail("Not found.", 404)

    async def leads_view(self, request: Request) -> Response:
        if request.method == "GET":
            phone = request.query_params.get("phone")
            return self._page(request, [lead for lead in self.leads.values()
                                        if phone is None or lead["phone"] == phone])
        body = await _json(request)
        if isinstance(body, Response):
            return body
        errors: dict[str, list[str]] = {}
        if not str(body.get("name") or "").strip():
            errors["name"] = ["This field is required." if "name" not in body
                              else "This field may not be blank."]
        if errors:
            return invalid(errors)
        lid = self.add_lead(str(body["name"]), str(body.get("phone") or ""),
                            str(body.get("company") or ""))
        return JSONResponse(self.leads[lid], status_code=201)

    async def lead_detail(self, request: Request) -> Response:
        lead = self.leads.get(_pk(request))
        return JSONResponse(lead) if lead else detail("Not found.", 404)

    async def accounts_list(self, request: Request) -> Response:
        name = request.query_params.get("name")
        phone = request.query_params.get("phone")
        return self._page(request, [a for a in self.accounts.values()
                                    if name in (None, a["name"]) and phone in (None, a["phone"])])

    async def account_detail(self, request: Request) -> Response:
        a = self.accounts.get(_pk(request))
        return JSONResponse(a) if a else detail("Not found.", 404)

    async def interactions_list(self, request: Request) -> Response:
        term = (request.query_params.get("search") or "").lower()
        found = [i for i in self.interactions.values()
                 if not term or term in (i["subject"] or "").lower()
                 or term in (i["description"] or "").lower()]
        return self._page(request, found)

    async def interaction_detail(self, request: Request) -> Response:
        i = self.interactions.get(_pk(request))
        return JSONResponse(i) if i else detail("Not found.", 404)

    def validate_interaction(self, body: dict[str, Any]) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        subject = body.get("subject")
        if subject is None or "subject" not in body:
            errors["subject"] = ["This field is required."]
        elif not str(subject).strip():
            errors["subject"] = ["This field may not be blank."]
        elif len(str(subject)) > 255:
            errors["subject"] = ["Ensure this field has no more than 255 characters."]
        if body.get("direction") not in DIRECTIONS:
            errors["direction"] = ([f'"{body.get("direction")}" is not a valid choice.']
                                   if "direction" in body else ["This field is required."])
        duration = body.get("duration", 0)
        if not isinstance(duration, int) or isinstance(duration, bool) or duration < 0:
            errors["duration"] = ["A valid integer is required." if not isinstance(duration, int)
                                  else "Ensure this value is greater than or equal to 0."]
        linked = [k for k in LINKS if body.get(k) is not None]
        if len(linked) != 1:
            errors.setdefault("contact", []).append(
                "Name exactly one record: contact, lead or account "
                f"({len(linked)} given).")
        for kind in linked:
            table = {"contact": self.contacts, "lead": self.leads,
                     "account": self.accounts}[kind]
            pk = body[kind]
            if not isinstance(pk, int) or isinstance(pk, bool) or pk not in table:
                errors.setdefault(kind, []).append(
                    f'Invalid pk "{pk}" - object does not exist.')
        return errors

    async def interactions_create(self, request: Request) -> Response:
        self.log_posts += 1
        started = asyncio.get_running_loop().time()
        body = await _json(request)
        if isinstance(body, Response):
            return body
        if self.log_fault == "500":  # Django's own page: DEBUG off, nothing committed
            return HTMLResponse("<h1>Server Error (500)</h1>", status_code=500)
        errors = self.validate_interaction(body)
        if errors:
            return invalid(errors)
        iid = self._next_id()
        # The serializer keeps its own fields only: external_id & co. vanish silently.
        record = {"id": iid, "subject": str(body["subject"]),
                  "description": str(body.get("description") or ""),
                  "direction": body["direction"], "duration": body.get("duration", 0),
                  "contact": body.get("contact"), "lead": body.get("lead"),
                  "account": body.get("account"), "created_at": _now()}
        self.interactions[iid] = record
        self.created_at[iid] = asyncio.get_running_loop().time()
        self.in_flight += 1
        try:
            if self.slow_logs:
                await asyncio.sleep(self.slow_logs)  # committed; the answer is late
            if self.log_fault == "reset":
                return CutAnswer(record, kept=10,
                                 why="the CRM's worker died mid-answer (test control)")
        finally:
            self.in_flight -= 1
        self.answer_ms.append((asyncio.get_running_loop().time() - started) * 1000)
        return JSONResponse(record, status_code=201)

    def app(self) -> Starlette:
        def guarded(view: Callable[[Request], Awaitable[Response]]
                    ) -> Callable[[Request], Awaitable[Response]]:
            async def run(request: Request) -> Response:
                started = asyncio.get_running_loop().time()
                self.requests.append((request.method, request.url.path))
                if self.latency:
                    await asyncio.sleep(self.latency)
                refused = self._authenticated(request)
                answer = refused if refused is not None else await view(request)
                self.timings.append((request.method, request.url.path,
                                     (asyncio.get_running_loop().time() - started) * 1000))
                return answer
            return run

        async def interactions(request: Request) -> Response:
            if request.method == "POST":
                return await self.interactions_create(request)
            return await self.interactions_list(request)

        return Starlette(routes=[
            Route("/api/contacts/", guarded(self.contacts_list)),
            Route("/api/contacts/{pk}/", guarded(self.contact_detail)),
            Route("/api/leads/", guarded(self.leads_view), methods=["GET", "POST"]),
            Route("/api/leads/{pk}/", guarded(self.lead_detail)),
            Route("/api/accounts/", guarded(self.accounts_list)),
            Route("/api/accounts/{pk}/", guarded(self.account_detail)),
            Route("/api/interactions/", guarded(interactions), methods=["GET", "POST"]),
            Route("/api/interactions/{pk}/", guarded(self.interaction_detail)),
        ])

    # -- serving -------------------------------------------------------------------------

    async def up(self) -> None:
        """Serve (again) on this CRM's port."""
        if self._served is None:
            self._served = Served(self.app(), port=self.port or free_port())
        await self._served.up()
        self.port, self.url = self._served.port, self._served.url

    async def down(self) -> None:
        """Close the port: the CRM is down (connections refused) until ``up()``."""
        if self._served is not None:
            await self._served.down()


def _pk(request: Request) -> int:
    try:
        return int(request.path_params["pk"])
    except ValueError:
        return -1


async def _json(request: Request) -> dict[str, Any] | Response:
    raw = await request.body()
    try:
        body = json.loads(raw or b"{}")
    except ValueError as exc:
        return detail(f"JSON parse error - {exc}", 400)
    if not isinstance(body, dict):
        return invalid({"non_field_errors": [
            f"Invalid data. Expected a dictionary, but got {type(body).__name__}."]})
    return body


@contextlib.asynccontextmanager
async def serve_real_crm(crm: RealCrm | None = None) -> AsyncIterator[RealCrm]:
    crm = crm or RealCrm()
    await crm.up()
    try:
        yield crm
    finally:
        await crm.down()


def seeded() -> RealCrm:
    """A CRM with the people the tests call from."""
    crm = RealCrm()
    crm.add_contact("Camille", "Petit", "+33612345678", company="Boulangerie Petit")
    # Two contacts share the switchboard number of their firm.
    crm.add_account("Morel & Fils", phone="+33140000000")
    crm.add_contact("Jean", "Morel", "+33140000000", company="Morel & Fils")
    crm.add_contact("Lucie", "Morel", "+33140000000", company="Morel & Fils")
    crm.add_lead("Hugo Blanc", "+33699887766", company="Blanc Conseil")
    crm.add_account("Unknown callers")
    return crm


def variables(crm: RealCrm, token: str = TOKEN) -> dict[str, str]:
    """The mapping's ``vars`` for this CRM."""
    catchall = next((a["id"] for a in crm.accounts.values()
                     if a["name"] == "Unknown callers"), 0)
    return {"crm_url": crm.url, "crm_token": token, "catchall_account": str(catchall)}

"""A small real CRM for tests: an HTTP server on a real port, and its connector.

Until the mapping engine and the demo CRM land, this is the CRM the hub talks
to in these tests: contacts looked up by record id, customer id or phone,
activities created idempotently on the ``Idempotency-Key`` header, and a
switch to make it fail (500, HTML login page, wrong JSON, hang) for a while.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ctibridge.crm.base import CrmError, LogReceipt, LookupContext, LookupResult, Match
from ctibridge.model.interaction import Interaction
from ctibridge.model.party import Party

from ..harness import free_port


@dataclass
class TestCrm:
    __test__ = False  # not a test class, whatever pytest thinks of the name

    contacts: list[dict[str, str]] = field(default_factory=list)
    activities: dict[str, dict[str, Any]] = field(default_factory=dict)  # key → activity
    in_flight: int = 0  # requests waiting on the gate
    fault: str | None = None  # "500", "html", "shape", "hang"
    lookups: list[dict[str, str]] = field(default_factory=list)
    posts: int = 0
    gate: asyncio.Event = field(default_factory=asyncio.Event)  # "hang" waits on it
    url: str = ""

    def activities_of(self, interaction_id: str) -> list[dict[str, Any]]:
        """Activities written for an interaction, whatever key they were sent with."""
        return [a for a in self.activities.values() if a["interaction_id"] == interaction_id]

    async def _fault(self) -> Response | None:
        if self.fault == "500":
            return JSONResponse({"error": "boom"}, status_code=500)
        if self.fault == "html":
            return HTMLResponse("<html><body>Please log in</body></html>")
        if self.fault == "hang":
            self.in_flight += 1
            try:
                await self.gate.wait()
            finally:
                self.in_flight -= 1
        return None

    async def find(self, request: Request) -> Response:
        q = dict(request.query_params)
        self.lookups.append(q)
        if (bad := await self._fault()) is not None:
            return bad
        if self.fault == "shape":
            return JSONResponse({"unexpected": True})
        key, value = next(iter(q.items()))
        found = [c for c in self.contacts if c.get(key) == value]
        return JSONResponse({"contacts": found})

    async def log(self, request: Request) -> Response:
        self.posts += 1
        # Read before any hang: a request whose sender died meanwhile still
        # creates its activity, as a real CRM would.
        body = await request.json()
        if (bad := await self._fault()) is not None:
            return bad
        key = request.headers["idempotency-key"]
        if key in self.activities:
            return JSONResponse(self.activities[key], status_code=200)
        activity = {"id": f"A{len(self.activities) + 1}", **body}
        self.activities[key] = activity
        return JSONResponse(activity, status_code=201)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/contacts", self.find),
                                 Route("/activities", self.log, methods=["POST"])])


@contextlib.asynccontextmanager
async def serve_crm(crm: TestCrm) -> AsyncIterator[TestCrm]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(crm.app(), host="127.0.0.1", port=port,
                                           log_config=None, access_log=False, lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    crm.url = f"http://127.0.0.1:{port}"
    try:
        yield crm
    finally:
        crm.gate.set()
        server.should_exit = True
        await task


class TestCrmConnector:
    """A CrmConnector over TestCrm's HTTP API (IVR data first, then phone)."""

    __test__ = False
    name = "testcrm"

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = url
        self.http = httpx.AsyncClient(base_url=url, timeout=timeout)

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        await self.http.aclose()

    def normalize(self, number: str) -> str:
        digits = "".join(ch for ch in number if ch.isdigit())
        if number.startswith("+"):
            return "+" + digits
        if digits.startswith("0"):
            return "+33" + digits[1:]
        raise ValueError(f"cannot read {number!r}")

    def record_url(self, match: Match) -> str | None:
        return f"{self.url}/contacts/{match.record_id}"

    def create_url(self, party: Party, context: LookupContext) -> str | None:
        return f"{self.url}/contacts/new?phone={party.number or ''}"

    async def lookup(self, party: Party, context: LookupContext) -> LookupResult:
        steps = [("by_record_id", "id", context.attached.get("crm_record_id")),
                 ("by_customer_id", "customer_id", context.attached.get("customer_id")),
                 ("by_phone", "phone", party.number)]
        for name, key, value in steps:
            if not value:
                continue
            try:
                r = await self.http.get("/contacts", params={key: value})
            except httpx.HTTPError as exc:
                return LookupResult(lookup=name, unavailable=True,
                                    error=f"lookup {name}: {type(exc).__name__}")
            if r.status_code != 200 or "json" not in r.headers.get("content-type", ""):
                return LookupResult(lookup=name, unavailable=True,
                                    error=f"lookup {name}: HTTP {r.status_code}, "
                                    f"{r.headers.get('content-type')}")
            body = r.json()
            if not isinstance(body.get("contacts"), list):
                return LookupResult(lookup=name, unavailable=True,
                                    error=f"lookup {name}: no 'contacts' list in the answer")
            if body["contacts"]:
                return LookupResult(lookup=name, matches=tuple(
                    Match(record_id=c["id"], name=c.get("name")) for c in body["contacts"]))
        return LookupResult(lookup="by_phone")

    async def log_interaction(self, interaction: Interaction, idempotency_key: str, *,
                              record: Match | None = None) -> LogReceipt:
        body = {"interaction_id": interaction.interaction_id,
                "contact_id": record.record_id if record else None,
                "disposition": interaction.disposition, "notes": interaction.notes,
                "direction": str(interaction.direction)}
        try:
            r = await self.http.post("/activities", json=body,
                                     headers={"Idempotency-Key": idempotency_key})
        except httpx.HTTPError as exc:
            raise CrmError(f"log: {type(exc).__name__}", code="crm-timeout") from None
        if r.status_code >= 500 or "json" not in r.headers.get("content-type", ""):
            raise CrmError(f"log: HTTP {r.status_code}", retryable=True)
        if r.status_code >= 400:
            raise CrmError(f"log: HTTP {r.status_code}", retryable=False)
        data = r.json()
        return LogReceipt(activity_id=data["id"], created=r.status_code == 201)

    async def health(self) -> dict[str, Any]:
        return {"url": self.url}

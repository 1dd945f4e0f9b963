"""HubSpot's CRM API v3 (contacts, calls, search), as documented, for preset:hubspot.

From developers.hubspot.com, not from what ctibridge sends:

- Private app access tokens are sent as ``Authorization: Bearer``; a refusal is 401
  ``{"status": "error", "message": "Authentication credentials not found. …",
  "correlationId", "category": "INVALID_AUTHENTICATION"}`` (the error shape of every
  v3 endpoint: ``status, message, correlationId, category`` and sometimes
  ``errors``/``context``).
- CRM search (``POST /crm/v3/objects/{object}/search``): ``filterGroups`` (OR'ed; at
  most 5) of ``filters`` (AND'ed; at most 6 per group) with ``propertyName``,
  ``operator`` (``EQ``…) and ``value``; ``properties``; ``limit`` ≤ 200. Answer
  ``{"total", "results": [{"id", "properties", "createdAt", "updatedAt",
  "archived"}]}``. **Search is eventually consistent**: a record created a moment
  ago may not be found yet ("newly created or updated objects may take a few
  moments to appear in search results"); ``index_delay`` models it.
- Objects API: ``GET /crm/v3/objects/contacts/{id}?properties=…``; 404 category
  ``OBJECT_NOT_FOUND``.
- Calls (engagements): ``POST /crm/v3/objects/calls`` with ``properties``
  (``hs_timestamp`` required; ``hs_call_title``, ``hs_call_body``,
  ``hs_call_direction`` INBOUND/OUTBOUND, ``hs_call_duration`` in **milliseconds**,
  ``hs_call_from_number``, ``hs_call_to_number``, ``hs_call_status``…) and
  ``associations: [{to: {id}, types: [{associationCategory: "HUBSPOT_DEFINED",
  associationTypeId: 194}]}]`` (194 = call to contact) → 201. A property the portal
  does not have is a 400 ``VALIDATION_ERROR`` whose message lists
  ``PROPERTY_DOESNT_EXIST``; custom properties (``ctibridge_key`` here) exist only
  once an admin creates them. HubSpot de-duplicates nothing for calls.

Controls: ``cut_next_log`` (created, then the answer is cut), ``index_delay``
(seconds before a new call is searchable), ``calls_with(key)``.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .serving import CutAnswer, Served

TOKEN = "pat-eu1-2f6b0c1e-7d7a-4b5e-9a8e-ctibridge0000"
CONTACT_PROPS = {"firstname", "lastname", "company", "phone", "mobilephone", "email",
                 "hs_object_id"}
CALL_PROPS = {"hs_timestamp", "hs_call_title", "hs_call_body", "hs_call_direction",
              "hs_call_duration", "hs_call_from_number", "hs_call_to_number",
              "hs_call_status", "hs_call_disposition", "hs_call_recording_url",
              "hubspot_owner_id", "hs_call_source"}


def problem(status: int, category: str, message: str) -> JSONResponse:
    return JSONResponse({"status": "error", "message": message,
                         "correlationId": str(uuid.uuid4()), "category": category},
                        status_code=status)


@dataclass
class HubSpotPortal:
    __test__ = False

    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    custom_call_properties: set[str] = field(default_factory=lambda: {"ctibridge_key"})
    index_delay: float = 0.0
    cut_next_log: bool = False
    call_posts: int = 0
    served: Served | None = None
    _n: int = 51000

    def _id(self) -> str:
        self._n += 1
        return str(self._n)

    def add_contact(self, first: str, last: str, phone: str, company: str = "") -> str:
        cid = self._id()
        self.contacts[cid] = {"id": cid, "indexed_at": 0.0, "properties": {
            "firstname": first, "lastname": last, "company": company, "phone": phone,
            "mobilephone": None, "email": None, "hs_object_id": cid}}
        return cid

    def calls_with(self, key: str) -> list[dict[str, Any]]:
        return [c for c in self.calls.values() if c["properties"].get("ctibridge_key") == key]

    def _auth(self, request: Request) -> JSONResponse | None:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return problem(401, "INVALID_AUTHENTICATION", "Authentication credentials not "
                           "found. This API supports OAuth 2.0 authentication and you can "
                           "find more details at https://developers.hubspot.com/docs/methods"
                           "/auth/oauth-overview")
        return None

    @staticmethod
    def _out(obj: dict[str, Any], props: list[str] | None) -> dict[str, Any]:
        p = obj["properties"]
        shown = {k: p.get(k) for k in (props or p)} | {"hs_object_id": obj["id"]}
        return {"id": obj["id"], "properties": shown, "createdAt": "2026-12-05T09:00:00Z",
                "updatedAt": "2026-12-05T09:00:00Z", "archived": False}

    async def search(self, request: Request) -> Response:
        kind = request.path_params["object"]
        store, known = ((self.contacts, CONTACT_PROPS) if kind == "contacts" else
                        (self.calls, CALL_PROPS | self.custom_call_properties))
        body = json.loads(await request.body())
        groups = body.get("filterGroups") or []
        if len(groups) > 5 or any(len(g.get("filters", [])) > 6 for g in groups):
            return problem(400, "VALIDATION_ERROR", "Too many filter groups or filters")
        for g in groups:
            for f in g.get("filters", []):
                if f.get("propertyName") not in known:
                    return problem(400, "VALIDATION_ERROR", "There was a problem with the "
                                   f"request. Property {f.get('propertyName')!r} not found")
                if f.get("operator") != "EQ":
                    return problem(400, "VALIDATION_ERROR", "operator not supported here")
        now = time.monotonic()

        def matches(obj: dict[str, Any]) -> bool:
            return any(all(obj["properties"].get(f["propertyName"]) == f["value"]
                           for f in g["filters"]) for g in groups)

        found = [self._out(o, body.get("properties")) for o in store.values()
                 if o["indexed_at"] <= now and matches(o)]
        limit = int(body.get("limit", 10))
        return JSONResponse({"total": len(found), "results": found[:limit]})

    async def contact(self, request: Request) -> Response:
        c = self.contacts.get(request.path_params["id"])
        if c is None:
            return problem(404, "OBJECT_NOT_FOUND", "resource not found")
        props = request.query_params.get("properties")
        return JSONResponse(self._out(c, props.split(",") if props else None))

    async def create_call(self, request: Request) -> Response:
        self.call_posts += 1
        body = json.loads(await request.body())
        props = body.get("properties") or {}
        bad = [k for k in props if k not in CALL_PROPS | self.custom_call_properties]
        if bad:
            return problem(400, "VALIDATION_ERROR", "Property values were not valid: " +
                           json.dumps([{"isValid": False, "message": f'Property "{k}" does '
                                        "not exist", "error": "PROPERTY_DOESNT_EXIST",
                                        "name": k} for k in bad]))
        if not props.get("hs_timestamp"):
            return problem(400, "VALIDATION_ERROR", "Property values were not valid: "
                           '[{"isValid":false,"message":"hs_timestamp is required",'
                           '"error":"REQUIRED_FIELD","name":"hs_timestamp"}]')
        if props.get("hs_call_direction") not in (None, "INBOUND", "OUTBOUND"):
            return problem(400, "VALIDATION_ERROR", "Property values were not valid: "
                           f"{props['hs_call_direction']} is not a valid option")
        for a in body.get("associations") or []:
            if str(a.get("to", {}).get("id")) not in self.contacts:
                return problem(400, "VALIDATION_ERROR", "One or more associations are "
                               "invalid: the object to associate does not exist")
            if a.get("types") != [{"associationCategory": "HUBSPOT_DEFINED",
                                   "associationTypeId": 194}]:
                return problem(400, "VALIDATION_ERROR", "invalid association type")
        cid = self._id()
        self.calls[cid] = {"id": cid, "properties": {k: None if v is None else str(v)
                                                      for k, v in props.items()},
                           "associations": body.get("associations") or [],
                           "indexed_at": time.monotonic() + self.index_delay}
        answer = self._out(self.calls[cid], None)
        if self.cut_next_log:
            self.cut_next_log = False
            return CutAnswer(answer)
        return JSONResponse(answer, status_code=201)

    def app(self) -> Starlette:
        def guarded(view: Any) -> Any:
            async def run(request: Request) -> Response:
                refused = self._auth(request)
                return refused if refused is not None else await view(request)
            return run

        return Starlette(routes=[
            Route("/crm/v3/objects/{object}/search", guarded(self.search), methods=["POST"]),
            Route("/crm/v3/objects/contacts/{id}", guarded(self.contact)),
            Route("/crm/v3/objects/calls", guarded(self.create_call), methods=["POST"]),
        ])

"""Dynamics 365 (Dataverse Web API v9.2) and its Entra ID token endpoint, as documented,
for preset:dynamics365.

From Microsoft Learn, not from what ctibridge sends:

- Microsoft identity platform, "OAuth 2.0 client credentials flow": ``POST
  /{tenant}/oauth2/v2.0/token`` with ``client_id``, ``client_secret``, ``scope =
  https://<org>.crm.dynamics.com/.default`` → ``{token_type, expires_in,
  ext_expires_in, access_token}``; a bad secret is 401 ``{"error": "invalid_client",
  "error_description": "AADSTS7000215: Invalid client secret provided. …",
  "error_codes": [7000215], …}``.
- Dataverse Web API "Query data" (``$select``, ``$filter`` with ``eq``/``or`` and
  OData string literals whose quote is doubled, ``$expand`` of a single-valued
  navigation property, ``$top``): ``{"@odata.context", "value": [...]}``, each row
  with ``@odata.etag``; "Retrieve a table row": ``GET /contacts(<guid>)``.
- "Upsert a table row" / "Perform conditional operations": ``PATCH
  /phonecalls(<guid>)`` creates the row with that id when none exists (204 No
  Content, ``OData-EntityId`` header); with ``If-None-Match: *`` an existing row is
  never updated: **412 Precondition Failed**, error code ``0x80060882`` "A record with
  matching key values already exists.".
- "Web API error handling": errors are ``{"error": {"code", "message"}}``; an unknown
  property 400 (``0x80060888``), a bound row that does not exist 404 (``0x80040217``
  "… With Id = … Does Not Exist"); an expired or bad token 401 with an empty body and a
  ``WWW-Authenticate: Bearer authorization_uri=…`` header.
- phonecall columns (Dataverse table reference "PhoneCall"): subject, phonenumber,
  description, directioncode (Edm.Boolean: true = outgoing), actualdurationminutes
  (Edm.Int32), statecode (1 = Completed), statuscode (2 Made, 4 Received), and the
  regarding lookup bound with ``regardingobjectid_contact@odata.bind``. Sending null
  for a ``@odata.bind`` is refused here (400): we did not find it documented as
  allowed, so the preset leaves the key out instead.

Controls: ``revoke()``, ``cut_next_log`` (the row is created, then a 504 from the
gateway in front), ``phonecalls`` (id → row).
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .serving import Served

TENANT = "7f3e1a52-0c4d-4a55-9b1e-2d6f1c0a9e31"
CLIENT_ID = "5c1ad1f0-0a6b-4c47-8a9e-ctibridge"
CLIENT_SECRET = "Zq8~test-secret"
PHONECALL = {"subject": str, "phonenumber": str, "description": str, "directioncode": bool,
             "actualdurationminutes": int, "statecode": int, "statuscode": int}
CONTACT_COLUMNS = {"contactid", "fullname", "firstname", "lastname", "telephone1",
                   "telephone2", "mobilephone", "emailaddress1", "_parentcustomerid_value"}


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


@dataclass
class Dataverse:
    __test__ = False

    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    phonecalls: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    cut_next_log: bool = False
    phonecall_writes: int = 0
    token_requests: int = 0
    served: Served | None = None

    @property
    def url(self) -> str:
        assert self.served is not None
        return self.served.url

    def add_account(self, name: str) -> str:
        aid = str(uuid.uuid4())
        self.accounts[aid] = {"accountid": aid, "name": name}
        return aid

    def add_contact(self, first: str, last: str, phone: str, account: str | None = None
                    ) -> str:
        cid = str(uuid.uuid4())
        aid = None
        if account is not None:
            aid = next((a for a, r in self.accounts.items() if r["name"] == account),
                       None) or self.add_account(account)
        self.contacts[cid] = {"contactid": cid, "firstname": first, "lastname": last,
                              "fullname": f"{first} {last}", "telephone1": phone,
                              "telephone2": None, "mobilephone": None,
                              "emailaddress1": None, "_parentcustomerid_value": aid}
        return cid

    def revoke(self) -> None:
        self.tokens.clear()

    # -- Entra ID --------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        self.token_requests += 1
        form = await request.form()
        if request.path_params["tenant"] != TENANT:
            return JSONResponse({"error": "invalid_request", "error_description":
                                 f"AADSTS90002: Tenant '{request.path_params['tenant']}' "
                                 "not found.", "error_codes": [90002]}, status_code=400)
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type", "error_codes": [70003]},
                                status_code=400)
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return JSONResponse({"error": "invalid_client", "error_description":
                                 "AADSTS7000215: Invalid client secret provided.",
                                 "error_codes": [7000215]}, status_code=401)
        if form.get("scope") != f"{self.url}/.default":
            return JSONResponse({"error": "invalid_scope", "error_description":
                                 "AADSTS70011: The provided value for the input parameter "
                                 "'scope' is not valid.", "error_codes": [70011]},
                                status_code=400)
        token = "eyJ0eXAiOiJKV1Qi." + secrets.token_urlsafe(48)
        self.tokens.add(token)
        return JSONResponse({"token_type": "Bearer", "expires_in": 3599,
                             "ext_expires_in": 3599, "access_token": token})

    def _auth(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer ") or header[7:] not in self.tokens:
            return Response(status_code=401, headers={
                "WWW-Authenticate": "Bearer authorization_uri=https://login.microsoftonline"
                                    f".com/{TENANT}/oauth2/authorize"})
        if request.headers.get("odata-version", "4.0") != "4.0":
            return error(400, "0x0", "OData-Version must be 4.0")
        return None

    # -- contacts --------------------------------------------------------------------

    def _row(self, c: dict[str, Any], select: list[str], expand: str | None
             ) -> dict[str, Any]:
        row: dict[str, Any] = {"@odata.etag": 'W/"1001"'}
        row.update({k: c.get(k) for k in (select or sorted(CONTACT_COLUMNS))})
        if expand is not None:
            m = re.fullmatch(r"parentcustomerid_account\(\$select=([\w,]+)\)", expand)
            account = self.accounts.get(c.get("_parentcustomerid_value") or "")
            cols = m.group(1).split(",") if m else []
            row["parentcustomerid_account"] = (
                None if account is None else {k: account.get(k) for k in cols + ["accountid"]})
        return row

    def _options(self, request: Request) -> tuple[list[str], str | None] | Response:
        q = request.query_params
        select = [s for s in q.get("$select", "").split(",") if s]
        for s in select:
            if s not in CONTACT_COLUMNS:
                return error(400, "0x80060888", f"Could not find a property named '{s}' on "
                             "type 'Microsoft.Dynamics.CRM.contact'.")
        expand = q.get("$expand")
        if expand is not None and not expand.startswith("parentcustomerid_account"):
            return error(400, "0x80060888", f"Could not find a property named "
                         f"'{expand.split('(')[0]}' on type 'Microsoft.Dynamics.CRM.contact'.")
        return select, expand

    _CLAUSE = re.compile(r"\s*(\w+)\s+eq\s+'((?:''|[^'])*)'\s*")

    def _filter(self, text: str) -> list[tuple[str, str]] | Response:
        clauses = []
        for part in re.split(r"\s+or\s+", text):
            m = self._CLAUSE.fullmatch(part)
            if m is None:
                return error(400, "0x80060888", f"Syntax error at position 0 in '{text}'.")
            if m.group(1) not in CONTACT_COLUMNS:
                return error(400, "0x80060888", f"Could not find a property named "
                             f"'{m.group(1)}' on type 'Microsoft.Dynamics.CRM.contact'.")
            clauses.append((m.group(1), m.group(2).replace("''", "'")))
        return clauses

    async def contacts_list(self, request: Request) -> Response:
        options = self._options(request)
        if isinstance(options, Response):
            return options
        select, expand = options
        clauses = self._filter(request.query_params.get("$filter", ""))
        if isinstance(clauses, Response):
            return clauses
        rows = [self._row(c, select, expand) for c in self.contacts.values()
                if any(c.get(col) == value for col, value in clauses)]
        top = int(request.query_params.get("$top", "5000"))
        return JSONResponse({"@odata.context": f"{self.url}/api/data/v9.2/$metadata#contacts",
                             "value": rows[:top]})

    async def contact(self, request: Request) -> Response:
        options = self._options(request)
        if isinstance(options, Response):
            return options
        cid = request.path_params["id"]
        c = self.contacts.get(cid)
        if c is None:
            return error(404, "0x80040217", f"contact With Id = {cid} Does Not Exist")
        return JSONResponse(self._row(c, *options))

    # -- phone calls -----------------------------------------------------------------

    async def upsert_phonecall(self, request: Request) -> Response:
        self.phonecall_writes += 1
        pid = request.path_params["id"]
        try:
            uuid.UUID(pid)
        except ValueError:
            return error(400, "0x80060888", f"Unrecognized 'Edm.Guid' literal '{pid}'.")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return error(400, "0x80060888", "The request body is not valid JSON.")
        exists = pid in self.phonecalls
        if exists and request.headers.get("if-none-match") == "*":
            return error(412, "0x80060882", "A record with matching key values already exists.")
        row: dict[str, Any] = {"activityid": pid}
        for key, value in body.items():
            if key.endswith("@odata.bind"):
                if key != "regardingobjectid_contact@odata.bind":
                    return error(400, "0x80060888", f"An undeclared property '{key[:-11]}' "
                                 "which only has property annotations in the payload.")
                m = re.fullmatch(r"/contacts\(([0-9a-f-]{36})\)", str(value or ""))
                if m is None:
                    return error(400, "0x80060888", f"Invalid value {value!r} for "
                                 f"'{key}': expected an entity reference such as /contacts(id).")
                if m.group(1) not in self.contacts:
                    return error(404, "0x80040217", f"contact With Id = {m.group(1)} Does "
                                 "Not Exist")
                row["_regardingobjectid_value"] = m.group(1)
                continue
            kind = PHONECALL.get(key)
            if kind is None:
                return error(400, "0x80060888", f"The property '{key}' does not exist on "
                             "type 'Microsoft.Dynamics.CRM.phonecall'.")
            if value is not None and (type(value) is not kind):
                edm = {str: "Edm.String", bool: "Edm.Boolean", int: "Edm.Int32"}[kind]
                return error(400, "0x80060888", f"Cannot convert the literal '{value}' to the "
                             f"expected type '{edm}'.")
            row[key] = value
        self.phonecalls[pid] = {**self.phonecalls.get(pid, {}), **row}
        if self.cut_next_log:  # created, then the gateway in front gave up waiting
            self.cut_next_log = False
            return Response("upstream request timeout", status_code=504)
        return Response(status_code=204, headers={
            "OData-EntityId": f"{self.url}/api/data/v9.2/phonecalls({pid})"})

    def app(self) -> Starlette:
        def guarded(view: Any) -> Any:
            async def run(request: Request) -> Response:
                refused = self._auth(request)
                return refused if refused is not None else await view(request)
            return run

        api = "/api/data/v9.2"
        return Starlette(routes=[
            Route("/{tenant}/oauth2/v2.0/token", self.token, methods=["POST"]),
            Route(f"{api}/contacts", guarded(self.contacts_list)),
            Route(api + "/contacts({id})", guarded(self.contact)),
            Route(api + "/phonecalls({id})", guarded(self.upsert_phonecall),
                  methods=["PATCH"]),
        ])

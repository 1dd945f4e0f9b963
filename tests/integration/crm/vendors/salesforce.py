"""A Salesforce org's REST API, as its documentation describes it, for preset:salesforce.

Written from Salesforce's documents, not from what ctibridge sends:

- OAuth 2.0 JWT bearer flow (Salesforce Help, "OAuth 2.0 JWT Bearer Flow for
  Server-to-Server Integration"): ``POST /services/oauth2/token`` with
  ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` and ``assertion``, a JWT
  signed RS256 with the connected app's key; ``iss`` = consumer key, ``sub`` =
  username, ``aud`` = the login host (https://login.salesforce.com, test.salesforce.com
  or an Experience Cloud site; here this server's own URL), ``exp`` at most 3 minutes away.
  The answer has ``access_token``, ``instance_url``, ``token_type`` and **no
  expires_in** and no refresh token; a refusal is 400 ``{"error": "invalid_grant",
  "error_description": ...}``.
- REST API Developer Guide, "Status Codes and Error Responses": errors are a JSON
  **list** ``[{"message", "errorCode", "fields"?}]``; an expired or bad session is 401
  ``INVALID_SESSION_ID``; a bad SOQL query 400 ``MALFORMED_QUERY``, bad SOSL 400
  ``MALFORMED_SEARCH``; an unknown field 400 ``INVALID_FIELD``; a lookup to a record
  of the wrong kind 400 ``FIELD_INTEGRITY_EXCEPTION``; a bad restricted picklist value
  400 ``INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST``.
- "Search" resource (``GET /services/data/vXX.X/search/?q=<SOSL>``): ``{"searchRecords":
  [...]}``, each record with ``attributes: {type, url}``; SOSL reference "FIND
  {SearchQuery}" (reserved characters escaped with a backslash) and "RETURNING
  FieldSpec". How SOSL matches phone fields with different formatting is not spelled
  out in the documents we read: here a term matches a phone field when its digits
  equal the field's digits (what an org's phone search does for the numbers we tried
  to describe; stated here as an assumption).
- "Query" resource (``GET /query/?q=<SOQL>``): ``{totalSize, done, records}``.
- "sObject Basic Information" (``POST /sobjects/Task/``): 201 ``{"id", "success": true,
  "errors": []}``. Task fields from the Object Reference ("Task"): WhoId (Contact or
  Lead), WhatId, Subject, Status, Priority, Type, TaskSubtype, CallType (restricted
  picklist Inbound/Outbound/Internal), CallDurationInSeconds, CallObject (text 255),
  CallDisposition, Description, ActivityDate, OwnerId. Salesforce de-duplicates
  nothing: the same CallObject twice makes two Tasks.

Controls for tests: ``cut_next_log`` (the Task is created, then the connection is cut
mid-answer), ``revoke()`` (every issued token becomes invalid: 401), ``tasks_with(key)``.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .serving import CutAnswer, Served

API = "v62.0"
AUDIENCE = "https://login.salesforce.com"
CONSUMER_KEY = "3MVG9A2kN3Bn17hs_ctibridge_test"
USERNAME = "integration@ctibridge.example"
PICKLIST_CALLTYPE = ("Inbound", "Outbound", "Internal")
TASK_FIELDS = {"WhoId", "WhatId", "Subject", "Status", "Priority", "Type", "TaskSubtype",
               "CallType", "CallDurationInSeconds", "CallObject", "CallDisposition",
               "Description", "ActivityDate", "OwnerId"}
PREFIX = {"Contact": "003", "Lead": "00Q", "Account": "001", "Task": "00T"}


def errors(status: int, code: str, message: str, fields: list[str] | None = None
           ) -> JSONResponse:
    body: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        body["fields"] = fields
    return JSONResponse([body], status_code=status)


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def key_pair() -> tuple[str, str]:
    """A private key (PEM, for the hub) and its public key (the connected app's cert)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public.decode()


@dataclass
class SalesforceOrg:
    __test__ = False

    public_key: str
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    cut_next_log: bool = False
    task_posts: int = 0
    token_requests: int = 0
    served: Served | None = None
    _n: int = 0

    @property
    def url(self) -> str:
        assert self.served is not None
        return self.served.url

    # -- data ------------------------------------------------------------------------

    def new_id(self, kind: str) -> str:
        self._n += 1
        return f"{PREFIX[kind]}5g0000{self._n:06d}AAA"  # 18 characters, like real ids

    def add(self, kind: str, **fields: Any) -> str:
        rid = self.new_id(kind)
        self.records[rid] = {"_type": kind, "Id": rid, **fields}
        return rid

    def add_contact(self, first: str, last: str, phone: str, account: str | None = None,
                    mobile: str | None = None) -> str:
        account_id = None
        if account is not None:
            account_id = next((r["Id"] for r in self.of("Account") if r["Name"] == account),
                              None) or self.add("Account", Name=account, Phone=None)
        return self.add("Contact", FirstName=first, LastName=last, Name=f"{first} {last}",
                        Phone=phone, MobilePhone=mobile, AccountId=account_id)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.records.values() if r["_type"] == kind]

    def tasks_with(self, call_object: str) -> list[dict[str, Any]]:
        return [t for t in self.of("Task") if t.get("CallObject") == call_object]

    def revoke(self) -> None:
        self.tokens.clear()

    # -- representation ----------------------------------------------------------------

    def _attributes(self, record: dict[str, Any]) -> dict[str, str]:
        kind = record["_type"]
        return {"type": kind, "url": f"/services/data/{API}/sobjects/{kind}/{record['Id']}"}

    def _select(self, record: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"attributes": self._attributes(record)}
        for name in fields:
            if "." in name:  # a parent relationship: Account.Name
                rel, sub = name.split(".", 1)
                parent = self.records.get(record.get(f"{rel}Id") or "")
                if parent is None:
                    out[rel] = None
                else:
                    out.setdefault(rel, {"attributes": self._attributes(parent)})[sub] = \
                        parent.get(sub)
            else:
                out[name] = record.get(name)
        return out

    # -- OAuth ---------------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        self.token_requests += 1
        form = await request.form()

        def refuse(why: str) -> JSONResponse:
            return JSONResponse({"error": "invalid_grant", "error_description": why},
                                status_code=400)

        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return JSONResponse({"error": "unsupported_grant_type",
                                 "error_description": "grant type not supported"},
                                status_code=400)
        try:
            claims = jwt.decode(str(form.get("assertion", "")), self.public_key,
                                algorithms=["RS256"], audience=self.url,
                                options={"require": ["iss", "sub", "aud", "exp"]})
        except jwt.ExpiredSignatureError:
            return refuse("expired authorization code")
        except jwt.InvalidTokenError:
            return refuse("invalid assertion")
        if claims["iss"] != CONSUMER_KEY:
            return JSONResponse({"error": "invalid_client_id",
                                 "error_description": "client identifier invalid"},
                                status_code=400)
        if claims["sub"] != USERNAME:
            return refuse("user hasn't approved this consumer")
        if claims["exp"] > time.time() + 180 + 5:  # "within 3 minutes"
            return refuse("expired authorization code")
        token = "00D5g000000ctib!" + secrets.token_urlsafe(40)
        self.tokens.add(token)
        return JSONResponse({"access_token": token, "scope": "api",
                             "instance_url": self.url,
                             "id": f"{AUDIENCE}/id/00D5g000000ctib/0055g000000user",
                             "token_type": "Bearer"})

    def _session(self, request: Request) -> JSONResponse | None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer ") or header[7:] not in self.tokens:
            return errors(401, "INVALID_SESSION_ID", "Session expired or invalid")
        return None

    # -- search (SOSL) -------------------------------------------------------------------

    _SOSL = re.compile(r"^FIND\s*\{((?:\\.|[^\\}])*)\}\s+IN\s+(ALL|NAME|EMAIL|PHONE)\s+FIELDS"
                       r"\s+RETURNING\s+(.+?)(?:\s+LIMIT\s+(\d+))?\s*$", re.I | re.S)
    _SPEC = re.compile(r"(\w+)\s*\(([^)]*)\)")

    async def search(self, request: Request) -> Response:
        q = request.query_params.get("q", "")
        m = self._SOSL.match(q)
        if m is None:
            return errors(400, "MALFORMED_SEARCH", f"unexpected token in: {q[:80]}")
        raw, scope, returning, limit = m.groups()
        # Unescaped reserved characters are a syntax error in a real org.
        if re.search(r"(?<!\\)[&|!(){}\[\]^\"~*?:'+\-]", raw.replace("\\\\", "")):
            return errors(400, "MALFORMED_SEARCH",
                          "reserved character in search term; escape it with a backslash")
        term = re.sub(r"\\(.)", r"\1", raw)
        found: list[dict[str, Any]] = []
        for kind, fields in self._SPEC.findall(returning):
            kind = kind[0].upper() + kind[1:]
            if kind not in PREFIX:
                return errors(400, "INVALID_TYPE", f"sObject type '{kind}' is not supported.")
            names = [f.strip() for f in fields.split(",") if f.strip()]
            for r in self.of(kind):
                phones = [r.get(k) for k in ("Phone", "MobilePhone") if r.get(k)]
                if scope.upper() == "PHONE" and digits(term) and any(
                        digits(p) == digits(term) for p in phones):
                    found.append(self._select(r, names))
        return JSONResponse({"searchRecords": found[: int(limit or 2000)]})

    # -- query (SOQL) --------------------------------------------------------------------

    _SOQL = re.compile(r"^SELECT\s+(.+?)\s+FROM\s+(\w+)\s+WHERE\s+(\w+)\s*=\s*'((?:\\.|[^\\'])*)'"
                       r"(?:\s+LIMIT\s+(\d+))?\s*$", re.I | re.S)

    async def query(self, request: Request) -> Response:
        q = request.query_params.get("q", "")
        m = self._SOQL.match(q)
        if m is None:
            return errors(400, "MALFORMED_QUERY", f"unexpected token: {q[:80]}")
        fields, kind, column, literal, limit = m.groups()
        value = re.sub(r"\\(.)", r"\1", literal)
        names = [f.strip() for f in fields.split(",")]
        rows = [self._select(r, names) for r in self.of(kind) if r.get(column) == value]
        rows = rows[: int(limit)] if limit else rows
        return JSONResponse({"totalSize": len(rows), "done": True, "records": rows})

    # -- sObjects ------------------------------------------------------------------------

    async def create_task(self, request: Request) -> Response:
        self.task_posts += 1
        try:
            body = json.loads(await request.body())
        except ValueError:
            return errors(400, "JSON_PARSER_ERROR", "Unexpected character")
        if not isinstance(body, dict):
            return errors(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of Task")
        for name in body:
            if name not in TASK_FIELDS:
                return errors(400, "INVALID_FIELD",
                              f"No such column '{name}' on sobject of type Task")
        who = body.get("WhoId")
        if who is not None and (who not in self.records
                                or self.records[who]["_type"] not in ("Contact", "Lead")):
            return errors(400, "FIELD_INTEGRITY_EXCEPTION",
                          "Name ID: id value of incorrect type: " + str(who), ["WhoId"])
        if body.get("CallType") is not None and body["CallType"] not in PICKLIST_CALLTYPE:
            return errors(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                          f"Call Type: bad value for restricted picklist field: "
                          f"{body['CallType']}", ["CallType"])
        if len(str(body.get("CallObject") or "")) > 255:
            return errors(400, "STRING_TOO_LONG", "Call Object Identifier: data value too "
                          "large", ["CallObject"])
        rid = self.add("Task", **body)
        answer = {"id": rid, "success": True, "errors": []}
        if self.cut_next_log:
            self.cut_next_log = False
            return CutAnswer(answer, why="the org's answer was cut (test control)")
        return JSONResponse(answer, status_code=201)

    async def get_record(self, request: Request) -> Response:
        kind, rid = request.path_params["kind"], request.path_params["rid"]
        record = self.records.get(rid)
        if record is None or record["_type"] != kind:
            return errors(404, "NOT_FOUND", "The requested resource does not exist")
        names = [k for k in record if not k.startswith("_")]
        return JSONResponse(self._select(record, names))

    def app(self) -> Starlette:
        def guarded(view: Any) -> Any:
            async def run(request: Request) -> Response:
                refused = self._session(request)
                return refused if refused is not None else await view(request)
            return run

        base = f"/services/data/{API}"
        return Starlette(routes=[
            Route("/services/oauth2/token", self.token, methods=["POST"]),
            Route(f"{base}/search/", guarded(self.search)),
            Route(f"{base}/search", guarded(self.search)),
            Route(f"{base}/query/", guarded(self.query)),
            Route(f"{base}/query", guarded(self.query)),
            Route(f"{base}/sobjects/Task/", guarded(self.create_task), methods=["POST"]),
            Route(f"{base}/sobjects/Task", guarded(self.create_task), methods=["POST"]),
            Route(base + "/sobjects/{kind}/{rid}", guarded(self.get_record)),
        ])

"""A small in-house CRM for the engine's tests (the one docs/crm-mapping.md's REST
example describes), with switches to misbehave: answer 500, hang, show an HTML
login page, or answer JSON of another shape.

Its API, all JSON under /api/v2, OAuth2 client credentials at /oauth/token:
- GET /people?phone=…      exact match on a stored phone, as stored (mixed formats)
- GET /people?phone_suffix=…  stored digits ending with the given digits
- GET /people?account=…    exact match on the account number
- GET /people/{ref}        one person, 404 if unknown
- POST /calls              logs a call; ``X-Request-Id`` is the idempotency key: a key
                           seen before answers 409 {"error": "already exists"}
"""

from __future__ import annotations

import asyncio
import base64
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

CLIENT_ID, CLIENT_SECRET = "ctibridge", "s3cret-for-tests"
API_KEY = "key-in-the-query"  # also accepted as ?api_key=, and Basic with the client id

PEOPLE: list[dict[str, Any]] = [
    {"ref": "P-1", "full_name": "Jeanne Martin", "org": {"name": "Boulangerie Martin"},
     "phones": ["0612345678"], "account_no": "A1001"},
    {"ref": "P-2", "full_name": "Paul Durand", "org": None,
     "phones": ["+41223456789"], "account_no": "A1002"},
    {"ref": "P-3", "full_name": "Alice Bernard", "org": {"name": "Bernard SA"},
     "phones": ["01 23 45 67 89"], "account_no": "A1003"},
    {"ref": "P-4", "full_name": "Bob Bernard", "org": {"name": "Bernard SA"},
     "phones": ["01 23 45 67 89"], "account_no": "A1004"},
    {"ref": "P-5", "full_name": "Zoé Petit", "org": None,
     "phones": ["(0)6-98-76-54-32"], "account_no": "A1005"},
]


@dataclass
class InhouseCrm:
    mode: str = "ok"  # ok | 500 | slow | html | wrong_json | no_id | reject (log: 422)
    tokens: set[str] = field(default_factory=set)
    refresh_tokens: set[str] = field(default_factory=lambda: {"first-refresh-token"})
    token_requests: int = 0
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path?query)
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)  # by idempotency key
    release: asyncio.Event = field(default_factory=asyncio.Event)  # ends "slow" answers

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/oauth/token", self.token, methods=["POST"]),
            Route("/api/v2/people", self.people),
            Route("/api/v2/people/{ref}", self.person),
            Route("/api/v2/calls", self.log_call, methods=["POST"]),
        ])

    async def token(self, request: Request) -> Response:
        self.token_requests += 1
        form = await request.form()
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        answer: dict[str, Any] = {"token_type": "Bearer", "expires_in": 3600}
        if form.get("grant_type") == "refresh_token":
            if form.get("refresh_token") not in self.refresh_tokens:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            self.refresh_tokens.discard(str(form.get("refresh_token")))  # rotated
            answer["refresh_token"] = secrets.token_hex(8)
            self.refresh_tokens.add(answer["refresh_token"])
        elif form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        answer["access_token"] = token = secrets.token_hex(8)
        self.tokens.add(token)
        return JSONResponse(answer)

    async def _guard(self, request: Request) -> Response | None:
        self.requests.append((request.method, str(request.url.path)
                              + (f"?{request.url.query}" if request.url.query else "")))
        auth = request.headers.get("authorization", "")
        basic = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if not (auth.startswith("Bearer ") and auth[7:] in self.tokens or auth == basic
                or request.query_params.get("api_key") == API_KEY):
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        if self.mode == "500":
            return JSONResponse({"message": "database is down"}, status_code=500)
        if self.mode == "slow":
            await self.release.wait()
        if self.mode == "html":
            return HTMLResponse("<!doctype html><html><body><form>Login</form></body></html>")
        if self.mode == "wrong_json":
            return JSONResponse({"results": "nothing here", "ok": True})
        if self.mode == "deep":  # hostile or broken: nested past any parser's depth
            return Response("[" * 100_000, media_type="application/json")
        return None

    def _out(self, p: dict[str, Any]) -> dict[str, Any]:
        if self.mode == "no_id":
            return {k: v for k, v in p.items() if k != "ref"}
        return p

    async def people(self, request: Request) -> Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        q = request.query_params
        if "phone" in q:
            found = [p for p in PEOPLE if q["phone"] in p["phones"]]
        elif "phone_suffix" in q:
            suffix = q["phone_suffix"]
            found = [p for p in PEOPLE
                     if any(re.sub(r"\D", "", n).endswith(suffix) for n in p["phones"])]
        elif "account" in q:
            found = [p for p in PEOPLE if p["account_no"] == q["account"]]
        else:
            return JSONResponse({"message": "give phone, phone_suffix or account"}, 400)
        return JSONResponse({"data": {"people": [self._out(p) for p in found]},
                             "total": len(found)})

    async def person(self, request: Request) -> Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        for p in PEOPLE:
            if p["ref"] == request.path_params["ref"]:
                return JSONResponse(self._out(p))
        return JSONResponse({"message": "no such person"}, status_code=404)

    async def log_call(self, request: Request) -> Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        if self.mode == "reject":
            return JSONResponse({"message": "person is not a valid reference"}, 422)
        key = request.headers.get("x-request-id")
        if not key:
            return JSONResponse({"message": "X-Request-Id is required"}, status_code=400)
        body = await request.json()
        if not isinstance(body, dict) or "started" not in body:
            return JSONResponse({"message": "started is required"}, status_code=422)
        if key in self.calls:
            return JSONResponse({"error": "already exists"}, status_code=409)
        call = {"id": f"C-{len(self.calls) + 1}", **body}
        self.calls[key] = call
        return JSONResponse({"call": call}, status_code=201)

"""A Zendesk Support account's API with Talk Partner Edition, as documented, for
preset:zendesk.

From developer.zendesk.com, not from what ctibridge sends:

- "Security and authentication": API token as HTTP Basic ``{email}/token:{token}``;
  a refusal is 401 ``{"error": "Couldn't authenticate you"}``.
- Talk Partner Edition, "Retrieving the Zendesk user id of a caller": ``GET
  /api/v2/search.json?query=role:end-user phone:<digits>``; digits only, and a
  leading ``*`` matches numbers stored with a prefix or punctuation
  (``phone:*5135557611`` finds ``+1 513.555.7611``). Search answers ``{"results",
  "count", "next_page", "previous_page", "facets"}``; each result has
  ``result_type``.
- Users API: ``GET /api/v2/users/{id}`` → ``{"user": …}``; ``POST /api/v2/users``
  creates one (422 ``{"error": "RecordInvalid", "description": "Record validation
  errors", "details": {…}}`` when the name is missing); 404 ``{"error":
  "RecordNotFound", "description": "Not found"}``.
- Talk Partner Edition API, "Create Ticket or Voicemail Ticket": ``POST
  /api/v2/channels/voice/tickets`` with ``{"ticket": {via_id: 44 voicemail | 45
  inbound | 46 outbound, requester_id, subject, external_id, voice_comment: {from,
  to, started_at, call_duration, recording_url?, answered_by_id?, location?,
  transcription_text?}}}`` → 201 ``{"ticket": …}``; an account without Talk Partner
  Edition gets 403; a bad via_id 422. Nothing is de-duplicated.
- Talk Partner Edition, "Open a user's profile in an agent's browser": ``POST
  /api/v2/channels/voice/agents/{agent_id}/users/{user_id}/display`` → 200, 404 when
  either is not found.
- Tickets API, "List Tickets": ``GET /api/v2/tickets?external_id=…`` finds tickets
  by external id at once (search, by contrast, is indexed with a delay).

Controls: ``cut_next_log`` (the ticket is created, then the answer is cut),
``tickets_with(key)``.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .serving import CutAnswer, Served

EMAIL = "cti@acme.example"
API_TOKEN = "6wiIBWbGkBMo1mRDMuVwkw1EPsNkeUj95PIz2akv"
VOICE_VIA = (44, 45, 46)


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


@dataclass
class ZendeskAccount:
    __test__ = False

    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    tickets: dict[int, dict[str, Any]] = field(default_factory=dict)
    talk_partner_edition: bool = True
    cut_next_log: bool = False
    ticket_posts: int = 0
    served: Served | None = None
    _n: int = 360000000000

    @property
    def url(self) -> str:
        assert self.served is not None
        return self.served.url

    def _id(self) -> int:
        self._n += 1
        return self._n

    def add_user(self, name: str, phone: str | None, role: str = "end-user") -> int:
        uid = self._id()
        self.users[uid] = {"id": uid, "url": f"/api/v2/users/{uid}.json", "name": name,
                           "phone": phone, "role": role, "organization_id": None,
                           "email": None}
        return uid

    displays: list[tuple[int, int]] = field(default_factory=list)  # (agent, user) shown

    def tickets_with(self, external_id: str) -> list[dict[str, Any]]:
        return [t for t in self.tickets.values() if t.get("external_id") == external_id]

    def _auth(self, request: Request) -> JSONResponse | None:
        expected = base64.b64encode(f"{EMAIL}/token:{API_TOKEN}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return JSONResponse({"error": "Couldn't authenticate you"}, status_code=401)
        return None

    async def search(self, request: Request) -> Response:
        terms = dict(t.split(":", 1) for t in request.query_params.get("query", "").split()
                     if ":" in t)
        phone = terms.get("phone", "")
        wildcard = phone.startswith("*")
        wanted = digits(phone)
        if not wanted:
            return JSONResponse({"results": [], "count": 0, "next_page": None,
                                 "previous_page": None, "facets": None})
        found = []
        for u in self.users.values():
            have = digits(u.get("phone") or "")
            if "role" in terms and u["role"] != terms["role"]:
                continue
            if have and (have == wanted or (wildcard and have.endswith(wanted))):
                found.append({**u, "result_type": "user"})
        return JSONResponse({"results": found, "count": len(found), "next_page": None,
                             "previous_page": None, "facets": None})

    async def user(self, request: Request) -> Response:
        u = self.users.get(int(request.path_params["id"]))
        if u is None:
            return JSONResponse({"error": "RecordNotFound", "description": "Not found"},
                                status_code=404)
        return JSONResponse({"user": u})

    async def create_user(self, request: Request) -> Response:
        body = json.loads(await request.body())
        user = body.get("user") or {}
        if not user.get("name"):
            return JSONResponse({"error": "RecordInvalid", "description":
                                 "Record validation errors", "details": {"name": [{
                                     "description": "Name:  is too short (minimum is 1 "
                                     "character)", "error": "ValueTooShort"}]}},
                                status_code=422)
        uid = self.add_user(user["name"], user.get("phone"), user.get("role", "end-user"))
        return JSONResponse({"user": self.users[uid]}, status_code=201)

    async def voice_ticket(self, request: Request) -> Response:
        self.ticket_posts += 1
        if not self.talk_partner_edition:
            return JSONResponse({"error": "Forbidden", "description":
                                 "You do not have access to this page. Please contact the "
                                 "account owner of this help desk for further help."},
                                status_code=403)
        body = json.loads(await request.body())
        t = body.get("ticket") or {}
        details: dict[str, list[dict[str, str]]] = {}
        if t.get("via_id") not in VOICE_VIA:
            details["via_id"] = [{"description": "via_id must be 44, 45 or 46",
                                  "error": "InvalidValue"}]
        if t.get("requester_id") not in self.users:
            details["requester"] = [{"description": "Requester: is invalid",
                                     "error": "InvalidValue"}]
        vc = t.get("voice_comment") or {}
        for key in ("from", "to", "started_at", "call_duration"):
            if vc.get(key) in (None, ""):
                details[f"voice_comment.{key}"] = [{"description": f"{key} is required",
                                                    "error": "BlankValue"}]
        if details:
            return JSONResponse({"error": "RecordInvalid", "description":
                                 "Record validation errors", "details": details},
                                status_code=422)
        tid = self._id()
        ticket = {"id": tid, "subject": t.get("subject"), "requester_id": t["requester_id"],
                  "external_id": t.get("external_id"), "via": {"channel": "voice",
                  "source": {"rel": {44: "voicemail", 45: "inbound", 46: "outbound"}[
                      t["via_id"]]}}, "voice_comment": vc, "status": "new"}
        self.tickets[tid] = ticket
        if self.cut_next_log:
            self.cut_next_log = False
            return CutAnswer({"ticket": ticket})
        return JSONResponse({"ticket": ticket}, status_code=201)

    async def display_user(self, request: Request) -> Response:
        """TPE "Open a user's profile in an agent's browser": 200, or 404 when the agent or
        the user is unknown (or the agent is not signed in to Zendesk)."""
        agent, user = int(request.path_params["agent"]), int(request.path_params["user"])
        if not self.talk_partner_edition:
            return JSONResponse({"error": "Forbidden"}, status_code=403)
        if self.users.get(agent, {}).get("role") not in ("agent", "admin") or \
                user not in self.users:
            return JSONResponse({"error": "RecordNotFound", "description": "Not found"},
                                status_code=404)
        self.displays.append((agent, user))
        return Response(status_code=200)

    async def list_tickets(self, request: Request) -> Response:
        ext = request.query_params.get("external_id")
        found = list(self.tickets.values()) if ext is None else self.tickets_with(ext)
        return JSONResponse({"tickets": found, "count": len(found), "next_page": None,
                             "previous_page": None})

    def app(self) -> Starlette:
        def guarded(view: Any) -> Any:
            async def run(request: Request) -> Response:
                refused = self._auth(request)
                return refused if refused is not None else await view(request)
            return run

        def both(path: str) -> list[str]:  # Zendesk answers with or without ".json"
            return [path, path + ".json"]

        routes = []
        for p in both("/api/v2/search"):
            routes.append(Route(p, guarded(self.search)))
        for p in both("/api/v2/users"):
            routes.append(Route(p, guarded(self.create_user), methods=["POST"]))
        for p in both("/api/v2/channels/voice/tickets"):
            routes.append(Route(p, guarded(self.voice_ticket), methods=["POST"]))
        for p in both("/api/v2/tickets"):
            routes.append(Route(p, guarded(self.list_tickets)))
        display = "/api/v2/channels/voice/agents/{agent:int}/users/{user:int}/display"
        for p in both(display):
            routes.append(Route(p, guarded(self.display_user), methods=["POST"]))
        routes.append(Route("/api/v2/users/{id:int}.json", guarded(self.user)))
        routes.append(Route("/api/v2/users/{id:int}", guarded(self.user)))
        return Starlette(routes=routes)

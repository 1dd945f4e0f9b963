"""The demo CRM's REST API, under ``/democrm/api`` (see docs/democrm.md)."""

from __future__ import annotations

import json
import secrets
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from .schemas import ActivityIn, ContactIn, activity_out, contact_out, describe
from .store import DemoCrmStore, Invalid, NotFound
from .tables import Contact


class ApiError(Exception):
    """Answered as ``{"code", "message"}`` with ``status``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> JSONResponse:
        return JSONResponse({"code": self.code, "message": self.message}, status_code=self.status)


def _store(request: Request) -> DemoCrmStore:
    return request.app.state.crm_store


async def require_key(request: Request) -> None:
    expected: str = request.app.state.crm_api_key
    given = request.headers.get("x-api-key")
    if given is None:
        raise ApiError(401, "unauthorized", "this API needs the X-Api-Key header")
    if not secrets.compare_digest(given.encode(), expected.encode()):
        raise ApiError(401, "unauthorized", "the X-Api-Key header does not hold the API key")


router = APIRouter(prefix="/api", dependencies=[Depends(require_key)])


def crm_url(request: Request, path: str) -> str:
    """The absolute URL of ``path`` in this CRM, wherever it is mounted.

    (``url_for`` would look the name up in the hub's router, not in ours.)
    """
    root = request.scope.get("root_path", "").rstrip("/")
    return str(request.url.replace(path=root + path, query="", fragment=""))


def contact_url(request: Request, contact: Contact) -> str:
    return crm_url(request, f"/contacts/{contact.id}")


async def _body(request: Request, model: type[BaseModel]) -> Any:
    raw = await request.body()
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ApiError(400, "bad-json", f"the body of {request.method} {request.url.path} is not "
                       f"valid JSON ({exc})") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "invalid-request", describe(exc)) from None


def _contacts(request: Request, contacts: list[Contact]) -> dict[str, Any]:
    return {"contacts": [contact_out(c, contact_url(request, c)) for c in contacts]}


@router.get("/contacts")
async def find_contacts(request: Request, phone: str | None = None,
                        customer_id: str | None = None, q: str | None = None) -> dict[str, Any]:
    given = {k: v for k, v in (("phone", phone), ("customer_id", customer_id), ("q", q))
             if v is not None}
    if len(given) != 1:
        raise ApiError(400, "bad-query", "give exactly one of phone, customer_id or q "
                       f"(got {', '.join(given) or 'none'})")
    store = _store(request)
    if phone is not None:
        found = await store.by_phone(phone)
    elif customer_id is not None:
        found = await store.by_customer_id(customer_id.strip())
    else:
        found = await store.search(q or "")
    return _contacts(request, found)


@router.get("/contacts/{contact_id}")
async def get_contact(request: Request, contact_id: int) -> dict[str, Any]:
    try:
        contact = await _store(request).contact(contact_id)
    except NotFound as exc:
        raise ApiError(404, "not-found", str(exc)) from None
    return contact_out(contact, contact_url(request, contact))


@router.post("/contacts", status_code=201)
async def create_contact(request: Request) -> JSONResponse:
    data: ContactIn = await _body(request, ContactIn)
    try:
        contact = await _store(request).create_contact(data)
    except Invalid as exc:
        raise ApiError(422, "invalid-request", str(exc)) from None
    return JSONResponse(contact_out(contact, contact_url(request, contact)), status_code=201)


@router.get("/contacts/{contact_id}/activities")
async def contact_activities(request: Request, contact_id: int) -> dict[str, Any]:
    try:
        rows = await _store(request).activities_of(contact_id)
    except NotFound as exc:
        raise ApiError(404, "not-found", str(exc)) from None
    return {"activities": [activity_out(a) for a in rows]}


@router.post("/activities", status_code=201)
async def log_activity(request: Request) -> JSONResponse:
    key = request.headers.get("idempotency-key", "").strip()
    if not key:
        raise ApiError(400, "idempotency-key-required",
                       "POST /activities needs an Idempotency-Key header (any unique string, "
                       "the same on retries)")
    if len(key) > 200:
        raise ApiError(400, "bad-idempotency-key", "the Idempotency-Key header is longer than "
                       "200 characters")
    data: ActivityIn = await _body(request, ActivityIn)
    try:
        row, created = await _store(request).log_activity(key, data)
    except Invalid as exc:
        raise ApiError(422, "invalid-request", str(exc)) from None
    return JSONResponse(activity_out(row), status_code=201 if created else 200)


@router.get("/activities")
async def list_activities(request: Request, since_id: int = 0) -> dict[str, Any]:
    rows = await _store(request).activities_since(since_id)
    return {"activities": [activity_out(a) for a in rows]}

"""The demo CRM's pages, rendered on the server with Jinja2 (autoescaped)."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from .api import crm_url
from .i18n import LANGUAGES, MESSAGES, Translator, choose
from .schemas import PHONE_LABELS, ContactIn
from .store import DemoCrmStore, Invalid, NotFound

PAGE_SIZE = 50
LANG_COOKIE = "democrm_lang"
# The strings democrm.js shows (dial results, the "several matches" choice).
JS_MESSAGES = ("dialling", "dial_failed", "bar_missing", "several", "create_instead",
               "crm_unavailable")

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(files("ctibridge") / "web" / "democrm" / "templates")),
    autoescape=True,  # caller names and notes may hold markup
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

router = APIRouter()


def _store(request: Request) -> DemoCrmStore:
    return request.app.state.crm_store


def language(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    kept = request.cookies.get(LANG_COOKIE)
    return kept if kept in LANGUAGES else choose(request)


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    lang = language(request)
    t = Translator(lang, getattr(request.app.state, "crm_outcomes", None))
    base = request.scope.get("root_path", "").rstrip("/")
    bar_url: str = request.app.state.crm_bar_url
    user = request.query_params.get("user")
    if user and user.replace("_", "").replace("-", "").replace(".", "").isalnum():
        bar_url += ("&" if "?" in bar_url else "?") + "user=" + user
    html = TEMPLATES.get_template(template).render(
        request=request, t=t, lang=lang, other_lang="fr" if lang == "en" else "en",
        base=base, bar_url=bar_url, labels=PHONE_LABELS,
        js_messages={k: MESSAGES[k][lang] for k in JS_MESSAGES}, **context)
    response = HTMLResponse(html, status_code=status)
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, samesite="lax", path=base or "/")
    return response


def duration(seconds: int | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


TEMPLATES.filters["duration"] = duration
TEMPLATES.filters["when"] = lambda d: d.strftime("%Y-%m-%d %H:%M UTC")


@router.get("/", response_class=HTMLResponse, name="contact_list")
async def contact_list(request: Request, q: str = "", page: int = 1) -> HTMLResponse:
    page = max(page, 1)
    store = _store(request)
    contacts = await store.search(q, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    total = await store.count(q)
    return render(request, "list.html", contacts=contacts, q=q, page=page, total=total,
                  more=page * PAGE_SIZE < total)


def _new_form(request: Request, status: int, values: dict[str, str],
              errors: dict[str, str], companies: list[Any]) -> HTMLResponse:
    return render(request, "new.html", status=status, values=values, errors=errors,
                  companies=companies)


@router.get("/contacts/new", response_class=HTMLResponse, name="new_contact")
async def new_contact(request: Request, phone: str = "") -> HTMLResponse:
    companies = await _store(request).companies()
    return _new_form(request, 200, {"phone": phone.strip(), "label": "mobile"}, {}, companies)


@router.post("/contacts/new", name="create_contact_form")
async def create_contact_form(request: Request) -> Response:
    form = await request.form()
    values = {k: str(form.get(k, "")).strip() for k in (
        "first_name", "last_name", "company_id", "phone", "label", "email", "customer_id")}
    store = _store(request)
    data: dict[str, Any] = {"first_name": values["first_name"], "last_name": values["last_name"]}
    for k in ("email", "customer_id"):
        if values[k]:
            data[k] = values[k]
    if values["company_id"]:
        data["company_id"] = values["company_id"]
    if values["phone"]:
        data["phones"] = [{"label": values["label"] or "mobile", "number": values["phone"]}]
    t = Translator(language(request))
    errors: dict[str, str] = {}
    try:
        contact = await store.create_contact(ContactIn.model_validate(data))
    except ValidationError as exc:
        for e in exc.errors():
            field = "phone" if e["loc"][0] == "phones" else str(e["loc"][0])
            errors.setdefault(field, t("err_required") if e["type"] == "string_too_short"
                              else f"{t('err_invalid')} ({e['msg']})")
    except Invalid as exc:
        errors["company_id"] = str(exc)
    if errors:  # shown again with what was typed: nothing is lost
        return _new_form(request, 422, values, errors, await store.companies())
    return RedirectResponse(crm_url(request, f"/contacts/{contact.id}"), status_code=303)


@router.get("/contacts/{contact_id}", response_class=HTMLResponse, name="contact_page")
async def contact_page(request: Request, contact_id: int) -> HTMLResponse:
    store = _store(request)
    try:
        contact = await store.contact(contact_id)
        activities = await store.activities_of(contact_id)
    except NotFound:
        return not_found(request, contact_id)
    return render(request, "contact.html", contact=contact, activities=activities)


def not_found(request: Request, what: object = "") -> HTMLResponse:
    return render(request, "not_found.html", status=404, what=what)

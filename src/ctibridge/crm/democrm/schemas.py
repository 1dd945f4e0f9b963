"""What the demo CRM's API accepts and returns (see docs/democrm.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from .tables import Activity, Contact

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)]
# Digits with what people type around them; at least three digits.
PHONE_PATTERN = r"^\+?[0-9 .\-()/]{3,40}$"
PHONE_LABELS = ("mobile", "work", "home", "other")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PhoneIn(_Strict):
    label: Literal["mobile", "work", "home", "other"] = "mobile"
    number: Annotated[str, StringConstraints(strip_whitespace=True, pattern=PHONE_PATTERN)]

    @field_validator("number")
    @classmethod
    def _some_digits(cls, v: str) -> str:
        if sum(c.isdigit() for c in v) < 3:
            raise ValueError("a phone number needs at least three digits")
        return v


class ContactIn(_Strict):
    first_name: Name
    last_name: Name
    company_id: int | None = None
    phones: list[PhoneIn] = Field(default_factory=list, max_length=10)
    email: Annotated[str, StringConstraints(
        strip_whitespace=True, max_length=200, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    customer_id: Annotated[str, StringConstraints(
        strip_whitespace=True, pattern=r"^[A-Za-z0-9_.-]{1,40}$")] | None = None


class ActivityIn(_Strict):
    contact_id: int | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = None
    kind: Literal["call", "email", "chat", "sms", "social", "note"] = "call"
    # "internal" too: a hub may log a call between colleagues.
    direction: Literal["inbound", "outbound", "internal"]
    subject: Annotated[str, StringConstraints(max_length=200)] | None = None
    started_at: datetime
    duration_seconds: int | None = Field(None, ge=0, le=7 * 24 * 3600)
    queue: Short | None = None
    agent: Short | None = None
    disposition: Short | None = None
    notes: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    external_id: Short | None = None

    @field_validator("started_at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        # A time without an offset is taken as UTC, as the API documents.
        return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)


def describe(exc: ValidationError, where: str = "body") -> str:
    """One sentence naming every wrong field: "body.phones.0.number: String should …"."""
    parts = []
    for e in exc.errors():
        loc = ".".join(str(p) for p in (where, *e["loc"]))
        parts.append(f"{loc}: {e['msg']}")
    return "; ".join(parts)


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def contact_out(contact: Contact, url: str) -> dict[str, Any]:
    company = contact.company
    return {
        "id": contact.id,
        "customer_id": contact.customer_id,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "company": {"id": company.id, "name": company.name} if company else None,
        "phones": [{"label": p.label, "number": p.number} for p in contact.phones],
        "email": contact.email,
        "url": url,
    }


def activity_out(a: Activity) -> dict[str, Any]:
    return {
        "id": a.id, "contact_id": a.contact_id, "phone": a.phone, "kind": a.kind,
        "direction": a.direction, "subject": a.subject, "started_at": iso(a.started_at),
        "duration_seconds": a.duration_seconds, "queue": a.queue, "agent": a.agent,
        "disposition": a.disposition, "notes": a.notes, "external_id": a.external_id,
        "created_at": iso(a.created_at),
    }

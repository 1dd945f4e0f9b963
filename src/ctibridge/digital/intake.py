"""The validated intake model: one message of an email, chat, SMS or social conversation.

Posted by REST or signed webhook as JSON::

    {"channel": "email", "message_id": "<CAF1…@mail.example>",
     "sender": {"address": "camille.martin@orange.fr", "name": "Camille Martin"},
     "subject": "Facture de décembre", "body": "Bonjour, …",
     "conversation_id": "thread-42", "attached": {"customer_id": "C-10427"}}

Anything wrong is refused as a whole with every problem named by its field;
an unknown channel gets its own code and the list of known ones.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

import phonenumbers
from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ..model.errors import BadRequest
from ..model.events import (
    DigitalEvent,
    InteractionArrived,
    InteractionClosed,
    InteractionMessage,
    Sender,
)
from ..model.party import Channel
from .base import DIGITAL_CHANNELS

KNOWN_CHANNELS = ", ".join(str(c) for c in DIGITAL_CHANNELS)
PREVIEW_CHARS = 140
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SenderIn(_Strict):
    address: str | None = Field(None, max_length=320, description="email address")
    number: str | None = Field(None, max_length=40, description="phone number, stored E.164")
    handle: str | None = Field(None, max_length=200, description="social or chat handle")
    name: str | None = Field(None, max_length=200)

    @field_validator("address")
    @classmethod
    def _address(cls, v: str | None) -> str | None:
        if v is not None and not _EMAIL.match(v):
            raise ValueError("not an email address")
        return v

    @field_validator("number")
    @classmethod
    def _number(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is None:
            return None
        region = (info.context or {}).get("region", "FR")
        try:
            parsed = phonenumbers.parse(v, region)
        except phonenumbers.NumberParseException:
            raise ValueError("not a phone number") from None
        if not phonenumbers.is_possible_number(parsed):
            raise ValueError("not a possible phone number")
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)

    @model_validator(mode="after")
    def _someone(self) -> SenderIn:
        if not (self.address or self.number or self.handle):
            raise ValueError("give at least one of address, number or handle")
        return self

    def to_sender(self) -> Sender:
        return Sender(address=self.address, number=self.number, handle=self.handle,
                      name=self.name)


# What each channel needs to know who wrote.
_SENDER_FIELD = {Channel.EMAIL: "address", Channel.SMS: "number", Channel.SOCIAL: "handle"}


class IntakeMessage(_Strict):
    """One inbound message. ``type: closed`` says the customer ended the conversation."""

    channel: Channel
    message_id: str = Field(min_length=1, max_length=255,
                            description="the sender's id of this message (idempotency key)")
    sender: SenderIn
    type: Literal["message", "closed"] = "message"
    conversation_id: str | None = Field(
        None, min_length=1, max_length=255,
        description="thread / conversation id: later messages join the same interaction")
    subject: str | None = Field(None, max_length=998)  # RFC 5322's line limit
    preview: str | None = Field(None, max_length=500)
    body: str | None = None
    content_url: AnyHttpUrl | None = Field(None, description="where the full content lives")
    queue: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    sent_at: datetime | None = None
    attached: dict[str, str] = Field(default_factory=dict, max_length=50)

    @field_validator("channel", mode="before")
    @classmethod
    def _channel(cls, v: Any) -> Any:
        if not isinstance(v, str) or v not in {str(c) for c in DIGITAL_CHANNELS}:
            raise ValueError(f"unknown channel {v!r}; known: {KNOWN_CHANNELS}")
        return v

    @field_validator("attached")
    @classmethod
    def _attached(cls, v: dict[str, str]) -> dict[str, str]:
        for key, value in v.items():
            if not _KEY.match(key):
                raise ValueError(f"key {key[:80]!r} must be 1-64 letters, digits or _.:-")
            if len(value) > 2000:
                raise ValueError(f"value of {key!r} is longer than 2000 characters")
        return v

    @field_validator("sent_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.utcoffset() is None:
            raise ValueError("needs a time zone, e.g. 2026-01-05T09:00:00Z")
        return v

    @model_validator(mode="after")
    def _complete(self) -> IntakeMessage:
        needed = _SENDER_FIELD.get(self.channel)
        if needed and getattr(self.sender, needed) is None:
            raise ValueError(f"{self.channel} messages need sender.{needed}")
        if self.type == "message" and not (self.body or self.content_url):
            raise ValueError("give the message's body or its content_url")
        if self.type == "closed" and not self.conversation_id:
            raise ValueError("type 'closed' needs the conversation_id it closes")
        return self

    @property
    def shown_preview(self) -> str | None:
        """The preview given, else the first words of the body."""
        if self.preview:
            return self.preview
        if not self.body:
            return None
        text = " ".join(self.body.split())
        return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def parse_intake(raw: bytes | str | dict[str, Any], *, region: str = "FR") -> IntakeMessage:
    """Validate one message; raise BadRequest naming every field that is wrong."""
    try:
        if isinstance(raw, dict):
            return IntakeMessage.model_validate(raw, context={"region": region})
        return IntakeMessage.model_validate_json(raw, context={"region": region})
    except ValidationError as exc:
        raise intake_error(exc) from None


def intake_error(exc: ValidationError) -> BadRequest:
    errors = [{"field": ".".join(str(p) for p in e["loc"]) or "(message)",
               "message": e["msg"].removeprefix("Value error, ")} for e in exc.errors()]
    if any(e["type"] == "json_invalid" for e in exc.errors()):
        return BadRequest(f"the body is not valid JSON: {errors[0]['message']}",
                          code="invalid-json")
    channel = next((e for e in errors if e["field"] == "channel"), None)
    if channel is not None:
        return BadRequest(f"channel: {channel['message']}", code="unknown-channel",
                          errors=errors)
    listed = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return BadRequest(f"the interaction is not valid ({len(errors)} error(s)): {listed}",
                      code="invalid-interaction", errors=errors)


def event_for(message: IntakeMessage, ref: str, *, new: bool, at: datetime) -> DigitalEvent:
    """The normalized event an accepted message becomes."""
    url = str(message.content_url) if message.content_url else None
    if message.type == "closed":
        return InteractionClosed(ref=ref, at=at, by="customer")
    if new:
        return InteractionArrived(
            ref=ref, at=at, channel=message.channel, sender=message.sender.to_sender(),
            message_id=message.message_id, subject=message.subject,
            preview=message.shown_preview, body=message.body, content_url=url,
            thread_id=message.conversation_id, queue=message.queue,
            attached=dict(message.attached))
    return InteractionMessage(
        ref=ref, at=at, message_id=message.message_id, from_customer=True,
        sender=message.sender.to_sender(), preview=message.shown_preview, body=message.body,
        content_url=url, attached=dict(message.attached))

"""The intake model: what a posted message must contain, and how refusals read."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ctibridge.digital.intake import event_for, parse_intake
from ctibridge.model.errors import BadRequest
from ctibridge.model.events import InteractionArrived, InteractionClosed, InteractionMessage
from ctibridge.model.party import Channel

EMAIL: dict[str, Any] = {
    "channel": "email", "message_id": "<m1@mail.example>",
    "sender": {"address": "camille.martin@orange.fr", "name": "Camille Martin"},
    "subject": "Facture de décembre", "body": "Bonjour,\n\nma facture   est fausse.",
    "conversation_id": "thread-1", "attached": {"customer_id": "C-10427"},
}


def refused(raw: dict[str, Any] | bytes) -> BadRequest:
    with pytest.raises(BadRequest) as err:
        parse_intake(raw if isinstance(raw, bytes) else json.dumps(raw).encode())
    return err.value


def with_(**changes: Any) -> dict[str, Any]:
    return {**EMAIL, **changes}


def test_an_email_with_sender_subject_body_and_attached_data_is_accepted() -> None:
    msg = parse_intake(json.dumps(EMAIL).encode())
    assert msg.channel is Channel.EMAIL
    assert msg.sender.address == "camille.martin@orange.fr"
    assert msg.attached == {"customer_id": "C-10427"}
    assert msg.shown_preview == "Bonjour, ma facture est fausse."  # whitespace folded


def test_an_sms_number_is_stored_in_e164_read_in_the_platform_region() -> None:
    msg = parse_intake({"channel": "sms", "message_id": "s1",
                        "sender": {"number": "06 12 34 56 78"}, "body": "Rappelez-moi"})
    assert msg.sender.number == "+33612345678"
    be = parse_intake({"channel": "sms", "message_id": "s1",
                       "sender": {"number": "0470 12 34 56"}, "body": "x"}, region="BE")
    assert be.sender.number == "+32470123456"


def test_a_chat_may_come_with_a_content_link_instead_of_a_body() -> None:
    msg = parse_intake({"channel": "chat", "message_id": "c1", "sender": {"handle": "visitor-9"},
                        "content_url": "https://chat.example/t/9"})
    assert str(msg.content_url) == "https://chat.example/t/9"
    assert msg.body is None and msg.shown_preview is None


def test_an_unknown_channel_is_refused_with_the_list_of_known_ones() -> None:
    for channel in ("fax", "voice", 3):
        err = refused(with_(channel=channel))
        assert err.code == "unknown-channel"
        assert "known: email, chat, sms, social" in err.message
        assert repr(channel) in err.message


def test_each_channel_needs_its_kind_of_sender() -> None:
    err = refused(with_(sender={"number": "+33612345678"}))
    assert err.code == "invalid-interaction"
    assert "email messages need sender.address" in err.message
    assert "sms messages need sender.number" in refused(
        {"channel": "sms", "message_id": "1", "sender": {"address": "a@b.fr"}, "body": "x"}
    ).message


def test_every_bad_field_is_named_at_once() -> None:
    err = refused(with_(message_id="", sender={"address": "not-an-email"}, surprise=1,
                        content_url="ftp://x", attached={"bad key": "v"}))
    fields = {e["field"] for e in err.details["errors"]}
    assert fields == {"message_id", "sender.address", "surprise", "content_url", "attached"}
    assert "sender.address: not an email address" in err.message


def test_a_message_without_body_or_content_link_is_refused() -> None:
    err = refused({k: v for k, v in EMAIL.items() if k != "body"})
    assert "give the message's body or its content_url" in err.message


def test_a_body_that_is_not_json_is_refused_as_such() -> None:
    err = refused(b'{"channel": "email",')
    assert err.code == "invalid-json"
    assert err.status == 400


def test_a_customer_close_needs_its_conversation() -> None:
    err = refused({"channel": "chat", "type": "closed", "message_id": "c9",
                   "sender": {"handle": "v"}})
    assert "type 'closed' needs the conversation_id" in err.message


def test_messages_become_arrival_follow_up_and_close_events() -> None:
    from datetime import UTC, datetime

    at = datetime(2026, 1, 5, 9, tzinfo=UTC)
    msg = parse_intake(EMAIL)
    arrived = event_for(msg, "i1", new=True, at=at)
    assert isinstance(arrived, InteractionArrived)
    assert (arrived.ref, arrived.thread_id, arrived.subject) == ("i1", "thread-1",
                                                                 "Facture de décembre")
    assert arrived.sender.to_party().name == "Camille Martin"
    follow = event_for(msg, "i1", new=False, at=at)
    assert isinstance(follow, InteractionMessage) and follow.from_customer
    closed = event_for(parse_intake(with_(type="closed")), "i1", new=False, at=at)
    assert isinstance(closed, InteractionClosed) and closed.by == "customer"

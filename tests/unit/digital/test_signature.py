"""Webhook signatures: HMAC-SHA256 over "<t>.<raw body>", with a replay window."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctibridge.digital.webhook import signature, verify_signature
from ctibridge.model.errors import Unauthorized

SECRET = "s3cret-for-the-tests-0123"
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
T = int(NOW.timestamp())
BODY = b'{"channel":"chat"}'


def code_of(header: str | None, body: bytes = BODY, *, now: datetime = NOW,
            secrets: tuple[str, ...] = (SECRET,), window: float = 300) -> str:
    with pytest.raises(Unauthorized) as err:
        verify_signature(header, body, secrets, now=now, window=window)
    assert err.value.status == 401
    return err.value.code


def test_a_body_signed_with_the_secret_now_is_accepted() -> None:
    verify_signature(signature(SECRET, BODY, T), BODY, [SECRET], now=NOW)


def test_the_signature_is_the_documented_hmac() -> None:
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert signature(SECRET, BODY, T) == f"t={T},v1={expected}"


def test_an_unsigned_request_is_refused_and_told_how_to_sign() -> None:
    with pytest.raises(Unauthorized) as err:
        verify_signature(None, BODY, [SECRET], now=NOW)
    assert err.value.code == "signature-missing"
    assert "X-Ctibridge-Signature" in err.value.message


@pytest.mark.parametrize("header", ["garbage", f"t={T}", "v1=abcd", "t=soon,v1=ab",
                                    f"t={T};v1=ab"])
def test_a_malformed_header_is_refused(header: str) -> None:
    assert code_of(header) == "signature-malformed"


def test_another_secret_or_another_body_does_not_match() -> None:
    assert code_of(signature("another-secret-456789", BODY, T)) == "signature-mismatch"
    assert code_of(signature(SECRET, BODY + b" ", T)) == "signature-mismatch"
    # The timestamp is signed too: moving it breaks the signature.
    mac = signature(SECRET, BODY, T).split("v1=")[1]
    assert code_of(f"t={T + 1},v1={mac}") == "signature-mismatch"


def test_a_timestamp_outside_the_replay_window_is_refused_both_ways() -> None:
    stale = signature(SECRET, BODY, T - 301)
    assert code_of(stale) == "signature-stale"
    assert code_of(signature(SECRET, BODY, T + 301)) == "signature-stale"
    # At the edge it still passes, and a wider window lets the old one through.
    verify_signature(signature(SECRET, BODY, T - 300), BODY, [SECRET], now=NOW)
    verify_signature(stale, BODY, [SECRET], now=NOW, window=600)
    with pytest.raises(Unauthorized) as err:
        verify_signature(stale, BODY, [SECRET], now=NOW)
    assert "outside the 300 s replay window" in err.value.message


def test_during_a_secret_rotation_either_secret_is_accepted() -> None:
    new, old = "the-new-secret-0000000", SECRET
    verify_signature(signature(old, BODY, T), BODY, [new, old], now=NOW)
    both = f"{signature(new, BODY, T)},v1={signature(old, BODY, T).split('v1=')[1]}"
    verify_signature(both, BODY, [old], now=NOW)


@given(body=st.binary(max_size=300), secret=st.text(min_size=16, max_size=40),
       flip=st.integers(min_value=0))
def test_any_body_verifies_and_any_changed_byte_does_not(body: bytes, secret: str,
                                                         flip: int) -> None:
    header = signature(secret, body, T)
    verify_signature(header, body, [secret], now=NOW)
    if body:
        i = flip % len(body)
        changed = body[:i] + bytes([body[i] ^ 1]) + body[i + 1:]
        with pytest.raises(Unauthorized):
            verify_signature(header, changed, [secret], now=NOW)

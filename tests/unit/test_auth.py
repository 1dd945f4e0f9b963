"""Tokens expire; tickets work once and briefly."""


import pytest

from ctibridge.api.auth import TicketBook, TokenService
from ctibridge.clock import FakeClock
from ctibridge.core.permissions import Principal
from ctibridge.model.agent import Role
from ctibridge.model.errors import Unauthorized

ALICE = Principal("alice", frozenset({Role.AGENT}), "alice", "Alice")


async def test_a_token_identifies_the_user_until_it_expires() -> None:
    clock = FakeClock()
    tokens = TokenService("s" * 32, 60, clock)
    token = tokens.issue(ALICE)
    assert tokens.verify(token) == ALICE
    await clock.advance(61)
    with pytest.raises(Unauthorized) as err:
        tokens.verify(token)
    assert err.value.code == "token-expired"


def test_a_forged_token_is_refused() -> None:
    clock = FakeClock()
    token = TokenService("a" * 32, 60, clock).issue(ALICE)
    with pytest.raises(Unauthorized) as err:
        TokenService("b" * 32, 60, clock).verify(token)
    assert err.value.code == "token-invalid"


async def test_a_ticket_works_once() -> None:
    book = TicketBook(30, FakeClock())
    ticket = book.issue(ALICE)
    assert book.redeem(ticket) == ALICE
    with pytest.raises(Unauthorized) as err:
        book.redeem(ticket)
    assert err.value.code == "ticket-invalid"


async def test_an_expired_ticket_is_refused() -> None:
    clock = FakeClock()
    book = TicketBook(30, clock)
    ticket = book.issue(ALICE)
    await clock.advance(31)
    with pytest.raises(Unauthorized) as err:
        book.redeem(ticket)
    assert err.value.code == "ticket-expired"

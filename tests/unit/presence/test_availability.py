"""Unified availability: capacity, blocks, state, per-agent overrides, platform directives."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ctibridge.config import Settings
from ctibridge.core.presence import (
    BUSY_ELSEWHERE,
    CapacityPolicy,
    Carried,
    PlatformDirective,
    Why,
    availability,
    load_of,
    platform_directives,
)
from ctibridge.model.agent import AgentState, AgentStatus
from ctibridge.model.errors import ConfigError
from ctibridge.model.party import Channel

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
READY = AgentState(AgentStatus.READY, T0)
BUSY = AgentState(AgentStatus.BUSY, T0)
V, C, E, S = Channel.VOICE, Channel.CHAT, Channel.EMAIL, Channel.SMS
PLATFORMS = {"pbx": frozenset({V}), "desk": frozenset({C, E, S, Channel.SOCIAL})}


def rules(**presence: object):
    return CapacityPolicy.from_settings(Settings.load(None, presence=presence).presence)


def carry(*items: tuple[Channel, str]) -> list[Carried]:
    return [Carried(f"i{n}", ch, platform) for n, (ch, platform) in enumerate(items)]


def test_a_ready_agent_with_nothing_is_available_everywhere_with_the_default_capacities() -> None:
    a = availability(READY, {}, rules().default)
    assert all(a.available(c) for c in Channel)
    assert {c: a.channels[c].free for c in Channel} == {
        V: 1, C: 3, E: 2, S: 2, Channel.SOCIAL: 2}


def test_a_call_blocks_digital_work_and_names_voice_as_the_blocker() -> None:
    a = availability(BUSY, load_of(carry((V, "pbx"))), rules().default)
    assert not a.available(V) and a.channels[V].why is Why.AT_CAPACITY
    for ch in (C, E, S):
        assert (a.channels[ch].why, a.channels[ch].detail) == (Why.BLOCKED, "voice")


def test_a_chat_does_not_block_email_but_closes_voice() -> None:
    a = availability(BUSY, load_of(carry((C, "desk"))), rules().default)
    assert a.available(E) and a.available(C) and a.channels[C].free == 2
    assert a.channels[V].why is Why.BLOCKED and a.channels[V].detail == "chat"


def test_an_agent_at_chat_capacity_is_told_so_with_the_count() -> None:
    a = availability(BUSY, load_of(carry((C, "desk"), (C, "desk"), (C, "desk"))),
                     rules().default)
    assert (a.channels[C].why, a.channels[C].detail) == (Why.AT_CAPACITY, "3/3")


def test_email_work_leaves_voice_open_by_default() -> None:
    a = availability(BUSY, load_of(carry((E, "desk"))), rules().default)
    assert a.available(V)


@pytest.mark.parametrize(("state", "why", "detail"), [
    (AgentState(AgentStatus.LOGGED_OUT, T0), Why.LOGGED_OUT, None),
    (AgentState(AgentStatus.NOT_READY, T0, reason="lunch"), Why.NOT_READY, "lunch"),
    (AgentState(AgentStatus.WRAP_UP, T0, deadline=T0), Why.WRAP_UP, None),
])
def test_state_closes_every_channel_with_its_reason(state: AgentState, why: Why,
                                                    detail: str | None) -> None:
    a = availability(state, {}, rules().default)
    assert all(not a.available(c) and a.channels[c].why is why
               and a.channels[c].detail == detail for c in Channel)
    assert a.since == T0 and a.to_dict()["status"] == str(state.status)


def test_a_per_agent_override_changes_only_that_agent_and_that_channel() -> None:
    policy = rules(agents={"chatty": {"capacity": {"chat": 6}, "blocks": {"chat": []}}})
    chatty = policy.rules_for("chatty")
    assert chatty.capacity[C] == 6 and chatty.capacity[V] == 1
    assert availability(BUSY, {C: 5}, chatty).available(V)  # her chats do not block voice
    assert policy.rules_for("anyone").capacity[C] == 3


def test_capacity_zero_disables_a_channel() -> None:
    a = availability(READY, {}, rules(capacity={"sms": 0}).default)
    assert a.channels[S].why is Why.NOT_ENABLED and a.available(V)


def test_bad_presence_settings_are_refused_naming_the_field() -> None:
    with pytest.raises(ConfigError) as err:
        Settings.load(None, presence={"capacity": {"fax": 2}, "blocks": {"voice": ["voice"]}})
    msg = err.value.message
    assert "presence.capacity.fax" in msg and "presence.blocks" in msg
    assert "cannot block itself (its capacity does that): voice" in msg
    with pytest.raises(ConfigError) as err:
        Settings.load(None, presence={"agents": {"bob": {"capacity": {"chat": -1}}}})
    assert "presence.agents.bob.capacity" in err.value.message
    assert "chat=-1" in err.value.message


def test_changed_reports_only_channels_whose_availability_or_reason_moved() -> None:
    r = rules().default
    before = availability(BUSY, {C: 1}, r)
    assert before.changed(availability(BUSY, {C: 1}, r)) == frozenset()
    assert availability(BUSY, {C: 2}, r).changed(before) == frozenset()  # 2 free -> 1 free
    assert availability(BUSY, {C: 3}, r).changed(before) == {C}
    assert availability(BUSY, {}, r).changed(before) == {V}
    assert before.changed(None) == frozenset(Channel)


# ------------------------------------------------------------------ platforms


def test_digital_work_pauses_the_voice_platform_as_busy_elsewhere() -> None:
    d = platform_directives(BUSY, carry((C, "desk")), rules().default, PLATFORMS)
    assert d == [PlatformDirective("desk", AgentStatus.READY),
                 PlatformDirective("pbx", AgentStatus.NOT_READY, BUSY_ELSEWHERE)]
    assert d[0].presence == "available" and d[1].presence == "away"


def test_a_call_sets_the_digital_platform_away_but_leaves_the_pbx_to_itself() -> None:
    d = platform_directives(BUSY, carry((V, "pbx")), rules().default, PLATFORMS)
    assert d == [PlatformDirective("desk", AgentStatus.NOT_READY, BUSY_ELSEWHERE),
                 PlatformDirective("pbx", AgentStatus.READY)]


def test_a_call_on_one_pbx_pauses_the_agent_on_the_other() -> None:
    both = {"pbx1": frozenset({V}), "pbx2": frozenset({V})}
    d = platform_directives(BUSY, carry((V, "pbx1")), rules().default, both)
    assert d == [PlatformDirective("pbx1", AgentStatus.READY),
                 PlatformDirective("pbx2", AgentStatus.NOT_READY, BUSY_ELSEWHERE)]


def test_a_full_chat_platform_is_not_paused_for_its_own_chats() -> None:
    d = platform_directives(BUSY, carry((C, "chat"), (C, "chat"), (C, "chat")),
                            rules().default, {"chat": frozenset({C})})
    assert d == [PlatformDirective("chat", AgentStatus.READY)]


def test_not_ready_wrap_up_and_logout_reach_every_platform_with_their_reason() -> None:
    r = rules().default
    lunch = AgentState(AgentStatus.NOT_READY, T0, reason="lunch")
    assert {(d.status, d.reason) for d in platform_directives(lunch, [], r, PLATFORMS)} \
        == {(AgentStatus.NOT_READY, "lunch")}
    wrap = AgentState(AgentStatus.WRAP_UP, T0, deadline=T0)
    assert {(d.status, d.reason) for d in platform_directives(wrap, [], r, PLATFORMS)} \
        == {(AgentStatus.NOT_READY, "wrap-up")}
    out = AgentState(AgentStatus.LOGGED_OUT, T0)
    assert [d.presence for d in platform_directives(out, [], r, PLATFORMS)] \
        == ["offline", "offline"]

"""The agent state machine: legal moves, clear refusals, timers' start times."""

from datetime import UTC, datetime, timedelta

import pytest

from ctibridge.model.agent import AgentState, AgentStatus, transition
from ctibridge.model.errors import IllegalTransition

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
S = AgentStatus


def state(status: AgentStatus, **kw: object) -> AgentState:
    return AgentState(status, T0, **kw)  # type: ignore[arg-type]


def test_an_agent_logs_in_not_ready_then_goes_ready() -> None:
    s = transition(state(S.LOGGED_OUT), S.NOT_READY, T0, reason="login")
    assert (s.status, s.reason) == (S.NOT_READY, "login")
    later = T0 + timedelta(seconds=5)
    s = transition(s, S.READY, later)
    assert s.status == S.READY and s.reason is None and s.since == later


def test_going_ready_while_logged_out_is_refused_with_a_stable_code() -> None:
    for target in (S.READY, S.BUSY):
        with pytest.raises(IllegalTransition) as err:
            transition(state(S.LOGGED_OUT), target, T0)
        assert err.value.code == "agent-not-logged-in"
        assert "log in" in err.value.message


def test_logging_out_during_a_call_is_refused() -> None:
    with pytest.raises(IllegalTransition) as err:
        transition(state(S.BUSY), S.LOGGED_OUT, T0)
    assert err.value.code == "agent-busy"


def test_wrap_up_needs_a_deadline_and_keeps_it() -> None:
    deadline = T0 + timedelta(seconds=30)
    s = transition(state(S.BUSY), S.WRAP_UP, T0, deadline=deadline)
    assert s.deadline == deadline
    with pytest.raises(IllegalTransition):
        transition(state(S.BUSY), S.WRAP_UP, T0)
    assert transition(s, S.READY, T0).deadline is None


def test_not_ready_always_carries_a_reason() -> None:
    assert transition(state(S.READY), S.NOT_READY, T0).reason == "unspecified"
    assert transition(state(S.READY), S.NOT_READY, T0, reason="lunch").reason == "lunch"


@pytest.mark.parametrize("start", list(S))
@pytest.mark.parametrize("target", list(S))
def test_every_pair_is_either_allowed_or_refused_cleanly(start: S, target: S) -> None:
    kw = {"deadline": T0} if target == S.WRAP_UP else {}
    try:
        new = transition(state(start), target, T0, **kw)  # type: ignore[arg-type]
    except IllegalTransition as exc:
        assert exc.code and exc.message and exc.status == 409
    else:
        assert new.status == target

"""Only real changes reach platforms, and a two-platform bridge never loops."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from ctibridge.core.presence import (
    BUSY_ELSEWHERE,
    CapacityPolicy,
    Carried,
    Observed,
    PlatformDirective,
    PresenceSync,
    platform_directives,
)
from ctibridge.model.agent import AgentState, AgentStatus
from ctibridge.model.party import Channel

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
RULES = CapacityPolicy().default
PLATFORMS = {"pbx": frozenset({Channel.VOICE}), "desk": frozenset({Channel.CHAT})}
R, NR = AgentStatus.READY, AgentStatus.NOT_READY


def test_a_directive_is_sent_once_then_not_again_while_nothing_changes() -> None:
    sync = PresenceSync()
    wanted = [PlatformDirective("pbx", NR, BUSY_ELSEWHERE)]
    assert sync.plan("alice", wanted) == wanted
    assert sync.plan("alice", wanted) == []
    assert sync.plan("alice", [PlatformDirective("pbx", R)]) == [PlatformDirective("pbx", R)]


def test_the_echo_of_our_push_is_recognised_and_a_real_change_is_not() -> None:
    sync = PresenceSync()
    sync.plan("alice", [PlatformDirective("pbx", NR, BUSY_ELSEWHERE)])
    assert sync.observe("alice", "pbx", NR, BUSY_ELSEWHERE) is Observed.ECHO
    assert sync.observe("alice", "pbx", NR, BUSY_ELSEWHERE) is Observed.SAME
    assert sync.observe("alice", "pbx", NR, "lunch") is Observed.CHANGE  # feature code


def test_a_platform_without_pause_reasons_echoes_our_pause_without_its_reason() -> None:
    # CSTA's SetAgentState carries no reason: "not ready, break" comes back as "not ready".
    sync = PresenceSync()
    sync.plan("alice", [PlatformDirective("pbx", NR, "break")])
    assert sync.observe("alice", "pbx", NR, None) is Observed.ECHO
    assert sync.observe("alice", "pbx", NR, None) is Observed.SAME
    assert sync.plan("alice", [PlatformDirective("pbx", NR, "break")]) == []  # no push loop
    assert sync.observe("alice", "pbx", R, None) is Observed.CHANGE  # a real change still is


def test_echoes_of_two_quick_pushes_arriving_late_are_both_ignored() -> None:
    sync = PresenceSync()
    sync.plan("alice", [PlatformDirective("pbx", NR, BUSY_ELSEWHERE)])
    sync.plan("alice", [PlatformDirective("pbx", R)])
    assert sync.observe("alice", "pbx", NR, BUSY_ELSEWHERE) is Observed.ECHO
    assert sync.observe("alice", "pbx", R, None) is Observed.ECHO


def test_the_origin_of_a_change_is_not_told_back_what_it_said() -> None:
    sync = PresenceSync()
    sync.plan("alice", [PlatformDirective("pbx", R), PlatformDirective("desk", R)])
    assert sync.observe("alice", "desk", NR, "lunch") is Observed.CHANGE
    lunch = AgentState(NR, T0, reason="lunch")
    sent = sync.plan("alice", platform_directives(lunch, [], RULES, PLATFORMS))
    assert sent == [PlatformDirective("pbx", NR, "lunch")]


def test_a_forgotten_platform_is_told_everything_again() -> None:
    sync = PresenceSync()
    wanted = [PlatformDirective("pbx", R)]
    sync.plan("alice", wanted)
    sync.forget("alice", "pbx")
    assert sync.plan("alice", wanted) == wanted


class Bridge:
    """Two platforms that echo every state they are set to, wired through PresenceSync."""

    def __init__(self) -> None:
        self.sync = PresenceSync()
        self.state = AgentState(R, T0)
        self.carried: list[Carried] = []
        self.inbox: list[tuple[str, AgentStatus, str | None]] = []
        self.platform_state: dict[str, tuple[AgentStatus, str | None]] = {}
        self.pushes = 0

    def push(self) -> None:
        wanted = platform_directives(self.state, self.carried, RULES, PLATFORMS)
        for d in self.sync.plan("alice", wanted):
            self.pushes += 1
            self.platform_state[d.platform] = (d.status, d.reason)
            self.inbox.append((d.platform, d.status, d.reason))  # the platform echoes it

    def drain(self) -> int:
        steps = 0
        while self.inbox:
            steps += 1
            assert steps < 100, "the bridge loops"
            platform, status, reason = self.inbox.pop(0)
            if self.sync.observe("alice", platform, status, reason) is Observed.CHANGE:
                if status != R:
                    self.state = AgentState(status, T0, reason=reason)
                elif self.state.status == NR:
                    self.state = AgentState(R, T0)
                self.push()
        return steps


ops = st.lists(st.one_of(
    st.tuples(st.just("agent"), st.sampled_from(["ready", "lunch", "break"])),
    st.tuples(st.just("work"), st.sampled_from([Channel.VOICE, Channel.CHAT]),
              st.sampled_from(["pbx", "desk"])),
    st.tuples(st.just("done"), st.integers(0, 3)),
    st.tuples(st.just("native"), st.sampled_from(["pbx", "desk"]),
              st.sampled_from(["ready", "lunch", "meeting"])),
), max_size=25)


@settings(max_examples=150, deadline=None)
@given(ops)
def test_a_two_platform_bridge_settles_without_loops_and_both_platforms_agree(
        steps: list[tuple]) -> None:
    b = Bridge()
    b.push()
    b.drain()
    for op in steps:
        if op[0] == "agent":
            b.state = AgentState(R, T0) if op[1] == "ready" else AgentState(NR, T0, op[1])
            b.push()
        elif op[0] == "work":
            b.carried.append(Carried(f"i{len(b.carried)}", op[1], op[2]))
            b.push()
        elif op[0] == "done" and b.carried:
            b.carried.pop(op[1] % len(b.carried))
            b.push()
        elif op[0] == "native":
            st_ = (R, None) if op[2] == "ready" else (NR, op[2])
            b.platform_state[op[1]] = st_
            b.inbox.append((op[1], *st_))
        b.drain()
        # Settled: every platform holds exactly what the rules want for it now.
        wanted = platform_directives(b.state, b.carried, RULES, PLATFORMS)
        assert {d.platform: (d.status, d.reason) for d in wanted} == b.platform_state

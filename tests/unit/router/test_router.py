"""The universal queue router: priorities, ageing, agent choice, offers, statistics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ctibridge.config import Settings
from ctibridge.core.presence import CapacityPolicy
from ctibridge.core.router import QueueSpec, Router, RoutingError, Selection
from ctibridge.model.party import Channel

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
V, C, E = Channel.VOICE, Channel.CHAT, Channel.EMAIL
MIXED = frozenset({V, C, E})


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def router(*queues: QueueSpec, **kw: float) -> Router:
    return Router(queues or [QueueSpec("support", MIXED)], **kw)


def offered(offers: list) -> list[tuple[str, str]]:
    return [(o.interaction_id, o.agent_id) for o in offers]


def test_the_most_urgent_item_is_offered_first() -> None:
    r = router(QueueSpec("support", MIXED), QueueSpec("vip", MIXED, priority=5))
    r.enqueue("plain", V, "support", at(0))
    r.enqueue("vip", V, "vip", at(1))
    r.set_agent("alice", ready=True, idle_since=at(0))
    assert offered(r.route(at(2))) == [("vip", "alice")]


def test_equal_priority_items_are_offered_in_arrival_order() -> None:
    r = router()
    for i in range(5):
        r.enqueue(f"i{i}", C, "support", at(i))
    r.set_agent("alice", ready=True, idle_since=at(0))
    assert [o.interaction_id for o in r.route(at(9))] == ["i0", "i1", "i2"]  # chat capacity 3


def test_an_old_low_priority_item_overtakes_fresh_urgent_ones_after_enough_sl_targets() -> None:
    r = router(QueueSpec("low", MIXED, sl_seconds=10), QueueSpec("high", MIXED, priority=2))
    r.enqueue("old", V, "low", at(0))
    r.set_agent("alice", ready=True, idle_since=at(0))
    r.enqueue("fresh1", V, "high", at(15))
    assert offered(r.route(at(15))) == [("fresh1", "alice")]  # 0 + 1.5 < 2
    r.accept("fresh1", "alice", at(15))
    r.set_agent("alice", ready=True, idle_since=at(25))
    r.enqueue("fresh2", V, "high", at(25))
    assert offered(r.route(at(25))) == [("old", "alice")]  # 0 + 2.5 > 2


def test_the_longest_idle_agent_gets_the_offer() -> None:
    r = router()
    r.set_agent("recent", ready=True, idle_since=at(50))
    r.set_agent("longest", ready=True, idle_since=at(10))
    r.set_agent("middle", ready=True, idle_since=at(30))
    r.enqueue("call", V, "support", at(60))
    assert offered(r.route(at(60))) == [("call", "longest")]


def test_the_least_loaded_agent_gets_the_offer_when_the_queue_says_so() -> None:
    r = router(QueueSpec("chat", frozenset({C}), selection=Selection.LEAST_LOADED))
    r.set_agent("two", ready=True, load={C: 2}, idle_since=at(0))
    r.set_agent("one", ready=True, load={C: 1}, idle_since=at(5))
    r.enqueue("c", C, "chat", at(10))
    assert offered(r.route(at(10))) == [("c", "one")]


def test_chats_offered_at_once_are_spread_over_equally_idle_agents() -> None:
    r = router()
    r.set_agent("a", ready=True, idle_since=at(0))
    r.set_agent("b", ready=True, idle_since=at(0))
    for i in range(4):
        r.enqueue(f"c{i}", C, "support", at(1))
    assert [o.agent_id for o in r.route(at(2))] == ["a", "b", "a", "b"]


def test_queue_and_item_skills_are_required_from_the_agent() -> None:
    r = router(QueueSpec("fr", MIXED, skills=frozenset({"fr"})))
    r.set_agent("en", skills={"en"}, ready=True, idle_since=at(0))
    r.set_agent("fr", skills={"fr"}, ready=True, idle_since=at(1))
    r.set_agent("fr-vip", skills={"fr", "vip"}, ready=True, idle_since=at(2))
    r.enqueue("vip", V, "fr", at(3), skills={"vip"})
    r.enqueue("plain", V, "fr", at(4))
    assert offered(r.route(at(5))) == [("vip", "fr-vip"), ("plain", "fr")]


def test_an_agent_not_ready_gets_nothing_and_gets_it_once_ready() -> None:
    r = router()
    r.set_agent("alice", ready=False, idle_since=at(0))
    r.enqueue("call", V, "support", at(0))
    assert r.route(at(1)) == []
    r.set_agent("alice", ready=True, idle_since=at(2))
    assert offered(r.route(at(2))) == [("call", "alice")]


def test_an_offered_call_reserves_voice_and_blocks_chat_until_answered() -> None:
    r = router()
    r.set_agent("alice", ready=True, idle_since=at(0))
    r.enqueue("call", V, "support", at(0))
    r.enqueue("call2", V, "support", at(0.5))
    r.enqueue("chat", C, "support", at(1))
    assert offered(r.route(at(1))) == [("call", "alice")]
    assert r.route(at(2)) == []
    r.accept("call", "alice", at(3))
    assert r.route(at(3)) == []  # carried now, until the hub says the call ended
    r.set_agent("alice", ready=True, load={}, idle_since=at(60))
    assert offered(r.route(at(60))) == [("call2", "alice")]


def test_per_agent_capacity_rules_are_applied() -> None:
    policy = CapacityPolicy.from_settings(
        Settings.load(None, presence={"agents": {"pro": {"capacity": {"chat": 5}}}}).presence)
    r = router()
    r.set_agent("pro", rules=policy.rules_for("pro"), ready=True, idle_since=at(0))
    for i in range(7):
        r.enqueue(f"c{i}", C, "support", at(0))
    assert len(r.route(at(1))) == 5


def test_a_declined_item_goes_to_someone_else_keeping_its_place_in_line() -> None:
    r = router()
    r.set_agent("alice", ready=True, idle_since=at(0))
    r.enqueue("first", V, "support", at(0))
    r.enqueue("second", V, "support", at(1))
    assert offered(r.route(at(2))) == [("first", "alice")]
    item = r.decline("first", "alice", at(3))
    assert item.enqueued_at == at(0)
    r.set_agent("bob", ready=True, idle_since=at(3))
    assert offered(r.route(at(3))) == [("first", "bob"), ("second", "alice")]


def test_a_declined_item_returns_to_the_decliner_only_after_the_delay_if_nobody_else() -> None:
    r = router(reoffer_delay_seconds=30)
    r.set_agent("alice", ready=True, idle_since=at(0))
    r.enqueue("call", V, "support", at(0))
    r.route(at(0))
    r.decline("call", "alice", at(1))
    assert r.route(at(2)) == []
    assert r.next_deadline(at(2)) == at(31)
    assert offered(r.route(at(31))) == [("call", "alice")]


def test_an_unanswered_offer_expires_and_is_offered_again_elsewhere() -> None:
    r = router(QueueSpec("support", MIXED, offer_timeout_seconds=15))
    r.set_agent("alice", ready=True, idle_since=at(0))
    r.set_agent("bob", ready=True, idle_since=at(1))
    r.enqueue("call", V, "support", at(2))
    [offer] = r.route(at(2))
    assert (offer.agent_id, offer.expires_at, r.next_deadline(at(3))) == ("alice", at(17), at(17))
    assert r.expire(at(16)) == []
    assert [o.interaction_id for o in r.expire(at(17))] == ["call"]
    [again] = r.route(at(17))
    assert (again.agent_id, again.attempt) == ("bob", 2)


def test_an_answer_from_the_wrong_agent_or_after_expiry_is_refused() -> None:
    r = router(QueueSpec("support", MIXED, offer_timeout_seconds=10))
    r.set_agent("alice", ready=True, idle_since=at(0))
    r.enqueue("call", V, "support", at(0))
    r.route(at(0))
    with pytest.raises(RoutingError) as err:
        r.accept("call", "bob", at(1))
    assert err.value.code == "offer-not-found" and "bob" in err.value.message
    r.expire(at(10))
    with pytest.raises(RoutingError):
        r.accept("call", "alice", at(11))


def test_a_caller_who_leaves_is_never_offered_and_their_offer_is_withdrawn() -> None:
    r = router()
    r.enqueue("gone", V, "support", at(0))
    r.enqueue("ringing", V, "support", at(1))
    r.remove("gone", at(2))
    r.set_agent("alice", ready=True, idle_since=at(0))
    [offer] = r.route(at(3))
    assert offer.interaction_id == "ringing"
    assert r.remove("ringing", at(4)) == offer
    assert "ringing" not in r and r.route(at(5)) == []
    r.enqueue("next", V, "support", at(6))
    assert offered(r.route(at(6))) == [("next", "alice")]  # the reservation was released


def test_an_agent_who_leaves_has_their_offers_withdrawn_and_requeued() -> None:
    r = router()
    r.set_agent("alice", ready=True, idle_since=at(0))
    r.enqueue("call", V, "support", at(0))
    r.route(at(0))
    assert [o.interaction_id for o in r.remove_agent("alice", at(1))] == ["call"]
    r.set_agent("bob", ready=True, idle_since=at(1))
    assert offered(r.route(at(1))) == [("call", "bob")]


def test_queue_statistics_show_waiting_longest_wait_and_service_level() -> None:
    r = router(QueueSpec("support", MIXED, sl_seconds=20), sl_window_seconds=600)
    r.set_agent("alice", ready=True, idle_since=at(0))
    for i, t in enumerate([0, 5, 10, 15]):
        r.enqueue(f"i{i}", E, "support", at(t))
    r.route(at(10))  # i0, i1 offered to alice (email capacity 2)
    r.accept("i0", "alice", at(10))  # answered in 10 s: within target
    r.accept("i1", "alice", at(40))  # 35 s: late
    r.remove("i2", at(45))  # abandoned after 35 s: counts against
    [s] = r.stats(at(50))
    assert (s.waiting, s.offered, s.longest_wait_seconds) == (1, 0, 35.0)
    assert (s.answered, s.abandoned, s.service_level) == (2, 1, pytest.approx(33.3))
    assert r.stats(at(700))[0].answered == 0  # outside the sliding window
    assert s.to_dict()["queue"] == "support"


def test_bad_routing_input_is_refused_with_a_clear_error() -> None:
    r = router(QueueSpec("voice", frozenset({V})))
    with pytest.raises(RoutingError) as err:
        r.enqueue("i1", C, "voice", at(0))
    assert err.value.code == "channel-not-accepted" and "i1" in err.value.message
    with pytest.raises(RoutingError) as err:
        r.enqueue("i1", V, "sales", at(0))
    assert err.value.code == "unknown-queue" and "configured: voice" in err.value.message
    r.enqueue("i1", V, "voice", at(0))
    with pytest.raises(RoutingError) as err:
        r.enqueue("i1", V, "voice", at(0))
    assert err.value.code == "already-queued"
    with pytest.raises(RoutingError) as err:
        r.remove("nope", at(0))
    assert err.value.code == "not-queued"


def test_the_router_is_built_from_queue_settings_and_names_must_be_unique() -> None:
    s = Settings.load(None, queues=[
        {"name": "support", "channels": ["voice", "chat"], "skills": ["fr"], "priority": 1,
         "sl_seconds": 30, "offer_timeout_seconds": 12, "selection": "least_loaded"}])
    r = Router.from_settings(s.queues)
    q = r.queues["support"]
    assert (q.channels, q.skills, q.priority, q.sl_seconds, q.offer_timeout_seconds,
            q.selection) == (frozenset({V, C}), frozenset({"fr"}), 1, 30, 12,
                             Selection.LEAST_LOADED)
    from ctibridge.model.errors import ConfigError
    with pytest.raises(ConfigError) as err:
        Settings.load(None, queues=[{"name": "a", "channels": ["voice"]},
                                    {"name": "a", "channels": ["chat"]}])
    assert "queue names must be unique, repeated: a" in err.value.message


def test_an_unanswered_chat_offer_keeps_no_call_from_the_agent() -> None:
    r = router(QueueSpec("support", MIXED, offer_timeout_seconds=20))
    r.set_agent("alice", ready=True, idle_since=at(0))
    r.enqueue("chat", C, "support", at(0))
    assert offered(r.route(at(0))) == [("chat", "alice")]
    r.enqueue("call", V, "support", at(1))
    assert offered(r.route(at(1))) == [("call", "alice")]  # the chat is only offered


def test_a_ringing_call_keeps_chats_away_but_a_chat_offer_holds_its_place() -> None:
    r = router(QueueSpec("support", MIXED))
    r.set_agent("alice", ready=True, idle_since=at(0))
    r.enqueue("call", V, "support", at(0))
    assert offered(r.route(at(0))) == [("call", "alice")]
    r.enqueue("chat", C, "support", at(1))
    assert r.route(at(1)) == []  # her phone rings
    r.decline("call", "alice", at(2))
    for i in range(4):
        r.enqueue(f"c{i}", C, "support", at(3))
    # Capacity 3 counts the offers: three chats, not four (the call waits for her).
    assert sorted(o.interaction_id for o in r.route(at(3))) == ["c0", "c1", "chat"]


def test_work_an_agent_keeps_missing_comes_back_to_them_less_and_less_often() -> None:
    r = router(QueueSpec("support", MIXED, offer_timeout_seconds=20))
    r.set_agent("alice", ready=True, idle_since=at(0))
    r.enqueue("mail", E, "support", at(0))
    t, offers = 0.0, []
    while t < 3600:
        r.expire(at(t))
        offers += [t for _ in r.route(at(t))]
        t += 1
    gaps = [b - a for a, b in zip(offers, offers[1:], strict=False)]
    # 20 s ringing, then 30 s, 1, 2, 4, 8 min away, then every 10 min at most.
    assert gaps[:5] == [50, 80, 140, 260, 500]
    assert set(gaps[5:]) == {620}


def test_a_withdrawn_offer_is_not_held_against_the_agent() -> None:
    r = router()
    r.set_agent("alice", ready=True, idle_since=at(0))
    r.enqueue("chat", C, "support", at(0))
    r.route(at(0))
    r.withdraw("chat", "alice")
    assert offered(r.route(at(1))) == [("chat", "alice")]


def test_the_service_level_window_and_abandon_rule_are_the_supervisor_pages() -> None:
    from ctibridge.core.supervision import DEFAULT_ABANDON_THRESHOLD, DEFAULT_WINDOW_SECONDS

    r = router(QueueSpec("support", MIXED, sl_seconds=20))
    assert (r.sl_window, r.abandon_threshold) == (DEFAULT_WINDOW_SECONDS,
                                                  DEFAULT_ABANDON_THRESHOLD) == (1800, 5)
    r.enqueue("wrong-number", V, "support", at(0))
    r.remove("wrong-number", at(3))  # gone within 5 s: not held against the queue
    r.enqueue("gave-up", V, "support", at(0))
    r.remove("gave-up", at(12))  # before the 20 s target, but after 5 s: it counts
    [s] = r.stats(at(20))
    assert (s.abandoned, s.service_level) == (2, 0.0)
    assert r.stats(at(1700))[0].abandoned == 2 and r.stats(at(1900))[0].abandoned == 0


def test_the_docs_give_the_service_level_window_the_code_uses() -> None:
    from pathlib import Path

    docs = Path(__file__).resolve().parents[3] / "docs"
    for page in ("supervisor.md", "omnichannel.md"):
        text = " ".join((docs / page).read_text(encoding="utf-8").split())
        assert "30 minutes" in text and "15 minutes" not in text, page


def test_a_call_ringing_takes_back_what_the_same_pass_offered_that_it_blocks() -> None:
    r = router()
    r.set_agent("alice", ready=True, idle_since=at(0))
    r.enqueue("chat", C, "support", at(0))
    r.enqueue("call", V, "support", at(1))
    assert offered(r.route(at(2))) == [("call", "alice")]  # her phone rings: no chat with it
    assert "chat" in r and [i.interaction_id for i in r.waiting()] == ["chat"]
    r.set_agent("bob", ready=True, idle_since=at(0))
    assert offered(r.route(at(3))) == [("chat", "bob")]  # not held against alice: just free

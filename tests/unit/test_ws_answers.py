"""What a socket remembers of its commands' answers (a retry of an id gets the same
answer) stays bounded however many commands a bar sends in a day."""

from ctibridge.api.frames import encode
from ctibridge.api.ws import REMEMBERED_CHARS, REMEMBERED_IDS, Answers


def agent_answer(n: int) -> str:
    """What agent.ready answers: the agent as the hub has it (about 800 characters)."""
    agent = {"agent_id": "alice", "name": "Alice Martin", "extension": "1001",
             "platform": "sim", "devices": {"sim": "1001"},
             "state": {"status": "ready", "since": "2026-12-05T20:52:00.916445+00:00",
                       "reason": None, "deadline": None},
             "calls": [], "load": {}, "offered": {}, "capacity": {"voice": 1, "chat": 3},
             "skills": {"support": 5, "sales": 2}, "teams": ["north"], "note": "x" * 300}
    return encode({"type": "ack", "id": f"r{n}", "result": {"agent": agent}})


def test_a_days_answers_stay_within_the_sockets_budget() -> None:
    answers = Answers()
    for n in range(2000):  # a long day of state changes on one socket
        answers.keep(("s", f"r{n}"), agent_answer(n))
    assert answers.chars <= REMEMBERED_CHARS
    kept = range(2000 - len(answers), 2000)
    assert answers.chars == sum(len(agent_answer(n)) for n in kept) > REMEMBERED_CHARS // 2
    assert answers.get(("s", "r1999")) == agent_answer(1999)  # the last ones: retried alike
    assert answers.get(("s", "r0")) is None


def test_small_answers_are_remembered_up_to_the_count() -> None:
    answers = Answers()
    for n in range(REMEMBERED_IDS + 10):
        answers.keep(("i", n), encode({"type": "ack", "id": n, "result": {"call_id": "c"}}))
    assert len(answers) == REMEMBERED_IDS
    assert answers.get(("i", 9)) is None and answers.get(("i", 10)) is not None

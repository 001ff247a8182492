"""Routing explanations (`ains/routing/policy.py` `explain`): every agent offering the
capability, with its load, trust, score, rank and the rule that chose or refused it."""

from __future__ import annotations

import pytest

from ains.routing.policy import Candidate, Seen, assign_many, explain


def seen(
    agent_id: str, trust: float, in_flight: int = 0, cap: int = 5, refused: str | None = None
) -> Seen:
    return Seen(Candidate(agent_id, trust, in_flight, cap), refused)


def rules(rows: list[dict[str, object]]) -> dict[object, object]:
    return {r["agent_id"]: r["rule"] for r in rows}


def test_the_score_orders_the_80_percent_tier_by_trust_and_overflow_by_load() -> None:
    assert Candidate("a", 0.7, 0, 5).score == pytest.approx(1.7)
    assert Candidate("b", 0.9, 4, 5).score == pytest.approx(0.2)  # 5/5 after: past 80%
    assert Candidate("c", 0.9, 5, 5).score == 0.0  # no room
    assert Candidate("a", 0.1, 3, 5).score > Candidate("b", 0.99, 4, 5).score


def test_every_rule_of_one_pass() -> None:
    pass_ = [
        seen("chosen", 0.6, in_flight=0),
        seen("busy", 0.9, in_flight=4),  # would go past 80% with one more
        seen("weak", 0.3, in_flight=0),
        seen("full", 0.9, in_flight=5, refused="at_capacity"),
        seen("gone", 0.9, refused="offline"),
        seen("idle", 0.9, refused="not_asking"),
        seen("bad", 0.1, refused="quarantined"),
    ]
    rows = explain(pass_, "chosen", {"chosen": 3})
    assert rules(rows) == {
        "chosen": "chosen",
        "busy": "over_80_percent",
        "weak": "lower_score",
        "full": "at_capacity",
        "gone": "offline",
        "idle": "not_asking",
        "bad": "quarantined",
    }
    first = rows[0]
    assert first == {
        "agent_id": "chosen",
        "in_flight": 0,
        "max_concurrency": 5,
        "load": 0.0,
        "trust": 0.6,
        "score": 1.6,
        "rank": 1,
        "share": 3,
        "rule": "chosen",
    }
    by_id = {r["agent_id"]: r for r in rows}
    assert by_id["busy"]["rank"] == 3 and by_id["busy"]["load"] == 0.8
    assert by_id["gone"]["score"] is None and by_id["gone"]["rank"] is None


def test_agents_given_their_own_share_of_the_same_work_say_so() -> None:
    pass_ = [seen("a", 0.9), seen("b", 0.5)]
    shares = assign_many([s.candidate for s in pass_], 8)
    counts = {x: shares.count(x) for x in set(shares)}
    rows = explain(pass_, "b", counts)
    assert rules(rows) == {"b": "chosen", "a": "own_share"}
    assert rows[0]["agent_id"] == "b"  # the chosen one comes first


def test_a_quarantined_agent_given_a_canary() -> None:
    pass_ = [seen("q", 0.1, refused="quarantined"), seen("ok", 0.8)]
    rows = explain(pass_, "q", {"q": 1, "ok": 2}, canary=True)
    assert rules(rows) == {"q": "canary", "ok": "own_share"}
    assert rows[0]["rank"] is None and rows[0]["share"] == 1

"""The routing policy (`ains/routing/policy.py`): the 80% rule, trust order, ties, capacity."""

from __future__ import annotations

from collections import Counter

from ains.routing.policy import Candidate, assign_many, choose_agent


def agent(agent_id: str, trust: float, in_flight: int = 0, cap: int = 10) -> Candidate:
    return Candidate(agent_id, trust, in_flight, cap)


# --- the 80% rule ------------------------------------------------------------------------------


def test_within_80_percent_beats_a_more_trusted_busier_agent() -> None:
    busy_star = agent("a-star", 0.99, in_flight=8)  # 9/10 after the task: above 80%
    decent = agent("b-decent", 0.40, in_flight=7)  # 8/10 after the task: exactly 80%
    decision = choose_agent([busy_star, decent])
    assert (decision.agent_id, decision.tier) == ("b-decent", "preferred")


def test_the_soft_limit_counts_the_task_being_routed() -> None:
    assert agent("a", 0.5, in_flight=7).within_soft_limit  # 8 ≤ 8
    assert not agent("a", 0.5, in_flight=8).within_soft_limit  # 9 > 8
    assert not agent("a", 0.5, in_flight=0, cap=1).within_soft_limit  # 1 > 0.8
    assert agent("a", 0.5, in_flight=3, cap=5).within_soft_limit  # 4 ≤ 4


def test_overflow_goes_to_the_lightest_load_then_the_highest_trust() -> None:
    heavy_trusted = agent("a", 0.9, in_flight=9)  # 90% loaded
    light_untrusted = agent("b", 0.2, in_flight=4, cap=5)  # 80% loaded
    decision = choose_agent([heavy_trusted, light_untrusted])
    assert (decision.agent_id, decision.tier) == ("b", "overflow")
    same_load = [agent("c", 0.3, in_flight=9), agent("d", 0.7, in_flight=9)]
    assert choose_agent(same_load).agent_id == "d"


def test_preferred_agents_are_tried_before_overflow_ones_in_the_ranking() -> None:
    decision = choose_agent(
        [agent("over", 0.9, in_flight=9), agent("pref-low", 0.1), agent("pref-high", 0.8)]
    )
    assert [r[0] for r in decision.ranking] == ["pref-high", "pref-low", "over"]


# --- trust order and ties ------------------------------------------------------------------------


def test_among_preferred_agents_the_highest_trust_wins() -> None:
    decision = choose_agent([agent("a", 0.5), agent("b", 0.9), agent("c", 0.7)])
    assert decision.agent_id == "b"
    assert [r[0] for r in decision.ranking] == ["b", "c", "a"]


def test_equal_trust_goes_to_the_lighter_load() -> None:
    decision = choose_agent([agent("a", 0.6, in_flight=3), agent("b", 0.6, in_flight=1)])
    assert decision.agent_id == "b"


def test_a_full_tie_is_broken_by_agent_id_whatever_the_input_order() -> None:
    tied = [agent("agt-c", 0.6, 2), agent("agt-a", 0.6, 2), agent("agt-b", 0.6, 2)]
    for order in (tied, tied[::-1], tied[1:] + tied[:1]):
        assert choose_agent(order).agent_id == "agt-a"


def test_load_is_relative_to_capacity() -> None:
    # 2 of 10 (20%) is lighter than 1 of 4 (25%) at equal trust
    decision = choose_agent([agent("small", 0.6, 1, cap=4), agent("big", 0.6, 2, cap=10)])
    assert decision.agent_id == "big"


# --- capacity ----------------------------------------------------------------------------------


def test_a_full_agent_is_never_chosen() -> None:
    decision = choose_agent([agent("full", 1.0, in_flight=10)])
    assert (decision.agent_id, decision.tier) == (None, "none")
    assert decision.ranking == ()


def test_no_candidates_routes_nowhere() -> None:
    assert choose_agent([]).agent_id is None
    assert assign_many([], 3) == []


def test_assign_many_sees_the_load_each_task_adds() -> None:
    # the trusted agent takes tasks until the next would pass 80% (8 of 10), then the other
    # agent's 80% is used, then overflow by lightest load
    chosen = assign_many([agent("trusted", 0.9), agent("other", 0.5)], 20)
    assert chosen[:8] == ["trusted"] * 8
    assert chosen[8:16] == ["other"] * 8
    assert Counter(chosen) == {"trusted": 10, "other": 10}


def test_assign_many_never_exceeds_max_concurrency() -> None:
    pool = [agent("a", 0.9, in_flight=1, cap=3), agent("b", 0.4, in_flight=0, cap=2)]
    chosen = assign_many(pool, 10)
    assert Counter(chosen) == {"a": 2, "b": 2}


def test_assign_many_of_zero_assigns_nothing() -> None:
    assert assign_many([agent("a", 0.9)], 0) == []

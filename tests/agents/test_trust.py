"""The trust formula (`ains/agents/trust.py`)."""

from __future__ import annotations

import pytest

from ains.agents.trust import (
    FAILURE_LOSS,
    INITIAL_TRUST,
    SUCCESS_GAIN,
    TIMEOUT_LOSS,
    after_failure,
    after_success,
    after_timeout,
)


def test_agents_start_in_the_middle() -> None:
    assert INITIAL_TRUST == 0.5


def test_a_success_gains_a_fraction_of_the_distance_left() -> None:
    change = after_success(0.5)
    assert change.score_after == pytest.approx(0.5 + SUCCESS_GAIN * 0.5)
    assert change.delta == pytest.approx(SUCCESS_GAIN * 0.5)
    assert change.reason == "task completed"
    assert after_success(0.9).delta == pytest.approx(SUCCESS_GAIN * 0.1)


def test_quality_scales_the_gain() -> None:
    assert after_success(0.5, 0.5).delta == pytest.approx(after_success(0.5).delta / 2)
    assert after_success(0.5, 0.0).delta == 0.0
    assert after_success(0.5, None).delta == after_success(0.5, 1.0).delta


def test_a_failure_loses_a_tenth_of_the_score() -> None:
    change = after_failure(0.8)
    assert change.score_after == pytest.approx(0.8 * (1 - FAILURE_LOSS))
    assert change.reason == "task failed"
    permanent = after_failure(0.8, permanent=True)
    assert permanent.score_after == change.score_after
    assert permanent.reason == "task failed (permanent)"


def test_a_timeout_or_lost_lease_loses_more_than_a_failure() -> None:
    change = after_timeout(0.8)
    assert change.score_after == pytest.approx(0.8 * (1 - TIMEOUT_LOSS))
    assert change.reason == "task timed out"
    assert after_timeout(0.8, "lease lost").reason == "lease lost"
    assert change.delta < after_failure(0.8).delta < 0


def test_failures_hurt_more_than_successes_help() -> None:
    assert -after_failure(0.5).delta > after_success(0.5).delta


def test_scores_stay_within_zero_and_one() -> None:
    score = 0.5
    for _ in range(2000):
        score = after_success(score).score_after
    assert 0.99 < score <= 1.0
    assert after_success(1.0).score_after == 1.0
    for _ in range(500):
        score = after_timeout(score).score_after
    assert 0.0 <= score < 1e-9
    assert after_failure(0.0).score_after == 0.0


def test_deltas_match_the_scores() -> None:
    for score in (0.0, 0.3, 0.5, 0.77, 1.0):
        for change in (after_success(score, 0.4), after_failure(score), after_timeout(score)):
            assert change.score_after - score == pytest.approx(change.delta)

"""Trust per (agent, capability): decay toward neutral while idle, automatic quarantine below
the threshold, canaries and release (`ains/agents/trust.py`, pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ains.agents.trust import (
    NEUTRAL,
    CapabilityTrust,
    QuarantinePolicy,
    after_failure,
    decay_change,
    decayed,
    settle_capability,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
POLICY = QuarantinePolicy(below=0.2, canaries=3)


def test_an_idle_score_halves_its_distance_from_neutral_every_half_life() -> None:
    assert decayed(0.9, T0, T0, 24) == pytest.approx(0.9)
    assert decayed(0.9, T0, T0 + timedelta(hours=24), 24) == pytest.approx(0.7)
    assert decayed(0.1, T0, T0 + timedelta(hours=48), 24) == pytest.approx(0.4)
    assert decayed(0.1, T0, T0 + timedelta(hours=12), 12) == pytest.approx(0.3)
    assert decayed(0.3, T0, T0 + timedelta(days=365), 24) == pytest.approx(NEUTRAL)


def test_decay_never_runs_backwards_in_time() -> None:
    assert decayed(0.9, T0, T0 - timedelta(hours=5), 24) == pytest.approx(0.9)


def test_a_decay_is_recorded_only_when_it_moved_the_score() -> None:
    assert decay_change(0.5, 0.5, 3.0) is None
    assert decay_change(0.3, 0.3004, 0.01) is None
    change = decay_change(0.1, 0.3, 24.0)
    assert change is not None
    assert change.delta == pytest.approx(0.2)
    assert change.reason == "decayed: 0.100 → 0.300 over 24.0 h idle"


def test_failures_below_the_threshold_quarantine_the_pair_with_a_reason() -> None:
    state, changes = settle_capability(CapabilityTrust(0.21), [("failure", None)], POLICY)
    assert state.quarantined and state.canary_successes == 0
    assert state.score == pytest.approx(0.189)
    assert [c.reason for c in changes] == ["task failed", "quarantined: trust 0.19 < 0.2"]
    assert changes[1].delta == 0.0


def test_a_pair_above_the_threshold_is_not_quarantined() -> None:
    state, changes = settle_capability(CapabilityTrust(0.5), [("failure", None)] * 3, POLICY)
    assert not state.quarantined
    assert len(changes) == 3


def test_canaries_count_toward_release_and_a_failure_starts_again() -> None:
    start = CapabilityTrust(0.15, quarantined=True)
    state, changes = settle_capability(start, [("success", None), ("success", None)], POLICY)
    assert state.quarantined and state.canary_successes == 2
    assert changes[0].reason == "canary passed (1/3): task completed"
    state, changes = settle_capability(state, [("failure", None)], POLICY)
    assert state.quarantined and state.canary_successes == 0
    assert changes[0].reason == "canary failed (0/3): task failed"


def test_enough_canaries_release_the_pair_above_the_threshold() -> None:
    start = CapabilityTrust(0.1, quarantined=True)
    state, changes = settle_capability(start, [("success", None)] * 3, POLICY)
    assert not state.quarantined and state.canary_successes == 0
    assert state.score == pytest.approx(POLICY.release_score) == pytest.approx(0.35)
    assert state.score > POLICY.below
    assert changes[-1].reason == "released: 3 canaries passed"
    assert changes[-1].delta > 0


def test_a_release_never_lowers_a_score_already_above_the_release_point() -> None:
    start = CapabilityTrust(0.6, quarantined=True, canary_successes=2)
    state, changes = settle_capability(start, [("success", None)], POLICY)
    assert not state.quarantined
    assert state.score > 0.6
    assert changes[-1].delta == 0.0


def test_outcomes_move_the_pair_like_the_agent_formula() -> None:
    state, changes = settle_capability(CapabilityTrust(0.5), [("timeout", None)], POLICY)
    assert state.score == pytest.approx(0.425)
    state, _ = settle_capability(CapabilityTrust(0.5), [("failure", None)], POLICY)
    assert state.score == pytest.approx(after_failure(0.5).score_after)
    state, changes = settle_capability(CapabilityTrust(0.5), [("lost", None)], POLICY)
    assert changes[0].reason == "lease lost (agent silent)"

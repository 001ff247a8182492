"""The retry policy is pure: schedules are checked with a fixed clock and a seeded RNG."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from ains.retries.policy import RetryPolicy, backoff_delay, decide

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_default_schedule_is_exponential_1_2_4_8_16_seconds() -> None:
    policy = RetryPolicy(jitter=False, max_retries=5)
    delays = [backoff_delay(policy, n) for n in range(1, 6)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0]


def test_delays_are_capped_at_max_delay() -> None:
    policy = RetryPolicy(jitter=False, max_retries=50, max_delay_seconds=10.0)
    assert [backoff_delay(policy, n) for n in (4, 5, 6, 40, 50)] == [8.0, 10.0, 10.0, 10.0, 10.0]


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [("linear", [2.0, 4.0, 6.0, 8.0]), ("fixed", [2.0, 2.0, 2.0, 2.0])],
)
def test_linear_and_fixed_strategies(strategy: str, expected: list[float]) -> None:
    policy = RetryPolicy.model_validate(
        {"strategy": strategy, "base_delay_seconds": 2, "max_delay_seconds": 100, "jitter": False}
    )
    assert [backoff_delay(policy, n) for n in range(1, 5)] == expected


def test_jitter_keeps_delays_between_half_and_full_and_is_reproducible() -> None:
    policy = RetryPolicy(max_retries=10)
    for n in range(1, 10):
        full = min(2.0 ** (n - 1), 16.0)
        for seed in range(50):
            delay = backoff_delay(policy, n, random.Random(seed))
            assert full / 2 <= delay < full
    first = [backoff_delay(policy, 3, random.Random(7)) for _ in range(3)]
    assert len(set(first)) == 1


def test_jitter_spreads_a_thundering_herd() -> None:
    policy = RetryPolicy()
    rng = random.Random(1)
    delays = {round(backoff_delay(policy, 4, rng), 3) for _ in range(100)}
    assert len(delays) > 50


def test_decide_schedules_retries_against_the_given_clock() -> None:
    policy = RetryPolicy(jitter=False)
    decisions = [decide(policy, used, True, NOW) for used in range(3)]
    assert [d.attempt for d in decisions if d] == [1, 2, 3]
    assert [d.retry_at for d in decisions if d] == [NOW + timedelta(seconds=s) for s in (1, 2, 4)]


def test_retries_exhausted_gives_up() -> None:
    policy = RetryPolicy(max_retries=3, jitter=False)
    assert decide(policy, 3, True, NOW) is None
    assert decide(RetryPolicy(max_retries=0), 0, True, NOW) is None


def test_permanent_error_is_never_retried() -> None:
    assert decide(RetryPolicy(max_retries=5), 0, False, NOW) is None


def test_cap_below_base_is_rejected() -> None:
    with pytest.raises(ValueError, match="max_delay_seconds"):
        RetryPolicy(base_delay_seconds=5, max_delay_seconds=1)

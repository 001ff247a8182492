"""Unit tests for the pure retry policy (ains.retries.policy)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from ains.retries.policy import RetryDecision, RetryPolicy, backoff_delay, decide

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def no_jitter(**overrides: object) -> RetryPolicy:
    return RetryPolicy.model_validate({"jitter": False, **overrides})


def test_defaults_match_the_spec() -> None:
    policy = RetryPolicy()
    assert policy.max_retries == 3
    assert policy.strategy == "exponential"
    assert policy.base_delay_seconds == 1.0
    assert policy.max_delay_seconds == 16.0
    assert policy.jitter is True


def test_exponential_schedule_is_1_2_4_8_16() -> None:
    policy = no_jitter(max_retries=10)
    assert [backoff_delay(policy, n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 8.0, 16.0]


def test_exponential_is_capped_by_max_delay() -> None:
    policy = no_jitter(max_retries=100)
    assert [backoff_delay(policy, n) for n in (6, 7, 50, 100)] == [16.0] * 4
    assert backoff_delay(no_jitter(max_delay_seconds=5.0), 4) == 5.0


def test_exponential_with_huge_retry_number_does_not_overflow() -> None:
    assert backoff_delay(no_jitter(), 5000) == 16.0


def test_linear_strategy_grows_by_base() -> None:
    policy = no_jitter(strategy="linear", base_delay_seconds=2.0, max_delay_seconds=7.0)
    assert [backoff_delay(policy, n) for n in range(1, 6)] == [2.0, 4.0, 6.0, 7.0, 7.0]


def test_fixed_strategy_is_constant() -> None:
    policy = no_jitter(strategy="fixed", base_delay_seconds=3.0)
    assert [backoff_delay(policy, n) for n in range(1, 5)] == [3.0] * 4


def test_jitter_is_reproducible_with_a_seeded_rng() -> None:
    policy = RetryPolicy(max_retries=10)
    reference = random.Random(42)
    expected = [d * (0.5 + 0.5 * reference.random()) for d in (1.0, 2.0, 4.0, 8.0, 16.0)]
    rng = random.Random(42)
    assert [backoff_delay(policy, n, rng) for n in range(1, 6)] == expected


def test_jitter_stays_within_half_to_full_delay() -> None:
    policy = RetryPolicy(max_retries=100)
    rng = random.Random(7)
    for n in range(1, 8):
        full = min(2.0 ** (n - 1), 16.0)
        for _ in range(200):
            delay = backoff_delay(policy, n, rng)
            assert full / 2 <= delay < full


def test_jitter_actually_varies_the_delay() -> None:
    rng = random.Random(1)
    delays = {backoff_delay(RetryPolicy(), 3, rng) for _ in range(20)}
    assert len(delays) > 1


def test_retry_number_must_start_at_one() -> None:
    with pytest.raises(ValueError, match="starts at 1"):
        backoff_delay(RetryPolicy(), 0)


def test_decide_schedules_the_next_retry() -> None:
    decision = decide(no_jitter(), retry_count=2, retryable=True, now=NOW)
    assert decision == RetryDecision(
        retry_at=NOW + timedelta(seconds=4), delay_seconds=4.0, attempt=3
    )


def test_decide_first_retry_uses_base_delay() -> None:
    decision = decide(no_jitter(), retry_count=0, retryable=True, now=NOW)
    assert decision is not None
    assert decision.attempt == 1
    assert decision.retry_at == NOW + timedelta(seconds=1)


def test_decide_with_jitter_uses_the_injected_rng() -> None:
    expected_delay = 2.0 * (0.5 + 0.5 * random.Random(3).random())
    decision = decide(RetryPolicy(), retry_count=1, retryable=True, now=NOW, rng=random.Random(3))
    assert decision is not None
    assert decision.delay_seconds == expected_delay
    assert decision.retry_at == NOW + timedelta(seconds=expected_delay)


def test_decide_gives_up_when_retries_are_exhausted() -> None:
    policy = no_jitter(max_retries=3)
    assert decide(policy, retry_count=3, retryable=True, now=NOW) is None
    assert decide(policy, retry_count=4, retryable=True, now=NOW) is None


def test_decide_never_retries_a_permanent_error() -> None:
    assert decide(no_jitter(), retry_count=0, retryable=False, now=NOW) is None


def test_zero_max_retries_never_retries() -> None:
    assert decide(no_jitter(max_retries=0), retry_count=0, retryable=True, now=NOW) is None


def test_decide_rejects_negative_retry_count() -> None:
    with pytest.raises(ValueError, match="negative"):
        decide(RetryPolicy(), retry_count=-1, retryable=True, now=NOW)


def test_decision_is_frozen() -> None:
    decision = decide(no_jitter(), retry_count=0, retryable=True, now=NOW)
    assert decision is not None
    with pytest.raises(AttributeError):
        decision.attempt = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    "payload",
    [
        {"max_retries": -1},
        {"max_retries": 101},
        {"strategy": "random"},
        {"base_delay_seconds": -1},
        {"base_delay_seconds": 10, "max_delay_seconds": 5},
        {"unknown": 1},
    ],
)
def test_invalid_policies_are_rejected(payload: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        RetryPolicy.model_validate(payload)


def test_policy_round_trips_as_json() -> None:
    policy = RetryPolicy(max_retries=5, strategy="linear", base_delay_seconds=0.5, jitter=False)
    assert RetryPolicy.model_validate_json(policy.model_dump_json()) == policy
    assert RetryPolicy.model_validate({}) == RetryPolicy()


def test_policy_is_frozen() -> None:
    with pytest.raises(ValidationError):
        RetryPolicy().max_retries = 9  # type: ignore[misc]

"""Retry policy for failed task attempts: pure functions returning frozen decisions.

The policy is the task's ``retry_policy`` JSON. Delays grow per *retry number* (1 for the
first retry): exponential ``base * 2**(n-1)``, linear ``base * n``, fixed ``base``, always
capped at ``max_delay_seconds``. With the defaults the schedule is 1, 2, 4, 8, 16 seconds.

Jitter is "equal jitter": the capped delay ``d`` becomes ``d * (0.5 + 0.5 * rng.random())``,
i.e. uniform in ``[d/2, d)``. Keeping at least half of the delay preserves the backoff's
growth while still spreading a thundering herd; the single ``rng.random()`` draw per call
makes exact values reproducible with a seeded ``random.Random``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

__all__ = ["RetryDecision", "RetryPolicy", "RetryStrategy", "backoff", "backoff_delay", "decide"]

RetryStrategy = Literal["exponential", "linear", "fixed"]
STRATEGIES: tuple[str, ...] = get_args(RetryStrategy)

_MAX_DELAY_LIMIT_SECONDS = 7 * 24 * 3600.0
EQUAL_JITTER = (0.5, 1.0)  # keep at least half of the delay (see above)
# 2.0 ** 1024 overflows a float; far beyond any cap anyway.
_MAX_EXPONENT = 1000


class RetryPolicy(BaseModel):
    """How many times, and how far apart, a failed task is retried."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_retries: int = Field(default=3, ge=0, le=100)
    strategy: RetryStrategy = "exponential"
    base_delay_seconds: float = Field(default=1.0, ge=0.0, le=_MAX_DELAY_LIMIT_SECONDS)
    max_delay_seconds: float = Field(default=16.0, ge=0.0, le=_MAX_DELAY_LIMIT_SECONDS)
    jitter: bool = True

    @model_validator(mode="before")
    @classmethod
    def _from_shorthand(cls, data: Any) -> Any:
        """Seed 001's string form: "exponential", "linear" or "fixed" is that strategy with
        every other field at its default."""
        if not isinstance(data, str):
            return data
        if data not in STRATEGIES:
            raise PydanticCustomError(
                "retry_shorthand", f"must be an object or one of {', '.join(STRATEGIES)}"
            )
        return {"strategy": data}

    @model_validator(mode="after")
    def _cap_not_below_base(self) -> RetryPolicy:
        if self.max_delay_seconds < self.base_delay_seconds:
            raise ValueError("max_delay_seconds must be >= base_delay_seconds")
        return self


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """A decision to retry: when, after which delay, and which retry this is.

    ``attempt`` is the retry number being scheduled (1 for the first retry); the task's
    ``retry_count`` becomes this value.
    """

    retry_at: datetime
    delay_seconds: float
    attempt: int


def backoff(
    retry_number: int,
    *,
    base: float,
    cap: float,
    strategy: RetryStrategy = "exponential",
    jitter: tuple[float, float] | None = EQUAL_JITTER,
    rng: random.Random | None = None,
) -> float:
    """The one backoff of the server (task retries, webhook redeliveries): the delay in seconds
    before retry ``retry_number`` (1-based) — ``base`` grown by ``strategy``, capped at ``cap``,
    then scaled by a uniform draw in ``jitter``'s [low, high) (none: exact)."""
    if retry_number < 1:
        raise ValueError("retry_number starts at 1")
    delay = min(_raw_delay(strategy, base, retry_number), cap)
    if jitter is None:
        return delay
    low, high = jitter
    draw = rng.random() if rng is not None else random.random()
    return delay * (low + (high - low) * draw)


def backoff_delay(
    policy: RetryPolicy, retry_number: int, rng: random.Random | None = None
) -> float:
    """Return the delay in seconds before retry ``retry_number`` (1-based), jittered if enabled."""
    return backoff(
        retry_number,
        base=policy.base_delay_seconds,
        cap=policy.max_delay_seconds,
        strategy=policy.strategy,
        jitter=EQUAL_JITTER if policy.jitter else None,
        rng=rng,
    )


def _raw_delay(strategy: RetryStrategy, base: float, retry_number: int) -> float:
    if strategy == "exponential":
        return base * 2.0 ** min(retry_number - 1, _MAX_EXPONENT)
    if strategy == "linear":
        return base * retry_number
    return base


def decide(
    policy: RetryPolicy,
    retry_count: int,
    retryable: bool,
    now: datetime,
    rng: random.Random | None = None,
) -> RetryDecision | None:
    """Decide whether a failed attempt is retried.

    ``retry_count`` is the number of retries already used. Returns ``None`` (give up, the
    task is dead-lettered) for a permanent error or when retries are exhausted.
    """
    if retry_count < 0:
        raise ValueError("retry_count cannot be negative")
    if not retryable or retry_count >= policy.max_retries:
        return None
    retry_number = retry_count + 1
    delay = backoff_delay(policy, retry_number, rng)
    return RetryDecision(
        retry_at=now + timedelta(seconds=delay), delay_seconds=delay, attempt=retry_number
    )

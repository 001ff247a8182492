"""The trust formula (pure).

Every agent starts at 0.5. Scores stay in [0, 1] and move by a fraction of the distance left:
- a completed task: +0.05 × (1 − score) × quality (quality_score if reported, else 1);
- a failed task (retryable or permanent): −0.10 × score;
- a timed-out task or a lost lease (agent went silent holding it): −0.15 × score.
So a long run of successes approaches 1 without reaching it, failures hurt more than successes
help, and an admin may set the score directly (recorded with a reason).
"""

from __future__ import annotations

from dataclasses import dataclass

INITIAL_TRUST = 0.5
SUCCESS_GAIN = 0.05
FAILURE_LOSS = 0.10
TIMEOUT_LOSS = 0.15


@dataclass(frozen=True)
class TrustChange:
    delta: float
    score_after: float
    reason: str


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


def after_success(score: float, quality: float | None = None) -> TrustChange:
    factor = 1.0 if quality is None else quality
    new = _clamp(score + SUCCESS_GAIN * (1.0 - score) * factor)
    return TrustChange(new - score, new, "task completed")


def after_failure(score: float, *, permanent: bool = False) -> TrustChange:
    new = _clamp(score - FAILURE_LOSS * score)
    return TrustChange(new - score, new, "task failed (permanent)" if permanent else "task failed")


def after_timeout(score: float, reason: str = "task timed out") -> TrustChange:
    new = _clamp(score - TIMEOUT_LOSS * score)
    return TrustChange(new - score, new, reason)

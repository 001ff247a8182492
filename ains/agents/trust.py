"""The trust formula (pure).

Every agent starts at 0.5. Scores stay in [0, 1] and move by a fraction of the distance left:
- a completed task: +0.05 × (1 − score) × quality (quality_score if reported, else 1);
- a failed task (retryable or permanent): −0.10 × score;
- a timed-out task or a lost lease (agent went silent holding it): −0.15 × score.
So a long run of successes approaches 1 without reaching it, failures hurt more than successes
help, and an admin may set the score directly (recorded with a reason).

The same formula moves a score per (agent, capability), which routing uses for that capability;
it decays toward neutral while idle (`decayed`), and a pair that falls below the quarantine
threshold is quarantined until enough canary tasks succeed (`settle_capability`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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


# --- trust per (agent, capability): decay and automatic quarantine ------------------------------

NEUTRAL = INITIAL_TRUST


def decayed(score: float, updated_at: datetime, now: datetime, half_life_hours: float) -> float:
    """The score after sitting idle since `updated_at`: its distance from neutral (0.5) halves
    every `half_life_hours`, so an old verdict, good or bad, fades while the agent does nothing
    for this capability."""
    idle_hours = max(0.0, (now - updated_at).total_seconds() / 3600.0)
    return NEUTRAL + (score - NEUTRAL) * float(0.5 ** (idle_hours / half_life_hours))


@dataclass(frozen=True)
class QuarantinePolicy:
    below: float = 0.2  # quarantined when the score falls under this
    canaries: int = 3  # successful canaries in a row that release it

    @property
    def release_score(self) -> float:
        """Where a released pair's score is raised to (at least): halfway back to neutral."""
        return (self.below + NEUTRAL) / 2


@dataclass(frozen=True)
class CapabilityTrust:
    score: float = NEUTRAL
    quarantined: bool = False
    canary_successes: int = 0


def after_outcome(score: float, kind: str, quality: float | None = None) -> TrustChange:
    """One finished attempt: kind = success | failure | permanent | timeout | lost."""
    if kind == "success":
        return after_success(score, quality)
    if kind == "timeout":
        return after_timeout(score)
    if kind == "lost":
        return after_timeout(score, "lease lost (agent silent)")
    return after_failure(score, permanent=kind == "permanent")


def settle_capability(
    state: CapabilityTrust,
    outcomes: list[tuple[str, float | None]],
    policy: QuarantinePolicy,
) -> tuple[CapabilityTrust, list[TrustChange]]:
    """Apply (kind, quality) outcomes in turn to one (agent, capability) pair. Each outcome is
    a change; so is each quarantine ("quarantined: trust 0.18 < 0.2") and release ("released:
    3 canaries passed"). A quarantined pair's outcomes are its canaries: a success counts
    toward release, a failure starts the count again."""
    score, quarantined, canaries = state.score, state.quarantined, state.canary_successes
    changes: list[TrustChange] = []
    for kind, quality in outcomes:
        change = after_outcome(score, kind, quality)
        score = change.score_after
        if quarantined:
            canaries = canaries + 1 if kind == "success" else 0
            verdict = "passed" if kind == "success" else "failed"
            tally = f"{canaries}/{policy.canaries}"
            change = TrustChange(
                change.delta, score, f"canary {verdict} ({tally}): {change.reason}"
            )
        changes.append(change)
        if quarantined and canaries >= policy.canaries:
            raised = max(score, policy.release_score)
            changes.append(
                TrustChange(raised - score, raised, f"released: {canaries} canaries passed")
            )
            score, quarantined, canaries = raised, False, 0
        elif not quarantined and score < policy.below:
            quarantined, canaries = True, 0
            changes.append(
                TrustChange(0.0, score, f"quarantined: trust {score:.2f} < {policy.below:g}")
            )
    return CapabilityTrust(score, quarantined, canaries), changes


def decay_change(before: float, after: float, idle_hours: float) -> TrustChange | None:
    """The record of a decay worth writing down (a move of at least 0.001), else None."""
    if abs(after - before) < 0.001:
        return None
    return TrustChange(
        after - before, after, f"decayed: {before:.3f} → {after:.3f} over {idle_hours:.1f} h idle"
    )

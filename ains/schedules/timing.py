"""When a schedule is due: cron, fixed-interval and one-time timings, and the decision taken
for a due time. Pure: no database, no clock.

Three kinds of timing, exactly one per schedule:

* ``cron_expression`` (5 fields, SPEC §7) evaluated in ``timezone`` (see ``cron.py`` for DST);
* ``interval_seconds``: every N whole seconds, aligned on the Unix epoch (so two replicas and a
  restart agree on the slots). Cron has minute resolution; this kind covers sub-minute cadence
  (tests and the bench use ``interval_seconds: 1``) without stretching cron to 6 fields;
* ``run_at``: one instant; the schedule completes after it fires.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from ains.schedules.cron import due_times_between, next_fire_time, next_fire_times

MissedRunPolicy = Literal["skip", "run_once"]
_US = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Windows tried, smallest first, when looking for the latest missed cron time.
_LOOKBACK = (timedelta(hours=1), timedelta(days=2), timedelta(days=400))


@dataclass(frozen=True)
class Timing:
    cron_expression: str | None = None
    timezone: str = "UTC"
    interval_seconds: int | None = None
    run_at: datetime | None = None

    def next_after(self, after: datetime) -> datetime | None:
        """The first due time strictly after ``after``; None when there is none (one-time)."""
        return next(iter(self.next_times(after, 1)), None)

    def next_times(self, after: datetime, count: int) -> list[datetime]:
        if self.cron_expression is not None:
            return next_fire_times(self.cron_expression, self.timezone, after, count)
        if self.interval_seconds is not None:
            first = _slot_after(after, self.interval_seconds)
            step = timedelta(seconds=self.interval_seconds)
            return [first + i * step for i in range(count)]
        if self.run_at is not None and self.run_at > after and count > 0:
            return [self.run_at.astimezone(UTC)]
        return []

    def latest_at_or_before(self, due: datetime, now: datetime) -> tuple[datetime, int]:
        """The last due time in ``[due, now]`` (``due`` itself is one) and how many there are
        (a lower bound when the window is huge)."""
        if self.interval_seconds is not None:
            iv = self.interval_seconds * _US
            latest_us = (_micros(now) // iv) * iv
            latest = max(due, _EPOCH + timedelta(microseconds=latest_us))
            return latest, 1 + (_micros(latest) - _micros(due)) // iv
        if self.cron_expression is None:
            return due, 1
        start = due - timedelta(microseconds=1)
        for window in _LOOKBACK:
            begin = max(start, now - window)
            times = due_times_between(self.cron_expression, self.timezone, begin, now, 100_000)
            if times:
                missed = len(times) if begin == start else len(times) + 1
                return times[-1], missed
        return due, 1


@dataclass(frozen=True)
class FireDecision:
    """What to do with a schedule whose ``next_run_at`` has come.

    ``fire_at`` is the due time to fire (None: fire nothing), ``next_run_at`` the following one
    (None: the schedule is finished), ``missed`` the due times dropped by the missed-run policy.
    """

    fire_at: datetime | None
    next_run_at: datetime | None
    missed: int = 0


def decide(
    timing: Timing, due: datetime, now: datetime, grace: timedelta, policy: MissedRunPolicy
) -> FireDecision:
    """A due time is *on time* while ``now - due <= grace``: it fires, and the next time is
    computed from it (not from now), so a slow pass never opens a gap. Later than that, the
    server was down or stopped: ``skip`` drops every missed time and ``run_once`` fires once,
    for the latest missed time; both continue with the first time after now."""
    if now - due <= grace:
        return FireDecision(due, timing.next_after(due))
    latest, missed = timing.latest_at_or_before(due, now)
    following = timing.next_after(max(latest, now))
    if policy == "run_once":
        return FireDecision(latest, following, missed - 1)
    return FireDecision(None, following, missed)


def _micros(at: datetime) -> int:
    delta = at.astimezone(UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * _US + delta.microseconds


def _slot_after(after: datetime, interval_seconds: int) -> datetime:
    iv = interval_seconds * _US
    slot = (_micros(after) // iv + 1) * iv
    return _EPOCH + timedelta(microseconds=slot)


__all__ = ["FireDecision", "MissedRunPolicy", "Timing", "decide", "next_fire_time"]

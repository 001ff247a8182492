"""Pure timing: cron validation, time zones and DST, intervals, and the missed-run decision,
with the clock given explicitly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ains.schedules.cron import CronError, validate_cron, validate_timezone
from ains.schedules.timing import Timing, decide

GRACE = timedelta(seconds=60)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize("expr", ["0 9 * * *", "*/15 * * * *", "0 9 * * 1-5", "0 0 1 * *"])
def test_valid_cron_expressions_pass(expr: str) -> None:
    validate_cron(expr)


@pytest.mark.parametrize(
    ("expr", "reason"),
    [
        ("0 9 * *", "exactly 5 fields"),
        ("61 * * * *", "out of range"),
        ("0 9 30 2 *", "never fires"),
        ("a b c d e", "invalid cron expression"),
    ],
)
def test_invalid_cron_expressions_say_why(expr: str, reason: str) -> None:
    with pytest.raises(CronError, match=reason):
        validate_cron(expr)


def test_unknown_timezone_is_refused() -> None:
    with pytest.raises(CronError, match="unknown time zone"):
        validate_timezone("Mars/Olympus")


def test_daily_cron_follows_local_time_across_spring_forward() -> None:
    timing = Timing("0 9 * * *", "America/New_York")
    runs = timing.next_times(at("2026-03-07T00:00:00+00:00"), 3)
    # 9:00 EST is 14:00 UTC; from 8 March 9:00 EDT is 13:00 UTC
    assert runs == [
        at("2026-03-07T14:00:00+00:00"),
        at("2026-03-08T13:00:00+00:00"),
        at("2026-03-09T13:00:00+00:00"),
    ]


def test_wall_time_in_the_spring_gap_fires_once_after_it() -> None:
    timing = Timing("30 2 * * *", "America/New_York")
    runs = timing.next_times(at("2026-03-07T12:00:00+00:00"), 2)
    assert runs == [at("2026-03-08T07:00:00+00:00"), at("2026-03-09T06:30:00+00:00")]


def test_repeated_wall_time_in_fall_back_fires_once() -> None:
    timing = Timing("30 1 * * *", "America/New_York")
    runs = timing.next_times(at("2026-10-31T12:00:00+00:00"), 2)
    # 1 Nov 01:30 happens twice (EDT then EST): fired at the first only
    assert runs == [at("2026-11-01T05:30:00+00:00"), at("2026-11-02T06:30:00+00:00")]


def test_interval_slots_are_epoch_aligned() -> None:
    timing = Timing(interval_seconds=5)
    assert timing.next_times(at("2026-01-01T00:00:03.2+00:00"), 2) == [
        at("2026-01-01T00:00:05+00:00"),
        at("2026-01-01T00:00:10+00:00"),
    ]


def test_one_time_timing_has_one_run_then_none() -> None:
    when = at("2026-01-01T12:00:00+00:00")
    timing = Timing(run_at=when)
    assert timing.next_after(when - timedelta(seconds=1)) == when
    assert timing.next_after(when) is None


def test_on_time_run_fires_and_next_follows_the_due_time() -> None:
    timing = Timing("*/5 * * * *")
    due = at("2026-01-01T00:05:00+00:00")
    decision = decide(timing, due, due + timedelta(seconds=2), GRACE, "skip")
    assert decision.fire_at == due
    assert decision.next_run_at == at("2026-01-01T00:10:00+00:00")


def test_missed_runs_with_skip_fire_nothing_and_jump_past_now() -> None:
    timing = Timing("*/5 * * * *")
    due = at("2026-01-01T00:05:00+00:00")
    now = at("2026-01-01T01:02:00+00:00")
    decision = decide(timing, due, now, GRACE, "skip")
    assert decision.fire_at is None
    assert decision.next_run_at == at("2026-01-01T01:05:00+00:00")
    assert decision.missed == 12  # 00:05 … 01:00


def test_missed_runs_with_run_once_fire_the_latest_once() -> None:
    timing = Timing("*/5 * * * *")
    due = at("2026-01-01T00:05:00+00:00")
    now = at("2026-01-01T01:02:00+00:00")
    decision = decide(timing, due, now, GRACE, "run_once")
    assert decision.fire_at == at("2026-01-01T01:00:00+00:00")
    assert decision.next_run_at == at("2026-01-01T01:05:00+00:00")
    assert decision.missed == 11


def test_missed_interval_runs_are_counted_without_enumerating() -> None:
    timing = Timing(interval_seconds=1)
    due = at("2026-01-01T00:00:00+00:00")
    now = due + timedelta(days=3, milliseconds=500)
    decision = decide(timing, due, now, GRACE, "run_once")
    assert decision.fire_at == due + timedelta(days=3)
    assert decision.next_run_at == due + timedelta(days=3, seconds=1)
    assert decision.missed == 3 * 86400


def test_missed_one_time_schedule_completes_under_skip() -> None:
    when = at("2026-01-01T12:00:00+00:00")
    decision = decide(Timing(run_at=when), when, when + timedelta(hours=1), GRACE, "skip")
    assert decision.fire_at is None
    assert decision.next_run_at is None

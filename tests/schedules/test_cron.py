"""Unit tests for cron evaluation (ains.schedules.cron), including DST transitions.

2026 transitions used below:
America/New_York  spring 2026-03-08 07:00Z (02:00 EST -> 03:00 EDT),
                  fall   2026-11-01 06:00Z (02:00 EDT -> 01:00 EST).
Europe/London     spring 2026-03-29 01:00Z (01:00 GMT -> 02:00 BST),
                  fall   2026-10-25 01:00Z (02:00 BST -> 01:00 GMT).
Australia/Lord_Howe (30-minute DST) spring 2026-10-03 15:30Z (02:00 -> 02:30),
                  fall   2026-04-04 15:00Z (02:00 -> 01:30).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ains.schedules.cron import (
    CronError,
    due_times_between,
    next_fire_time,
    next_fire_times,
    validate_cron,
    validate_timezone,
)

NY = "America/New_York"
LONDON = "Europe/London"
LORD_HOWE = "Australia/Lord_Howe"


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def spaced(start: datetime, step_minutes: int, count: int) -> list[datetime]:
    return [start + timedelta(minutes=step_minutes * i) for i in range(count)]


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize("expr", ["* * * * *", "*/15 9-17 * * 1-5", "0 0 1 jan mon", "0 0 L * *"])
def test_valid_expressions_pass(expr: str) -> None:
    validate_cron(expr)


@pytest.mark.parametrize(
    ("expr", "reason"),
    [
        ("* * * *", "exactly 5 fields .* got 4"),
        ("0 * * * * *", "exactly 5 fields .* got 6"),
        ("@daily", "exactly 5 fields .* got 1"),
        ("", "exactly 5 fields .* got 0"),
        ("61 * * * *", "invalid cron expression '61 \\* \\* \\* \\*': .*out of range"),
        ("* 24 * * *", "invalid cron expression .*out of range"),
        ("a b c d e", "invalid cron expression 'a b c d e'"),
        ("0 0 30 2 *", "never fires"),
    ],
)
def test_invalid_expressions_explain_why(expr: str, reason: str) -> None:
    with pytest.raises(CronError, match=reason):
        validate_cron(expr)


def test_cron_error_is_a_value_error() -> None:
    assert issubclass(CronError, ValueError)


def test_validate_timezone_returns_the_zone() -> None:
    assert validate_timezone(NY) == ZoneInfo(NY)


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "", "../etc/passwd", "EST+5"])
def test_unknown_timezones_are_rejected(name: str) -> None:
    with pytest.raises(CronError, match="unknown time zone"):
        validate_timezone(name)


def test_fire_times_reject_invalid_inputs() -> None:
    with pytest.raises(CronError):
        next_fire_times("* * *", "UTC", utc(2026, 1, 1), 1)
    with pytest.raises(CronError):
        next_fire_times("* * * * *", "Nowhere/Town", utc(2026, 1, 1), 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        next_fire_times("* * * * *", "UTC", datetime(2026, 1, 1), 1)


# --- ordinary next runs -------------------------------------------------------------------


def test_next_runs_on_weekdays_in_utc() -> None:
    runs = next_fire_times("0 9 * * 1-5", "UTC", utc(2026, 1, 2, 10), 3)  # a Friday
    assert runs == [utc(2026, 1, 5, 9), utc(2026, 1, 6, 9), utc(2026, 1, 7, 9)]


def test_next_runs_are_converted_from_local_time_to_utc() -> None:
    runs = next_fire_times("0 9 * * *", "Europe/Berlin", utc(2026, 7, 1), 2)
    assert runs == [utc(2026, 7, 1, 7), utc(2026, 7, 2, 7)]
    assert all(run.tzinfo is UTC for run in runs)


def test_fire_times_are_strictly_after_the_given_instant() -> None:
    assert next_fire_time("*/5 * * * *", "UTC", utc(2026, 1, 1, 0, 5)) == utc(2026, 1, 1, 0, 10)
    assert next_fire_time("*/5 * * * *", "UTC", utc(2026, 1, 1, 0, 4, 59)) == utc(2026, 1, 1, 0, 5)


def test_after_may_be_in_any_zone() -> None:
    after = datetime(2026, 1, 1, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # 00:00Z
    assert next_fire_time("30 0 * * *", ZoneInfo("UTC"), after) == utc(2026, 1, 1, 0, 30)


def test_count_zero_returns_nothing() -> None:
    assert next_fire_times("* * * * *", "UTC", utc(2026, 1, 1), 0) == []


# --- DST spring forward ---------------------------------------------------------------------


def test_missing_wall_time_fires_once_after_the_gap_in_new_york() -> None:
    runs = next_fire_times("30 2 * * *", NY, utc(2026, 3, 7, 12), 3)
    # 02:30 does not exist on 03-08: fires at 03:00 EDT, then back to 02:30 EDT.
    assert runs == [utc(2026, 3, 8, 7), utc(2026, 3, 9, 6, 30), utc(2026, 3, 10, 6, 30)]


def test_missing_wall_time_fires_once_after_the_gap_in_london() -> None:
    runs = next_fire_times("30 1 * * *", LONDON, utc(2026, 3, 27, 12), 3)
    assert runs == [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1), utc(2026, 3, 30, 0, 30)]


def test_several_missing_wall_times_collapse_into_one_fire() -> None:
    runs = next_fire_times("0,30 2 * * *", NY, utc(2026, 3, 8), 3)
    assert runs == [utc(2026, 3, 8, 7), utc(2026, 3, 9, 6), utc(2026, 3, 9, 6, 30)]
    runs = next_fire_times("*/15 2 * * *", NY, utc(2026, 3, 8), 2)
    assert runs == [utc(2026, 3, 8, 7), utc(2026, 3, 9, 6)]


def test_half_hour_gap_in_lord_howe() -> None:
    # 02:00 -> 02:30 local; 02:15 fires at 02:30 (+11:00).
    runs = next_fire_times("15 2 * * *", LORD_HOWE, utc(2026, 10, 3), 2)
    assert runs == [utc(2026, 10, 3, 15, 30), utc(2026, 10, 4, 15, 15)]


def test_interval_expression_fires_every_real_quarter_hour_across_spring_forward() -> None:
    runs = due_times_between("*/15 * * * *", NY, utc(2026, 3, 8, 5), utc(2026, 3, 8, 9))
    assert runs == spaced(utc(2026, 3, 8, 5, 15), 15, 16)


def test_hourly_expression_fires_every_real_hour_across_spring_forward() -> None:
    runs = due_times_between("0 * * * *", LONDON, utc(2026, 3, 28, 23), utc(2026, 3, 29, 4))
    assert runs == spaced(utc(2026, 3, 29), 60, 5)


def test_hourly_at_half_past_skips_the_missing_half_hour_without_an_extra_fire() -> None:
    runs = due_times_between("30 * * * *", NY, utc(2026, 3, 8, 5), utc(2026, 3, 8, 9))
    assert runs == [utc(2026, 3, 8, 5, 30), utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 7, 30),
                    utc(2026, 3, 8, 8, 30)]  # fmt: skip


# --- DST fall back -----------------------------------------------------------------------------


def test_repeated_wall_time_fires_once_at_first_occurrence_in_new_york() -> None:
    runs = next_fire_times("30 1 * * *", NY, utc(2026, 10, 31, 12), 2)
    assert runs == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]


def test_repeated_wall_time_fires_once_at_first_occurrence_in_london() -> None:
    runs = next_fire_times("30 1 * * *", LONDON, utc(2026, 10, 24, 12), 2)
    assert runs == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]


def test_repeated_wall_time_in_lord_howe_fires_once() -> None:
    runs = next_fire_times("45 1 * * *", LORD_HOWE, utc(2026, 4, 4), 2)
    assert runs == [utc(2026, 4, 4, 14, 45), utc(2026, 4, 5, 15, 15)]


def test_no_second_fire_when_asked_during_the_second_occurrence() -> None:
    # 06:10Z is 01:10 EST, the second 01:10; 01:30 already fired at 05:30Z.
    assert next_fire_time("30 1 * * *", NY, utc(2026, 11, 1, 6, 10)) == utc(2026, 11, 2, 6, 30)


def test_interval_expression_gives_four_fires_per_real_hour_across_fall_back() -> None:
    runs = due_times_between("*/15 * * * *", NY, utc(2026, 11, 1, 3, 45), utc(2026, 11, 1, 8))
    assert runs == spaced(utc(2026, 11, 1, 4), 15, 17)
    for hour in range(4, 8):
        in_hour = [r for r in runs if utc(2026, 11, 1, hour) <= r < utc(2026, 11, 1, hour + 1)]
        assert len(in_hour) == 4


def test_interval_expression_in_london_fall_back() -> None:
    runs = due_times_between("*/15 * * * *", LONDON, utc(2026, 10, 25), utc(2026, 10, 25, 2))
    assert runs == spaced(utc(2026, 10, 25, 0, 15), 15, 8)


def test_interval_expression_asked_from_inside_the_first_occurrence() -> None:
    # 05:40Z is 01:40 EDT; the repeated 01:00-01:45 EST instants must still come.
    runs = next_fire_times("*/15 * * * *", NY, utc(2026, 11, 1, 5, 40), 6)
    assert runs == spaced(utc(2026, 11, 1, 5, 45), 15, 6)


def test_hourly_expression_fires_at_both_repeated_hours() -> None:
    runs = due_times_between("0 * * * *", NY, utc(2026, 11, 1, 4), utc(2026, 11, 1, 8))
    assert runs == [utc(2026, 11, 1, 5), utc(2026, 11, 1, 6), utc(2026, 11, 1, 7),
                    utc(2026, 11, 1, 8)]  # fmt: skip


# --- due_times_between ------------------------------------------------------------------------


def test_due_times_are_in_half_open_interval() -> None:
    runs = due_times_between("*/10 * * * *", "UTC", utc(2026, 1, 1, 0, 0), utc(2026, 1, 1, 0, 30))
    assert runs == [utc(2026, 1, 1, 0, 10), utc(2026, 1, 1, 0, 20), utc(2026, 1, 1, 0, 30)]


def test_due_times_for_a_long_outage_are_all_listed_below_the_limit() -> None:
    runs = due_times_between("* * * * *", "UTC", utc(2026, 1, 1), utc(2026, 1, 1, 2, 30))
    assert len(runs) == 150
    assert runs[0] == utc(2026, 1, 1, 0, 1)
    assert runs[-1] == utc(2026, 1, 1, 2, 30)


def test_due_times_are_capped_by_limit() -> None:
    runs = due_times_between("* * * * *", "UTC", utc(2026, 1, 1), utc(2026, 1, 2), limit=100)
    assert runs == spaced(utc(2026, 1, 1, 0, 1), 1, 100)
    default_capped = due_times_between("* * * * *", "UTC", utc(2026, 1, 1), utc(2026, 1, 3))
    assert len(default_capped) == 1000


def test_due_times_empty_when_nothing_is_due() -> None:
    assert due_times_between("0 0 * * *", "UTC", utc(2026, 1, 1, 1), utc(2026, 1, 1, 23)) == []
    assert due_times_between("* * * * *", "UTC", utc(2026, 1, 1, 1), utc(2026, 1, 1, 0)) == []
    assert due_times_between("* * * * *", "UTC", utc(2026, 1, 1), utc(2026, 1, 2), limit=0) == []


def test_due_times_require_aware_end() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        due_times_between("* * * * *", "UTC", utc(2026, 1, 1), datetime(2026, 1, 2))


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        (NY, utc(2026, 3, 8)),
        (NY, utc(2026, 11, 1)),
        (LONDON, utc(2026, 3, 29)),
        (LONDON, utc(2026, 10, 25)),
        (LORD_HOWE, utc(2026, 4, 4)),
        (LORD_HOWE, utc(2026, 10, 3)),
    ],
)
@pytest.mark.parametrize(
    ("expr", "minutes"),
    [
        ("*/15 * * * *", {0, 15, 30, 45}),
        ("10,40 * * * *", {10, 40}),
        ("0 * * * *", {0}),
        ("*/7 * * * *", set(range(0, 60, 7))),
    ],
)
def test_interval_expressions_fire_at_every_real_matching_minute(
    zone: str, day: datetime, expr: str, minutes: set[int]
) -> None:
    start, end = day - timedelta(hours=12), day + timedelta(hours=36)
    tz = ZoneInfo(zone)
    oracle = [
        t
        for t in (start + timedelta(minutes=m) for m in range(1, 48 * 60 + 1))
        if t.astimezone(tz).minute in minutes
    ]
    assert due_times_between(expr, zone, start, end, limit=10_000) == oracle

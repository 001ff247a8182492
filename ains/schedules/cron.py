"""Cron expressions evaluated in an IANA time zone, DST-correct. Pure: no database, no clock.

Expressions have exactly 5 fields (minute hour day-of-month month day-of-week), validated
with ``croniter``. Fire times are aware UTC datetimes, strictly after the given instant.

DST rule. Matching is done on local wall-clock times, which are then mapped to real
instants. Expressions fall in two kinds, decided by the hour field:

* **Interval expressions** (the hour field matches every hour, e.g. ``*/15 * * * *`` or
  ``30 * * * *``) follow real time: they fire at every real instant whose local wall time
  matches. In a fall-back overlap a repeated wall time fires at both of its instants; in a
  spring-forward gap a wall time that does not exist does not fire. No real instant is
  skipped or fired twice, so ``*/15`` gives 4 fires in every real hour, including both
  occurrences of the repeated hour.
* **Wall-clock expressions** (all others, e.g. ``30 2 * * *``) fire exactly once per
  matching wall time. A wall time that occurs twice fires at its first occurrence; a wall
  time that does not exist fires at the first valid instant after the gap (``30 2 * * *``
  in America/New_York on 2026-03-08 fires at 03:00 EDT = 07:00 UTC, and on the next day at
  02:30 again). Several missing wall times of one gap collapse into that single firing.

This is cron's own behaviour ("jobs that would have run in the interval that has been
skipped will be run immediately ... care is taken to avoid running jobs twice"), with the
interval/wall-clock split made on the hour field.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, CroniterError, croniter

__all__ = [
    "CronError",
    "due_times_between",
    "next_fire_time",
    "next_fire_times",
    "validate_cron",
    "validate_timezone",
]

_FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
# Wall-time iteration starts early enough to cover a fall-back overlap that begins after
# `after`; no real zone moves its clock back by more than this.
_OVERLAP_HORIZON = timedelta(hours=48)
# Any start works for detecting expressions that can never match (e.g. 30 February).
_PROBE_START = datetime(2000, 1, 1)


class CronError(ValueError):
    """An invalid cron expression or time zone; the message says why."""


def validate_cron(expr: str) -> None:
    """Raise :class:`CronError` unless ``expr`` is a valid 5-field cron expression."""
    fields = expr.split()
    if len(fields) != len(_FIELDS):
        raise CronError(
            f"cron expression must have exactly 5 fields ({' '.join(_FIELDS)}), "
            f"got {len(fields)}: {expr!r}"
        )
    try:
        croniter(expr, _PROBE_START).get_next(datetime)
    except CroniterBadDateError as exc:
        raise CronError(f"cron expression {expr!r} never fires: {exc}") from exc
    except CroniterError as exc:
        raise CronError(f"invalid cron expression {expr!r}: {exc}") from exc


def validate_timezone(name: str) -> ZoneInfo:
    """Return the IANA zone ``name`` or raise :class:`CronError`."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CronError(
            f"unknown time zone {name!r}: use an IANA name such as 'Europe/London'"
        ) from exc


def next_fire_times(expr: str, tz: str | ZoneInfo, after: datetime, count: int) -> list[datetime]:
    """Return the next ``count`` fire instants (aware UTC) strictly after ``after``."""
    if count < 0:
        raise ValueError("count cannot be negative")
    result: list[datetime] = []
    if count == 0:
        return result
    for instant in _fire_times(expr, tz, after):
        result.append(instant)
        if len(result) == count:
            break
    return result


def next_fire_time(expr: str, tz: str | ZoneInfo, after: datetime) -> datetime:
    """Return the first fire instant (aware UTC) strictly after ``after``."""
    return next_fire_times(expr, tz, after, 1)[0]


def due_times_between(
    expr: str, tz: str | ZoneInfo, start: datetime, end: datetime, limit: int = 1000
) -> list[datetime]:
    """Return the fire instants in ``(start, end]``, oldest first, at most ``limit`` of them.

    Used for missed-run handling: when the result has ``limit`` items, more were missed.
    """
    _require_aware(end, "end")
    if limit < 0:
        raise ValueError("limit cannot be negative")
    result: list[datetime] = []
    if limit == 0:
        return result
    for instant in _fire_times(expr, tz, start):
        if instant > end:
            break
        result.append(instant)
        if len(result) == limit:
            break
    return result


def _fire_times(expr: str, tz: str | ZoneInfo, after: datetime) -> Iterator[datetime]:
    """Yield fire instants after ``after`` in increasing order, without duplicates."""
    validate_cron(expr)
    _require_aware(after, "after")
    zone = validate_timezone(tz) if isinstance(tz, str) else tz
    after_utc = after.astimezone(UTC)
    interval = _is_interval(expr)
    # Instants of one wall time are not always in order across wall times (both occurrences
    # of an overlap); a heap releases them once no later wall time can produce an earlier one.
    pending: list[datetime] = []
    last: datetime | None = None
    for wall in _wall_times(expr, _start_wall(zone, after_utc)):
        floor = _earliest_instant(wall, zone)
        while pending and pending[0] < floor:
            instant = heapq.heappop(pending)
            if instant > after_utc and (last is None or instant > last):
                last = instant
                yield instant
        for instant in _instants(wall, zone, interval):
            heapq.heappush(pending, instant)


def _wall_times(expr: str, start: datetime) -> Iterator[datetime]:
    """Yield matching naive local wall times from ``start`` on."""
    # Naive datetimes keep croniter to calendar arithmetic, with no DST handling of its own.
    # Start one minute early so a wall time equal to `start` is yielded too.
    iterator = croniter(expr, start - timedelta(minutes=1))
    while True:
        try:
            yield iterator.get_next(datetime)
        except CroniterBadDateError as exc:
            raise CronError(f"cron expression {expr!r} never fires: {exc}") from exc


def _start_wall(zone: ZoneInfo, after: datetime) -> datetime:
    """The lowest local wall time any instant after ``after`` can have (overlaps dip back)."""
    now_wall = _local_wall(after, zone)
    later_wall = _local_wall(after + _OVERLAP_HORIZON, zone) - _OVERLAP_HORIZON
    return min(now_wall, later_wall)


def _is_interval(expr: str) -> bool:
    hours = croniter(expr).expanded[1]
    return hours == ["*"] or len(set(hours)) == 24


def _instants(wall: datetime, zone: ZoneInfo, interval: bool) -> list[datetime]:
    """Map one matching wall time to the instants it fires at, per the module's DST rule."""
    first = _to_utc(wall, zone, fold=0)
    second = _to_utc(wall, zone, fold=1)
    if _local_wall(first, zone) != wall:
        return [] if interval else [_gap_end(wall, zone, second, first)]
    if interval and second != first:
        return [first, second]
    return [first]


def _earliest_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """A lower bound of the instants of ``wall`` and of every later wall time."""
    return min(_to_utc(wall, zone, fold=0), _to_utc(wall, zone, fold=1))


def _gap_end(wall: datetime, zone: ZoneInfo, low: datetime, high: datetime) -> datetime:
    """First instant whose local wall time is past the missing ``wall``.

    For a wall time in a gap, ``low`` (post-transition offset) precedes the transition and
    ``high`` (pre-transition offset) does not; zone transitions fall on whole seconds.
    """
    lo, hi = 0, int((high - low).total_seconds())
    while lo < hi:
        mid = (lo + hi) // 2
        if _local_wall(low + timedelta(seconds=mid), zone) > wall:
            hi = mid
        else:
            lo = mid + 1
    return low + timedelta(seconds=lo)


def _to_utc(wall: datetime, zone: ZoneInfo, fold: int) -> datetime:
    return wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)


def _local_wall(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None, fold=0)


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")

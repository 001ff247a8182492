"""The scheduler: fires due schedules. It rides the deadline loop (a `Duty` of it), which
already sleeps exactly until the nearest deadline and wakes on a ``deadline`` message, so a
schedule fires within milliseconds of its due time (not on a polling period). Schedule changes
send that message."""

from __future__ import annotations

from ains.engine.deadlines import Duty
from ains.schedules.service import ScheduleService


def scheduler_duty(schedules: ScheduleService) -> Duty:
    return Duty(schedules.fire_due, schedules.next_due)

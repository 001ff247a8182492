"""The scheduler loop: fires due schedules. It rides the deadline loop, which already sleeps
exactly until the nearest deadline and wakes on a ``deadline`` poke, so a schedule fires within
milliseconds of its due time (not on a polling period). Schedule changes poke the loop."""

from __future__ import annotations

from ains.engine.deadlines import DeadlineLoop
from ains.schedules.service import ScheduleService


def install_scheduler(deadlines: DeadlineLoop, schedules: ScheduleService) -> None:
    deadlines.extra_passes.append(schedules.fire_due)
    deadlines.extra_deadlines.append(schedules.next_due)

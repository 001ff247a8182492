"""The task lifecycle, defined once as data."""

from __future__ import annotations

from enum import StrEnum


class TaskStatus(StrEnum):
    BLOCKED = "BLOCKED"
    PENDING = "PENDING"
    ASSIGNED = "ASSIGNED"
    RUNNING = "RUNNING"
    RETRY_SCHEDULED = "RETRY_SCHEDULED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMED_OUT = "TIMED_OUT"


S = TaskStatus

TERMINAL: frozenset[TaskStatus] = frozenset({S.COMPLETED, S.FAILED, S.CANCELLED, S.TIMED_OUT})
HELD: frozenset[TaskStatus] = frozenset({S.ASSIGNED, S.RUNNING})  # an agent holds a lease
ACTIVE: frozenset[TaskStatus] = frozenset(S) - TERMINAL

TRANSITIONS: dict[TaskStatus, frozenset[TaskStatus]] = {
    S.BLOCKED: frozenset({S.PENDING, S.CANCELLED}),
    S.PENDING: frozenset({S.ASSIGNED, S.CANCELLED, S.BLOCKED}),
    # back to PENDING when the lease is lost (agent offline, never picked up)
    S.ASSIGNED: frozenset(
        {S.RUNNING, S.COMPLETED, S.FAILED, S.RETRY_SCHEDULED, S.PENDING, S.CANCELLED, S.TIMED_OUT}
    ),
    S.RUNNING: frozenset(
        {S.COMPLETED, S.FAILED, S.RETRY_SCHEDULED, S.PENDING, S.CANCELLED, S.TIMED_OUT}
    ),
    S.RETRY_SCHEDULED: frozenset({S.PENDING, S.CANCELLED}),
    S.COMPLETED: frozenset(),
    # manual retry of a finished task
    S.FAILED: frozenset({S.PENDING}),
    S.CANCELLED: frozenset({S.PENDING}),
    S.TIMED_OUT: frozenset({S.PENDING}),
}

# The event each transition publishes (by target state; manual retry publishes task.retrying).
EVENT_FOR: dict[TaskStatus, str] = {
    S.BLOCKED: "task.created",
    S.PENDING: "task.created",
    S.ASSIGNED: "task.assigned",
    S.RUNNING: "task.started",
    S.RETRY_SCHEDULED: "task.retrying",
    S.COMPLETED: "task.completed",
    S.FAILED: "task.failed",
    S.CANCELLED: "task.cancelled",
    S.TIMED_OUT: "task.timed_out",
}


def can_transition(source: TaskStatus, target: TaskStatus) -> bool:
    return target in TRANSITIONS[source]


def sources_of(target: TaskStatus) -> list[str]:
    """States from which `target` may be entered (for `WHERE status IN (...)` guards)."""
    return sorted(s.value for s, targets in TRANSITIONS.items() if target in targets)

"""The task lifecycle, defined once as data.

Every guarded change of a task row (`UPDATE … WHERE status IN (…)`) takes its allowed states
from here: `guard` for a change of state, `still_in` for a change that keeps it
(`tests/architecture/test_state_guards.py` keeps it so)."""

from __future__ import annotations

from collections.abc import Iterable
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
    # manual retry of a finished task (BLOCKED while some of its dependencies are unfinished)
    S.FAILED: frozenset({S.PENDING, S.BLOCKED}),
    S.CANCELLED: frozenset({S.PENDING, S.BLOCKED}),
    S.TIMED_OUT: frozenset({S.PENDING, S.BLOCKED}),
}

# waiting for an agent (deadline escalation changes their place in the queue)
WAITING: frozenset[TaskStatus] = ACTIVE - HELD
# finished without success: a dependant of such a task can never run
UNSUCCESSFUL: frozenset[TaskStatus] = TERMINAL - {S.COMPLETED}
# finished tasks that may be retried by hand
RETRYABLE: frozenset[TaskStatus] = frozenset(s for s in TERMINAL if S.PENDING in TRANSITIONS[s])
# ended by a failure of the work itself (not cancelled)
FAILURES: frozenset[TaskStatus] = frozenset({S.FAILED, S.TIMED_OUT})

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


def guard(target: TaskStatus, *, among: Iterable[str] | None = None) -> list[str]:
    """The states a change to `target` may start from, for a `WHERE status IN (…)` guard:
    every state the lifecycle allows (`sources_of`), or those of `among` when the change is
    narrower; each of those must be allowed to reach `target`, or ValueError."""
    if among is None:
        return sources_of(target)
    chosen = sorted({TaskStatus(s).value for s in among})
    for source in chosen:
        if not can_transition(TaskStatus(source), target):
            raise ValueError(f"a task cannot go from {source} to {target}")
    return chosen


def still_in(*statuses: str) -> list[str]:
    """The guard of a change that keeps the task's state (a lease, a timeout, a priority):
    the task must still be in one of `statuses`."""
    return sorted({TaskStatus(s).value for s in statuses})

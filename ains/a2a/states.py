"""A2A task states and ours, both ways (the table in docs/a2a.md)."""

from __future__ import annotations

from a2a.types.a2a_pb2 import TaskState

from ains.tasks.states import TaskStatus

S = TaskStatus

TO_A2A: dict[TaskStatus, TaskState] = {
    S.BLOCKED: TaskState.TASK_STATE_SUBMITTED,
    S.PENDING: TaskState.TASK_STATE_SUBMITTED,
    S.ASSIGNED: TaskState.TASK_STATE_SUBMITTED,
    S.RUNNING: TaskState.TASK_STATE_WORKING,
    S.RETRY_SCHEDULED: TaskState.TASK_STATE_WORKING,
    S.COMPLETED: TaskState.TASK_STATE_COMPLETED,
    S.FAILED: TaskState.TASK_STATE_FAILED,
    S.TIMED_OUT: TaskState.TASK_STATE_FAILED,
    S.CANCELLED: TaskState.TASK_STATE_CANCELED,
}

FINAL: frozenset[TaskState] = frozenset(
    {
        TaskState.TASK_STATE_COMPLETED,
        TaskState.TASK_STATE_FAILED,
        TaskState.TASK_STATE_CANCELED,
        TaskState.TASK_STATE_REJECTED,
    }
)


def to_a2a(status: str) -> TaskState:
    return TO_A2A[TaskStatus(status)]


def from_a2a(state: TaskState) -> list[TaskStatus]:
    """Our statuses an A2A state stands for; none for the states AINS never enters
    (input-required, auth-required, rejected)."""
    return [ours for ours, theirs in TO_A2A.items() if theirs == state]

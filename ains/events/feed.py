"""Reading the events table as a feed, with what the readers need to judge and render each
event: the rows of the tasks the events are about."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ains.events import repository as event_repository
from ains.models import tasks
from ains.security.principals import Principal, can_view_task
from ains.tasks import repository as task_repository

T = tasks.c
FEED_TASK_COLUMNS = (
    T.task_id,
    T.client_id,
    T.team,
    T.task_type,
    T.capability_required,
    T.batch_id,
    T.priority,
    T.status,
    T.visibility,
    T.allowed_viewers,
    T.assigned_agent_id,
    T.encrypted,
    T.result_data,
)


async def events_after(
    conn: AsyncConnection, after_id: int, limit: int = 500
) -> list[dict[str, Any]]:
    return await event_repository.after(conn, after_id, limit)


async def last_event_id(conn: AsyncConnection) -> int:
    return await event_repository.last_id(conn)


async def task_rows(conn: AsyncConnection, task_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    ids = sorted({t for t in task_ids if t})
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = await task_repository.columns_of(conn, FEED_TASK_COLUMNS, chunk)
        found.update({r.task_id: dict(r._mapping) for r in rows})
    return found


def may_see(principal: Principal, ev: Mapping[str, Any], task: Mapping[str, Any] | None) -> bool:
    """Whether ``principal`` may be told about the event ``ev`` (``task``: its task row)."""
    if principal.is_admin:
        return True
    if ev.get("task_id"):
        if principal.role == "agent" and ev.get("agent_id") == principal.principal_id:
            return True  # the agent the task was assigned to when it happened (its row may
            # no longer say so: a timed-out attempt put back in the queue is unassigned)
        return task is not None and can_view_task(principal, task)
    if ev.get("agent_id") and str(ev["event_type"]).startswith("agent."):
        return principal.role == "agent" and principal.principal_id == ev["agent_id"]
    return bool(ev.get("client_id")) and ev.get("client_id") == principal.principal_id


def gap_free_prefix(rows: list[dict[str, Any]], after_id: int) -> tuple[list[dict[str, Any]], int]:
    """The rows up to the first hole in event ids after ``after_id``, and the first missing id
    (0 when there is none). On PostgreSQL a lower id can commit after a higher one; a reader
    that skipped the hole would miss that event forever, so it waits a moment for the hole to
    fill (a rolled-back insert leaves one that never does)."""
    expected = after_id + 1
    for i, row in enumerate(rows):
        if int(row["event_id"]) != expected:
            return rows[:i], expected
        expected += 1
    return rows, 0


GAP_WAIT_SECONDS = 1.0


class HoleWatcher:
    """Remembers when each hole in the event ids was first seen, to skip it after a while."""

    def __init__(self, wait: float = GAP_WAIT_SECONDS) -> None:
        self.wait = wait
        self._first_seen: dict[int, float] = {}

    def take(
        self, rows: list[dict[str, Any]], after_id: int, now: float
    ) -> tuple[list[dict[str, Any]], float | None]:
        """The rows safe to hand out now, and how long to wait before looking again (or None)."""
        out: list[dict[str, Any]] = []
        cursor = after_id
        while True:
            prefix, hole = gap_free_prefix(rows[len(out) :], cursor)
            out += prefix
            if prefix:
                cursor = int(prefix[-1]["event_id"])
            if not hole:
                self._prune(cursor)
                return out, None
            first = self._first_seen.setdefault(hole, now)
            if now - first < self.wait:
                self._prune(cursor)
                return out, self.wait - (now - first)
            cursor = int(rows[len(out)]["event_id"]) - 1  # the hole never filled: skip it

    def _prune(self, cursor: int) -> None:
        for hole in [h for h in self._first_seen if h <= cursor]:
            del self._first_seen[hole]

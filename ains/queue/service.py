"""The queue as a whole: statistics, and escalation of tasks nearing their deadline.

Order (see `ains.queue.ordering`): routing takes pending tasks by `queue_key`, lowest first. A
task whose `deadline` is less than `deadline_escalation_seconds` away is raised to priority 10
(once, recorded as a `task.escalated` event) by a pass of the deadline loop."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ains.db.engine import Tx
from ains.events.repository import add_events, event
from ains.models import tasks
from ains.queue import repository as repo
from ains.security.principals import Principal
from ains.tasks.repository import count_where
from ains.tasks.service import TaskService
from ains.tasks.states import HELD, TaskStatus

T = tasks.c
ESCALATE_BATCH = 500


class QueueService:
    def __init__(self, tasks_service: TaskService) -> None:
        self.tasks = tasks_service
        self.settings = tasks_service.settings
        self.clock = tasks_service.clock

    async def stats(self, conn: AsyncConnection, principal: Principal) -> dict[str, Any]:
        """Depth of the PENDING queue by priority, capability and client; oldest wait; DLQ."""
        where = repo.visible_to(principal)
        now = self.clock()
        oldest = await repo.oldest_queued_at(conn, where)
        by_priority = await repo.depth_by(conn, T.priority, where)
        return {
            "depth": sum(by_priority.values()),
            "by_priority": {p: by_priority.get(str(p), 0) for p in range(10, 0, -1)},
            "by_capability": await repo.depth_by(conn, T.capability_required, where),
            "by_client": await repo.depth_by(conn, T.client_id, where),
            "blocked": await count_where(conn, [T.status == TaskStatus.BLOCKED, *where]),
            "retry_scheduled": await count_where(
                conn, [T.status == TaskStatus.RETRY_SCHEDULED, *where]
            ),
            "in_flight": await count_where(
                conn, [T.status.in_(sorted(s.value for s in HELD)), *where]
            ),
            "dead_lettered": await count_where(conn, [T.dead_lettered.is_(True), *where]),
            "oldest_queued_at": oldest,
            "oldest_wait_seconds": (now - oldest).total_seconds() if oldest else 0.0,
            "aging_interval_seconds": self.settings.aging_interval,
            "deadline_escalation_seconds": self.settings.deadline_escalation_seconds,
        }

    # --- deadline escalation (a pass of the deadline loop) ----------------------------------

    async def escalate_deadlines(self, tx: Tx, now: datetime) -> int:
        horizon = now + timedelta(seconds=self.settings.deadline_escalation_seconds)
        rows = await repo.escalation_due(tx.conn, horizon, ESCALATE_BATCH)
        events = []
        for row in rows:
            key = self.tasks.queue_key(repo.TOP_PRIORITY, row.queued_at or now)
            if not await repo.escalate(tx.conn, row.task_id, key, now):
                continue
            events.append(
                event(
                    "task.escalated",
                    now,
                    task_id=row.task_id,
                    client_id=row.client_id,
                    batch_id=row.batch_id,
                    from_status=row.status,
                    to_status=row.status,
                    actor="system",
                    reason=f"deadline {row.deadline.isoformat()} is near",
                    data={"from_priority": row.priority, "to_priority": repo.TOP_PRIORITY},
                )
            )
        await add_events(tx.conn, events)
        return len(rows)

    async def next_escalation(self, tx: Tx) -> datetime | None:
        deadline = await repo.next_escalation_deadline(tx.conn)
        if deadline is None:
            return None
        return deadline - timedelta(seconds=self.settings.deadline_escalation_seconds)

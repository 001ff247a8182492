"""All SQL about the queue as a whole: depth statistics, deadline escalation, fairness lanes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from ains.models import tasks
from ains.security.principals import Principal
from ains.tasks.repository import IS_PENDING
from ains.tasks.states import TaskStatus

T = tasks.c
# waiting for an agent: escalation changes their place in the queue
QUEUED = [TaskStatus.PENDING.value, TaskStatus.BLOCKED.value, TaskStatus.RETRY_SCHEDULED.value]
TOP_PRIORITY = 10


def visible_to(principal: Principal) -> list[sa.ColumnElement[bool]]:
    """The queue a principal is shown: all of it to admins, otherwise its own tasks."""
    return [] if principal.is_admin else [T.client_id == principal.principal_id]


async def depth_by(
    conn: AsyncConnection, column: sa.Column[Any], where: list[sa.ColumnElement[bool]]
) -> dict[str, int]:
    rows = await conn.execute(
        sa.select(column, sa.func.count()).where(IS_PENDING, *where).group_by(column)
    )
    return {str(key): int(n) for key, n in rows}


async def count(conn: AsyncConnection, *where: sa.ColumnElement[bool]) -> int:
    return int((await conn.execute(sa.select(sa.func.count()).where(*where))).scalar() or 0)


async def oldest_queued_at(
    conn: AsyncConnection, where: list[sa.ColumnElement[bool]]
) -> datetime | None:
    value = await conn.execute(sa.select(sa.func.min(T.queued_at)).where(IS_PENDING, *where))
    result: datetime | None = value.scalar()
    return result


async def escalation_due(conn: AsyncConnection, before: datetime, limit: int) -> list[Row[Any]]:
    stmt = (
        sa.select(T.task_id, T.client_id, T.batch_id, T.status, T.priority, T.queued_at, T.deadline)
        .where(
            T.deadline.is_not(None),
            T.deadline <= before,
            T.priority < TOP_PRIORITY,
            T.status.in_(QUEUED),
        )
        .order_by(T.deadline)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list(await conn.execute(stmt))


async def next_escalation_deadline(conn: AsyncConnection) -> datetime | None:
    value = await conn.execute(
        sa.select(sa.func.min(T.deadline)).where(
            T.deadline.is_not(None), T.priority < TOP_PRIORITY, T.status.in_(QUEUED)
        )
    )
    result: datetime | None = value.scalar()
    return result


async def escalate(conn: AsyncConnection, task_id: str, queue_key: float, now: datetime) -> bool:
    result = await conn.execute(
        sa.update(tasks)
        .where(T.task_id == task_id, T.priority < TOP_PRIORITY, T.status.in_(QUEUED))
        .values(priority=TOP_PRIORITY, queue_key=queue_key, updated_at=now)
    )
    return bool(result.rowcount)

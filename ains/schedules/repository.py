"""SQL for schedules and their executions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from ains.db import dialect
from ains.models import schedule_executions, scheduled_tasks, tasks, templates
from ains.tasks.states import FAILURES

S = scheduled_tasks.c
E = schedule_executions.c
FAILED_TASK_STATUSES = sorted(s.value for s in FAILURES)


async def get(
    conn: AsyncConnection, schedule_id: str, *, for_update: bool = False
) -> Row[Any] | None:
    stmt = sa.select(scheduled_tasks).where(S.schedule_id == schedule_id)
    if for_update:
        stmt = dialect.for_update(conn, stmt)
    return (await conn.execute(stmt)).first()


async def insert(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(sa.insert(scheduled_tasks).values(**row))


async def update(conn: AsyncConnection, schedule_id: str, values: dict[str, Any]) -> None:
    await conn.execute(
        sa.update(scheduled_tasks).where(S.schedule_id == schedule_id).values(**values)
    )


async def delete(conn: AsyncConnection, schedule_id: str) -> None:
    await conn.execute(sa.delete(schedule_executions).where(E.schedule_id == schedule_id))
    await conn.execute(sa.delete(scheduled_tasks).where(S.schedule_id == schedule_id))


async def list_page(
    conn: AsyncConnection,
    *,
    where: list[sa.ColumnElement[bool]],
    after_id: str | None,
    limit: int,
) -> list[Row[Any]]:
    stmt = sa.select(scheduled_tasks).where(*where)
    if after_id is not None:
        stmt = stmt.where(S.schedule_id > after_id)
    return list(await conn.execute(stmt.order_by(S.schedule_id).limit(limit)))


async def due(conn: AsyncConnection, now: datetime, limit: int) -> list[Row[Any]]:
    """ACTIVE schedules whose next run has come, locked for this transaction. On PostgreSQL
    another replica's pass skips the rows this one holds; SQLite has a single writer."""
    stmt = (
        sa.select(scheduled_tasks)
        .where(S.status == "ACTIVE", S.next_run_at <= now)
        .order_by(S.next_run_at)
        .limit(limit)
    )
    return list(await conn.execute(dialect.for_update(conn, stmt, skip_locked=True)))


async def next_due(conn: AsyncConnection) -> datetime | None:
    value = await conn.scalar(sa.select(sa.func.min(S.next_run_at)).where(S.status == "ACTIVE"))
    return value if isinstance(value, datetime) else None


async def insert_execution(conn: AsyncConnection, row: dict[str, Any]) -> bool:
    """False when this (schedule, due time, trigger) already has an execution: it was fired."""
    stmt = dialect.insert(conn, schedule_executions).values(**row).on_conflict_do_nothing()
    result = await conn.execute(stmt)
    return bool(result.rowcount)


async def last_task_status(conn: AsyncConnection, schedule_id: str) -> str | None:
    """Status of the task of the schedule's latest fired execution (None: no such task)."""
    stmt = (
        sa.select(tasks.c.status)
        .select_from(schedule_executions.join(tasks, tasks.c.task_id == E.task_id))
        .where(E.schedule_id == schedule_id)
        .order_by(E.executed_at.desc(), E.execution_id.desc())
        .limit(1)
    )
    value = await conn.scalar(stmt)
    return str(value) if value is not None else None


async def executions_page(
    conn: AsyncConnection, schedule_id: str, *, before: tuple[datetime, str] | None, limit: int
) -> list[Row[Any]]:
    stmt = sa.select(schedule_executions).where(E.schedule_id == schedule_id)
    if before is not None:
        at, execution_id = before
        stmt = stmt.where(
            sa.or_(E.executed_at < at, sa.and_(E.executed_at == at, E.execution_id < execution_id))
        )
    stmt = stmt.order_by(E.executed_at.desc(), E.execution_id.desc()).limit(limit)
    return list(await conn.execute(stmt))


async def tasks_by_id(conn: AsyncConnection, task_ids: Iterable[str]) -> dict[str, Row[Any]]:
    ids = list(task_ids)
    if not ids:
        return {}
    rows = await conn.execute(sa.select(tasks).where(tasks.c.task_id.in_(ids)))
    return {r.task_id: r for r in rows}


async def failed_runs(conn: AsyncConnection, schedule_ids: Iterable[str]) -> dict[str, int]:
    """Fired runs whose task ended FAILED or TIMED_OUT, read from the tasks themselves so the
    count is exact whatever path finished the task."""
    ids = list(schedule_ids)
    if not ids:
        return {}
    stmt = (
        sa.select(E.schedule_id, sa.func.count())
        .select_from(schedule_executions.join(tasks, tasks.c.task_id == E.task_id))
        .where(E.schedule_id.in_(ids), tasks.c.status.in_(FAILED_TASK_STATUSES))
        .group_by(E.schedule_id)
    )
    return {str(sid): int(n) for sid, n in await conn.execute(stmt)}


async def template_defaults(
    conn: AsyncConnection, template_id: str, viewer: sa.ColumnElement[bool] | None
) -> dict[str, Any] | None:
    """The defaults of a template `viewer` admits (None: any), else None."""
    stmt = sa.select(templates.c.defaults).where(templates.c.template_id == template_id)
    value = await conn.scalar(stmt if viewer is None else stmt.where(viewer))
    return dict(value) if isinstance(value, dict) else ({} if value is not None else None)


async def record_run(
    conn: AsyncConnection, schedule_id: str, at: datetime, values: dict[str, Any]
) -> None:
    """Count one fired run (plus any other changes) in the same statement."""
    await conn.execute(
        sa.update(scheduled_tasks)
        .where(S.schedule_id == schedule_id)
        .values(total_runs=S.total_runs + 1, last_run_at=at, **values)
    )

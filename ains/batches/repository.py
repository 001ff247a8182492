"""All SQL about batches: the batch row, its tasks' aggregate status, and the once-only
completion mark."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from ains.db import dialect
from ains.models import batches, tasks
from ains.tasks.states import TERMINAL, TaskStatus

T = tasks.c
B = batches.c
TERMINAL_STATES = sorted(s.value for s in TERMINAL)


async def get(conn: AsyncConnection, batch_id: str) -> Row[Any] | None:
    return (await conn.execute(sa.select(batches).where(B.batch_id == batch_id))).first()


async def insert(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(sa.insert(batches).values(**row))


async def status_counts(conn: AsyncConnection, batch_id: str) -> dict[str, int]:
    rows = await conn.execute(
        sa.select(T.status, sa.func.count()).where(T.batch_id == batch_id).group_by(T.status)
    )
    return {str(status): int(n) for status, n in rows}


async def batch_tasks(
    conn: AsyncConnection, batch_id: str, *, statuses: Iterable[str] | None = None
) -> list[Row[Any]]:
    stmt = sa.select(tasks).where(T.batch_id == batch_id).order_by(T.batch_index)
    if statuses is not None:
        stmt = stmt.where(T.status.in_(list(statuses)))
        stmt = dialect.for_update(conn, stmt)
    return list(await conn.execute(stmt))


async def mark_completed(
    conn: AsyncConnection, batch_ids: Iterable[str], now: datetime
) -> list[Row[Any]]:
    """Mark the batches whose tasks are all terminal as completed; returns the rows marked now.

    The batch rows are locked first, so of two transactions settling a batch's last tasks the
    second waits and then sees the first one's commit: exactly one marks it."""
    ids = sorted(set(batch_ids))
    if not ids:
        return []
    lock = sa.select(B.batch_id).where(B.batch_id.in_(ids), B.completed_at.is_(None))
    lock = dialect.for_update(conn, lock.order_by(B.batch_id))
    open_ids = [r.batch_id for r in await conn.execute(lock)]
    if not open_ids:
        return []
    unfinished = sa.exists(
        sa.select(1).where(T.batch_id == B.batch_id, T.status.not_in(TERMINAL_STATES))
    )
    not_all_completed = sa.exists(
        sa.select(1).where(T.batch_id == B.batch_id, T.status != TaskStatus.COMPLETED)
    )
    stmt = (
        sa.update(batches)
        .where(B.batch_id.in_(open_ids), B.completed_at.is_(None), ~unfinished)
        .values(
            completed_at=now,
            status=sa.case((not_all_completed, "FINISHED_WITH_ERRORS"), else_="COMPLETED"),
        )
        .returning(B.batch_id, B.client_id, B.total_tasks, B.status)
    )
    return list(await conn.execute(stmt))

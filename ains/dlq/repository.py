"""All SQL about the dead-letter queue (dead-lettered rows of the tasks table)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ains.models import idempotency_keys, task_attempts, task_dependencies, tasks

T = tasks.c
DEAD_LETTERED = T.dead_lettered.is_(True)


def filters(
    *,
    capability: str | None = None,
    task_type: str | None = None,
    client_id: str | None = None,
    error_type: str | None = None,
    since: Any = None,
) -> list[sa.ColumnElement[bool]]:
    """The WHERE clauses of a DLQ query; always restricted to dead-lettered tasks."""
    where: list[sa.ColumnElement[bool]] = [DEAD_LETTERED]
    for value, column in (
        (capability, T.capability_required),
        (task_type, T.task_type),
        (client_id, T.client_id),
        (error_type, T.error_type),
    ):
        if value:
            where.append(column == value)
    if since is not None:
        where.append(T.completed_at >= since)
    return where


async def ids(
    conn: AsyncConnection, where: Sequence[sa.ColumnElement[bool]], limit: int
) -> list[str]:
    stmt = sa.select(T.task_id).where(*where).order_by(T.task_id).limit(limit)
    return [r.task_id for r in await conn.execute(stmt)]


async def delete(conn: AsyncConnection, task_ids: Sequence[str]) -> int:
    """Delete dead-lettered tasks with their attempts, dependency edges and idempotency keys.
    Their events stay: the history of what happened outlives the row."""
    if not task_ids:
        return 0
    ids_ = list(task_ids)
    await conn.execute(sa.delete(task_attempts).where(task_attempts.c.task_id.in_(ids_)))
    await conn.execute(sa.delete(task_dependencies).where(task_dependencies.c.task_id.in_(ids_)))
    await conn.execute(sa.delete(idempotency_keys).where(idempotency_keys.c.task_id.in_(ids_)))
    result = await conn.execute(sa.delete(tasks).where(T.task_id.in_(ids_), DEAD_LETTERED))
    return int(result.rowcount or 0)

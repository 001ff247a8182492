"""All SQL about routing decisions: one row per routing pass, read back per task."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from ains.models import routing_decisions, task_attempts

R = routing_decisions.c
A = task_attempts.c


async def add_decisions(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """The routing passes of one claim, in one statement."""
    if rows:
        await conn.execute(sa.insert(routing_decisions), list(rows))


async def of_task(conn: AsyncConnection, task_id: str) -> list[Row[Any]]:
    """Every attempt of the task with the routing pass that created it (null for attempts made
    before decisions were recorded), in attempt order."""
    stmt = (
        sa.select(
            A.attempt_id,
            A.number,
            A.agent_id,
            A.status,
            A.claimed_at,
            R.routing_id,
            R.capability,
            R.tier,
            R.candidates,
            R.created_at,
        )
        .outerjoin(routing_decisions, R.routing_id == A.routing_id)
        .where(A.task_id == task_id)
        .order_by(A.number)
    )
    return list(await conn.execute(stmt))

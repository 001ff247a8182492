"""Writing and reading the events table (outbox and transition history)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ains.db import dialect
from ains.models import events
from ains.tasks.repository import of_encrypted_tasks

EVENT_COLUMNS = (
    "event_type",
    "task_id",
    "agent_id",
    "batch_id",
    "schedule_id",
    "client_id",
    "from_status",
    "to_status",
    "actor",
    "reason",
    "attempt_id",
    "data",
    "occurred_at",
)


def event(event_type: str, occurred_at: datetime, **fields: Any) -> dict[str, Any]:
    row = dict.fromkeys(EVENT_COLUMNS)
    row.update(fields, event_type=event_type, occurred_at=occurred_at)
    return row


PENDING_KEY = "ains_events"


async def add_events(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert events in the caller's transaction; `Database.transaction` hands them to its
    `on_events` hook once the transaction has committed."""
    if rows:
        await conn.execute(sa.insert(events), list(rows))
        conn.info.setdefault(PENDING_KEY, []).extend(rows)


HISTORY_COLUMNS = (
    events.c.event_id,
    events.c.task_id,
    events.c.event_type,
    events.c.from_status,
    events.c.to_status,
    events.c.occurred_at,
    events.c.actor,
    events.c.reason,
    events.c.attempt_id,
)


def _history_entry(r: Any) -> dict[str, Any]:
    return {
        "event": r.event_type,
        "from_status": r.from_status,
        "to_status": r.to_status,
        "at": r.occurred_at,
        "actor": r.actor,
        "reason": r.reason,
        "attempt_id": r.attempt_id,
    }


async def task_history(conn: AsyncConnection, task_id: str) -> list[dict[str, Any]]:
    rows = await conn.execute(
        sa.select(*HISTORY_COLUMNS).where(events.c.task_id == task_id).order_by(events.c.event_id)
    )
    return [_history_entry(r) for r in rows]


async def task_histories(
    conn: AsyncConnection, task_ids: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """The transition histories of many tasks in one statement, each in event order."""
    found: dict[str, list[dict[str, Any]]] = {t: [] for t in task_ids}
    if not task_ids:
        return found
    rows = await conn.execute(
        sa.select(*HISTORY_COLUMNS)
        .where(events.c.task_id.in_(list(found)))
        .order_by(events.c.event_id)
    )
    for r in rows:
        found[r.task_id].append(_history_entry(r))
    return found


async def of_encrypted_tasks_batch(
    conn: AsyncConnection, after: int | None, size: int
) -> list[Any]:
    """The next `size` events of encrypted tasks after `after` (key rotation), locked."""
    E = events.c
    stmt = sa.select(E.event_id, E.task_id, E.reason, E.data).where(
        E.task_id.is_not(None), of_encrypted_tasks(E.task_id)
    )
    if after is not None:
        stmt = stmt.where(E.event_id > after)
    stmt = dialect.for_update(conn, stmt.order_by(E.event_id).limit(size))
    return list(await conn.execute(stmt))


async def update_event(conn: AsyncConnection, event_id: int, values: dict[str, Any]) -> None:
    await conn.execute(sa.update(events).where(events.c.event_id == event_id).values(values))


async def after(conn: AsyncConnection, after_id: int, limit: int) -> list[dict[str, Any]]:
    """Up to `limit` events after `after_id`, in order."""
    E = events.c
    stmt = sa.select(events).where(E.event_id > after_id).order_by(E.event_id).limit(limit)
    return [dict(r._mapping) for r in await conn.execute(stmt)]


async def last_id(conn: AsyncConnection) -> int:
    value = (await conn.execute(sa.select(sa.func.max(events.c.event_id)))).scalar()
    return int(value or 0)

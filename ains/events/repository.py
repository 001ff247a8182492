"""Writing and reading the events table (outbox and transition history)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ains.models import events

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

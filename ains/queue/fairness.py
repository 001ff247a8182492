"""Stamping new PENDING tasks with fair queue keys (see `ains.queue.ordering`): two grouped
queries per submission, whatever the number of tasks or lanes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ains.models import tasks
from ains.queue.ordering import fair_starts, queue_key, virtual_start
from ains.tasks.states import TaskStatus

T = tasks.c


async def stamp_fair_keys(
    conn: AsyncConnection, rows: Sequence[dict[str, Any]], now: datetime, aging_interval: float
) -> None:
    """Set `queue_key` on the PENDING rows about to be inserted, in place."""
    lanes: dict[tuple[str, int, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["status"] == TaskStatus.PENDING:
            lanes[(row["capability_required"], row["priority"], row["client_id"])].append(row)
    if not lanes:
        return
    pairs = sorted({(cap, prio) for cap, prio, _ in lanes})
    lane = sa.tuple_(T.capability_required, T.priority)
    pending = [T.status == TaskStatus.PENDING, lane.in_(pairs)]
    heads = {
        (r[0], r[1]): r[2]
        for r in await conn.execute(
            sa.select(T.capability_required, T.priority, sa.func.min(T.queue_key))
            .where(*pending)
            .group_by(T.capability_required, T.priority)
        )
    }
    clients = sorted({client for _, _, client in lanes})
    lasts = {
        (r[0], r[1], r[2]): r[3]
        for r in await conn.execute(
            sa.select(T.capability_required, T.priority, T.client_id, sa.func.max(T.queue_key))
            .where(*pending, T.client_id.in_(clients))
            .group_by(T.capability_required, T.priority, T.client_id)
        )
    }
    ts = now.timestamp()
    for (cap, prio, client), members in lanes.items():
        head, last = heads.get((cap, prio)), lasts.get((cap, prio, client))
        starts = fair_starts(
            ts,
            None if head is None else virtual_start(prio, head, aging_interval),
            None if last is None else virtual_start(prio, last, aging_interval),
            len(members),
        )
        for row, start in zip(members, starts, strict=True):
            row["queue_key"] = queue_key(prio, start, aging_interval)

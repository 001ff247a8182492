"""Stamping new PENDING tasks with fair queue keys (see `ains.queue.ordering`): one statement
of index probes per submission, whatever the number of tasks, lanes or queued tasks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ains.queue import repository
from ains.queue.ordering import fair_starts, queue_key, virtual_start
from ains.tasks.states import TaskStatus


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
    lane_keys = sorted({(cap, prio) for cap, prio, _ in lanes})
    client_keys = sorted(lanes)
    firsts, lasts_found = await repository.fair_lane_ends(conn, lane_keys, client_keys)
    heads = dict(zip(lane_keys, firsts, strict=True))
    lasts = dict(zip(client_keys, lasts_found, strict=True))
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

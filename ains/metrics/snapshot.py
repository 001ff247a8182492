"""The database side of the state gauges: one snapshot per scrape."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ains.db.engine import Database
from ains.metrics.state import StateSnapshot
from ains.models import agents, tasks
from ains.tasks.repository import IS_PENDING


async def take_snapshot(db: Database, now: datetime, offline_after: float) -> StateSnapshot:
    pending = IS_PENDING
    async with db.read() as conn:
        by_priority = dict(
            (r[0], r[1])
            for r in await conn.execute(
                sa.select(tasks.c.priority, sa.func.count())
                .where(pending)
                .group_by(tasks.c.priority)
            )
        )
        by_capability = dict(
            (r[0], r[1])
            for r in await conn.execute(
                sa.select(tasks.c.capability_required, sa.func.count())
                .where(pending)
                .group_by(tasks.c.capability_required)
            )
        )
        oldest = (
            await conn.execute(sa.select(sa.func.min(tasks.c.queued_at)).where(pending))
        ).scalar()
        by_status = dict(
            (r[0], r[1])
            for r in await conn.execute(
                sa.select(tasks.c.status, sa.func.count()).group_by(tasks.c.status)
            )
        )
        agent_rows = list(
            await conn.execute(
                sa.select(
                    agents.c.agent_id,
                    agents.c.status,
                    agents.c.online,
                    agents.c.last_heartbeat_at,
                    agents.c.trust_score,
                ).where(agents.c.status != "DEREGISTERED")
            )
        )
    online = sum(
        1
        for a in agent_rows
        if a.online
        and a.last_heartbeat_at
        and (now - a.last_heartbeat_at).total_seconds() < offline_after
    )
    statuses: dict[str, int] = {}
    for a in agent_rows:
        statuses[a.status] = statuses.get(a.status, 0) + 1
    return StateSnapshot(
        queue_depth_by_priority=by_priority,
        queue_depth_by_capability=by_capability,
        oldest_wait_seconds=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
        agents_online=online,
        agents_by_status=statuses,
        trust_scores={a.agent_id: a.trust_score for a in agent_rows},
        tasks_by_status=by_status,
    )

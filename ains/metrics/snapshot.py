"""The database side of the state gauges: one snapshot per scrape."""

from __future__ import annotations

from datetime import datetime

from ains.agents import repository as agent_repository
from ains.agents.trust import decayed
from ains.db.engine import Database
from ains.metrics.state import StateSnapshot
from ains.queue import repository as queue_repository
from ains.tasks import repository as task_repository


async def take_snapshot(
    db: Database, now: datetime, offline_after: float, half_life_hours: float = 24.0
) -> StateSnapshot:
    async with db.read() as conn:
        by_priority = await queue_repository.pending_by_priority(conn)
        by_capability = await queue_repository.pending_by_capability(conn)
        oldest = await queue_repository.oldest_queued_at(conn, [])
        by_status = await task_repository.count_by_status(conn)
        agent_rows = await agent_repository.registered(conn)
        pairs = await agent_repository.registered_capability_trust(conn)
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
        capability_trust={
            (p.agent_id, p.capability): decayed(p.trust_score, p.updated_at, now, half_life_hours)
            for p in pairs
        },
        quarantined={(p.agent_id, p.capability): bool(p.quarantined) for p in pairs},
        tasks_by_status=by_status,
    )

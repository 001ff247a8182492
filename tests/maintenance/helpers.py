"""Rows made old behind the server's back (a prune only takes rows days old), and reads of
what is left, straight from the server's database."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from ains.db.engine import create_engine
from ains.models import (
    audit_log,
    events,
    routing_decisions,
    schedule_executions,
    task_attempts,
    tasks,
    trust_records,
    webhook_attempts,
    webhook_deliveries,
)
from tests.support.flows import claim

LONG_AGO = datetime.now(UTC).replace(minute=30, second=0, microsecond=0) - timedelta(days=10)


async def _run(url: str, statements: Sequence[Any]) -> list[Any]:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            return [await conn.execute(s) for s in statements]
    finally:
        await engine.dispose()


def execute(url: str, *statements: Any) -> None:
    asyncio.run(_run(url, statements))


def scalar(url: str, statement: Any) -> Any:
    async def run() -> Any:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.scalar(statement)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def age_tasks(url: str, task_ids: Sequence[str], when: datetime = LONG_AGO) -> None:
    """Make finished tasks (and their history) look as if they ran at `when`."""
    ids = list(task_ids)
    execute(
        url,
        sa.update(tasks)
        .where(tasks.c.task_id.in_(ids))
        .values(created_at=when, updated_at=when, completed_at=when),
        sa.update(events).where(events.c.task_id.in_(ids)).values(occurred_at=when),
        sa.update(task_attempts)
        .where(task_attempts.c.task_id.in_(ids))
        .values(claimed_at=when, finished_at=when),
    )


def count_where(url: str, table: sa.Table, *where: Any) -> int:
    return int(scalar(url, sa.select(sa.func.count()).select_from(table).where(*where)) or 0)


def add_old_rows(url: str, uid: str, when: datetime = LONG_AGO) -> dict[str, int]:
    """One old row of every other kind: a delivered delivery (with its attempt), a schedule
    execution, a trust record, a routing decision, an audit row, an agent event; answers them
    per kind."""
    delivery = f"msg_{uid}"
    execute(
        url,
        sa.insert(webhook_deliveries).values(
            delivery_id=delivery,
            webhook_id=f"wh_{uid}",
            event_id=-int(uid, 16) - 1,
            event_type="task.created",
            payload={},
            status="delivered",
            attempts=1,
            created_at=when,
            delivered_at=when,
        ),
        sa.insert(webhook_attempts).values(
            delivery_id=delivery, webhook_id=f"wh_{uid}", attempted_at=when, success=True
        ),
        sa.insert(schedule_executions).values(
            execution_id=f"exec_{uid}",
            schedule_id=f"sched_{uid}",
            due_at=when,
            executed_at=when,
            trigger="cron",
            status="COMPLETED",
            created_at=when,
        ),
        sa.insert(trust_records).values(
            agent_id=f"agent_{uid}", delta=0.1, trust_score=0.6, reason="old", created_at=when
        ),
        sa.insert(routing_decisions).values(
            routing_id=f"rte_{uid}",
            capability=f"old-{uid}:v1",
            agent_id=f"agent_{uid}",
            tier="preferred",
            candidates=[],
            created_at=when,
        ),
        sa.insert(audit_log).values(
            occurred_at=when, principal_id=f"old-{uid}", role="admin", action="x", outcome="success"
        ),
        sa.insert(events).values(
            event_type="agent.online", agent_id=f"agent_{uid}", occurred_at=when
        ),
    )
    return {
        "webhook_deliveries": 1,
        "schedule_executions": 1,
        "trust_records": 1,
        "routing_decisions": 1,
        "audit_log": 1,
        "events": 1,
    }


def claim_all(api: httpx.Client, agent_id: str, n: int) -> list[dict[str, Any]]:
    """Claims until the agent holds n tasks (a claim may answer fewer than are queued)."""
    claimed: list[dict[str, Any]] = []
    for _ in range(20):
        claimed += claim(api, agent_id, max_tasks=n - len(claimed), wait=1)
        if len(claimed) == n:
            return claimed
    raise AssertionError(f"claimed {len(claimed)} of {n} tasks")

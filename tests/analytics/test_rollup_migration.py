"""Migration 0005 on a database that already holds tasks: the finished ones are rolled up
(hourly and daily, every dimension) without a delta, unfinished ones are not, and the
migration downgrades and upgrades again cleanly. Both databases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command

from ains.db.engine import create_engine
from ains.db.migrate import alembic_config, upgrade
from ains.models import task_rollup_deltas, task_rollups, tasks
from tests.analytics.rollup_checks import assert_rollups_count
from tests.support.database import task_row
from tests.support.flows import TERMINAL
from tests.support.server import drop_pg_database, fresh_database_url

BEFORE = "0004_analytics_indexes"
NOW = datetime.now(UTC).replace(microsecond=0)
STATUSES = ["COMPLETED", "FAILED", "PENDING", "CANCELLED", "RUNNING", "TIMED_OUT"]


def _task(i: int) -> dict[str, Any]:
    created = NOW - timedelta(hours=7 * i, minutes=i)
    return task_row(
        f"task_migrated_{i:03d}",
        task_type=f"type-{i % 3}",
        status=STATUSES[i % len(STATUSES)],
        assigned_agent_id=None if i % 5 == 0 else f"agent-{i % 4}",
        cost=0.25 * i,
        execution_ms=10.0 * i,
        created_at=created,
        updated_at=created,
    )


async def _insert_and_read(url: str, rows: list[dict[str, Any]] | None) -> tuple[Any, ...]:
    engine = create_engine(url)
    try:
        if rows:
            async with engine.begin() as conn:
                await conn.execute(tasks.insert(), rows)
        async with engine.connect() as conn:
            R = task_rollups.c
            stmt = sa.select(R.dim, R.key, R.status, sa.func.sum(R.n), sa.func.sum(R.cost_sum))
            rolled = list(await conn.execute(stmt.group_by(R.dim, R.key, R.status)))
            deltas = await conn.scalar(sa.select(sa.func.count()).select_from(task_rollup_deltas))
            return rolled, deltas
    finally:
        await engine.dispose()


def test_existing_finished_tasks_are_rolled_up_and_the_migration_round_trips(
    backend: str, tmp_path: Path
) -> None:
    url = fresh_database_url(backend, tmp_path)
    data = [_task(i) for i in range(60)]
    try:
        upgrade(url, BEFORE)

        async def insert_old() -> None:
            engine = create_engine(url)
            try:
                async with engine.begin() as conn:
                    await conn.execute(tasks.insert(), data)
            finally:
                await engine.dispose()

        asyncio.run(insert_old())
        upgrade(url)
        rolled, deltas = asyncio.run(_insert_and_read(url, None))
        assert deltas == 0
        facts = [(t["status"], t["assigned_agent_id"], t["task_type"]) for t in data]
        assert_rollups_count(facts, [(d, k, s, n) for d, k, s, n, _c in rolled])
        finished = [t for t in data if t["status"] in TERMINAL]
        cost = sum(t["cost"] for t in finished)
        assert sum(float(c) for d, _k, _s, _n, c in rolled if d == "all") == cost

        command.downgrade(alembic_config(url), BEFORE)
        command.upgrade(alembic_config(url), "head")
        # the backfill ran again, and the triggers are back: a new finished task is a delta
        again, deltas = asyncio.run(_insert_and_read(url, [{**_task(999), "status": "COMPLETED"}]))
        assert sum(int(n) for d, _k, _s, n, _c in again if d == "all") == len(finished)
        assert deltas == 1
    finally:
        if backend == "postgresql":
            drop_pg_database(url)

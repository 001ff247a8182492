"""PostgreSQL-specific: two replicas fold rollup deltas while sample agents finish tasks
through both; afterwards every rollup (each dimension and grain) equals a count of the tasks
table, no delta is left, and both replicas answer the same exact summary."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ains.db.engine import create_engine
from ains.models import task_rollup_deltas, task_rollups, tasks
from tests.analytics.rollup_checks import assert_rollups_count
from tests.support.flows import submit
from tests.support.server import (
    AgentProcess,
    ServerProcess,
    drop_pg_database,
    fresh_database_url,
    wait_for,
)

TASKS = 240


async def _snapshot(url: str) -> tuple[list[Any], list[Any], int]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            T, R = tasks.c, task_rollups.c
            task_rows = list(
                await conn.execute(sa.select(T.status, T.assigned_agent_id, T.task_type))
            )
            rolled = list(
                await conn.execute(
                    sa.select(R.dim, R.key, R.status, sa.func.sum(R.n)).group_by(
                        R.dim, R.key, R.status
                    )
                )
            )
            deltas = await conn.scalar(sa.select(sa.func.count()).select_from(task_rollup_deltas))
            return task_rows, rolled, int(deltas or 0)
    finally:
        await engine.dispose()


def snapshot(url: str) -> tuple[list[Any], list[Any], int]:
    return asyncio.run(_snapshot(url))


@pytest.mark.pg_only
def test_two_replicas_fold_concurrently_and_lose_or_double_nothing(
    backend: str, tmp_dir: Path, uid: str
) -> None:
    url = fresh_database_url(backend, tmp_dir)
    a = ServerProcess(url).start()
    b = ServerProcess(url).start()
    capability = f"fold-{uid}:v1"
    agent_args = ["-c", capability, "--heartbeat-interval", "0.5", "--wait-seconds", "2"]
    agents = [AgentProcess(s.url, agent_args).start() for s in (a, b)]
    try:
        with a.client() as api_a, b.client() as api_b:
            for i in range(TASKS):
                submit(api_b if i % 2 else api_a, capability, task_type=f"t{i % 3}")
            wait_for(
                lambda: Counter(r.status for r in snapshot(url)[0])["COMPLETED"] == TASKS,
                timeout=90,
                message="every task completed by the sample agents",
            )
            wait_for(lambda: snapshot(url)[2] == 0, timeout=30, message="deltas folded")
            task_rows, rolled, _ = snapshot(url)
            facts = [(r.status, r.assigned_agent_id, r.task_type) for r in task_rows]
            # keys whose tasks were all folded in and out again sum to 0: nothing to count
            assert_rollups_count(facts, [(d, k, s, n) for d, k, s, n in rolled if n])
            for api in (api_a, api_b):
                summary = api.get("/aitp/analytics/summary", params={"period": "all"}).json()
                assert summary["completed"] == TASKS and summary["total_tasks"] == TASKS
    finally:
        for agent in agents:
            agent.stop()
        a.stop()
        b.stop()
        drop_pg_database(url)

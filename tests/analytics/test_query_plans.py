"""SQLite-specific: no analytics report reads the whole tasks table. Unfinished tasks come
from the partial index idx_tasks_live (a query that hid its `status IN (…)` behind a bound
parameter or a `= 1` could not use it), the window's partial hours from a created_at index,
percentiles from idx_tasks_execution; on a database never ANALYZEd, as a server's is."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ains.analytics.service import AnalyticsService
from ains.db.engine import Database, create_engine
from ains.db.migrate import upgrade
from ains.security.principals import Principal

ADMIN = Principal(role="admin", principal_id="admin", team=None, key_id=None)


def _statements(url: str) -> list[tuple[str, Any]]:
    async def run() -> list[tuple[str, Any]]:
        engine = create_engine(url)
        seen: list[tuple[str, Any]] = []

        @sa.event.listens_for(engine.sync_engine, "before_cursor_execute")
        def record(_c: Any, _cur: Any, statement: str, params: Any, *_: Any) -> None:
            seen.append((statement, params))

        db = Database(engine)
        analytics = AnalyticsService(db, lambda: datetime.now(UTC))
        now = datetime.now(UTC)
        mid_hour = analytics.window(None, now - timedelta(days=3, minutes=20), now)
        try:
            async with db.read(snapshot=True) as conn:
                for window in (analytics.window("all", None, None), mid_hour):
                    await analytics.summary(conn, ADMIN, window)
                    await analytics.agents(conn, ADMIN, window, 100)
                    await analytics.task_types(conn, ADMIN, window, 100)
                    await analytics.trends(conn, ADMIN, window, "hour")
        finally:
            await db.dispose()
        return seen

    return asyncio.run(run())


def test_no_report_scans_the_tasks_table(tmp_path: Path) -> None:
    path = tmp_path / "plans.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    with sqlite3.connect(path) as conn:  # a few tasks, so percentiles have ranks to walk to
        now = datetime.now(UTC).replace(tzinfo=None)
        conn.executemany(
            "INSERT INTO tasks (task_id, client_id, task_type, capability_required, priority, "
            "queue_key, status, assigned_agent_id, max_retries, retry_policy, visibility, "
            "allowed_viewers, metadata, depends_on, execution_ms, created_at, updated_at) "
            "VALUES (?, 'c', 't', 'cap', 5, 0, ?, 'a', 0, '{}', 'private', '[]', '{}', '[]', ?, "
            "?, ?)",
            [
                (f"task_plan_{i}", status, 10.0 * i, str(now - timedelta(hours=i)), str(now))
                for i, status in enumerate(["COMPLETED", "COMPLETED", "FAILED", "PENDING"] * 20)
            ],
        )
    statements = [(s, p) for s, p in _statements(url) if "FROM tasks" in s]
    with sqlite3.connect(path) as conn:
        plans = {
            s: " | ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {s}", p))
            for s, p in statements
        }
    live = [plan for s, plan in plans.items() if "'RETRY_SCHEDULED'" in s]
    edges = [plan for s, plan in plans.items() if "'TIMED_OUT'" in s]
    walks = [plan for s, plan in plans.items() if "ORDER BY tasks.execution_ms" in s]
    assert live and edges and walks
    assert all("idx_tasks_live" in plan for plan in live), live
    assert all("idx_tasks_created_at" in plan for plan in edges), edges
    assert all("idx_tasks_execution" in plan for plan in walks), walks
    table_scans = [p for p in plans.values() if "SCAN tasks" in p.split(" | ")]  # no index
    assert not table_scans

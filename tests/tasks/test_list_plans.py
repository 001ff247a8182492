"""A non-admin's task list reads the tasks it may see through indexes, never the whole tasks
table: on SQLite (EXPLAIN QUERY PLAN, a database never ANALYZEd, as a server's is) and on
PostgreSQL (EXPLAIN with sequential scans priced out, so a plan without a usable index shows)."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import sqlalchemy as sa

from ains.config import Settings
from ains.db.engine import Database, create_engine
from ains.db.migrate import upgrade
from ains.events.bus import create_bus
from ains.models import tasks
from ains.security.principals import Principal
from ains.tasks.service import TaskService
from tests.conftest import require_postgres
from tests.support.database import task_row
from tests.support.server import drop_pg_database, fresh_database_url

CLIENT = Principal(role="client", principal_id="c7", team="red")
NOW = datetime.now(UTC)


def _rows() -> list[dict[str, Any]]:
    visibilities = ["private", "private", "private", "public", "team"]
    return [
        task_row(
            f"task_plan_{i:04d}",
            client_id=f"c{i % 10}",
            team="red" if i % 3 else "blue",
            assigned_agent_id=f"a{i % 7}",
            visibility=visibilities[i % len(visibilities)],
            allowed_viewers=["c7"] if i % 11 == 0 else [],
            created_at=NOW - timedelta(seconds=i),
            updated_at=NOW,
        )
        for i in range(400)
    ]


def _list(url: str) -> tuple[list[tuple[str, Any]], list[str]]:
    """The statements one page of CLIENT's task list ran, and the task ids it answered."""

    async def run() -> tuple[list[tuple[str, Any]], list[str]]:
        engine = create_engine(url)
        seen: list[tuple[str, Any]] = []
        db = Database(engine)
        async with engine.begin() as conn:
            await conn.execute(sa.insert(tasks), _rows())

        @sa.event.listens_for(engine.sync_engine, "before_cursor_execute")
        def record(_c: Any, _cur: Any, statement: str, params: Any, *_: Any) -> None:
            seen.append((statement, params))

        service = TaskService(Settings(database_url=url), lambda: NOW, create_bus(url), None)
        try:
            async with db.read() as conn:
                page = await service.list(conn, CLIENT, filters={}, cursor=None, limit=500)
        finally:
            await db.dispose()
        return seen, [t["task_id"] for t in page["items"]]

    return asyncio.run(run())


def _expected() -> list[str]:
    rows = _rows()
    seen = [
        r["task_id"]
        for r in rows
        if r["client_id"] == "c7"
        or r["visibility"] == "public"
        or (r["visibility"] == "team" and r["team"] == "red")
        or "c7" in r["allowed_viewers"]
    ]
    return sorted(seen, reverse=True)


def test_a_clients_task_list_uses_indexes_on_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "plans.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    statements, listed = _list(url)
    assert listed == _expected()
    [(statement, params)] = [(s, p) for s, p in statements if "FROM tasks" in s]
    with sqlite3.connect(path) as conn:
        plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {statement}", params)]
    scans = [step for step in plan if step.startswith("SCAN tasks")]
    assert scans == ["SCAN tasks USING INDEX idx_tasks_shared"], plan


def test_a_clients_task_list_uses_indexes_on_postgresql(tmp_path: Path) -> None:
    require_postgres()
    url = fresh_database_url("postgresql", tmp_path)
    try:
        upgrade(url)
        statements, listed = _list(url)
        assert listed == _expected()
        [(statement, params)] = [(s, p) for s, p in statements if "FROM tasks" in s]
        plan = asyncio.run(_pg_plan(url, statement, params))
    finally:
        drop_pg_database(url)
    assert "Seq Scan" not in plan, plan
    for index in ("idx_tasks_client_id", "idx_tasks_visibility", "idx_tasks_shared"):
        assert index in plan, plan


async def _pg_plan(url: str, statement: str, params: Any) -> str:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SET enable_seqscan = off")
        rows = await conn.fetch(f"EXPLAIN {statement}", *params)
    finally:
        await conn.close()
    return "\n".join(r[0] for r in rows)

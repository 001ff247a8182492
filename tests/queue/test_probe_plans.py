"""The fairness probe every submission runs reads an index entry per lane end however many tasks
wait, on both databases, even when the database has never analysed the tasks table (a server's
PostgreSQL has not, right after a queue fills; SQLite never does).

A min()/max() over a lane let PostgreSQL aggregate every queued task of the lane: with 200,000
tasks queued each submit cost 140 ms (bench.backlog). Here the statement the real function runs
is recorded and measured: PostgreSQL's EXPLAIN ANALYZE rows per plan node, SQLite's virtual
machine steps (a progress handler), against a lane of thousands of queued tasks."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import sqlalchemy as sa

from ains.db.engine import create_engine
from ains.models import tasks
from ains.queue.repository import fair_lane_ends
from tests.conftest import require_postgres
from tests.support.server import drop_pg_database, migrated_database_url

QUEUED = 6000  # one lane: capability "lane:v1", priority 5, client "c1"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _row(i: int) -> dict[str, Any]:
    return {
        "task_id": f"task_probe_{i:05d}",
        "client_id": "c1",
        "task_type": "t",
        "capability_required": "lane:v1",
        "priority": 5,
        "queue_key": float(i),
        "status": "PENDING",
        "max_retries": 0,
        "retry_policy": {},
        "visibility": "private",
        "allowed_viewers": [],
        "metadata": {},
        "depends_on": [],
        "created_at": NOW,
        "updated_at": NOW,
    }


def _probe(url: str) -> tuple[list[tuple[str, Any]], Any]:
    """Fill the lane, then probe it; (the statements the probe ran, its answer)."""

    async def run() -> tuple[list[tuple[str, Any]], Any]:
        engine = create_engine(url)
        seen: list[tuple[str, Any]] = []
        try:
            async with engine.begin() as conn:
                await conn.execute(sa.insert(tasks), [_row(i) for i in range(QUEUED)])

            @sa.event.listens_for(engine.sync_engine, "before_cursor_execute")
            def record(_c: Any, _cur: Any, statement: str, params: Any, *_: Any) -> None:
                seen.append((statement, params))

            async with engine.connect() as conn:
                ends = await fair_lane_ends(conn, [("lane:v1", 5)], [("lane:v1", 5, "c1")])
        finally:
            await engine.dispose()
        return seen, ends

    return asyncio.run(run())


def _check_answers(answers: Any) -> None:
    assert answers == ([0.0], [float(QUEUED - 1)])  # the lane's head and the client's tail


def test_the_probes_read_an_entry_or_two_on_sqlite(tmp_path: Path) -> None:
    url = migrated_database_url("sqlite", tmp_path)
    statements, answers = _probe(url)
    _check_answers(answers)
    assert len(statements) == 1
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        full_scan = _steps(conn, "SELECT count(*) FROM tasks WHERE client_id = 'c1'", ())
        for statement, params in statements:
            steps = _steps(conn, statement, params)
            # a scan of the queue takes thousands of steps; a probe, a few dozen
            assert steps * 50 < full_scan, (statement, steps, full_scan)


def _steps(conn: sqlite3.Connection, statement: str, params: Any) -> int:
    """Virtual machine instructions SQLite ran for `statement`, in hundreds."""
    count = 0

    def tick() -> int:
        nonlocal count
        count += 1
        return 0

    conn.set_progress_handler(tick, 100)
    try:
        conn.execute(statement, params).fetchall()
    finally:
        conn.set_progress_handler(None, 0)
    return count


def test_the_probes_read_an_entry_or_two_on_postgresql(tmp_path: Path) -> None:
    require_postgres()
    url = migrated_database_url("postgresql", tmp_path)
    try:
        statements, answers = _probe(url)
        _check_answers(answers)
        assert len(statements) == 1
        plans = [asyncio.run(_pg_rows_read(url, s, p)) for s, p in statements]
    finally:
        drop_pg_database(url)
    for (statement, _), most in zip(statements, plans, strict=True):
        assert most <= 2, (statement, most)


async def _pg_rows_read(url: str, statement: str, params: Any) -> int:
    """The most rows any node of the statement's plan produced (EXPLAIN ANALYZE)."""
    conn = await asyncpg.connect(url)
    try:
        [row] = await conn.fetch(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", *params)
    finally:
        await conn.close()
    plan = json.loads(row[0])[0]["Plan"]

    def most(node: dict[str, Any]) -> int:
        return max([int(node["Actual Rows"]), *(most(n) for n in node.get("Plans", []))])

    return most(plan)

"""What a submission and a claim read does not grow with the backlog, on both databases, even
when the database has never analysed the tasks table (a server's PostgreSQL has not, right after
a queue fills; SQLite never does). Measured on the statements the real functions run, with
thousands of tasks queued: PostgreSQL's EXPLAIN ANALYZE (rows per plan node), SQLite's query
plan and virtual machine steps.

- The fairness probe every submission runs (`fair_lane_ends`) as min()/max() let PostgreSQL
  aggregate every queued task of the lane: 140 ms per submit with 200,000 queued.
- Handing 100 named tasks to an agent (`hand_out`) as `task_id IN (…) AND status = 'PENDING'`
  let both planners read every queued task through idx_tasks_status: 22–29 ms per claim with
  200,000 queued, and growing with the queue.
- The deadline loop's queue escalation read every waiting task to find the few with a deadline
  (SQLite always; PostgreSQL before its statistics know deadlines are rare, ~70 ms per query
  with 200,000 queued); it has its own partial index now, which SQLite is told to use (and
  PostgreSQL, checked here with statistics, picks)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import sqlalchemy as sa

from ains.db.engine import create_engine
from ains.models import tasks
from ains.queue.repository import escalation_due, fair_lane_ends, next_escalation_deadline
from ains.tasks.repository import hand_out
from tests.conftest import require_postgres
from tests.support.database import task_row
from tests.support.server import _pg_execute, drop_pg_database, migrated_database_url

QUEUED = 6000  # one lane: capability "lane:v1", priority 5, client "c1"
HANDED = 100  # tasks of "hot:v1", handed out by their ids
WITH_DEADLINE = 3  # of the hot tasks
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _row(task_id: str, capability: str, key: int) -> dict[str, Any]:
    return task_row(
        task_id,
        client_id="c1",
        capability_required=capability,
        queue_key=float(key),
        deadline=NOW + timedelta(minutes=key) if capability == "hot:v1" and key < 3 else None,
        created_at=NOW,
        updated_at=NOW,
    )


HOT = [f"task_hot_{i:03d}" for i in range(HANDED)]


Statements = dict[str, list[tuple[str, Any]]]


def _run(url: str) -> tuple[Statements, dict[str, Any]]:
    """Fill the queue, then probe the lane, hand out the hot tasks (rolled back) and look for
    escalations; (each step's statements, each step's answer)."""

    async def run() -> tuple[Statements, dict[str, Any]]:
        engine = create_engine(url)
        seen: list[tuple[str, Any]] = []
        statements: Statements = {}
        answers: dict[str, Any] = {}
        try:
            async with engine.begin() as conn:
                rows = [_row(f"task_lane_{i:05d}", "lane:v1", i) for i in range(QUEUED)]
                rows += [_row(task_id, "hot:v1", i) for i, task_id in enumerate(HOT)]
                await conn.execute(sa.insert(tasks), rows)

            @sa.event.listens_for(engine.sync_engine, "before_cursor_execute")
            def record(_c: Any, _cur: Any, statement: str, params: Any, *_: Any) -> None:
                seen.append((statement, params))

            async with engine.connect() as conn:
                lanes = await fair_lane_ends(conn, [("lane:v1", 5)], [("lane:v1", 5, "c1")])
                answers["probe"], statements["probe"] = lanes, list(seen)
                seen.clear()
                await conn.rollback()
                tx = await conn.begin()
                ids = {task_id: f"att_{task_id}" for task_id in HOT}
                handed = await hand_out(conn, ids, "agent-1", NOW, NOW + timedelta(minutes=1))
                await tx.rollback()
                answers["hand_out"], statements["hand_out"] = len(handed), list(seen)
                seen.clear()
                answers["next_escalation"] = await next_escalation_deadline(conn)
                due = await escalation_due(conn, NOW + timedelta(hours=1), 100)
                answers["due"], statements["escalation"] = len(due), list(seen)
                await conn.rollback()
        finally:
            await engine.dispose()
        return statements, answers

    return asyncio.run(run())


def _check(answers: dict[str, Any]) -> None:
    assert answers["probe"] == ([0.0], [float(QUEUED - 1)])  # the lane's head, client's tail
    assert answers["hand_out"] == HANDED
    assert answers["next_escalation"] == NOW
    assert answers["due"] == WITH_DEADLINE


def test_submit_and_claim_statements_ignore_the_backlog_on_sqlite(tmp_path: Path) -> None:
    url = migrated_database_url("sqlite", tmp_path)
    statements, answers = _run(url)
    _check(answers)
    [(probe, probe_params)] = statements["probe"]
    [(update, update_params)] = statements["hand_out"]
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        full_scan = _steps(conn, "SELECT count(*) FROM tasks WHERE client_id = 'c1'", ())
        steps = _steps(conn, probe, probe_params)
        # a scan of the lane takes thousands of steps; the probe a few dozen
        assert steps * 50 < full_scan, (probe, steps, full_scan)
        plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {update}", update_params)]
        assert plan == ["SEARCH tasks USING INDEX sqlite_autoindex_tasks_1 (task_id=?)"], plan
        for statement, params in statements["escalation"]:
            plan = [r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {statement}", params)]
            assert plan[0].startswith("SEARCH tasks USING INDEX idx_tasks_deadline"), plan


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


def test_submit_and_claim_statements_ignore_the_backlog_on_postgresql(tmp_path: Path) -> None:
    require_postgres()
    url = migrated_database_url("postgresql", tmp_path)
    try:
        statements, answers = _run(url)
        _check(answers)
        rows = {
            step: [asyncio.run(_pg_rows_read(url, s, p)) for s, p in statements[step]]
            for step in ("probe", "hand_out")
        }
        # the escalation's plan once statistics know deadlines are rare (autovacuum's ANALYZE)
        _pg_execute("ANALYZE tasks", url)
        rows["escalation"] = [
            asyncio.run(_pg_rows_read(url, s, p)) for s, p in statements["escalation"]
        ]
    finally:
        drop_pg_database(url)
    assert rows["probe"] == [1], statements["probe"]
    assert rows["hand_out"] == [HANDED], statements["hand_out"]
    assert len(rows["escalation"]) == 2
    assert max(rows["escalation"]) <= WITH_DEADLINE, statements["escalation"]


async def _pg_rows_read(url: str, statement: str, params: Any) -> int:
    """The most rows any node of the statement's plan produced (EXPLAIN ANALYZE, rolled back)."""
    conn = await asyncpg.connect(url)
    try:
        tx = conn.transaction()
        await tx.start()
        try:
            [row] = await conn.fetch(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", *params)
        finally:
            await tx.rollback()
    finally:
        await conn.close()
    plan = json.loads(row[0])[0]["Plan"]

    def most(node: dict[str, Any]) -> int:
        return max([int(node["Actual Rows"]), *(most(n) for n in node.get("Plans", []))])

    return most(plan)

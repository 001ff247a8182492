"""Write amplification on PostgreSQL: what one completed task costs the database.

    python -m bench.writes [--tasks 2000] [--agents 2]

A fresh server (AINS_WORKERS = cores) on a fresh database; the end-to-end workload of
`bench.throughput` (tasks in 100-task batches, sample agent processes claiming up to 100 and
reporting in bulk); then the server is stopped (so every backend has flushed its statistics) and
the database's counters are compared with a snapshot taken before the workload:
- rows written per task, per table: `pg_stat_user_tables` n_tup_ins / n_tup_upd / n_tup_del
  (includes rows written by triggers);
- transactions per task: `pg_stat_database.xact_commit` (reads included);
- statements per task, when `pg_stat_statements` is loaded (shared_preload_libraries): calls
  of top-level INSERT / UPDATE / DELETE statements and of all statements in this database.
  Otherwise the report says so and gives only the two figures above.
Everything the server does in that window counts (registrations, heartbeats, background loops),
amortised over the completed tasks. Aim: ≤ 6 statements per task.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass, field

import asyncpg

from bench.common import (
    Result,
    add_results_flag,
    ains_server,
    emit,
    exit_cleanly_on_sigterm,
    table,
)
from bench.throughput import end_to_end
from tests.support.server import postgres_available

WRITE = r"^\s*(WITH\y.*\y)?(INSERT|UPDATE|DELETE|MERGE)\y"  # PostgreSQL ARE: \y = word edge


@dataclass
class Snapshot:
    tables: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    commits: int = 0
    statements: int | None = None  # None: pg_stat_statements not loaded
    write_statements: int | None = None
    write_rows: int | None = None


async def _pgss(conn: asyncpg.Connection) -> bool:
    loaded = await conn.fetchval("SHOW shared_preload_libraries")
    if "pg_stat_statements" not in str(loaded):
        return False
    await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    return True


async def _snapshot(url: str) -> Snapshot:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        snap = Snapshot()
        for row in await conn.fetch(
            "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables"
        ):
            snap.tables[row["relname"]] = (row["n_tup_ins"], row["n_tup_upd"], row["n_tup_del"])
        snap.commits = await conn.fetchval(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        )
        if await _pgss(conn):
            row = await conn.fetchrow(
                "SELECT coalesce(sum(calls), 0) AS calls,"
                " coalesce(sum(calls) FILTER (WHERE query ~* $1), 0) AS write_calls,"
                " coalesce(sum(rows) FILTER (WHERE query ~* $1), 0) AS write_rows"
                " FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid"
                " WHERE d.datname = current_database()",
                WRITE,
            )
            snap.statements = int(row["calls"])
            snap.write_statements = int(row["write_calls"])
            snap.write_rows = int(row["write_rows"])
        return snap
    finally:
        await conn.close()


def snapshot(url: str) -> Snapshot:
    return asyncio.run(_snapshot(url))


def report(before: Snapshot, after: Snapshot, tasks: int) -> list[Result]:
    per_table: list[tuple[str, int, int, int]] = []
    for name, (ins, upd, dele) in after.tables.items():
        b = before.tables.get(name, (0, 0, 0))
        delta = (ins - b[0], upd - b[1], dele - b[2])
        if any(delta):
            per_table.append((name, *delta))
    per_table.sort(key=lambda t: -(t[1] + t[2] + t[3]))
    print(f"rows written per completed task ({tasks:,} tasks), pg_stat_user_tables:")
    print(f"  {'table':28} {'insert':>8} {'update':>8} {'delete':>8}")
    for name, ins, upd, dele in per_table:
        print(f"  {name:28} {ins / tasks:8.2f} {upd / tasks:8.2f} {dele / tasks:8.2f}")
    rows = sum(i + u + d for _, i, u, d in per_table)
    note = f"{tasks:,} tasks end to end"
    results = [
        Result("writes", "postgresql", "rows written per task (pg_stat_user_tables)",
               rows / tasks, "rows", note),
        Result("writes", "postgresql", "transactions per task (pg_stat_database)",
               (after.commits - before.commits) / tasks, "xacts", "reads included"),
    ]  # fmt: skip
    if after.statements is None or before.statements is None:
        print(
            "statements per task: unavailable — pg_stat_statements is not in "
            "shared_preload_libraries; figures above are from pg_stat_user_tables and "
            "pg_stat_database"
        )
        return results
    assert before.write_statements is not None and after.write_statements is not None
    assert before.write_rows is not None and after.write_rows is not None
    results += [
        Result("writes", "postgresql", "statements per task (pg_stat_statements)",
               (after.statements - before.statements) / tasks, "statements", note),
        Result("writes", "postgresql", "write statements per task (pg_stat_statements)",
               (after.write_statements - before.write_statements) / tasks, "statements", note),
        Result("writes", "postgresql", "rows by write statements per task",
               (after.write_rows - before.write_rows) / tasks, "rows", "top-level only"),
    ]  # fmt: skip
    return results


def measure(args: argparse.Namespace) -> list[Result]:
    with ains_server("postgresql") as server:
        before = snapshot(server.database_url)
        rate = end_to_end(server, args.tasks, args.agents, args.agent_concurrency)
        print(f"end to end: {rate:,.0f} tasks/s", flush=True)
        server.stop()  # its backends exit and flush their statistics
        after = snapshot(server.database_url)
    return report(before, after, args.tasks)


def main() -> None:
    exit_cleanly_on_sigterm()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--agents", type=int, default=2)
    parser.add_argument("--agent-concurrency", type=int, default=200)
    add_results_flag(parser)
    args = parser.parse_args()
    if reason := postgres_available():
        print(f"postgresql skipped: {reason}")
        emit([], args.results)
        return
    results = measure(args)
    print(table(results), flush=True)
    emit(results, args.results)


if __name__ == "__main__":
    main()

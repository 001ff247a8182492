"""Analytics endpoint latency over a large tasks table, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.analytics                       # 1,000,000 tasks, both backends
    .venv/bin/python -m bench.analytics --tasks 100000 --backends sqlite

Per backend: a fresh database migrated to head, `--tasks` tasks bulk-inserted (COPY on
PostgreSQL, executemany in 100k-row transactions on SQLite) spread over the last 60 days (the
triggers roll every finished one up as a delta; they are folded as a server would at start), then
a real server started on it; every analytics endpoint is timed `--repeat` times over HTTP and
the median and worst are printed. Seed limit 5 s, aim 500 ms."""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from ains.analytics.rollup import fold
from ains.db.engine import Database, create_engine
from ains.db.migrate import upgrade
from bench.common import (
    Result,
    add_results_flag,
    bench_database_url,
    emit,
    exit_cleanly_on_sigterm,
)
from tests.support.server import ServerProcess, drop_pg_database, postgres_available

COLUMNS = (
    "task_id", "client_id", "task_type", "capability_required", "priority", "queue_key", "status",
    "assigned_agent_id", "max_retries", "retry_policy", "visibility", "allowed_viewers",
    "metadata", "depends_on", "cost", "quality_score", "execution_ms", "created_at",
    "updated_at", "completed_at",
)  # fmt: skip
STATUSES = ["COMPLETED"] * 80 + ["FAILED"] * 8 + ["CANCELLED"] * 3 + ["TIMED_OUT"] * 2
STATUSES += ["PENDING"] * 7
CHUNK = 100_000
QUERIES = [
    ("summary last_7_days", "/aitp/analytics/summary", {}),
    ("summary all", "/aitp/analytics/summary", {"period": "all"}),
    ("summary custom 1 day", "/aitp/analytics/summary", {"start": "-2d", "end": "-1d"}),
    ("agents last_30_days", "/aitp/analytics/agents", {"period": "last_30_days"}),
    ("tasks (types) all", "/aitp/analytics/tasks", {"period": "all"}),
    ("trends day, last_30_days", "/aitp/analytics/trends", {"period": "last_30_days"}),
    ("trends hour, last_7_days", "/aitp/analytics/trends", {"bucket": "hour"}),
    ("export summary csv, all", "/aitp/analytics/export", {"period": "all"}),
    ("export trends json, all", "/aitp/analytics/export", {"report": "trends", "format": "json",
                                                           "period": "all"}),
    ("export tasks_raw csv, 24 h", "/aitp/analytics/export", {"report": "tasks_raw",
                                                              "period": "last_24_hours"}),
]  # fmt: skip


def rows(total: int, now: datetime, seed: int = 7) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(seed)
    span = 60 * 86400
    for i in range(total):
        status = rng.choice(STATUSES)
        created = now - timedelta(seconds=rng.random() * span)
        done = status in ("COMPLETED", "FAILED", "TIMED_OUT")
        completed = status == "COMPLETED"
        yield (
            f"task_bench_{i:08d}", f"client-{rng.randrange(100)}", f"type-{rng.randrange(20)}",
            "bench-nobody", 5, float(i), status,
            None if status == "PENDING" else f"agent-{rng.randrange(50)}", 0, "{}", "private",
            "[]", "{}", "[]", round(rng.random(), 4) if done else None,
            round(rng.random(), 3) if completed else None,
            rng.lognormvariate(6, 1) if completed else None,
            created, created, created + timedelta(seconds=5) if done else None,
        )  # fmt: skip


def insert_sqlite(path: str, total: int, now: datetime) -> None:
    conn = sqlite3.connect(path)
    sql = f"INSERT INTO tasks ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"

    def naive(row: tuple[Any, ...]) -> tuple[Any, ...]:
        # UTCDateTime stores naive UTC text on SQLite
        return tuple(
            v.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
            if isinstance(v, datetime)
            else v
            for v in row
        )

    batch: list[tuple[Any, ...]] = []
    for row in rows(total, now):
        batch.append(naive(row))
        if len(batch) == CHUNK:
            with conn:
                conn.executemany(sql, batch)
            batch = []
    with conn:
        conn.executemany(sql, batch)
    conn.close()


async def insert_postgres(url: str, total: int, now: datetime) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        batch: list[tuple[Any, ...]] = []
        for row in rows(total, now):
            batch.append(row)
            if len(batch) == CHUNK:
                await conn.copy_records_to_table("tasks", records=batch, columns=COLUMNS)
                batch = []
        await conn.copy_records_to_table("tasks", records=batch, columns=COLUMNS)
        await conn.execute("VACUUM ANALYZE tasks")
    finally:
        await conn.close()


async def fold_all(url: str) -> None:
    """What a server does at start: the triggers rolled every finished task up as a delta."""
    db = Database(create_engine(url))
    try:
        await fold(db)
    finally:
        await db.dispose()


def _params(params: dict[str, str], now: datetime) -> dict[str, str]:
    out = dict(params)
    for key in ("start", "end"):
        if key in out:  # relative days, so the range always holds data
            out[key] = (now + timedelta(days=int(out[key].rstrip("d")))).isoformat()
    return out


def time_queries(
    server: ServerProcess, repeat: int, now: datetime
) -> list[tuple[str, float, float, int]]:
    results = []
    with httpx.Client(base_url=server.url, timeout=120) as api:
        for label, path, params in QUERIES:
            seconds, size = [], 0
            for _ in range(repeat):
                t0 = time.perf_counter()
                r = api.get(path, params=_params(params, now))
                seconds.append(time.perf_counter() - t0)
                assert r.status_code == 200, (label, r.text[:300])
                size = len(r.content)
            results.append((label, statistics.median(seconds) * 1000, max(seconds) * 1000, size))
    return results


def bench(backend: str, total: int, repeat: int) -> list[Result]:
    if backend == "postgresql" and (reason := postgres_available()):
        print(f"postgresql skipped: {reason}")
        return []
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        url = bench_database_url(backend, Path(tmp))
        try:
            upgrade(url)
            now = datetime.now(UTC)
            t0 = time.perf_counter()
            if backend == "sqlite":
                insert_sqlite(url.removeprefix("sqlite:///"), total, now)
            else:
                asyncio.run(insert_postgres(url, total, now))
            print(f"\n{backend}: inserted {total:,} tasks in {time.perf_counter() - t0:.1f} s")
            t0 = time.perf_counter()
            asyncio.run(fold_all(url))
            print(f"{backend}: folded their rollup deltas in {time.perf_counter() - t0:.1f} s")
            server = ServerProcess(url)
            try:
                server.start()
                print(f"{'endpoint':32} {'median ms':>10} {'max ms':>10} {'bytes':>10}")
                for label, median, worst, size in time_queries(server, repeat, now):
                    flag = "" if worst < 500 else ("  > 500 ms" if worst < 5000 else "  > 5 s!")
                    print(f"{label:32} {median:10.1f} {worst:10.1f} {size:10,}{flag}", flush=True)
                    results.append(
                        Result("analytics", backend, f"{label}, worst of {repeat}", worst, "ms",
                               f"{total:,} tasks")
                    )  # fmt: skip
            finally:
                server.stop()
        finally:
            if backend == "postgresql":
                drop_pg_database(url)
    return results


def main() -> None:
    exit_cleanly_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql")
    add_results_flag(parser)
    args = parser.parse_args()
    results: list[Result] = []
    for backend in args.backends.split(","):
        results += bench(backend.strip(), args.tasks, args.repeat)
    emit(results, args.results)


if __name__ == "__main__":
    main()

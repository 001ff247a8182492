"""Submit latency while retention prunes a large backlog, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.retention                          # 200,000 tasks, both backends
    .venv/bin/python -m bench.retention --tasks 50000 --backends sqlite --rate 50
    .venv/bin/python -m bench.retention --tasks 1000000 --backends postgresql   # issue 15's 1M

Per backend: a fresh database migrated to head; `--tasks` finished tasks, 8 to 30 days old, each
with `--events` history events, bulk-inserted (COPY on PostgreSQL, executemany on SQLite); the
rollup deltas folded as a server does at start; a real server started on it (its own retention
loop off). Then single submissions over HTTP at a steady `--rate` for `--seconds` with nothing
else running, and again while `POST /ains/admin/cleanup` prunes every old row (for at least
`--seconds`, until the prune answers). Prints p50/p99/max submit latency of both phases, and
the prune's counts and duration. A sender that falls behind does not catch up (latency is per
request, not from its planned start), so a stall shows as a high max and fewer requests."""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from ains.db.migrate import upgrade
from bench.analytics import fold_all
from bench.common import Result, add_results_flag, emit, exit_cleanly_on_sigterm, pct
from tests.support.server import (
    ServerProcess,
    drop_pg_database,
    fresh_database_url,
    postgres_available,
)

TASK_COLUMNS = (
    "task_id", "client_id", "task_type", "capability_required", "priority", "queue_key", "status",
    "assigned_agent_id", "max_retries", "retry_policy", "visibility", "allowed_viewers",
    "metadata", "depends_on", "cost", "quality_score", "execution_ms", "created_at",
    "updated_at", "completed_at",
)  # fmt: skip
EVENT_COLUMNS = ("event_type", "task_id", "to_status", "occurred_at")
CHUNK = 50_000


def task_rows(total: int, now: datetime) -> Iterator[tuple[Any, ...]]:
    for i in range(total):
        done = now - timedelta(days=8 + 22 * (i / max(total, 1)))
        yield (
            f"task_old_{i:08d}", f"client-{i % 100}", f"type-{i % 20}", "bench-old", 5, float(i),
            "COMPLETED", f"agent-{i % 50}", 0, "{}", "private", "[]", "{}", "[]", 0.01, 0.9,
            120.0, done - timedelta(seconds=5), done, done,
        )  # fmt: skip


def event_rows(total: int, per_task: int, now: datetime) -> Iterator[tuple[Any, ...]]:
    for row in task_rows(total, now):
        for j in range(per_task):
            yield ("task.completed" if j == per_task - 1 else "task.created", row[0],
                   "COMPLETED" if j == per_task - 1 else "PENDING", row[-1])  # fmt: skip


def _chunks(rows: Iterator[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def _naive(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(
        v.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        if isinstance(v, datetime)
        else v
        for v in row
    )


def insert_sqlite(path: str, total: int, per_task: int, now: datetime) -> None:
    conn = sqlite3.connect(path)
    for table, columns, rows in (
        ("tasks", TASK_COLUMNS, task_rows(total, now)),
        ("events", EVENT_COLUMNS, event_rows(total, per_task, now)),
    ):
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        for batch in _chunks(rows):
            with conn:
                conn.executemany(sql, [_naive(r) for r in batch])
    conn.close()


async def insert_postgres(url: str, total: int, per_task: int, now: datetime) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        for table, columns, rows in (
            ("tasks", TASK_COLUMNS, task_rows(total, now)),
            ("events", EVENT_COLUMNS, event_rows(total, per_task, now)),
        ):
            for batch in _chunks(rows):
                await conn.copy_records_to_table(table, records=batch, columns=columns)
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


def submit_at_rate(api: httpx.Client, rate: float, until: threading.Event) -> list[float]:
    """Single submissions every 1/rate s until `until` is set; their latencies in ms."""
    latencies: list[float] = []
    body = {"client_id": "bench", "task_type": "t", "capability_required": "bench-new:v1",
            "input_data": {"x": 1}}  # fmt: skip
    interval = 1.0 / rate
    next_at = time.perf_counter()
    while not until.is_set():
        t0 = time.perf_counter()
        r = api.post("/aitp/tasks", json=body)
        latencies.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 201, r.text[:300]
        next_at = max(next_at + interval, time.perf_counter())
        time.sleep(max(0.0, next_at - time.perf_counter()))
    return latencies


@dataclass(frozen=True)
class Phase:
    latencies: list[float]  # ms, one per submission
    prune_seconds: float | None = None
    counts: dict[str, int] | None = None

    def line(self) -> str:
        ordered = self.latencies
        text = (
            f"n={len(ordered):5d}  p50 {pct(ordered, 0.5):7.2f} ms  "
            f"p99 {pct(ordered, 0.99):7.2f} ms  max {max(ordered):7.2f} ms"
        )
        if self.prune_seconds is not None:
            text += f"\n  the prune took {self.prune_seconds:.1f} s: {self.counts}"
        return text


def phase(server: ServerProcess, rate: float, seconds: float, prune: bool) -> Phase:
    """Submissions for `seconds`, or while a prune runs if `prune` (whichever is longer)."""
    stop = threading.Event()
    outcome: dict[str, Any] = {}

    def control() -> None:
        deadline = time.monotonic() + seconds
        try:
            if prune:
                with httpx.Client(base_url=server.url, timeout=3600) as admin:
                    t0 = time.perf_counter()
                    r = admin.post("/ains/admin/cleanup", json={})
                    outcome["seconds"] = time.perf_counter() - t0
                    outcome["counts"] = r.json()["counts"]
            time.sleep(max(0.0, deadline - time.monotonic()))
        finally:
            stop.set()

    controller = threading.Thread(target=control)
    controller.start()
    with httpx.Client(base_url=server.url, timeout=120) as api:
        latencies = submit_at_rate(api, rate, stop)
    controller.join()
    return Phase(latencies, outcome.get("seconds"), outcome.get("counts"))


def bench(backend: str, total: int, per_task: int, rate: float, seconds: float) -> list[Result]:
    if backend == "postgresql" and (reason := postgres_available()):
        print(f"postgresql skipped: {reason}")
        return []
    with tempfile.TemporaryDirectory() as tmp:
        url = fresh_database_url(backend, Path(tmp))
        try:
            upgrade(url)
            now = datetime.now(UTC)
            t0 = time.perf_counter()
            if backend == "sqlite":
                insert_sqlite(url.removeprefix("sqlite:///"), total, per_task, now)
            else:
                asyncio.run(insert_postgres(url, total, per_task, now))
            asyncio.run(fold_all(url))
            rows = total * (1 + per_task)
            print(f"\n{backend}: {total:,} old tasks, {rows:,} rows, loaded in "
                  f"{time.perf_counter() - t0:.1f} s", flush=True)  # fmt: skip
            server = ServerProcess(url, env={"AINS_RETENTION_INTERVAL_SECONDS": "0"}).start()
            try:
                idle = phase(server, rate, seconds, False)
                print(f"submit at {rate:g}/s, idle:        {idle.line()}", flush=True)
                pruning = phase(server, rate, seconds, True)
                print(f"submit at {rate:g}/s, while prune: {pruning.line()}", flush=True)
            finally:
                server.stop()
        finally:
            if backend == "postgresql":
                drop_pg_database(url)
    note = f"{total:,} old tasks, {rate:g} submits/s"
    return [
        Result("retention", backend, "submit p99, idle", pct(idle.latencies, 0.99), "ms", note),
        Result("retention", backend, "submit p99, during prune", pct(pruning.latencies, 0.99),
               "ms", note),
        Result("retention", backend, "submit max, during prune", max(pruning.latencies), "ms",
               note),
        Result("retention", backend, "prune duration", pruning.prune_seconds or 0.0, "s",
               f"{(pruning.counts or {}).get('tasks', 0):,} tasks (with their events) deleted"),
    ]  # fmt: skip


def main() -> None:
    exit_cleanly_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200_000)
    parser.add_argument("--events", type=int, default=2, help="history events per task")
    parser.add_argument("--rate", type=float, default=100.0, help="submissions per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--backends", default="sqlite,postgresql")
    add_results_flag(parser)
    args = parser.parse_args()
    results: list[Result] = []
    for backend in args.backends.split(","):
        results += bench(backend.strip(), args.tasks, args.events, args.rate, args.seconds)
    emit(results, args.results)


if __name__ == "__main__":
    main()

"""Firing lag of the scheduler: fired_at − due_at over every execution of N every-second
schedules on a real server (and, with --replicas 2 on PostgreSQL, two servers).

    .venv/bin/python bench/scheduler.py --schedules 20 --seconds 20
    .venv/bin/python bench/scheduler.py --backend postgresql --replicas 2
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import (
    Result,
    add_results_flag,
    bench_database_url,
    emit,
    exit_cleanly_on_sigterm,
)
from tests.support.server import ServerProcess, drop_pg_database


def main() -> None:
    exit_cleanly_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--schedules", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    add_results_flag(parser)
    args = parser.parse_args()
    url = bench_database_url(args.backend, Path(tempfile.mkdtemp()))
    servers: list[ServerProcess] = []
    try:
        servers += [ServerProcess(url).start() for _ in range(args.replicas)]
        api = httpx.Client(base_url=servers[0].url, timeout=30)
        ids = []
        for i in range(args.schedules):
            body = {
                "task_type": "bench",
                "capability_required": f"bench-{i}",
                "interval_seconds": 1,
            }
            ids.append(api.post("/aitp/tasks/schedule", json=body).json()["schedule_id"])
        time.sleep(args.seconds)
        for sid in ids:
            api.post(f"/aitp/tasks/schedule/{sid}/pause")
        lags = []
        for sid in ids:
            items = api.get(f"/aitp/tasks/schedule/{sid}/executions", params={"limit": 500})
            for e in items.json()["items"]:
                fired = datetime.fromisoformat(e["executed_at"])
                lags.append((fired - datetime.fromisoformat(e["due_at"])).total_seconds() * 1000)
    finally:
        for server in servers:
            server.stop()
        if args.backend == "postgresql":
            drop_pg_database(url)
    lags.sort()
    p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))]
    print(
        f"backend={args.backend} replicas={args.replicas} schedules={args.schedules} "
        f"seconds={args.seconds:g} firings={len(lags)}\n"
        f"fired_at - due_at: p50={statistics.median(lags):.1f} ms  p99={p99:.1f} ms  "
        f"max={lags[-1]:.1f} ms",
        flush=True,
    )
    note = f"{args.schedules} schedules, {args.replicas} replica(s)"
    emit(
        [
            Result(
                "scheduler", args.backend, "firing lag p50", statistics.median(lags), "ms", note
            ),
            Result("scheduler", args.backend, "firing lag p99", p99, "ms", note),
        ],
        args.results,
    )


if __name__ == "__main__":
    main()

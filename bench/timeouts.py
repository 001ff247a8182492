"""Timeout enforcement lag: how long after a task's timeout_at the server times it out.

Starts a real server per backend, delivers N tasks with staggered timeouts to an agent that
never answers, and measures `at` of each task's `task.timed_out` event minus the `timeout_at`
the agent was given. Run: `python -m bench.timeouts [--tasks 500] [--backend sqlite postgresql]`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

from bench.common import Result, add_results_flag, emit, exit_cleanly_on_sigterm
from tests.support.server import postgres_available, running_server


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def measure(api: httpx.Client, tasks: int, spread: float) -> list[float]:
    r = api.post(
        "/ains/agents",
        json={"name": "bench", "capabilities": ["bench:timeout"], "max_concurrency": tasks},
    )
    agent = r.json()["agent_id"]
    ids = []
    for i in range(tasks):
        body = {
            "client_id": "bench",
            "task_type": "bench",
            "capability_required": "bench:timeout",
            "input_data": {"i": i},
            "timeout_seconds": 1.0 + spread * i / tasks,
            "retry_policy": {"max_retries": 0},
        }
        ids.append(api.post("/aitp/tasks", json=body).json()["task_id"])
    expiry: dict[str, str] = {}
    while len(expiry) < tasks:
        claimed = api.post(
            f"/aitp/agents/{agent}/claim", json={"max_tasks": 100, "wait_seconds": 1}
        ).json()["tasks"]
        expiry.update({t["task_id"]: t["timeout_at"] for t in claimed})
    time.sleep(1.0 + spread + 1.5)
    lags = []
    for task_id in ids:
        task = api.get(f"/aitp/tasks/{task_id}").json()
        timed_out = [e for e in task["history"] if e["event"] == "task.timed_out"]
        if task["status"] != "TIMED_OUT" or not timed_out:
            raise SystemExit(f"{task_id} is {task['status']}, not timed out")
        lags.append((_at(timed_out[0]["at"]) - _at(expiry[task_id])).total_seconds())
    return lags


def main() -> None:
    exit_cleanly_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=500)
    parser.add_argument("--spread", type=float, default=5.0, help="timeouts from 1 s to 1+spread")
    parser.add_argument("--backend", nargs="+", default=["sqlite", "postgresql"])
    add_results_flag(parser)
    args = parser.parse_args()
    results: list[Result] = []
    for backend in args.backend:
        if backend == "postgresql" and (reason := postgres_available()):
            print(f"{backend}: skipped ({reason})")
            continue
        with (
            running_server(backend, Path(tempfile.mkdtemp()), AINS_LEASE_SECONDS="600") as server,
            server.client() as api,
        ):
            lags = measure(api, args.tasks, args.spread)
        ms = [x * 1000 for x in lags]
        print(
            f"{backend:10s} tasks={len(ms)} lag ms: p50={statistics.median(ms):.1f} "
            f"p99={_percentile(ms, 99):.1f} max={max(ms):.1f} min={min(ms):.1f}",
            flush=True,
        )
        results += [
            Result("timeouts", backend, "timeout enforcement lag p50", statistics.median(ms),
                   "ms", f"{len(ms)} tasks"),
            Result("timeouts", backend, "timeout enforcement lag p99", _percentile(ms, 99), "ms",
                   f"{len(ms)} tasks"),
        ]  # fmt: skip
    emit(results, args.results)


if __name__ == "__main__":
    main()

"""Batch submission throughput beside single submissions, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.batch [--tasks 20000] [--clients 8] [--backends sqlite,postgresql]

Starts a real server per backend (fresh database), then submits `--tasks` tasks in 100-task
batches from `--clients` concurrent clients, and a tenth as many single submissions; prints
tasks/s for each and the per-task ratio."""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx

from bench.common import Result, add_results_flag, ains_server, emit, exit_cleanly_on_sigterm
from tests.support.server import postgres_available


def _task(i: int) -> dict[str, object]:
    return {"task_type": "bench", "capability_required": "bench:v1", "input_data": {"n": i}}


async def _run(url: str, total: int, clients: int, batch_size: int) -> float:
    per_client = total // clients
    async with httpx.AsyncClient(base_url=url, timeout=60) as api:

        async def client(c: int) -> None:
            for start in range(0, per_client, batch_size):
                n = min(batch_size, per_client - start)
                if batch_size == 1:
                    r = await api.post("/aitp/tasks", json=_task(start))
                else:
                    body = {"client_id": f"bench-{c}", "tasks": [_task(i) for i in range(n)]}
                    r = await api.post("/aitp/tasks/batch", json=body)
                r.raise_for_status()

        t0 = time.perf_counter()
        await asyncio.gather(*(client(c) for c in range(clients)))
        return per_client * clients / (time.perf_counter() - t0)


def bench(backend: str, tasks: int, clients: int) -> list[Result]:
    with ains_server(backend) as server:
        asyncio.run(_run(server.url, 1000, clients, 100))  # warm-up
        batched = asyncio.run(_run(server.url, tasks, clients, 100))
        single = asyncio.run(_run(server.url, max(tasks // 10, clients), clients, 1))
    print(
        f"{backend:<11} batches of 100: {batched:>9,.0f} tasks/s   single: {single:>7,.0f} "
        f"tasks/s   batch is {batched / single:.1f}x cheaper per task",
        flush=True,
    )
    return [
        Result("batch", backend, f"batches of 100, {clients} clients", batched, "tasks/s"),
        Result("batch", backend, f"single submissions, {clients} Python clients", single,
               "tasks/s"),
        Result("batch", backend, "batch vs single, per task", batched / single, "x"),
    ]  # fmt: skip


def main() -> None:
    exit_cleanly_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--backends", default="sqlite,postgresql")
    add_results_flag(parser)
    args = parser.parse_args()
    results: list[Result] = []
    for backend in args.backends.split(","):
        if backend == "postgresql" and (reason := postgres_available()):
            print(f"postgresql  skipped: {reason}")
            continue
        results += bench(backend, args.tasks, args.clients)
    emit(results, args.results)


if __name__ == "__main__":
    main()

"""Does the cost of a submit and a claim grow with the backlog? Two points per backend.

    python -m bench.backlog [--pending 200000] [--seconds 10] [--claims 50] [--backends …]

Per backend, one fresh server (AINS_WORKERS = cores on PostgreSQL) and one registered agent for
`hot:v1`. At each point:
- claims: `--claims` × 100 `hot:v1` tasks are submitted in batches (untimed), then the agent
  claims up to 100 at a time with `wait_seconds` 0, timed per call (each batch is completed in
  one bulk report, untimed); p50 / p95 per claim call;
- submits: wrk (-t1 -c64) posts single `cold:v1` tasks for `--seconds` — nobody serves
  `cold:v1`, so they stay pending and join the backlog.
After a one-second warm-up (its tasks drained), point 1 starts with 0 `cold:v1` tasks; then the
backlog is loaded to `--pending` through the API batch endpoint (`--load-clients` concurrent
clients, 100 per batch; its rate is printed) and point 2 is measured. The loss in % is
(point 1 − point 2) / point 1 for submits, and the growth for claim latencies; server RSS (all its
processes) is read after each point. Aim: ≤ 10% loss.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx
import psutil
import sqlalchemy as sa

from ains.db.engine import create_engine
from ains.models import tasks
from bench.common import (
    Result,
    add_results_flag,
    ains_server,
    emit,
    exit_cleanly_on_sigterm,
    pct,
    server_workers,
    table,
)
from bench.protocol import claim, complete, register, submit_batches
from bench.throughput import single_submissions
from tests.support.server import ServerProcess, postgres_available

HOT, COLD = "hot:v1", "cold:v1"


def server_rss_mib(server: ServerProcess) -> float:
    """Resident memory of the server and its worker processes, MiB."""
    assert server.proc is not None
    root = psutil.Process(server.proc.pid)
    procs = [root, *root.children(recursive=True)]
    return sum(p.memory_info().rss for p in procs if p.is_running()) / 2**20


async def _count(url: str, capability: str) -> int:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            query = sa.select(sa.func.count()).where(tasks.c.capability_required == capability)
            return int(await conn.scalar(query) or 0)
    finally:
        await engine.dispose()


def cold_tasks(server: ServerProcess) -> int:
    return asyncio.run(_count(server.database_url, COLD))


def claim_latencies(server: ServerProcess, agent_id: str, claims: int) -> list[float]:
    with httpx.Client(base_url=server.url, timeout=60) as api:
        submit_batches(api, HOT, claims * 100)
        ms: list[float] = []
        deadline = time.monotonic() + 120
        while len(ms) < claims and time.monotonic() < deadline:
            t0 = time.perf_counter()
            claimed = claim(api, agent_id, 100, 0)
            elapsed = (time.perf_counter() - t0) * 1000
            if not claimed:  # not yet routed: not a claim we time
                time.sleep(0.05)
                continue
            ms.append(elapsed)
            complete(api, agent_id, claimed)
    drain(server, agent_id)
    return ms


def drain(server: ServerProcess, agent_id: str) -> None:
    """Claim and complete every hot task, so that the next point starts without them."""
    with httpx.Client(base_url=server.url, timeout=60) as api:
        while claimed := claim(api, agent_id, 100, 0.5):
            complete(api, agent_id, claimed)


def warm_up(server: ServerProcess, agent_id: str) -> None:
    """One second of single submits and the claims that drain them, before the first point."""
    single_submissions(server, 1, 64, 1, capability=HOT)
    drain(server, agent_id)


async def _load(url: str, total: int, clients: int) -> None:
    body = [
        {"task_type": "noop", "capability_required": COLD, "input_data": {"i": i}}
        for i in range(100)
    ]
    per_client = -(-total // (100 * clients))  # batches per client, rounded up
    remaining = -(-total // 100)
    async with httpx.AsyncClient(base_url=url, timeout=120) as api:

        async def client(c: int) -> None:
            nonlocal remaining
            for _ in range(per_client):
                if remaining <= 0:
                    return
                remaining -= 1
                r = await api.post(
                    "/aitp/tasks/batch", json={"client_id": f"backlog-{c}", "tasks": body}
                )
                r.raise_for_status()

        await asyncio.gather(*(client(c) for c in range(clients)))


def load_backlog(server: ServerProcess, total: int, clients: int) -> tuple[int, float]:
    """Submit `total` cold tasks (rounded up to 100) in batches; (tasks, tasks/s)."""
    total = -(-total // 100) * 100
    t0 = time.perf_counter()
    asyncio.run(_load(server.url, total, clients))
    return total, total / (time.perf_counter() - t0)


def point(
    server: ServerProcess, agent_id: str, args: argparse.Namespace
) -> tuple[int, float, list[float], float]:
    """(cold tasks before, submits/s, claim ms, server RSS MiB) at the current backlog."""
    pending = cold_tasks(server)
    ms = claim_latencies(server, agent_id, args.claims)
    submits = single_submissions(server, args.seconds, 64, 1, capability=COLD)
    rss = server_rss_mib(server)
    print(
        f"  {pending:>9,} pending: submits {submits:,.0f}/s, claim p50 {pct(ms, 0.5):.1f} ms "
        f"p95 {pct(ms, 0.95):.1f} ms ({len(ms)} claims), server RSS {rss:.0f} MiB",
        flush=True,
    )
    return pending, submits, ms, rss


def loss(before: float, after: float) -> float:
    return 100 * (before - after) / before if before else float("nan")


def measure(backend: str, args: argparse.Namespace) -> list[Result]:
    print(f"{backend}:", flush=True)
    with ains_server(backend) as server:
        with httpx.Client(base_url=server.url, timeout=30) as api:
            agent_id = register(api, "backlog", HOT, max_concurrency=1000)
        warm_up(server, agent_id)
        p0, s0, ms0, rss0 = point(server, agent_id, args)
        to_load, rate = load_backlog(
            server, max(0, args.pending - cold_tasks(server)), args.load_clients
        )
        print(f"  loaded {to_load:,} tasks in 100-task batches at {rate:,.0f} tasks/s", flush=True)
        p1, s1, ms1, rss1 = point(server, agent_id, args)
    note0, note1 = f"{p0:,} pending", f"{p1:,} pending"
    workers = f"{server_workers(backend)} server process(es)"
    return [
        Result("backlog", backend, "submits/s, empty", s0, "tasks/s", note0),
        Result("backlog", backend, "submits/s, backlog", s1, "tasks/s", note1),
        Result("backlog", backend, "submits lost to the backlog", loss(s0, s1), "%"),
        Result("backlog", backend, "claim p50, empty", pct(ms0, 0.5), "ms", note0),
        Result("backlog", backend, "claim p50, backlog", pct(ms1, 0.5), "ms", note1),
        Result("backlog", backend, "claim p95, empty", pct(ms0, 0.95), "ms", note0),
        Result("backlog", backend, "claim p95, backlog", pct(ms1, 0.95), "ms", note1),
        Result("backlog", backend, "claim p95 growth", -loss(pct(ms0, 0.95), pct(ms1, 0.95)),
               "%"),
        Result("backlog", backend, "backlog loaded by batches", rate, "tasks/s"),
        Result("backlog", backend, "server RSS, empty", rss0, "MiB", workers),
        Result("backlog", backend, "server RSS, backlog", rss1, "MiB", f"{note1}, {workers}"),
    ]  # fmt: skip


def main() -> None:
    exit_cleanly_on_sigterm()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pending", type=int, default=200_000, help="backlog at point 2")
    parser.add_argument("--seconds", type=int, default=10, help="wrk run per point")
    parser.add_argument("--claims", type=int, default=50, help="timed claim calls per point")
    parser.add_argument("--load-clients", type=int, default=4)
    parser.add_argument("--backends", default="sqlite,postgresql")
    add_results_flag(parser)
    args = parser.parse_args()
    results: list[Result] = []
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        if backend == "postgresql" and (reason := postgres_available()):
            print(f"postgresql skipped: {reason}")
            continue
        results += measure(backend, args)
    print(table(results), flush=True)
    emit(results, args.results)


if __name__ == "__main__":
    main()

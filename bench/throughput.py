"""Submission and end-to-end throughput, and routing latency, on SQLite and PostgreSQL.

    python -m bench.throughput --backend both --tasks 20000 --agents 2

(a) single-task submissions over HTTP: wrk (C, so the client takes little CPU from the server)
    posting one task per request from 64 connections for a fixed time;
(b) end to end: N tasks submitted in 100-task batches while sample agent processes
    (`ains agent --handler echo`) claim and complete them; time until the last is COMPLETED;
    On PostgreSQL the server runs AINS_WORKERS = cores processes (--pg-workers);
(c) routing latency: queued → assigned to a waiting agent, from the task.assigned events.
Everything runs on this machine: server, agents and load generator share its cores.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

from ains.db.engine import create_engine
from ains.models import events, tasks
from bench.common import (
    Result,
    add_results_flag,
    ains_server,
    emit,
    exit_cleanly_on_sigterm,
    server_workers,
    table,
)
from tests.support.server import AgentProcess, ServerProcess, postgres_available

LUA = Path(__file__).with_name("submit.lua")


def single_submissions(
    server: ServerProcess,
    seconds: int,
    connections: int,
    threads: int = 1,
    capability: str = "bench:v1",
) -> float:
    """Tasks/s of one-task POST /aitp/tasks from wrk (C, so the client takes little CPU)."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed for the submission benchmark: apt-get install -y wrk")
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(LUA.read_text().replace("bench:v1", capability))
        script.flush()
        out = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", script.name,
             f"{server.url}/aitp/tasks"],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        ).stdout  # fmt: skip
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"submissions failed:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert match, out
    return float(match.group(1))


async def _wait_completed(url: str, capability: str, total: int, limit: float) -> float:
    """perf_counter() when `total` tasks of `capability` are COMPLETED (polled every 20 ms)."""
    engine = create_engine(url, pool_size=1)
    query = sa.select(sa.func.count()).where(
        tasks.c.capability_required == capability, tasks.c.status == "COMPLETED"
    )
    deadline = time.perf_counter() + limit
    try:
        async with engine.connect() as conn:
            while True:
                done = int(await conn.scalar(query) or 0)
                await conn.commit()  # a fresh snapshot next time
                if done >= total:
                    return time.perf_counter()
                if time.perf_counter() > deadline:
                    raise SystemExit(f"end to end: {done}/{total} completed after {limit:.0f} s")
                await asyncio.sleep(0.02)
    finally:
        await engine.dispose()


async def _routing_latencies(url: str, capability: str) -> list[float]:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                sa.select(events.c.data).where(events.c.event_type == "task.assigned")
            )
            return [
                float(r.data["wait_ms"])
                for r in rows
                if r.data
                and r.data.get("capability_required") == capability
                and r.data.get("wait_ms") is not None
            ]
    finally:
        await engine.dispose()


def end_to_end(
    server: ServerProcess, total: int, agents: int, concurrency: int, limit: float = 600
) -> float:
    """Tasks/s from the first batch submitted to the last task COMPLETED, with `agents` sample
    agent processes (`ains agent`, echo handler, claims of up to 100, bulk reports) already
    waiting; tasks go in 100-task batches from one client."""
    capability = f"e2e-{time.monotonic_ns()}:v1"
    procs = [
        AgentProcess(
            server.url,
            ["-c", capability, "--concurrency", str(concurrency), "--wait-seconds", "5",
             "--name", f"bench-{i}"],
        ).start()
        for i in range(agents)
    ]  # fmt: skip
    try:
        time.sleep(3)
        body = [
            {"task_type": "noop", "capability_required": capability, "input_data": {"i": i}}
            for i in range(100)
        ]
        started = time.perf_counter()
        with httpx.Client(base_url=server.url, timeout=60) as client:
            for start in range(0, total, 100):
                batch = body[: min(100, total - start)]
                r = client.post("/aitp/tasks/batch", json={"client_id": "bench", "tasks": batch})
                r.raise_for_status()
        done = asyncio.run(_wait_completed(server.database_url, capability, total, limit))
        return total / (done - started)
    finally:
        for p in procs:
            p.stop()


def routing_latency(server: ServerProcess, samples: int) -> tuple[float, float]:
    """One agent waits in a long-poll; each task is submitted alone and handed to it."""
    capability = "route:v1"
    agent = AgentProcess(
        server.url, ["-c", capability, "--concurrency", "4", "--wait-seconds", "10"]
    ).start()
    try:
        time.sleep(3)
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for i in range(samples):
                client.post(
                    "/aitp/tasks",
                    json={
                        "client_id": "bench",
                        "task_type": "t",
                        "capability_required": capability,
                        "input_data": {"i": i},
                    },
                ).raise_for_status()
                time.sleep(0.02)
        time.sleep(2)
    finally:
        agent.stop()
    waits = sorted(asyncio.run(_routing_latencies(server.database_url, capability)))
    if not waits:
        return float("nan"), float("nan")
    return statistics.median(waits), waits[min(len(waits) - 1, int(len(waits) * 0.99))]


def run(backend: str, args: argparse.Namespace) -> list[Result]:
    with ains_server(backend, args.pg_workers) as server:
        workers = server_workers(backend, args.pg_workers)
        note = f"{workers} server process(es)"
        submit = single_submissions(server, args.seconds, args.connections, args.wrk_threads)
        e2e = end_to_end(server, args.tasks, args.agents, args.agent_concurrency)
        p50, p99 = routing_latency(server, args.routing_samples)
    return [
        Result("throughput", backend, f"single submissions (wrk -c{args.connections})", submit,
               "tasks/s", note),
        Result("throughput", backend, f"end to end, {args.tasks:,} tasks, {args.agents} agents",
               e2e, "tasks/s", note),
        Result("throughput", backend, "routing queued→assigned p50", p50, "ms"),
        Result("throughput", backend, "routing queued→assigned p99", p99, "ms"),
    ]  # fmt: skip


def main() -> None:
    exit_cleanly_on_sigterm()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--agents", type=int, default=2)
    parser.add_argument("--agent-concurrency", type=int, default=200)
    parser.add_argument("--routing-samples", type=int, default=300)
    parser.add_argument(
        "--pg-workers", type=int, default=None, help="server processes on PostgreSQL (cores)"
    )
    add_results_flag(parser)
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results: list[Result] = []
    for backend in backends:
        if backend == "postgresql" and (reason := postgres_available()):
            print(f"postgresql skipped: {reason}")
            continue
        results += run(backend, args)
    print(table(results), flush=True)
    emit(results, args.results)


if __name__ == "__main__":
    main()
